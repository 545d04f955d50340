"""Prompt templates shipped in the package (prompts/ in the repository) and how they fill in."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from .config import is_korean


def _prompt_dirs() -> list[Path]:
    # Installed wheels carry the templates inside the package (exaone_cli/prompts); a source
    # checkout keeps them at the repository root (prompts/), so both are looked at.
    packaged = Path(str(resources.files("exaone_cli"))) / "prompts"
    return [packaged, Path(__file__).resolve().parent.parent / "prompts"]


@cache
def template(name: str) -> str:
    """The text of prompts/<name>.txt, without its trailing newline."""
    for folder in _prompt_dirs():
        path = folder / f"{name}.txt"
        if path.is_file():
            return path.read_text(encoding="utf-8").rstrip("\n")
    raise FileNotFoundError(f"prompt template {name!r} is missing from the installation")


def ask_prompt(question: str, boxed_hint: bool = True) -> str:
    """The user text for `exaone ask`: the question, plus the card's boxed-answer instruction
    (in Korean for Korean questions) unless the user turned it off."""
    question = question.strip()
    if not boxed_hint:
        return question
    lang = "ko" if is_korean(question) else "en"
    return template(f"ask.{lang}").format(question=question)
