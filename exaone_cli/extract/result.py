"""One extraction result: a JSON Lines record, a CSV row, a rich table. JSON is a public contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..results import SCHEMA_VERSION

CUT_RESULT = "the answer was cut short by the token limit, so fields may be missing; raise --max-new-tokens"


@dataclass(frozen=True)
class ExtractResult:
    """The data pulled from one input file (or one page, with --per-page), or why there is none.

    `data` is set only when `valid`: it matched the schema (checked with jsonschema). Otherwise
    `errors` says what went wrong (validation errors, a file that could not be read) and `raw`
    keeps what the model wrote, so nothing is lost and nothing unchecked passes for data.
    `attempts` is 2 when the first answer failed and the model was shown the errors once."""

    source: str
    sha256: str | None
    pages: list[int]
    model: str | None  # None: a server's model, never asked (every input failed before it)
    preset: str
    data: Any = None
    errors: list[str] = field(default_factory=list)
    hint: str | None = None  # what to do about a file that could not be read (its `errors`), as ocr's records
    reasoning: str | None = None
    raw: str | None = None
    attempts: int = 0
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    note: str | None = None  # requested pages the file does not have (--pages past its end)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def cut(self) -> bool:
        """Valid, but the answer ended at the token limit (a grammar closed the JSON early, or
        the model ran on after it): the data may be incomplete. A warning, exit code 1."""
        return self.valid and self.finish_reason == "length"

    @property
    def warning(self) -> str | None:
        """What a person must hear about a valid result."""
        return CUT_RESULT if self.cut else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "sha256": self.sha256,
            "pages": list(self.pages),
            "data": self.data,
            "valid": self.valid,
            "errors": list(self.errors),
            "hint": self.hint,
            "reasoning": self.reasoning,
            "raw": self.raw,
            "attempts": self.attempts,
            "finish_reason": self.finish_reason,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "seconds": round(self.seconds, 3),
            "model": self.model,
            "preset": self.preset,
            "note": self.note,
        }
