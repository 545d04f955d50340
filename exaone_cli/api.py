"""The library entry points: what the CLI calls, and what other Python code can call."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .config import LoadOptions, SamplingFlags
from .engines import Engine, Prompt, open_engine
from .engines.base import OnText
from .inputs import open_source
from .pages import Page, load_pages
from .parse import parse_answer
from .prompts import ask_prompt
from .results import AskResult, ImageRef

OnStatus = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def load_inputs(names: Sequence[str]) -> list[Page]:
    """Every page of every named input, in order. Raises InputError on the first bad one:
    a question about several images cannot be answered with one missing."""
    pages: list[Page] = []
    for name in names:
        pages.extend(load_pages(open_source(name)))
    return pages


def ask(
    question: str,
    inputs: Sequence[str] = (),
    *,
    load: LoadOptions | None = None,
    flags: SamplingFlags | None = None,
    thinking: bool = True,
    boxed_hint: bool = True,
    engine: Engine | None = None,
    on_text: OnText | None = None,
    on_status: OnStatus = _quiet,
) -> AskResult:
    """Answer `question` about the images/pages in `inputs` (none for a text-only question).

    Inputs are read before the model loads, so a typo costs nothing. `engine` lets callers reuse
    a loaded engine; otherwise one is opened from `load` and closed again.
    """
    load = load or LoadOptions()
    flags = flags or SamplingFlags()
    pages = load_inputs(inputs)
    has_document = any(page.source.lower().endswith(".pdf") for page in pages)
    preset, reason, sampling = flags.resolve(question, len(pages), has_document)
    own_engine = engine is None
    if engine is None:
        on_status(f"Loading {load.model}")
        engine = open_engine(load)
    try:
        on_status("Generating")
        prompt = Prompt(text=ask_prompt(question, boxed_hint), images=[p.image for p in pages], thinking=thinking)
        generation = engine.generate([prompt], sampling, on_text=on_text)[0]
    finally:
        if own_engine:
            engine.close()
    return AskResult(
        question=question,
        images=[ImageRef.of(page) for page in pages],
        parsed=parse_answer(generation.text, thinking),
        thinking=thinking,
        preset=preset,
        preset_reason=reason,
        sampling=sampling,
        model=engine.name,
        generation=generation,
    )
