"""What each tool does, as plain functions of plain arguments: paths confined to the roots,
the core run with the server's kept engine, and a compact result keyed by file and page.

They run on the SDK's worker threads; `report(progress, total, message)` sends a progress
notification. Errors are ExaoneError (the server turns them into tool errors).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..api import ask, dry_run, ocr_run
from ..config import LoadOptions, SamplingFlags
from ..engines import RemoteOptions
from ..errors import UsageError
from ..extract.runner import extract_run
from ..extract.schema import ExtractionSchema, check_schema, load_schema_file, resolve_schema
from ..extract.settings import ExtractSettings
from ..ocr.retries import DEFAULT_PAGE_RETRIES
from ..ocr.settings import OcrSettings
from ..ocr.text_sources import DEFAULT_TEXT_LAYER_MODE
from ..pages import DEFAULT_MAX_PAGE_PIXELS, DEFAULT_RASTERIZER, RasterOptions, parse_page_ranges
from ..results import PageRecord, made_by
from .engine import KeptEngine, to_stderr
from .paging import Pager
from .roots import Roots

Report = Callable[[float, float | None, str], None]


def _silent(progress: float, total: float | None, message: str) -> None:
    pass


@dataclass(frozen=True)
class ServerOptions:
    """What `exaone mcp` was started with: the same engine and input options as every command."""

    load: LoadOptions
    remote: RemoteOptions | None = None
    dpi: int = 200
    rasterizer: str | None = None
    password: str | None = None
    max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS
    batch_size: int = 4
    page_retries: int = DEFAULT_PAGE_RETRIES
    cache: bool = True
    seed: int | None = None
    max_new_tokens: int = 4096


@dataclass
class DocumentTools:
    """The tools of one server: its roots, its one engine, its kept results."""

    roots: Roots
    options: ServerOptions
    engine: KeptEngine = field(init=False)
    pager: Pager = field(default_factory=Pager)

    def __post_init__(self) -> None:
        self.engine = KeptEngine(self.options.load, self.options.remote)

    # ---- ocr --------------------------------------------------------------------------------

    def ocr(self, path: str, pages: str | None, text_layer: str | None, report: Report = _silent) -> dict[str, Any]:
        files = self.roots.documents(path)
        settings = self._ocr_settings(files, pages, text_layer)
        warnings: list[str] = []
        with self.engine.turn(on_loading=lambda m: report(0, None, m)):
            run = ocr_run(
                settings, _Collect(), warn=_noted(warnings), engine_opener=self.engine.get,
                on_status=lambda m: report(0, None, m),
            )  # fmt: skip
            items: list[dict[str, Any]] = []
            records: list[PageRecord] = []
            report(0, run.total, f"{run.total} page(s) to read")
            for done, record in enumerate(run, 1):
                records.append(record)
                items.append(_page_item(record))
                report(done, run.total, f"{record.source} p. {record.page}" if record.page else record.source)
        head = {
            "files": len(files),
            "pages": sum(1 for item in items if item.get("page") is not None),
            "failed": sum(1 for item in items if item.get("error")),
            # as `exaone ocr --json` says it: the model that made the pages (from the page store
            # too), null when every page came from its text layer, and kept when null
            "model": made_by(records),
            "warnings": warnings or None,
        }
        head = {key: value for key, value in head.items() if value is not None or key == "model"}
        return self.pager.first("ocr", head, items, _by_file)

    def _ocr_settings(self, files: list[str], pages: str | None, text_layer: str | None) -> OcrSettings:
        o = self.options
        return OcrSettings.from_flags(
            files=files, pages=pages, dpi=o.dpi, rasterizer=o.rasterizer, password=o.password, load=o.load,
            prompt_file=None, thinking=False,
            flags=SamplingFlags("ocr", max_new_tokens=o.max_new_tokens, seed=o.seed),
            batch_size=o.batch_size, fmt="jsonl", output=None, resume=False, stdout_is_terminal=False,
            remote=o.remote, text_layer=text_layer or DEFAULT_TEXT_LAYER_MODE, page_retries=o.page_retries,
            cache=o.cache, max_page_pixels=o.max_page_pixels,
        )  # fmt: skip

    # ---- inspect ----------------------------------------------------------------------------

    def inspect(self, path: str, pages: str | None, text_layer: str | None) -> dict[str, Any]:
        files = self.roots.documents(path)
        settings = self._ocr_settings(files, pages, text_layer)
        plan = dry_run(settings)
        items = [_dropped_none({"file": p.source, **_inspected(p)}) for p in plan.pages]
        ok = [p for p in plan.pages if not p.error]
        to_model = [p for p in ok if p.text_source == "model"]
        layer = len(ok) - len(to_model)
        head = {
            "files": len(files),
            "pages": len(ok),
            "to_model": len(to_model),
            "from_text_layer": layer,
            "visual_tokens": plan.visual_tokens,
            "text_layer_mode": settings.request.text_layer,
            "model": self.options.remote.server if self.options.remote else self.options.load.model,
            "model_loaded": self.engine.opened,
            "cost": (
                f"{len(to_model)} page(s) for the model, about {plan.visual_tokens:,} visual tokens"
                f" and up to {settings.sampling.max_new_tokens:,} new tokens each"
                + (f"; {layer} page(s) from their text layer, no model" if layer else "")
            ),
        }
        return self.pager.first("inspect", head, items, _by_file)

    # ---- ask --------------------------------------------------------------------------------

    def ask(
        self, question: str, path: str, pages: str | None, thinking: bool, report: Report = _silent
    ) -> dict[str, Any]:
        if not question.strip():
            raise UsageError("the question is empty", hint="ask something about the documents")
        files = self.roots.documents(path) if path.strip() else []
        if pages and not files:
            raise UsageError("pages needs a document, and no path was given", hint="give path too")
        o = self.options
        warnings: list[str] = []
        with self.engine.turn(on_loading=lambda m: report(0, None, m)):
            result = ask(
                question, files, load=o.load, remote=o.remote, thinking=thinking,
                flags=SamplingFlags("auto", max_new_tokens=o.max_new_tokens, seed=o.seed),
                ranges=parse_page_ranges(pages), cache=o.cache,
                page_retries=o.page_retries, page_tokens=o.max_new_tokens,
                raster=RasterOptions(
                    rasterizer=o.rasterizer or DEFAULT_RASTERIZER, dpi=o.dpi, password=o.password,  # type: ignore[arg-type]
                    max_page_pixels=o.max_page_pixels,
                ),
                on_warning=_noted(warnings), on_status=lambda m: report(0, None, m),
                progress=_transcribing(report), engine_opener=self.engine.get,
            )  # fmt: skip
        answer = {
            "question": question,
            "answer": result.parsed.answer,
            "final": result.parsed.final,
            "citations": [{"file": c.source, "page": c.page} for c in result.citations],
            "pages_read": [
                _dropped_none({"file": p.source, "page": p.page, "as": p.text_source, "cached": p.cached or None})
                for p in result.pages_read
            ],
            "pages_total": result.pages_total,
            "mode": result.mode,
            "truncated": result.parsed.truncated or None,
            "model": result.model,
            "note": result.to_dict()["note"],
            "error": result.error_line,
            "warnings": warnings or None,
        }
        text = answer.pop("answer")
        # an answer past the budget (a large --max-new-tokens) comes in parts, as ocr's pages do
        return self.pager.first("ask", _dropped_none(answer), [] if text is None else [{"text": text}], answer_parts)

    # ---- extract ----------------------------------------------------------------------------

    def extract(
        self,
        path: str,
        schema: str | None,
        fields: str | None,
        template: str | None,
        pages: str | None,
        per_page: bool,
        report: Report = _silent,
    ) -> dict[str, Any]:
        target = self._target(schema or None, fields or None, template or None)
        files = self.roots.documents(path)
        o = self.options
        settings = ExtractSettings.from_flags(
            files=files, target=target, pages=pages, dpi=o.dpi, rasterizer=o.rasterizer, password=o.password,
            load=o.load, remote=o.remote, flags=SamplingFlags("ocr", max_new_tokens=o.max_new_tokens, seed=o.seed),
            per_page=per_page, batch_size=o.batch_size, fmt="json", max_page_pixels=o.max_page_pixels,
        )  # fmt: skip
        warnings: list[str] = []
        with self.engine.turn(on_loading=lambda m: report(0, None, m)):
            run = extract_run(
                settings, None, warn=_noted(warnings), engine_opener=self.engine.get,
                on_status=lambda m: report(0, None, m),
            )  # fmt: skip
            report(0, run.total, f"{run.total} result(s) to make")
            items = []
            for done, result in enumerate(run, 1):
                items.append(
                    _dropped_none(
                        {"file": result.source, "pages": result.pages, "valid": result.valid,
                         "data": result.data if result.valid else None,
                         "errors": [in_tool_words(error) for error in result.errors] or None,
                         "hint": _words(result.hint), "raw": None if result.valid else result.raw,
                         "note": _words(result.note)}
                    )
                )  # fmt: skip
                where = f" p. {','.join(map(str, result.pages))}" if result.pages else ""
                report(done, run.total, f"{result.source}{where}")
        head = {
            "schema": target.origin,
            "results": len(items),
            "valid": sum(1 for item in items if item["valid"]),
            "model": run.model,
            "warnings": _not_noted(warnings, items) or None,
        }
        return self.pager.first("extract", _dropped_none(head), items, lambda part: {"items": part})

    def _target(self, schema: str | None, fields: str | None, template: str | None) -> ExtractionSchema:
        """The schema from exactly one of: a JSON Schema (as JSON text, or a file under the roots),
        a field list, a template name."""
        if schema is None or not schema.lstrip().startswith("{"):
            file = self.roots.resolve(schema) if schema is not None else None
            if file is not None:
                return resolve_schema(file, fields, template) if fields or template else load_schema_file(file)
            return resolve_schema(None, fields, template)
        if fields or template:
            raise UsageError("give exactly one of schema, fields or template")
        try:
            value = json.loads(schema)
        except ValueError as exc:
            raise UsageError(f"schema: not JSON ({exc})", hint="give a JSON Schema object, or a file's path") from None
        return ExtractionSchema(check_schema(value, "schema"), origin="the schema argument")

    def close(self) -> None:
        self.engine.close()


class _Collect:
    """The run's sink: the records are collected by iterating the run, so it keeps nothing."""

    def write(self, record: PageRecord) -> None:
        pass

    def close(self) -> None:
        pass


