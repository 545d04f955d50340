"""Settings and sampling presets: flag > EXAONE_* environment > defaults.

The presets are the model card's (LG's README for EXAONE 4.5): `ocr` for documents and Korean
input, `general` for other image questions, `text` for text-only questions.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

from .errors import UsageError
from .vision import DEFAULT_MAX_PIXELS, DEFAULT_MIN_PIXELS

DEFAULT_MODEL = "LGAI-EXAONE/EXAONE-4.5-33B"
# `ask`: the tokens of one prompt (the pages, as images or as text, and the question; the answer
# comes on top). With a 4,096-token answer that is 20,480 tokens of KV cache, 2.0 GiB in bf16 (16
# global layers hold every token, 48 sliding-window layers at most 4,096; `exaone doctor` computes
# it): room enough beside the 4-bit weights (20.2 GiB) on a 24 GiB GPU, and beside bf16 on 80 GB.
DEFAULT_CONTEXT_TOKENS = 16_384

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


QUANTIZE = ("none", "8bit", "4bit")
DTYPES = ("auto", "bfloat16", "float16", "float32")
ATTENTION = ("sdpa", "flash_attention_2", "eager")
# Kept in 16-bit when --quantize is used: the output head (its errors reach every token's
# probabilities directly, and it is ~0.8 B parameters of 33.8 B) and the vision tower (1.3 B;
# its small matrices quantize badly and it runs once per image, not per token).
# Names as transformers matches them: from the start of a module path, or as its suffix.
UNQUANTIZED_MODULES = ("lm_head", "model.visual")
_MEMORY = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_memory(text: str) -> int:
    """'20GiB', '64GB', '1.5TiB', '512MiB' -> bytes.

    A size needs its unit: a bare '24' would be 24 bytes (accelerate's reading of an int), never
    what a person typing a GPU's or a device's memory means."""
    match = _MEMORY.match(text)
    if not match:
        raise UsageError(f"not a memory size: {text!r}", hint="write sizes like 20GiB, 64GB or 512MiB")
    number, unit = match.groups()
    if not unit:
        raise UsageError(
            f"memory size {text.strip()!r} has no unit (it would be {text.strip()} bytes)",
            hint=f"write the unit: {number}GiB (or {number}GB, {number}MiB)",
        )
    return int(float(number) * _UNITS[unit.lower()])


def parse_max_memory(spec: str) -> dict[str, int]:
    """'0=20GiB,1=20GiB,cpu=64GiB' -> {'0': ..., '1': ..., 'cpu': ...} (bytes), accelerate's keys."""
    limits: dict[str, int] = {}
    for part in spec.split(","):
        device, sep, size = part.partition("=")
        device = device.strip().lower().removeprefix("cuda:")
        if not sep or not (device.isdigit() or device in ("cpu", "disk", "mps")):
            raise UsageError(
                f"bad --max-memory entry {part.strip()!r}", hint="use DEVICE=SIZE pairs: 0=20GiB,1=20GiB,cpu=64GiB"
            )
        try:
            limits[device] = parse_memory(size)
        except UsageError as exc:
            raise UsageError(f"bad --max-memory entry {part.strip()!r}: {exc.message}", hint=exc.hint) from exc
    return limits


@dataclass(frozen=True)
class LoadOptions:
    """How the local engine loads the model: which checkpoint, in what precision, where."""

    model: str = DEFAULT_MODEL
    dtype: str = "auto"
    device_map: str = "auto"
    revision: str | None = None
    quantize: str = "none"
    max_memory: tuple[tuple[str, int], ...] | None = None  # accelerate's max_memory, as pairs
    offload_folder: str | None = None
    attn_implementation: str | None = None

    def __post_init__(self) -> None:
        for value, allowed, flag in (
            (self.quantize, QUANTIZE, "--quantize"),
            (self.dtype, DTYPES, "--dtype"),
            (self.attn_implementation or "sdpa", ATTENTION, "--attn-implementation"),
        ):
            if value not in allowed:
                raise UsageError(f"unknown {flag} value {value!r}", hint=f"use one of: {', '.join(allowed)}")
        if not re.fullmatch(r"auto|balanced|balanced_low_0|sequential|cpu|cuda(:[0-9]+)?|[0-9]+", self.device_map):
            raise UsageError(
                f"unknown --device-map {self.device_map!r}", hint="use auto, balanced, sequential, cpu or cuda:N"
            )

    @classmethod
    def from_flags(
        cls,
        model: str = DEFAULT_MODEL,
        revision: str | None = None,
        *,
        quantize: str = "none",
        dtype: str = "auto",
        device_map: str = "auto",
        max_memory: str | None = None,
        offload_folder: str | Path | None = None,
        attn_implementation: str | None = None,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
    ) -> LoadOptions:
        """The options as typed on the command line, checked."""
        limits = tuple(parse_max_memory(max_memory).items()) if max_memory else None
        options = cls(
            model=model,
            revision=revision,
            quantize=quantize,
            dtype=dtype,
            device_map=device_map,
            max_memory=limits,
            offload_folder=str(offload_folder) if offload_folder else None,
            attn_implementation=attn_implementation,
        )
        return options.with_pixels(min_pixels, max_pixels)

    @property
    def max_memory_dict(self) -> dict[str | int, int] | None:
        """accelerate's form: GPU indices as ints, 'cpu'/'disk' as strings."""
        if self.max_memory is None:
            return None
        return {int(key) if key.isdigit() else key: value for key, value in self.max_memory}

    # The visual-token budget handed to the image processor (total pixels after resizing).
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS

    def with_pixels(self, min_pixels: int | None, max_pixels: int | None) -> LoadOptions:
        """The visual-token budget from --min-pixels/--max-pixels (None keeps the default)."""
        low = self.min_pixels if min_pixels is None else min_pixels
        high = self.max_pixels if max_pixels is None else max_pixels
        for flag, value in (("--min-pixels", low), ("--max-pixels", high)):
            if value <= 0:
                raise UsageError(f"{flag} must be positive (it is {value:,})")
        if low > high:
            raise UsageError(f"--min-pixels ({low:,}) must be at most --max-pixels ({high:,})")
        return replace(self, min_pixels=low, max_pixels=high)
