"""Plain text output for pipes: the answer, nothing else."""

from __future__ import annotations

from ..results import AskResult


def ask_text(result: AskResult, *, final_only: bool = False, show_reasoning: bool = False) -> str:
    """What `exaone ask --format text` prints on stdout."""
    if final_only:
        return result.parsed.final or ""
    if show_reasoning and result.parsed.reasoning:
        return f"{result.parsed.reasoning}\n\n---\n\n{result.parsed.answer}"
    return result.parsed.answer
