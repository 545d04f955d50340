"""The library entry point: tokens stream as they are generated, and one engine serves many calls."""

from __future__ import annotations

from pathlib import Path

from exaone_cli.api import ask
from exaone_cli.config import LoadOptions, SamplingFlags
from exaone_cli.engines import open_engine


def test_streamed_text_adds_up_to_the_generation(tiny_model: Path, receipt_png: Path) -> None:
    engine = open_engine(LoadOptions(model=str(tiny_model)))
    pieces: list[str] = []
    flags = SamplingFlags(temperature=0, max_new_tokens=24)
    streamed = ask(
        "What is shown?", [str(receipt_png)], flags=flags, engine=engine, on_text=lambda _, t: pieces.append(t)
    )
    assert len(pieces) > 1  # arrived in several pieces, not one at the end
    assert "".join(pieces) == streamed.generation.text
    # The same engine answers again, identically under greedy decoding.
    again = ask("What is shown?", [str(receipt_png)], flags=flags, engine=engine)
    assert again.generation.text == streamed.generation.text
    assert again.generation.completion_tokens == streamed.generation.completion_tokens <= 24
