"""Results as spreadsheet rows: nested objects flattened to dotted column names, lists as JSON text.

Columns come from the schema, not from the data, so every row has the same columns in the
schema's order even when a field is null or a result failed. Pure.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A JSON pointer into the schema document itself ("#/$defs/party"); other references are leaves.
_LOCAL_REF = "#/"


def _resolve(node: Any, root: dict[str, Any], depth: int = 0) -> Any:
    """Follow a local `$ref` (at most 16 hops, so a cycle stops)."""
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith(_LOCAL_REF):
        if depth >= 16:
            return {}
        target: Any = root
        for part in node["$ref"][len(_LOCAL_REF) :].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node, depth = target, depth + 1
    return node


def _is_object(node: Any) -> bool:
    kinds = node.get("type") if isinstance(node, dict) else None
    kinds = [kinds] if isinstance(kinds, str) else kinds or []
    return "object" in kinds and isinstance(node.get("properties"), dict)


Path = tuple[str, ...]  # property names from the top: ("공급자", "등록번호") is the column 공급자.등록번호


def columns(schema: dict[str, Any]) -> list[Path]:
    """The data columns of a schema: one per leaf property, objects followed to any depth (8 at
    most); anything that is not an object with properties (strings, numbers, lists, unions) is a
    leaf. A schema whose top level is not an object has the one column `()`, named `value`."""
    out: list[Path] = []

    def walk(node: Any, path: Path) -> None:
        node = _resolve(node, schema)
        if len(path) < 8 and _is_object(node):
            for name, child in node["properties"].items():
                walk(child, (*path, name))
        else:
            out.append(path)

    walk(schema, ())
    return out


def header(path: Path) -> str:
    """A column's name: the dotted path (`value` for a top level that is not an object)."""
    return ".".join(path) or "value"


def cell(value: Any) -> str:
    """One value as CSV text: null is empty, booleans are true/false, lists and objects JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection": =, +, -, @,
# and tab and carriage return, which Excel strips before looking).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Values that start with + or - and still run nothing: a number as documents write it (-15,000
# -4500 +3.5 -12%), and an international phone number (+82 10-1234-5678, +1 (555) 010-2030: a
# + then 7 to 15 digits, with spaces, dots, hyphens or parentheses between). A spreadsheet
# shows the first as a number; neither can call a function, refer to a cell or reach a program.
_NUMBER = re.compile(r"[+-](\d{1,3}(,\d{3})+|\d+)(\.\d+)?%?")
_PHONE = re.compile(r"\+\d[\d .()-]*")  # and 7 to 15 digits (counted, not matched: no backtracking)


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could run `text` as a formula: it starts with one of FORMULA_STARTS
    and is not a signed number or a phone number (which are data, and stay as they are)."""
    if not text.startswith(FORMULA_STARTS):
        return False
    if _NUMBER.fullmatch(text):
        return False
    return not (_PHONE.fullmatch(text) and 7 <= sum(c.isdigit() for c in text) <= 15)


def spreadsheet_safe(value: Any) -> str:
    """A CSV cell that a spreadsheet shows as text: `cell(value)`, with a leading `'` when a
    string could run as a formula (OWASP's advice for CSV injection; document values are
    untrusted; looks_like_formula). JSON numbers and booleans are never changed."""
    text = cell(value)
    if isinstance(value, (str, list, dict)) and looks_like_formula(text):
        return "'" + text
    return text


def flatten(data: Any, paths: list[Path]) -> list[str]:
    """The cells of `data` for the columns `paths` (from `columns`); missing parts are empty."""
    return [cell(leaf(data, path)) for path in paths]


def leaf(data: Any, path: Path) -> Any:
    """The value at `path` in `data` (a column of `columns`), None where a part is missing."""
    for part in path:
        data = data.get(part) if isinstance(data, dict) else None
    return data
