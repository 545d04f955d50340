"""A conversation written down: the records of piped mode (`--jsonl`), and `/save FILE` as
Markdown or JSON (by the file's suffix), every answer with the pages it cites."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..json_text import dumps
from ..results import SCHEMA_VERSION, describe_pages
from .session import ChatSession, Exchange


def record(exchange: Exchange) -> dict[str, Any]:
    """One answered question as `exaone ask --json` writes it, plus its `turn` (and /look's `look`)."""
    body = exchange.result.to_dict()
    if exchange.look is not None:
        body["look"] = exchange.look.to_dict()
    return {**body, "turn": exchange.turn}


def error_record(turn: int, question: str, message: str) -> dict[str, Any]:
    """A question that got no answer: the record says why, and the session goes on."""
    return {"schema_version": SCHEMA_VERSION, "turn": turn, "question": question, "error": message}


def save(session: ChatSession, path: str) -> Path:
    """The transcript in `path`: JSON for a .json name, Markdown for .md / .markdown. UsageError
    for another suffix; OSError when the file cannot be written."""
    target = Path(path).expanduser()
    suffix = target.suffix.lower()
    if suffix == ".json":
        text = dumps(_as_json(session)) + "\n"
    elif suffix in (".md", ".markdown"):
        text = as_markdown(session)
    else:
        raise UsageError(f"/save {path}: say the format by the suffix", hint="/save 대화.md, or /save 대화.json")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # Private (0600), as the question history is: a transcript holds the documents' contents.
    with os.fdopen(os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600), "w", encoding="utf-8") as handle:
        handle.write(text)
    tmp.replace(target)  # a crash never leaves half a transcript where an earlier one was
    return target


def _as_json(session: ChatSession) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "inputs": list(session.inputs),
        "model": session.engine.name if session.engine is not None else None,
        "turns": [record(exchange) for exchange in session.exchanges],
    }


def as_markdown(session: ChatSession) -> str:
    """Each question as a heading, the answer under it (model text as written), its sources."""
    lines = ["# exaone chat", ""]
    if session.inputs:
        lines += ["Documents: " + ", ".join(f"`{name}`" for name in session.inputs), ""]
    for exchange in session.exchanges:
        result = exchange.result
        lines += [f"## {exchange.turn}. {' '.join(result.question.split())}", ""]
        lines += [result.parsed.answer.strip() or f"_(no answer: {result.error_line or result.note})_", ""]
        if result.citations:
            lines += [f"Sources: {describe_pages(result.citations)}", ""]
        if exchange.look is not None:
            looked = f"After looking at {describe_pages(exchange.look.images)}:"
            lines += [looked, "", exchange.look.parsed.answer.strip(), ""]
            if exchange.look.citations:
                lines += [f"Sources: {describe_pages(exchange.look.citations)}", ""]
    return "\n".join(lines)
