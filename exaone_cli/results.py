"""Results as data: what commands return and renderers print. JSON is a public contract."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config import Preset, Sampling
from .engines.base import Generation
from .pages import Page
from .parse import Answer

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ImageRef:
    """Where an image of the prompt came from."""

    source: str
    page: int
    width: int
    height: int

    @classmethod
    def of(cls, page: Page) -> ImageRef:
        return cls(source=page.source, page=page.number, width=page.width, height=page.height)


@dataclass(frozen=True)
class AskResult:
    """One answered question."""

    question: str
    images: list[ImageRef]
    parsed: Answer
    thinking: bool
    preset: Preset
    preset_reason: str
    sampling: Sampling
    model: str
    generation: Generation

    def to_dict(self) -> dict[str, Any]:
        gen = self.generation
        return {
            "schema_version": SCHEMA_VERSION,
            "question": self.question,
            "images": [vars(ref) for ref in self.images],
            "answer": self.parsed.answer,
            "final": self.parsed.final,
            "boxed": list(self.parsed.boxed),
            "reasoning": self.parsed.reasoning,
            "truncated": self.parsed.truncated,
            "thinking": self.thinking,
            "finish_reason": gen.finish_reason,
            "preset": {**self.preset.to_dict(), "reason": self.preset_reason},
            "sampling": self.sampling.to_dict(),
            "model": self.model,
            "tokens": {"prompt": gen.prompt_tokens, "completion": gen.completion_tokens},
            "seconds": round(gen.seconds, 3),
            "prompt": gen.prompt_text,
            "raw": gen.text,
        }