def _noted(warnings: list[str]) -> Callable[[str], None]:
    def note(message: str) -> None:
        warnings.append(message)
        to_stderr(f"Warning: {message}")

    return note


class _Transcribing:
    def __init__(self, report: Report, total: int) -> None:
        self.report, self.total, self.done = report, total, 0

    def advance(self, record: PageRecord) -> None:
        self.done += 1
        self.report(self.done, self.total, f"transcribed {record.source} p. {record.page}")


def _transcribing(report: Report) -> Callable[[int], Any]:
    """ask's page transcription as progress: one notification a page."""

    @contextmanager
    def running(total: int) -> Iterator[_Transcribing]:
        report(0, total, f"transcribing {total} page(s) for the answer")
        yield _Transcribing(report, total)

    return running


def _not_noted(warnings: list[str], items: list[dict[str, Any]]) -> list[str]:
    """The warnings no item's `note` already carries. A result's note is also said as a warning
    ("FILE: note"); kept in the head too, it was repeated in every part of a paged result, and a
    few hundred noted pages made each part pass the token budget."""
    notes = [(f"{item['file']}: ", item["note"]) for item in items if item.get("note")]
    return [w for w in warnings if not any(w.startswith(file) and w[len(file) :] in note for file, note in notes)]


# The command-line flags that are tool arguments here, as the shared checks name them
_FLAG_ARGUMENTS = re.compile(r"--(schema FILE|fields LIST|template NAME|schema|fields|template|text-layer|pages)\b")


