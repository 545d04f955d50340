"""What the end of a generation means: the one place that decides whether a page is done.

Only a real stop is success. The token limit (`length`) and the repetition guard (`repetition`)
are cuts the record shows; every other way a server ends an answer (vLLM's `abort`, a
`content_filter`, a reason we do not know, none at all) is an error record, which `--resume`
retries. A stop with an empty answer is not an error but a warning with its reason: said on
stderr, in the record's `note`, and in the exit code (1). Retrying pages builds on these verdicts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..errors import GenerationError
from ..parse import Answer, parse_answer
from .base import Engine, FinishReason, Generation, OnText, Prompt

if TYPE_CHECKING:
    from ..config import Sampling

# OpenAI's finish reasons (chat completions API reference): "stop" is the model's end of turn or
# a stop sequence, "length" the token limit. Hugging Face's inference spec (TGI) names the same
# stops "eos_token" and "stop_sequence" (huggingface.js TextGenerationStreamFinishReason).
_STOPS = frozenset({"stop", "eos_token", "stop_sequence"})
_CUTS = frozenset({"length"})
_WHY = {
    "abort": "the server aborted the request (vLLM ends requests this way on engine errors and shutdowns)",
    "content_filter": "the server's content filter withheld the answer",
    "tool_calls": "the server answered with a tool call, which exaone never asks for",
    "function_call": "the server answered with a function call, which exaone never asks for",
}


def server_finish(reason: object) -> tuple[FinishReason, str | None]:
    """A server's `finish_reason` as (exaone's finish reason, error message or None).

    `stop` (and its synonyms) -> ("stop", None); `length` -> ("length", None); anything else,
    including a missing reason (a stream cut off before its end), -> ("error", why in words,
    quoting the server's reason)."""
    if reason in _STOPS:
        return "stop", None
    if reason in _CUTS:
        return "length", None
    if reason is None:
        return "error", "the server ended the answer without a finish_reason (it may have been cut off)"
    why = _WHY.get(str(reason), "exaone does not know this reason, so the page may be incomplete")
    return "error", f"the server ended the answer with finish_reason {str(reason)[:80]!r}: {why}"


def opened_think(
    content: str, reasoning: str | None, finish: FinishReason, thinking: bool
) -> tuple[bool | None, str | None]:
    """Whether a server's prompt opened a think block, judged from its answer, as
    (Generation.opened_think, note for the record and stderr).

    With thinking on, EXAONE's chat template ends the prompt with `<think>\\n`, so the model's
    reasoning comes first and ends with `</think>`: a server with a reasoning parser returns it in
    `reasoning_content`/`reasoning`, one without returns the `</think>` inside `content`. An
    answer with neither, ended by a real stop (the model's end of turn), is read as one that did
    not begin inside a think block: the server did not pass enable_thinking to EXAONE's template
    (another template, or none). Its content is the answer -> (False, note); a `<think>` inside
    it still opens reasoning, as parse_answer says. (EXAONE ending its turn inside its reasoning
    behind a server without a reasoning parser looks the same; the note says what was done.)
    Empty content -> (False, None): the empty answer's own note says it. Anything else ->
    (None, None): the prompt's flag holds, so text cut by `length` with no `</think>` stays what
    EXAONE writes there, reasoning stopped at the token limit. The local engine builds its
    prompt itself and never needs this."""
    if not thinking or reasoning is not None or finish != "stop" or "</think>" in content:
        return None, None
    if not content.strip():  # nothing to take: the empty answer's note says so
        return False, None
    return False, (
        "the server's answer has no reasoning and no </think>, so all of it is taken as the answer; "
        "the server does not seem to pass enable_thinking to EXAONE's chat template"
    )


def stopped_in_reasoning(finish: FinishReason) -> str:
    """Why an output with no `</think>` has no answer, by how it ended: only the token limit
    (`length`) is helped by a larger --max-new-tokens."""
    if finish == "length":
        return "the output stopped inside the reasoning at the token limit: raise --max-new-tokens, or use --no-think"
    if finish == "repetition":
        return "the repetition guard stopped the output inside the reasoning: try again, or use --no-think"
    return (
        "the model ended its turn inside its reasoning, with no </think> and no answer: "
        "the reasoning is in `reasoning`; ask again, or use --no-think"
    )


def empty_answer_note(
    answer: str, reasoning: str | None, truncated: bool, thinking: bool, finish: FinishReason = "stop"
) -> str | None:
    """Why an answer is empty, for the record's `note` and a warning on stderr; None when the
    answer has text. The reasons a user can act on come first; `finish` is the generation's
    finish reason (only `length` is the token limit)."""
    if answer.strip():
        return None
    if truncated:
        return f"empty answer: {stopped_in_reasoning(finish)}"
    size = len(reasoning.strip()) if reasoning else 0
    if size and not thinking:
        return (
            f"empty answer: all {size} characters came as reasoning although thinking was off, "
            "so the server may ignore enable_thinking=false; the text is in `reasoning`"
        )
    if size:
        return f"empty answer after {size} characters of reasoning; the reasoning is in `reasoning`"
    return "empty answer: the model returned no text for this page"


def answer_note(parsed: Answer, generation: Generation, thinking: bool) -> str | None:
    """empty_answer_note for a parsed generation."""
    return empty_answer_note(parsed.answer, parsed.reasoning, parsed.truncated, thinking, generation.finish_reason)


def generate_answer(engine: Engine, prompt: Prompt, sampling: Sampling, on_text: OnText | None = None) -> Generation:
    """One prompt's generation. A GenerationError (a request that kept failing, a server's error
    body, no choices, out of memory) becomes an error generation (`finish_reason` "error",
    `error` the message and what to do), so the answer's result carries it like any other
    answer that is none: `ask --json` still prints its object."""
    start = time.perf_counter()
    try:
        return engine.generate([prompt], sampling, on_text=on_text)[0]
    except GenerationError as exc:
        seconds = time.perf_counter() - start
        return Generation("", prompt.text, 0, 0, "error", seconds, error=exc.message, hint=exc.hint)


def parse_generation(generation: Generation, thinking: bool) -> Answer:
    """parse_answer for a generation: as the prompt asked (`thinking`) unless the engine saw
    otherwise (Generation.opened_think); an error generation is no answer, and no reasoning."""
    if generation.error:
        return parse_answer("", False)
    return parse_answer(generation.text, generation.began_thinking(thinking))


def answer_or_cut_note(parsed: Answer, generation: Generation, thinking: bool, max_new_tokens: int) -> str | None:
    """An answer's `note` for `exaone ask` (a warning and exit code 1): why it is empty, or that
    it was cut, whatever the thinking mode: by the token limit (`length`) or the repetition
    guard. Pages of `exaone ocr` say a cut by their `finish_reason` instead."""
    if generation.error:  # no answer at all: `error` says why
        return None
    empty = answer_note(parsed, generation, thinking)
    if empty:
        return empty
    if generation.finish_reason == "length":
        return (
            f"the answer stopped at the token limit, so it may be incomplete: "
            f"raise --max-new-tokens (now {max_new_tokens})"
        )
    if generation.finish_reason == "repetition":
        return "the repetition guard stopped the answer, which was repeating itself: it may be incomplete"
    return None
