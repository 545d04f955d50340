"""Renderers are functions of result objects: what a person sees for a given answer."""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.text import Text

from exaone_cli.config import PRESETS, Sampling
from exaone_cli.engines.base import FinishReason, Generation
from exaone_cli.parse import parse_answer
from exaone_cli.render.rich import StreamingAnswer, print_ask
from exaone_cli.render.text import ask_text
from exaone_cli.results import AskResult

RAW = "Add the lines [bold]up[/bold].</think>\n\n합계는 [1] 12,500원입니다. \\boxed{12,500원}"


def result(raw: str = RAW, thinking: bool = True, finish: FinishReason = "stop") -> AskResult:
    preset = PRESETS["ocr"]
    return AskResult(
        question="합계는?",
        images=[],
        parsed=parse_answer(raw, thinking),
        thinking=thinking,
        preset=preset,
        preset_reason="Korean input",
        sampling=Sampling.from_preset(preset, max_new_tokens=64),
        model="tiny",
        generation=Generation(raw, "<|user|>\n...", 10, 20, finish, 1.5),
    )


def render(show_reasoning: bool = False, raw: str = RAW, finish: FinishReason = "stop") -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    print_ask(
        result(raw, finish=finish),
        Console(file=out, width=80, color_system=None),
        Console(file=err, width=80, color_system=None),
        show_reasoning=show_reasoning,
    )
    return out.getvalue(), err.getvalue()


def test_rich_shows_answer_and_final_box_and_hides_reasoning() -> None:
    out, err = render()
    assert "합계는 [1] 12,500원입니다." in out  # markup-like model text printed verbatim
    assert "final answer" in out and "12,500원" in out
    assert "Add the lines" not in out
    assert "ocr preset (Korean input)" in err and "10+20 tokens" in err


def test_rich_shows_reasoning_verbatim_when_asked() -> None:
    out, _ = render(show_reasoning=True)
    assert "Add the lines [bold]up[/bold]." in out


def test_rich_says_when_output_stopped_in_reasoning() -> None:
    out, _ = render(raw="still thinking about [it]", finish="length")
    assert "stopped inside the reasoning at the token limit" in out and "--max-new-tokens" in out
    assert "final answer" not in out
    # The model's own end of turn inside the reasoning is not the token limit.
    out, _ = render(raw="still thinking about [it]")
    assert "ended its turn inside its reasoning" in " ".join(out.split())
    assert "token limit" not in out and "--max-new-tokens" not in out


def test_text_output_is_the_answer_or_the_final_box() -> None:
    assert ask_text(result()) == "합계는 [1] 12,500원입니다. \\boxed{12,500원}"
    assert ask_text(result(), final_only=True) == "12,500원"
    assert ask_text(result("no box here", thinking=False), final_only=True) == ""


def test_json_has_the_documented_fields() -> None:
    data = json.loads(json.dumps(result().to_dict(), ensure_ascii=False))
    for key in ("question", "images", "answer", "final", "boxed", "reasoning", "truncated", "thinking", "preset"):
        assert key in data
    assert (data["note"], data["error"], data["replaced_characters"]) == (None, None, 0)
    assert data["tokens"] == {"prompt": 10, "completion": 20}
    assert data["final"] == "12,500원" and data["boxed"] == ["12,500원"]
    assert data["preset"]["name"] == "ocr" and data["preset"]["top_k"] == 20


def test_streaming_view_splits_reasoning_from_answer_across_chunk_boundaries() -> None:
    view = StreamingAnswer(Console(file=io.StringIO()), thinking=True, show_reasoning=False)
    with view:
        for chunk in ["reason", "ing </th", "ink>\n\nthe ", "answer"]:
            view.on_text(0, chunk)
    assert not view.in_reasoning
    assert view.buffer[view._split :].strip() == "the answer"


def test_streaming_view_hides_reasoning_that_leaks_past_think_tags_with_thinking_off() -> None:
    """Issue #12 item 2: the live view splits like parse_answer (a dangling close, a second close,
    an unclosed open after the answer), so reasoning never shows as the answer."""
    view = StreamingAnswer(Console(file=io.StringIO()), thinking=False, show_reasoning=False)
    with view:
        for chunk in ["I should copy it.</th", "ink>\n\nhello", " 123 <think>wait, is that a 1"]:
            view.on_text(0, chunk)
    rendered = view._view()
    assert isinstance(rendered, Text) and rendered.plain == "hello 123"
    view.on_text(0, "?</think>\n\nhello 128")
    rendered = view._view()
    assert isinstance(rendered, Text) and rendered.plain == "hello 128"