def in_tool_words(text: str) -> str:
    """exaone's message with the flags that are this server's tool arguments named as the agent
    knows them (`--fields LIST` -> `fields`, `--text-layer` -> `text_layer`); the server's own
    options (--max-new-tokens, ...) stay flags: they are how the server was started."""
    words = _FLAG_ARGUMENTS.sub(lambda m: m.group(1).split(" ")[0].replace("-", "_"), text)
    return words.replace("its own command", "a call of its own")


def answer_parts(items: list[dict[str, Any]]) -> dict[str, Any]:
    """ask's answer, whole (`answer`), or the parts of it a result holds (`answer` and
    `answer_part`, "2-3 of 4": join the parts' answers in order for the whole)."""
    if not items:
        return {}
    text = "".join(item["text"] for item in items)
    if "part" not in items[0]:
        return {"answer": text}
    return {"answer": text, "answer_part": f"{items[0]['part']}-{items[-1]['part']} of {items[0]['parts']}"}


def _words(text: str | None) -> str | None:
    return None if text is None else in_tool_words(text)


def _page_item(record: PageRecord) -> dict[str, Any]:
    """A page as `exaone ocr --json` gives it, fewer fields: `cached` always (true or false)."""
    return _dropped_none(
        {"file": record.source, "page": record.page, "text": None if record.error else record.text,
         "text_source": record.text_source, "error": _words(record.error), "hint": _words(record.hint),
         "warning": _words(record.warning), "note": _words(record.note) if record.note != record.warning else None,
         "cached": record.cached}
    )  # fmt: skip


def _inspected(page: Any) -> dict[str, Any]:
    if page.error:
        return {
            "page": page.page,
            "error": _words(page.error),
            "hint": _words(page.error_hint),
            "text_layer": page.text_layer,
        }
    taken = page.text_source == "text-layer"
    return {
        "page": page.page, "width": page.width, "height": page.height, "dpi": page.dpi,
        "text_layer": page.text_layer, "text_layer_reason": page.text_layer_reason,
        "text_from": "text layer" if taken else "model", "visual_tokens": None if taken else page.visual_tokens,
        "note": _words(page.note),
    }  # fmt: skip


def _by_file(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Items grouped by file, in order: {"documents": [{"file": ..., "pages": [...]}]}."""
    documents: list[dict[str, Any]] = []
    for item in items:
        rest = {key: value for key, value in item.items() if key != "file"}
        if not documents or documents[-1]["file"] != item["file"]:
            documents.append({"file": item["file"], "pages": []})
        documents[-1]["pages"].append(rest)
    return {"documents": documents}


def _dropped_none(values: dict[str, Any]) -> dict[str, Any]:
    """Fields without a value left out: every token counts in an agent's context."""
    return {key: value for key, value in values.items() if value is not None}
