"""JSON Schemas for the extract tests, beside the shipped templates."""

from __future__ import annotations

# Everything the templates use and a little more: a pattern, formats, an enum with null, bounded
# and unbounded numbers, a boolean, a list of objects with bounds, minLength, nesting.
FEATURES = {
    "type": "object",
    "properties": {
        "brn": {"type": "string", "pattern": "^[0-9]{3}-[0-9]{2}-[0-9]{5}$"},
        "day": {"type": "string", "format": "date"},
        "mail": {"type": ["string", "null"], "format": "email"},
        "kind": {"enum": ["카드", "현금", None]},
        "n": {"type": "integer", "minimum": 0, "maximum": 100},
        "x": {"type": "number"},
        "ok": {"type": "boolean"},
        "items": {
            "type": "array",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string", "maxLength": 12}, "qty": {"type": ["integer", "null"]}},
                "required": ["name", "qty"],
                "additionalProperties": False,
            },
        },
        "note": {"type": "string", "minLength": 3},
        "where": {"type": "object", "properties": {"city": {"type": ["string", "null"]}}, "required": ["city"]},
    },
    "required": ["brn", "day", "mail", "kind", "n", "x", "ok", "items", "note", "where"],
    "additionalProperties": False,
}
# A hand-written schema the way people write them: optional properties, extra ones allowed.
LOOSE = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a"]}
