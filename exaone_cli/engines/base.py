"""The one interface every engine implements, and the data that crosses it."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .text import replaced_characters

if TYPE_CHECKING:
    from PIL.Image import Image

    from ..config import Sampling

FinishReason = Literal["stop", "length", "repetition", "error"]
# Called with (index of the prompt in the batch, newly decoded text) as tokens arrive.
OnText = Callable[[int, str], None]


@dataclass(frozen=True)
class Turn:
    """An earlier exchange of a conversation (`exaone chat`): the question as the user asked it
    and the answer without its reasoning, as EXAONE's chat template keeps past assistant turns."""

    question: str
    answer: str


@dataclass(frozen=True)
class Prompt:
    """One chat request: images (in order) then text, as a single user turn, after the earlier
    turns of a conversation (`history`, oldest first; text only).

    `schema`, a JSON Schema, asks for an answer (after the reasoning, when thinking) that is JSON
    matching it: the local engine constrains decoding with a grammar, a server gets it as
    `response_format`. Callers still validate: a server may ignore it."""

    text: str
    images: Sequence[Image] = field(default_factory=tuple)
    thinking: bool = True
    schema: Mapping[str, Any] | None = None
    history: Sequence[Turn] = field(default_factory=tuple)

    def earlier_messages(self) -> list[dict[str, str]]:
        """The history as chat messages, plain strings (what every chat template takes)."""
        messages = []
        for turn in self.history:
            messages += [{"role": "user", "content": turn.question}, {"role": "assistant", "content": turn.answer}]
        return messages


@dataclass(frozen=True)
class Generation:
    """What an engine returns for one prompt: the raw text, before parsing."""

    text: str
    prompt_text: str  # the chat-template output the model saw (one image pad per image)
    prompt_tokens: int
    completion_tokens: int
    finish_reason: FinishReason
    seconds: float
    error: str | None = None  # why a generation with finish_reason "error" is not an answer (engines/finish.py)
    hint: str | None = None  # what to do about `error`, when there is something to say
    # Whether the text began inside a think block. None: as the prompt asked (the local engine's
    # template opens one when thinking is on); False: a server's answer showed that its prompt
    # opened none (engines/finish.py: opened_think). `note` says so, for the record and stderr.
    opened_think: bool | None = None
    note: str | None = None

    def began_thinking(self, asked: bool) -> bool:
        """Whether to parse the text as reasoning first (parse_answer's `thinking`), given what
        the prompt asked for."""
        return asked if self.opened_think is None else self.opened_think

    @property
    def replaced_characters(self) -> int:
        """U+FFFD in the text: what was not valid text when it was generated (engines/text.py)."""
        return replaced_characters(self.text)


class Engine(Protocol):
    """Generate text for a batch of prompts. Implementations: engines.local.LocalEngine."""

    name: str  # what the JSON reports as the model

    def generate(
        self, prompts: Sequence[Prompt], sampling: Sampling, on_text: OnText | None = None
    ) -> list[Generation]: ...

    def close(self) -> None: ...
