"""`exaone chat` with standard input not a terminal: each line is a question, and each answer is
written as soon as it is finished, as text or as one JSON object per line (`--jsonl`).

A question that fails is said on stderr, and the session goes on with the next line; one that got
no answer at all (an error of its own, or the server's) is the record `{schema_version, turn,
question, error}`, whichever way it failed. `run_piped` says whether any failed, for the exit code.
A UTF-8 byte-order mark before the first line (Windows editors write one) is no part of the question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TextIO

from ..engines.text import valid_text
from ..errors import ExaoneError
from ..json_text import write_json
from ..render.text import ask_text
from .session import ChatSession
from .transcript import error_record, record

BOM = "\ufeff"


def run_piped(
    session: ChatSession,
    lines: Iterable[str],
    out: TextIO,
    *,
    jsonl: bool = False,
    fresh: bool = False,
    final_only: bool = False,
    show_reasoning: bool = False,
    on_failed: Callable[[int, str], None] = lambda turn, message: None,
) -> bool:
    """Answer every non-blank line of `lines` in order; True when any question failed (an error,
    or an answer that is empty or cut: what makes `exaone ask` exit 1). `on_failed(turn, why)`
    is told each failure."""
    failed = False
    for number, line in enumerate(lines):
        question = (line.removeprefix(BOM) if number == 0 else line).strip()
        if not question:
            continue
        try:
            result = session.ask(question, fresh=fresh)
        except ExaoneError as exc:
            failed = True
            message = exc.message if not exc.hint else f"{exc.message} ({exc.hint})"
            on_failed(session.turns, message)
            if jsonl:
                write_json(error_record(session.turns, question, message), out)
            continue
        why = result.error_line or result.note
        if why:
            failed = True
            on_failed(session.turns, why)
        if jsonl and result.error_line:  # no answer at all: the same record as a question that failed before it
            write_json(error_record(session.turns, question, result.error_line), out)
        elif jsonl:
            write_json(record(session.exchanges[-1]), out)
        elif not result.error:
            out.write(valid_text(ask_text(result, final_only=final_only, show_reasoning=show_reasoning)) + "\n\n")
            out.flush()
    return failed
