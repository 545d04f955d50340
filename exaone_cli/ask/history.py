"""A conversation's earlier turns in a prompt (`exaone chat`): what they cost, which of them fit,
and what a follow-up question is about.

Pure. The turns are text only (the question as asked, the answer without its reasoning), so a
follow-up can be measured and ranked without the model. When the turns and the pages no longer
fit, the oldest turns go first: the newest exchange is what a follow-up ("그럼 전년도는?") refers to.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..engines import Turn
from .retrieval import estimate_tokens

TURN_OVERHEAD = 8  # the role markers and turn ends around a question and its answer


def turn_tokens(turn: Turn) -> int:
    """An upper estimate of what one earlier turn costs in the prompt."""
    return estimate_tokens(turn.question) + estimate_tokens(turn.answer) + TURN_OVERHEAD


def fit_history(turns: Sequence[Turn], room: int) -> tuple[Turn, ...]:
    """The newest turns whose cost adds up to at most `room` tokens, oldest first; the turns
    before them are left out (a turn is never cut in the middle)."""
    kept: list[Turn] = []
    for turn in reversed(turns):
        room -= turn_tokens(turn)
        if room < 0:
            break
        kept.append(turn)
    return tuple(reversed(kept))


def follow_up_terms(question: str, turns: Sequence[Turn]) -> str:
    """The text to rank pages by for `question` in a conversation: the question, then the
    question before it. A bare follow-up shares few words with the pages it is about; the
    earlier question names the subject. Earlier answers are left out: they are the model's
    words, and would pull in every page it mentioned."""
    if not turns:
        return question
    return f"{question}\n{turns[-1].question}"
