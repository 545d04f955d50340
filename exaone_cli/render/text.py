"""Plain text output for pipes: the answer, nothing else."""

from __future__ import annotations

from ..results import AskResult

LOOK_RULE = "\n\n--- after looking at the cited pages ---\n\n"


def ask_text(result: AskResult, *, final_only: bool = False, show_reasoning: bool = False) -> str:
    """What `exaone ask --format text` prints on stdout. With --look, the text answer, a rule, and
    the second answer; --final-only then prints the second answer's final box."""
    look = result.look
    if final_only:
        return (look.parsed.final if look else result.parsed.final) or ""
    text = result.parsed.answer
    if show_reasoning and result.parsed.reasoning:
        text = f"{result.parsed.reasoning}\n\n---\n\n{text}"
    if look is not None:
        text += LOOK_RULE + look.parsed.answer
    return text
