"""The JSON Schema side of constrained decoding, light (llguidance only, imported when used; no
torch): the schema the grammar is built from, its Lark grammar, and the checks that find every
schema llguidance cannot compile before a model is loaded.

llguidance validates a grammar without a tokenizer (`LLMatcher.validate_grammar_with_warnings`),
so these checks cost milliseconds and run before the model loads. Its messages point into the
grammar text ("at 2(9): ..."); `compile_error` keeps only what they say about the schema, and
`grammar_problems` names where in the schema the problem stands.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from ..errors import UsageError

THINK_END = "</think>"
# llguidance's JSON options (its "x-guidance" keys): compact JSON, so there is no whitespace run to
# loop in; lenient, so a keyword it cannot enforce is left to the jsonschema validation after.
JSON_OPTIONS = {"whitespace_flexible": False, "lenient": True}


# Calendar dates as jsonschema's "date" check (Python's date.fromisoformat) takes them: years
# 0001-9999, each month's days, 29 February in leap years only (Gregorian: divisible by 4, not by
# 100 unless by 400). llguidance's own "date" format lets 0000-02-30 through.
_YEAR = "([1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_MONTH_DAY = "((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))"
_LEAP_YEAR = "([0-9]{2}(0[48]|[2468][048]|[13579][26])|([2468][048]|[13579][26]|0[48])00)"
_DATE = f"({_YEAR}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
DATE_PATTERN = f"^{_DATE}$"
# RFC 3339 times as jsonschema's "date-time" and "time" checks (rfc3339-validator, after an
# upper-casing) take them: hours 00-23, no leap second, a fraction, an offset that is Z or +-HH:MM.
# llguidance's own formats let 23:59:60, 0000-01-01 and 29 February of any year through.
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
TIME_PATTERN = f"^{_TIME}$"
DATE_TIME_PATTERN = f"^{_DATE}[Tt]{_TIME}$"
# Formats the grammar enforces with a pattern of ours, exactly as validation checks them.
FORMAT_PATTERNS = {"date": DATE_PATTERN, "date-time": DATE_TIME_PATTERN, "time": TIME_PATTERN}


NUMBER_LIMIT = 10**15  # unless the schema bounds a number: |x| <= 10^15 won, in plain digits


def decoding_schema(node: Any) -> Any:
    """The schema the grammar is built from: the user's, narrowed so that whatever the grammar
    allows also passes validation and prints as JSON. A `pattern` llguidance cannot compile
    (look-around, backreferences) is left out: the validation checks it. `format: date`,
    `date-time` and `time` become the exact patterns above (other formats llguidance knows, such
    as `uri` and `email`, it enforces itself; the rest are left to validation); numbers and
    integers without bounds get +-NUMBER_LIMIT (which also rules out exponents: a noise model's
    1e400 would parse as infinity, which JSON cannot carry)."""
    if isinstance(node, list):
        return [decoding_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: decoding_schema(value) for key, value in node.items()}
    if isinstance(out.get("pattern"), str) and pattern_problem(out["pattern"]):
        del out["pattern"]  # left to the jsonschema validation after (grammar_problems warns)
    if out.get("format") in FORMAT_PATTERNS and "pattern" not in out:
        out["pattern"] = FORMAT_PATTERNS[out.pop("format")]
    kinds = out.get("type")
    if {"number", "integer"} & set([kinds] if isinstance(kinds, str) else kinds or []):
        if "minimum" not in out and "exclusiveMinimum" not in out:
            out["minimum"] = -NUMBER_LIMIT
        if "maximum" not in out and "exclusiveMaximum" not in out:
            out["maximum"] = NUMBER_LIMIT
    return out


def lark_grammar(schema: Mapping[str, Any], thinking: bool) -> str:
    """The grammar in llguidance's Lark dialect: the JSON answer alone, or (thinking) free
    reasoning, the `</think>` token, at most 4 spaces or newlines, then the JSON."""
    body = json.dumps({**decoding_schema(dict(schema)), "x-guidance": JSON_OPTIONS}, ensure_ascii=False)
    if not thinking:
        return f"start: answer\nanswer: %json {body}\n"
    return (
        f"start: REASONING {THINK_END} GAP answer\n"  # <...> names a token in llguidance's Lark
        "REASONING: /(?s:.*)/\n"
        "GAP: /[ \\n]{0,4}/\n"
        f"answer: %json {body}\n"
    )


_POSITION = re.compile(r"^at \d+\(\d+\): ")
_PREFIX = "failed to compile JSON schema: "


def compile_error(message: str) -> str:
    """llguidance's compile error in words about the schema: no position in the grammar text
    ("at 2(9)"), no grammar listing, a regex error reduced to its `error:` line."""
    lines = [line for line in message.strip().splitlines() if not re.match(r"^\s*\d+ \| ", line)]
    lines = [line for line in lines if line.strip() != "^"]
    text = _POSITION.sub("", lines[0] if lines else "").removeprefix(_PREFIX) if lines else ""
    regex_error = next((line.removeprefix("error: ") for line in lines if line.startswith("error: ")), None)
    if text.startswith("regex parse error") and regex_error:
        return f"regex parse error: {regex_error}"
    return text or "llguidance refused it"


def _grammar_error(schema: Mapping[str, Any]) -> str | None:
    """llguidance's error for the answer grammar of `schema`, in words; None when it compiles."""
    import llguidance

    try:
        grammar = llguidance.LLMatcher.grammar_from_lark(lark_grammar(schema, thinking=False))
        failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    except (ValueError, TypeError, RuntimeError) as exc:  # a grammar it cannot even parse
        return compile_error(str(exc))
    return compile_error(messages[0]) if failed and messages else None


