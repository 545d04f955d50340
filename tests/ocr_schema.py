"""The documented JSON shapes of `exaone ocr` (README, "Output"), as JSON Schema."""

from __future__ import annotations

from typing import Any

NULLABLE_STR = {"type": ["string", "null"]}
NULLABLE_INT = {"type": ["integer", "null"]}

PAGE: dict[str, Any] = {
    "type": "object",
    "required": [
        "source", "sha256", "page", "width", "height", "dpi", "note", "grid", "visual_tokens", "text", "reasoning",
        "boxed", "finish_reason", "tokens", "seconds", "error", "hint", "text_source", "text_layer", "attempts",
        "replaced_characters", "cached",
    ],
    "properties": {
        "source": {"type": "string"},
        "sha256": NULLABLE_STR,
        "page": {"type": ["integer", "null"], "minimum": 1},
        "width": NULLABLE_INT,
        "height": NULLABLE_INT,
        "dpi": NULLABLE_INT,
        "note": NULLABLE_STR,
        "grid": {"type": ["array", "null"], "items": {"type": "integer"}, "minItems": 3, "maxItems": 3},
        "visual_tokens": {"type": "integer", "minimum": 0},
        "text": {"type": "string"},
        "reasoning": NULLABLE_STR,
        "boxed": {"type": "array", "items": {"type": "string"}},
        "finish_reason": {"enum": ["stop", "length", "repetition", "error"]},
        "tokens": {
            "type": "object",
            "required": ["prompt", "completion"],
            "properties": {"prompt": {"type": "integer"}, "completion": {"type": "integer"}},
        },
        "seconds": {"type": "number", "minimum": 0},
        "error": NULLABLE_STR,
        "hint": NULLABLE_STR,  # what to do about `error`; null without an error or with nothing to say
        "text_source": {"enum": ["model", "text-layer", "text-layer-fallback"]},
        "text_layer": {"enum": ["good", "garbled", "invisible", "none", None]},
        "attempts": {"type": "integer", "minimum": 0},
        "replaced_characters": {"type": "integer", "minimum": 0},
        "cached": {"type": "boolean"},
    },
}  # fmt: skip

JSONL_LINE: dict[str, Any] = {
    **PAGE,
    "required": [*PAGE["required"], "schema_version", "preset", "model", "prompt_sha256"],
    "properties": {
        **PAGE["properties"],
        "schema_version": {"const": 1},
        "preset": {"type": "string"},
        "model": NULLABLE_STR,  # null on a page taken from its text layer: no model ran
        "prompt_sha256": {"type": "string"},
    },
}

DOCUMENTS: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "model", "preset", "documents"],
    "properties": {
        "schema_version": {"const": 1},
        "model": NULLABLE_STR,  # null when every page came from its text layer
        "preset": {"type": "object", "required": ["name", "temperature", "top_p", "top_k", "presence_penalty"]},
        "documents": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["source", "sha256", "pages"],
                "properties": {
                    "source": {"type": "string"},
                    "sha256": NULLABLE_STR,
                    "pages": {"type": "array", "items": PAGE},
                },
            },
        },
    },
}
