"""The target of an extraction: a JSON Schema from a file, a quick field list, or a shipped template.

Pure: no model, no engine. Every schema is checked against its JSON Schema metaschema (the
`jsonschema` library, Draft 2020-12 unless the schema's `$schema` names another) before anything
is loaded, so a typo in a schema file costs nothing.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import UsageError

SchemaDict = dict[str, Any]

# --fields types -> JSON Schema. Every field is nullable (null = "not on the document") and
# required, with no other properties allowed: the shape OpenAI's strict structured outputs ask
# for, which vLLM and SGLang accept too.
FIELD_TYPES: dict[str, SchemaDict] = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "number": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "date": {"type": ["string", "null"], "format": "date"},  # ISO 8601 / RFC 3339 full-date
    "time": {"type": ["string", "null"], "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"},
    "email": {"type": ["string", "null"], "format": "email"},
}
_FIELD = re.compile(r"^(?P<name>[^:]+?)\s*(?::\s*(?P<type>[A-Za-z-]+)\s*(?P<list>\[\])?)?$")
_FIELDS_HINT = 'e.g. --fields "상호, 사업자등록번호, 거래일자:date, 합계금액:integer, 품목:string[]"'


@dataclass(frozen=True)
class ExtractionSchema:
    """A checked JSON Schema and where it came from (`template receipt`, `--fields`, a file name)."""

    schema: SchemaDict
    origin: str

    def to_json(self) -> str:
        """The schema as people read it (indented, Korean as is)."""
        return json.dumps(self.schema, ensure_ascii=False, indent=2)


def check_schema(schema: object, origin: str) -> SchemaDict:
    """`schema` if it is a valid JSON Schema object; UsageError naming `origin` otherwise."""
    import jsonschema

    if not isinstance(schema, dict):
        raise UsageError(f"{origin}: a JSON Schema must be a JSON object, not {type(schema).__name__}")
    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path) or "the top level"
        raise UsageError(
            f"{origin}: not a valid JSON Schema at {where}: {exc.message}",
            hint="check it against https://json-schema.org/draft/2020-12",
        ) from None
    check_refs(schema, origin)
    return schema


def check_refs(schema: SchemaDict, origin: str) -> None:
    """Every `$ref` in `schema` resolves inside it, checked with jsonschema's `referencing`
    library (which resolves them the same way when validating). exaone fetches no schema from the
    network or disk: a reference to another document is refused. UsageError naming the `$ref` and
    where it stands."""
    import referencing.exceptions
    from referencing.jsonschema import DRAFT202012, specification_with

    spec = specification_with(str(schema.get("$schema", "")), default=DRAFT202012)
    resolver = referencing.Registry().with_resource("", spec.create_resource(schema)).resolver()

    def walk(node: Any, where: tuple[str, ...], resolver: Any) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*where, str(i)), resolver)
            return
        if not isinstance(node, dict):
            return
        if isinstance(node.get("$id"), str) and where:
            resolver = resolver.in_subresource(spec.create_resource(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except referencing.exceptions.PointerToNowhere:
                _bad_ref(origin, ref, where, "points to nothing in the schema", "check the name under $defs")
            except referencing.exceptions.Unresolvable:
                _bad_ref(origin, ref, where, "names another document, and exaone fetches no schemas",
                         "copy that schema under $defs and refer to it as #/$defs/NAME")  # fmt: skip
        for key, value in node.items():
            if key not in ("const", "enum", "default", "examples"):  # values, not schemas
                walk(value, (*where, key), resolver)

    walk(schema, (), resolver)


def _bad_ref(origin: str, ref: str, where: tuple[str, ...], why: str, hint: str) -> None:
    at = "/".join(where) or "the top level"
    raise UsageError(f"{origin}: the $ref {ref!r} at {at} {why}", hint=hint)


def load_schema_file(path: Path) -> ExtractionSchema:
    """A JSON Schema from a file (UTF-8, a BOM allowed)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(
            f"{path}: the schema file is not UTF-8 (JSON is UTF-8; a legacy code page such as cp949?)",
            hint="save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)",
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the schema file ({exc})", hint="check the path") from None
    try:
        schema = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not JSON ({exc})", hint="a schema file holds one JSON Schema object") from None
    return ExtractionSchema(check_schema(schema, str(path)), origin=str(path))


def parse_fields(spec: str) -> ExtractionSchema:
    """`--fields "상호, 거래일자:date, 합계금액:integer, 품목:string[]"` as an object schema.

    Types: FIELD_TYPES (default string); `[]` after a type makes a list of it. Raises UsageError
    on an empty list, a duplicate name or an unknown type."""
    properties: SchemaDict = {}
    parts = [part.strip() for part in re.split(r"[,，\n]", spec)]
    for part in parts:
        if not part:
            continue
        match = _FIELD.match(part)
        if match is None:
            raise UsageError(f"--fields: cannot read {part!r}", hint=_FIELDS_HINT)
        name, kind = _unquoted(match["name"].strip()), (match["type"] or "string").lower()
        if not name:
            raise UsageError(f"--fields: {part!r} has no field name", hint=_FIELDS_HINT)
        if kind not in FIELD_TYPES:
            raise UsageError(
                f"--fields: unknown type {kind!r} for {name!r}{_did_you_mean(kind, FIELD_TYPES)}",
                hint=f"use one of: {', '.join(FIELD_TYPES)}",
            )
        if name in properties:
            raise UsageError(f"--fields: {name!r} is given twice", hint=_FIELDS_HINT)
        field = dict(FIELD_TYPES[kind])
        if match["list"]:
            item = {key: value for key, value in field.items() if key != "type"}
            item["type"] = next(t for t in field["type"] if t != "null")
            field = {"type": ["array", "null"], "items": item}
        properties[name] = field
    if not properties:
        raise UsageError("--fields is empty", hint=_FIELDS_HINT)
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return ExtractionSchema(check_schema(schema, "--fields"), origin="--fields")


_QUOTES = ('""', "''", "“”", "‘’")


def _unquoted(name: str) -> str:
    """A field name typed in quotes ("상호", '상호', “상호”) without them: the quotes are how a
    shell or a habit writes a name, not part of it."""
    while len(name) >= 2 and name[0] + name[-1] in _QUOTES:
        name = name[1:-1].strip()
    return name


def _templates_dir() -> Path:
    return Path(str(resources.files("exaone_cli.extract"))) / "templates"


def template_names() -> list[str]:
    """The shipped templates, by name (the file names in extract/templates/)."""
    return sorted(path.stem for path in _templates_dir().glob("*.json"))


def template_titles() -> dict[str, str]:
    """name -> the template's Korean title (its schema `title`), for --help."""
    titles = {}
    for name in template_names():
        schema = json.loads((_templates_dir() / f"{name}.json").read_text(encoding="utf-8"))
        titles[name] = str(schema.get("title", ""))
    return titles


def load_template(name: str) -> ExtractionSchema:
    """A shipped template by name; UsageError listing the names for an unknown one."""
    path = _templates_dir() / f"{name}.json"
    if not path.is_file():
        names = template_names()
        raise UsageError(
            f"unknown template {name!r}{_did_you_mean(name, names)}", hint=f"use one of: {', '.join(names)}"
        )
    schema = json.loads(path.read_text(encoding="utf-8"))
    return ExtractionSchema(check_schema(schema, f"template {name}"), origin=f"template {name}")


def resolve_schema(schema_file: Path | None, fields: str | None, template: str | None) -> ExtractionSchema:
    """Exactly one of --schema, --fields, --template, as a checked schema."""
    flags = (("--schema", schema_file), ("--fields", fields), ("--template", template))
    given = [flag for flag, value in flags if value is not None]
    if len(given) != 1:
        raise UsageError(
            "give exactly one of --schema FILE, --fields LIST or --template NAME"
            + (f" (got {' and '.join(given)})" if given else ""),
            hint=f"templates: {', '.join(template_names())}",
        )
    if schema_file is not None:
        return load_schema_file(schema_file)
    if fields is not None:
        return parse_fields(fields)
    assert template is not None
    return load_template(template)


def _did_you_mean(typed: str, names: Iterable[str]) -> str:
    """ "; did you mean 'receipt'?" for a near miss (difflib, as Click does for commands), or ""."""
    close = difflib.get_close_matches(typed, list(names), n=1, cutoff=0.6)
    if not close:  # "int" for "integer": a prefix is a near miss too
        close = [name for name in names if name.startswith(typed)][:1] if typed else []
    return f"; did you mean {close[0]!r}?" if close else ""
