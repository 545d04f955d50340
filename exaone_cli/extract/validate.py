"""Model output -> data, checked against the schema. Pure; model output is untrusted data.

Validation is always `jsonschema` (with format checking: `date`, `email`, ...), whatever the
engine promised: a server may ignore `response_format`, and a grammar may not enforce every
keyword. Only data that passes is ever reported as valid.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ..engines.base import FinishReason
from ..engines.finish import stopped_in_reasoning
from ..engines.grammar_schema import schema_keywords
from ..parse import parse_answer

MAX_ERRORS = 10  # validation errors kept per result (and shown to the model when repairing)
_FENCE = re.compile(r"^```[A-Za-z]*\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True)
class Checked:
    """One generation, parsed and validated: `data` is set only when `errors` is empty."""

    data: Any = None
    errors: list[str] = field(default_factory=list)
    reasoning: str | None = None
    answer: str = ""  # the text after the reasoning: what was parsed as JSON
    note: str | None = None  # where the JSON was found when not alone in the answer, and what was ignored

    @property
    def valid(self) -> bool:
        return not self.errors


def schema_errors(data: Any, schema: dict[str, Any]) -> list[str]:
    """Every way `data` breaks `schema` (at most MAX_ERRORS), as `$.path: message` lines; [] if valid.

    The draft is the schema's `$schema` (Draft 2020-12 by default); formats are checked with
    jsonschema's FormatChecker, every standard one (the `format-nongpl` extra brings the packages
    it needs for date-time, time, uri, ...; format_warnings says which a schema uses unchecked)."""
    cls = _validator_class(schema)
    validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_path(error.absolute_path)}: {error.message}" for error in errors[:MAX_ERRORS]]


def _validator_class(schema: dict[str, Any]) -> Any:
    import jsonschema

    return jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)


# The formats JSON Schema (Draft 2020-12) defines; jsonschema checks each when its package is there.
STANDARD_FORMATS = frozenset({
    "date-time", "date", "time", "duration", "email", "idn-email", "hostname", "idn-hostname", "ipv4", "ipv6",
    "uri", "uri-reference", "iri", "iri-reference", "uuid", "uri-template", "json-pointer",
    "relative-json-pointer", "regex",
})  # fmt: skip


def format_warnings(schema: dict[str, Any], origin: str) -> list[str]:
    """One warning per `format` the schema uses that validation cannot check, said before the run
    (values in that field are then not checked against it): a format no JSON Schema draft
    defines (a pattern checks it instead), or a standard one whose package is missing."""
    checkable = set(_validator_class(schema).FORMAT_CHECKER.checkers)
    seen: dict[str, str] = {}
    for where, name in schema_keywords(schema, "format"):
        seen.setdefault(name, where)
    warnings = []
    for name, where in seen.items():
        if name in checkable:
            continue
        if name in STANDARD_FORMATS:
            warnings.append(
                f"{origin}: the format {name!r} (at {where}) is not checked: jsonschema needs a package for it;"
                " install exaone's dependencies again (pip install 'jsonschema[format-nongpl]')"
            )
        else:
            warnings.append(
                f"{origin}: the format {name!r} (at {where}) is not one JSON Schema defines, so values are not"
                " checked against it; use a `pattern` to check them"
            )
    return warnings


def _non_finite(value: Any, parts: tuple[Any, ...] = ()) -> list[str]:
    """Numbers JSON cannot carry: 1e400 parses as infinity (and NaN/Infinity are not JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return [f"{_path(parts)}: {value} is not a finite number"]
    if isinstance(value, dict):
        return [error for key, item in value.items() for error in _non_finite(item, (*parts, key))]
    if isinstance(value, list):
        return [error for i, item in enumerate(value) for error in _non_finite(item, (*parts, i))]
    return []


def _path(parts: Any) -> str:
    """`$.공급자.등록번호`, `$.품목[0].금액`: where in the data, readable with Korean names."""
    return "$" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in parts)


def json_text(answer: str) -> str:
    """The JSON inside an answer: as it is, or out of a ``` fence, or from the first `{` to the
    last `}` (a model without constrained decoding may add a sentence around it)."""
    text = answer.strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    if not text.startswith(("{", "[")) and "{" in text:
        end = text.rfind("}")
        text = text[text.index("{") : end + 1 if end > text.index("{") else len(text)]
    return text


def not_json(answer: str, exc: ValueError) -> str:
    """Why an answer is not JSON, in words: empty, no JSON object in it, or where the JSON breaks."""
    if not answer.strip():
        return "the answer is not JSON (it is empty)"
    if "{" not in answer and "[" not in answer:
        return f"the answer is not JSON (no JSON object in it: {_excerpt(answer)})"
    if isinstance(exc, json.JSONDecodeError):
        return f"the answer is not JSON ({exc.msg.lower()} at character {exc.pos + 1})"
    return "the answer is not JSON"


def _excerpt(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= limit else flat[:limit] + "…")


def nfc(value: Any, spelling: Spelling | None = None) -> Any:
    """Every string in a JSON value (keys too) in Unicode NFC, as page text is: Hangul typed or
    scanned as separate jamo compares equal to the composed syllables. With a `spelling`
    (schema_spelling), a key that is a property name and a string that is an `enum` or `const`
    value take the form the schema writes them in, so a schema written in NFD (names copied from
    macOS file names) still matches."""
    keys, values = spelling or ({}, {})
    if isinstance(value, str):
        text = unicodedata.normalize("NFC", value)
        return values.get(text, text)
    if isinstance(value, list):
        return [nfc(item, spelling) for item in value]
    if isinstance(value, dict):
        named = ((unicodedata.normalize("NFC", key), item) for key, item in value.items())
        return {keys.get(key, key): nfc(item, spelling) for key, item in named}
    return value


