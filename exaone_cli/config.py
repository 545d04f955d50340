"""Settings and sampling presets: flag > EXAONE_* environment > defaults.

The presets are the model card's (LG's README for EXAONE 4.5): `ocr` for documents and Korean
input, `general` for other image questions, `text` for text-only questions.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from .errors import UsageError
from .vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

DEFAULT_MODEL = "LGAI-EXAONE/EXAONE-4.5-33B"

OutputFormat = Literal["auto", "rich", "text", "json"]


@dataclass(frozen=True)
class Preset:
    """Sampling values by name. None means "not used" (no top-k, no presence penalty)."""

    name: str
    temperature: float
    top_p: float
    top_k: int | None = None
    presence_penalty: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, Preset] = {
    "ocr": Preset("ocr", temperature=0.6, top_p=0.95, top_k=20, presence_penalty=1.5),
    "general": Preset("general", temperature=1.0, top_p=0.95, presence_penalty=1.5),
    "text": Preset("text", temperature=1.0, top_p=0.95),
}

_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")
_DOCUMENT_WORDS = re.compile(
    r"\b(ocr|transcribe|transcription|document|pdf|page|scan|receipt|invoice|form|table|"
    r"text|read|written|extract|says?)\b",
    re.IGNORECASE,
)


def is_korean(text: str) -> bool:
    """True when the text has any Hangul: the model card's "Korean input"."""
    return bool(_HANGUL.search(text))


def choose_preset(question: str, n_images: int, has_document: bool = False) -> tuple[Preset, str]:
    """Pick the model card's preset for a question, and say why (the reason is reported)."""
    if is_korean(question):
        return PRESETS["ocr"], "Korean input"
    if has_document or (n_images and _DOCUMENT_WORDS.search(question)):
        return PRESETS["ocr"], "document question"
    if n_images:
        return PRESETS["general"], "image question"
    return PRESETS["text"], "text-only question"


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise UsageError(f"unknown preset {name!r}", hint=f"use one of: auto, {', '.join(PRESETS)}") from None


@dataclass(frozen=True)
class Sampling:
    """What the engine is asked to do for every prompt of a run."""

    temperature: float
    top_p: float
    top_k: int | None
    presence_penalty: float | None
    max_new_tokens: int
    seed: int | None = None
    repetition_guard: bool = True  # stop generations that loop (engines/repetition.py)

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0

    @classmethod
    def from_preset(
        cls,
        preset: Preset,
        *,
        max_new_tokens: int,
        seed: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        top_k: int | None = None,
        presence_penalty: float | None = None,
        repetition_guard: bool = True,
    ) -> Sampling:
        """The preset's values, each overridden by a flag when the flag was given."""
        if max_new_tokens < 1:
            raise UsageError("--max-new-tokens must be at least 1")
        values = cls(
            temperature=preset.temperature if temperature is None else temperature,
            top_p=preset.top_p if top_p is None else top_p,
            top_k=preset.top_k if top_k is None else (top_k or None),
            presence_penalty=preset.presence_penalty if presence_penalty is None else (presence_penalty or None),
            max_new_tokens=max_new_tokens,
            seed=seed,
            repetition_guard=repetition_guard,
        )
        if values.temperature < 0:
            raise UsageError("--temperature must be 0 (greedy) or more")
        if not 0 < values.top_p <= 1:
            raise UsageError("--top-p must be in (0, 1]")
        return values

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SamplingFlags:
    """Sampling as the user gave it: a preset name ("auto" or one of PRESETS) and overrides."""

    preset: str = "auto"
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    presence_penalty: float | None = None
    max_new_tokens: int = 4096
    seed: int | None = None
    repetition_guard: bool = True

    def resolve(self, question: str, n_images: int, has_document: bool = False) -> tuple[Preset, str, Sampling]:
        """The preset (chosen automatically for "auto"), why it was chosen, and final values."""
        if self.preset == "auto":
            preset, reason = choose_preset(question, n_images, has_document)
        else:
            preset, reason = get_preset(self.preset), "--preset"
        sampling = Sampling.from_preset(
            preset,
            max_new_tokens=self.max_new_tokens,
            seed=self.seed,
            temperature=self.temperature,
            top_p=self.top_p,
            top_k=self.top_k,
            presence_penalty=self.presence_penalty,
            repetition_guard=self.repetition_guard,
        )
        return preset, reason, sampling


@dataclass(frozen=True)
class LoadOptions:
    """How the local engine loads the model (grown by the loading issue: quantization, memory)."""

    model: str = DEFAULT_MODEL
    dtype: str = "auto"
    device_map: str = "auto"
    revision: str | None = None
    # The visual-token budget handed to the image processor (total pixels after resizing).
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS

    def with_pixels(self, min_pixels: int | None, max_pixels: int | None) -> LoadOptions:
        """The visual-token budget from --min-pixels/--max-pixels (None keeps the default)."""
        low = self.min_pixels if min_pixels is None else min_pixels
        high = self.max_pixels if max_pixels is None else max_pixels
        if not 0 < low <= high:
            raise UsageError("--min-pixels must be positive and at most --max-pixels")
        return replace(self, min_pixels=low, max_pixels=high)
