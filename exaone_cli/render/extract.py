"""`exaone extract` results where the user asked: JSON, JSON Lines, CSV, or a table on a terminal.

jsonl streams (a line per result, flushed); csv streams to stdout (the header first); json, and
csv files, are written whole when the run ends, atomically, from the results finished so far.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..config import Preset, Sampling
from ..extract.flatten import Path as Column
from ..extract.flatten import cell, columns, flatten, header, leaf, spreadsheet_safe
from ..extract.result import ExtractResult
from ..extract.runner import ResultSink
from ..extract.settings import ExtractSettings
from ..json_text import dumps
from ..ocr.output import JsonlWriter, atomic_write
from ..results import SCHEMA_VERSION
from .terminal import for_terminal

BOM = "\ufeff"  # Excel reads a CSV file as UTF-8 only when it starts with one
_META = ["source", "pages", "valid", "errors"]


def results_json(
    results: list[ExtractResult], *, schema: dict[str, Any], model: str, preset: Preset, sampling: Sampling
) -> dict[str, Any]:
    """`--json`: one result as its own object; otherwise {schema_version, schema, model, preset,
    sampling, results: [...]}, results in input order (valid JSON even with none)."""
    if len(results) == 1:
        return results[0].to_dict()
    return {
        "schema_version": SCHEMA_VERSION,
        "schema": schema,
        "model": results[0].model if results else model,
        "preset": preset.to_dict(),
        "sampling": sampling.to_dict(),
        "results": [result.to_dict() for result in results],
    }


def csv_row(result: ExtractResult, paths: list[Column], guard: bool = True) -> list[str]:
    """One result as CSV cells; with `guard`, strings a spreadsheet would run as a formula get a
    leading `'` (spreadsheet_safe)."""
    pages = ",".join(str(page) for page in result.pages)
    meta = [result.source, pages, result.valid, "; ".join(result.errors)]
    values = [leaf(result.data, path) for path in paths]
    return [spreadsheet_safe(value) if guard else cell(value) for value in meta + values]


class JsonSink:
    def __init__(self, settings: ExtractSettings, stdout: IO[str]) -> None:
        self.settings = settings
        self.stdout = stdout
        self.results: list[ExtractResult] = []

    def write(self, result: ExtractResult) -> None:
        self.results.append(result)

    def close(self) -> None:
        s = self.settings
        body = results_json(
            self.results, schema=s.target.schema, model=s.load.model, preset=s.preset, sampling=s.sampling
        )
        _emit(dumps(body) + "\n", s.output, self.stdout)


class JsonlSink:
    def __init__(self, output: Path | None, stdout: IO[str]) -> None:
        self._writer = JsonlWriter(stream=None if output else stdout, path=output)

    def write(self, result: ExtractResult) -> None:
        self._writer.write(result)

    def close(self) -> None:
        self._writer.close()


class CsvSink:
    """One row per result: source, pages, valid, errors, then the schema's fields (dotted names
    for nested objects, lists as JSON text). A file for people (-o, or stdout redirected to a new
    file) starts with a byte-order mark, so Excel shows Korean; a pipe or a terminal gets none (a
    program would read it as part of the first column's name). Appended to a file that has text
    (`>>`), the header is not written again. Exact in files and pipes; on a terminal, control
    characters in values are shown, not obeyed."""

    def __init__(self, settings: ExtractSettings, stdout: IO[str]) -> None:
        self.paths = columns(settings.target.schema)
        self.output = settings.output
        self.guard = settings.formula_guard
        self.stdout = stdout
        self.terminal = _is_terminal(stdout)
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        size = None if self.output is not None else _file_size(stdout)
        if self.output is not None or size == 0:
            self.buffer.write(BOM)
        if not size:  # a new file, a pipe, a terminal: the header; a file appended to has one
            self.writer.writerow(_META + [header(path) for path in self.paths])
        self._flush()

    def _flush(self) -> None:
        if self.output is None:  # stdout: row by row
            text = self.buffer.getvalue()
            if text:
                self.stdout.write(for_terminal(text) if self.terminal else text)
                self.stdout.flush()
            self.buffer.seek(0)
            self.buffer.truncate()

    def write(self, result: ExtractResult) -> None:
        self.writer.writerow(csv_row(result, self.paths, self.guard))
        self._flush()

    def close(self) -> None:
        if self.output is not None:
            atomic_write(self.output, self.buffer.getvalue())


class TableSink:
    """The terminal view: a table of fields per result, errors in red."""

    def __init__(self, stdout: IO[str], settings: ExtractSettings) -> None:
        self.console = Console(file=stdout, highlight=False)
        self.paths = columns(settings.target.schema)

    def write(self, result: ExtractResult) -> None:
        print_result(self.console, result, self.paths)

    def close(self) -> None:
        pass


def print_result(console: Console, result: ExtractResult, paths: list[Column]) -> None:
    """One result on a terminal: a heading (source, pages, valid or not), then a two-column table
    of fields, or the errors. Values, field and file names are untrusted: printed as Text (no
    markup), their control characters shown, not obeyed."""
    pages = ", ".join(str(page) for page in result.pages)
    where = f" · page {pages}" if len(result.pages) == 1 else f" · pages {pages}" if pages else ""
    if result.cut:
        mark = ("  ⚠ valid but cut short by the token limit (raise --max-new-tokens)", "bold yellow")
    else:
        mark = ("  ✓ valid", "green") if result.valid else ("  ✗ not valid", "bold red")
    console.print(Text.assemble((for_terminal(result.source) + where, "bold"), mark), soft_wrap=True)
    if result.valid:
        table = Table(show_header=True, expand=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value")
        for path, value in zip(paths, flatten(result.data, paths), strict=True):
            shown = Text(for_terminal(value)) if value else Text("–", style="dim")
            table.add_row(Text(for_terminal(header(path))), shown)
        console.print(table)
    for error in result.errors:
        console.print(Text.assemble(("  ", ""), (for_terminal(error), "red")), soft_wrap=True)
    if result.hint:
        console.print(Text.assemble(("  Hint: ", "yellow"), for_terminal(result.hint)), soft_wrap=True)


def error_line(result: ExtractResult) -> str:
    """A failed result as one line for stderr: the file's own error, or what broke the schema."""
    if result.raw is None:
        return result.errors[0]
    pages = ",".join(str(page) for page in result.pages)
    more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
    where = f" (page {pages})" if pages else ""  # no pages: a document read as text
    return f"{result.source}{where}: no valid JSON after {result.attempts} attempt(s): {result.errors[0]}{more}"


def make_result_sink(settings: ExtractSettings, stdout: IO[str]) -> ResultSink:
    """The sink for the run's format and destination; `stdout` is where the product goes when
    there is no -o file (above the progress line when both share a terminal)."""
    if settings.fmt == "jsonl":
        return JsonlSink(settings.output, stdout)
    if settings.fmt == "csv":
        return CsvSink(settings, stdout)
    if settings.fmt == "rich":
        return TableSink(stdout, settings)
    return JsonSink(settings, stdout)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _file_size(stream: IO[str]) -> int | None:
    """How much a regular file behind `stream` holds already (0: a new file, `>`; more: `>>`
    appending); None for a pipe, a terminal, a device, or a stream with no file."""
    try:
        info = os.fstat(stream.fileno())
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is an OSError
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _emit(text: str, output: Path | None, stdout: IO[str]) -> None:
    if output is not None:
        atomic_write(output, text)
    else:
        stdout.write(text)
        stdout.flush()