Spelling = tuple[dict[str, str], dict[str, str]]  # NFC -> the schema's form: property names; enum/const values
# Keywords whose value maps names to schemas (or, for dependentRequired, to lists of names).
_NAMED_SCHEMAS = ("properties", "dependentRequired", "dependentSchemas", "$defs", "definitions")


def schema_spelling(schema: Any) -> Spelling:
    """The strings a schema matches exactly that it does not write in NFC, by their NFC form:
    property names (and `required`), and `enum` and `const` values."""
    keys: dict[str, str] = {}
    values: dict[str, str] = {}

    def keep(found: dict[str, str], text: Any) -> None:
        if isinstance(text, str) and (normal := unicodedata.normalize("NFC", text)) != text:
            found.setdefault(normal, text)

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in _NAMED_SCHEMAS and isinstance(value, dict):
                for name, child in value.items():
                    if key not in ("$defs", "definitions"):
                        keep(keys, name)
                    walk(child)
            elif key == "required" and isinstance(value, list):
                for item in value:
                    keep(keys, item)
            elif key == "enum" and isinstance(value, list):
                for item in value:
                    keep(values, item)
            elif key == "const":
                keep(values, value)
            elif key not in ("default", "examples"):
                walk(value)

    walk(schema)
    return keys, values


@dataclass(frozen=True)
class _Found:
    """A JSON value found in a text, and where: `start`..`end` in `text` (the whole text: 0, len)."""

    value: Any
    text: str
    start: int
    end: int

    def ignored(self) -> str | None:
        """The text around the value, unless it is only blank or a ``` fence."""
        before = _FENCE_OPEN.sub("", self.text[: self.start]).strip()
        after = self.text[self.end :].strip().removesuffix("```").strip()
        parts = [f"{side} it {_excerpt(part)}" for side, part in (("before", before), ("after", after)) if part]
        return " and ".join(parts) or None


_FENCE_OPEN = re.compile(r"```[A-Za-z]*\s*$")


def json_values(text: str) -> list[_Found]:
    """The complete JSON values in `text`: the whole text when it is JSON (or a fenced block of
    it); otherwise every JSON object or array from left to right that is not inside one found
    before it (a model without constrained decoding adds sentences, notes with braces, a second
    try)."""
    fenced = _FENCE.match(text.strip())
    try:
        return [_Found(json.loads(fenced.group(1) if fenced else text), text, 0, len(text))]
    except ValueError:
        pass
    decoder, found, at = json.JSONDecoder(), list[_Found](), 0
    while True:
        starts = [p for p in (text.find("{", at), text.find("[", at)) if p >= 0]
        if not starts:
            return found
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            at = start + 1
            continue
        found.append(_Found(value, text, start, end))
        at = end


def _first_valid(found: list[_Found], schema: dict[str, Any]) -> tuple[_Found, Any, list[str]]:
    """The first value that validates, or else the first one, with its data and errors."""
    spelling = schema_spelling(schema)
    first: tuple[_Found, Any, list[str]] | None = None
    for item in found:
        data = nfc(item.value, spelling)
        errors = _non_finite(data) + schema_errors(data, schema)
        if not errors:
            return item, data, errors
        first = first or (item, data, errors)
    assert first is not None
    return first


def _where_note(item: _Found, found: list[_Found], source: str) -> str | None:
    """What to say about where the JSON came from and what was ignored (None: the answer was it)."""
    parts = [source] if source else []
    ignored = item.ignored()
    if ignored:
        others = len(found) - 1
        more = f", with {others} other JSON value(s)" if others else ""
        parts.append(f"text around the JSON was ignored{more}: {ignored}")
    return "; ".join(parts) or None


def check_generation(
    text: str, schema: dict[str, Any], *, thinking: bool, finish_reason: FinishReason, max_new_tokens: int
) -> Checked:
    """Raw generated text -> reasoning apart, the answer parsed as JSON and validated. The answer
    may hold more than the JSON: the first JSON value in it that validates is taken (else the
    first one, with its errors), and the note says what was ignored. With thinking off, an
    answer that came as reasoning (a server's reasoning parser that took all of it) is read
    from there, and the note says so."""
    parsed = parse_answer(text, thinking)
    reasoning = unicodedata.normalize("NFC", parsed.reasoning) if parsed.reasoning is not None else None
    if parsed.truncated:
        message = (
            f"the output stopped inside the reasoning at the token limit (--max-new-tokens {max_new_tokens})"
            if finish_reason == "length"
            else stopped_in_reasoning(finish_reason)
        )
        return Checked(errors=[message], reasoning=reasoning)
    answer, source = parsed.answer, ""
    if not answer.strip() and not thinking and parsed.reasoning and parsed.reasoning.strip():
        answer = parsed.reasoning
        source = (
            "the answer came as reasoning although thinking was off (the server's reasoning parser took it,"
            " or the server ignores enable_thinking=false); the JSON was read from there"
        )
    found = json_values(answer) or (json_values(parsed.final) if parsed.final is not None else [])
    if not found:
        if finish_reason == "length":
            message = f"the output stopped at the token limit (--max-new-tokens {max_new_tokens}) before the JSON ended"
        else:
            message = not_json(answer, _decode_error(answer))
        return Checked(errors=[message], reasoning=reasoning, answer=answer)
    item, data, errors = _first_valid(found, schema)
    note = _where_note(item, found, source) if item.text is answer else source or None
    return Checked(data=None if errors else data, errors=errors, reasoning=reasoning, answer=answer, note=note)


def _decode_error(answer: str) -> ValueError:
    try:
        json.loads(json_text(answer))
    except ValueError as exc:
        return exc
    return ValueError("not JSON")