@lru_cache(maxsize=256)
def pattern_problem(pattern: str) -> str | None:
    """Why llguidance cannot enforce this `pattern` while decoding (look-around, backreferences:
    ECMA regex features its regex engine lacks), or None when it can."""
    import llguidance

    grammar = llguidance.LLMatcher.grammar_from_json_schema({"type": "string", "pattern": pattern})
    failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    return compile_error(messages[0]).removeprefix("regex parse error: ") if failed and messages else None


@lru_cache(maxsize=64)
def format_problem(name: str) -> str | None:
    """Why llguidance cannot enforce `format: name` while decoding (a format it does not know),
    or None when it can (FORMAT_PATTERNS are ours, so always)."""
    import llguidance

    if name in FORMAT_PATTERNS:
        return None
    grammar = llguidance.LLMatcher.grammar_from_json_schema({"type": "string", "format": name})
    failed, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar)
    return compile_error(messages[0]) if failed and messages else None


def schema_keywords(node: Any, keyword: str, where: str = "$") -> list[tuple[str, str]]:
    """(where, value) for every string `keyword` (`format`, `pattern`) in a schema, `where` as a
    data path; the values of const, enum, default and examples are data, not schemas."""
    if isinstance(node, list):
        return [found for item in node for found in schema_keywords(item, keyword, where)]
    if not isinstance(node, dict):
        return []
    found = [(where, node[keyword])] if isinstance(node.get(keyword), str) else []
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            found += [
                hit for name, child in value.items() for hit in schema_keywords(child, keyword, f"{where}.{name}")
            ]
        elif key in ("items", "prefixItems"):
            found += schema_keywords(value, keyword, f"{where}[]")
        elif key not in ("const", "enum", "default", "examples", keyword):
            found += schema_keywords(value, keyword, where)
    return found


def _children(node: Any, where: str) -> list[tuple[str, Any]]:
    if not isinstance(node, dict):
        return []
    props = node.get("properties")
    out = [(f"{where}.{name}", child) for name, child in props.items()] if isinstance(props, dict) else []
    if isinstance(node.get("items"), dict):
        out.append((f"{where}[]", node["items"]))
    return out


def _culprit(root: Mapping[str, Any], node: Any, where: str) -> str:
    """The deepest part of the schema that alone cannot compile (a property, a list's items),
    so the message names it; each part is tried with the root's $defs, so its refs resolve."""
    defs = {key: root[key] for key in ("$defs", "definitions") if key in root}
    for path, child in _children(node, where):
        if isinstance(child, dict) and _grammar_error({**child, **defs}):
            return _culprit(root, child, path)
    return where


def _format_warnings(schema: Mapping[str, Any], origin: str) -> list[str]:
    """One warning per format that validation checks and llguidance cannot enforce (uri-reference,
    iri, ...); a format neither knows is said by the extraction's own check (extract/validate.py)."""
    import jsonschema

    checked = jsonschema.Draft202012Validator.FORMAT_CHECKER.checkers
    first: dict[str, str] = {}
    for where, name in schema_keywords(schema, "format"):
        first.setdefault(name, where)
    return [
        f"{origin}: the format {name!r} at {where} cannot be enforced while decoding;"
        " answers are checked against it after"
        for name, where in first.items()
        if name in checked and format_problem(name)
    ]


def grammar_problems(schema: Mapping[str, Any], origin: str) -> list[str]:
    """Check, before any model is loaded, that the local engine can build its grammar from
    `schema`. Returns one warning per `pattern` and per `format` left to validation (llguidance
    cannot compile or enforce it); raises UsageError naming the part of the schema that cannot be satisfied or compiled
    (`minimum` above `maximum`, an empty `enum`, ...)."""
    warnings = [
        f"{origin}: the pattern {pattern!r} at {where} cannot be enforced while decoding ({problem});"
        " answers are checked against it after"
        for where, pattern in schema_keywords(schema, "pattern")
        if (problem := pattern_problem(pattern))
    ]
    warnings += _format_warnings(schema, origin)
    error = _grammar_error(schema)
    if error:
        where = _culprit(schema, dict(schema), "$")
        at = "" if where == "$" else f" at {where}"
        raise UsageError(
            f"{origin}: the schema cannot be used for constrained decoding{at}: {error}",
            hint="a value no JSON can satisfy (e.g. minimum above maximum) is a mistake in the schema: fix it there",
        )
    return warnings
