"""Prompt templates shipped in the package (prompts/ in the repository) and how they fill in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path

from .config import is_korean

# EXAONE's chat markup: role and pad tokens (<|user|>, <|endofturn|>, <|image_pad|>, ...) and the
# added tokens <think>, </think>, <vision>, </vision>. Page text and model answers are data: put in
# a prompt as they are, such a string would be read as that token (an <|image_pad|> in a page
# makes the processor count one image too many; an <|endofturn|> ends the user's turn).
_MARKUP = re.compile(r"<(?=/?(?:think|vision)>|\|[A-Za-z_]{1,32}\|>)")


def neutralize(text: str) -> str:
    """`text` with a zero-width space after the `<` of every chat-markup string, so the tokenizer
    reads it as plain characters; nothing else changes."""
    return _MARKUP.sub("<\u200b", text)


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


_LEGEND = {"ko": "문서 라벨", "en": "Document labels"}


def _lang(question: str) -> str:
    return "ko" if is_korean(question) else "en"


def document_prompt(
    question: str,
    pages: str,
    *,
    cite: str,
    example: str,
    labels: Sequence[tuple[str, str]] = (),
    boxed_hint: bool = True,
    printed: str | None = None,
) -> str:
    """The user text of document mode: page texts under their markers, the question, and the rule
    for citing pages in the form `cite` (`[p. N]`, or `[A p. N]` with `labels` naming each
    document: (label, file name) pairs); the boxed-answer instruction unless it is turned off.
    `printed`: the word that shows a page's printed label in its marker, when some page has one:
    the prompt then says to cite the index, not the label.
    The instructions are in the question's language (prompts/ask_document.{ko,en}.txt)."""
    lang = _lang(question)
    legend = f"\n{_LEGEND[lang]}: " + ", ".join(f"{label} = {name}" for label, name in labels) if labels else ""
    rule = template(f"ask_document_labels.{lang}").format(printed=printed, example=example).strip() if printed else ""
    body = template(f"ask_document.{lang}").format(
        cite=cite,
        example=example,
        legend=legend,
        pages=pages,
        question=question.strip(),
        labels=f" {rule}" * bool(rule),
    )
    return template(f"ask.{lang}").format(question=body) if boxed_hint else body


def look_prompt(question: str, answer: str, *, pages: str, cite: str, boxed_hint: bool = True) -> str:
    """The user text of `ask --look`: the cited pages (as images before it), the question, and the
    answer written from their text, to be checked against the images (prompts/ask_look.{ko,en}.txt)."""
    lang = _lang(question)
    body = template(f"ask_look.{lang}").format(pages=pages, question=question.strip(), answer=answer.strip(), cite=cite)
    return template(f"ask.{lang}").format(question=body) if boxed_hint else body
