"""Sinks take finished page records one at a time and put them where the user asked.

jsonl streams (stdout or file, flushed per page); text and Markdown stream to stdout; json, and
any text/Markdown file, are written whole at the end (atomically), from the pages finished so far
even when the run was interrupted. Standard output is handed in once (`stdout`), never looked up
as `sys.stdout` while the run goes: a live display may have swapped it.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

from rich.console import Console

from ..config import Preset, Sampling
from ..engines.text import valid_text
from ..json_text import dumps
from ..ocr.output import JsonlWriter, Sink, atomic_write
from ..ocr.settings import OcrSettings
from ..results import PageRecord, documents_json, made_by
from .pages import markdown_block, print_page, text_block
from .terminal import for_terminal


class JsonlSink:
    def __init__(self, path: Path | None, append: bool, stdout: IO[str]) -> None:
        self._writer = JsonlWriter(stream=None if path else stdout, path=path, append=append)

    def write(self, record: PageRecord) -> None:
        self._writer.write(record)

    def close(self) -> None:
        self._writer.close()


class DocumentSink:
    """json / text / markdown: streamed to stdout page by page (json at the end), or collected
    and written to a file atomically when the run ends."""

    def __init__(
        self, fmt: str, path: Path | None, stdout: IO[str], *, model: str, preset: Preset, sampling: Sampling
    ) -> None:
        self.fmt, self.path, self.stdout = fmt, path, stdout
        self.model, self.preset, self.sampling = model, preset, sampling
        self.records: list[PageRecord] = []

    def _block(self, record: PageRecord, first: bool) -> str:
        """A page as text or Markdown: exact for files and pipes (valid UTF-8 whatever the page
        held), control characters made visible on a terminal."""
        block = markdown_block(record, first) if self.fmt == "markdown" else text_block(record)
        return for_terminal(block) if self.path is None and self.stdout.isatty() else valid_text(block)

    def write(self, record: PageRecord) -> None:
        if self.path is None and self.fmt != "json":
            self.stdout.write(self._block(record, first=not self.records))
            self.stdout.flush()
        self.records.append(record)

    def render(self) -> str:
        if self.fmt == "json":
            body = documents_json(self.records, model=self._model(), preset=self.preset, sampling=self.sampling)
            return dumps(body) + "\n"
        return "".join(self._block(record, first=i == 0) for i, record in enumerate(self.records))

    def _model(self) -> str | None:
        """The model that made the pages (made_by); the model asked for while there is no page."""
        return made_by(self.records) if self.records else self.model

    def close(self) -> None:
        if self.path is not None:
            atomic_write(self.path, self.render())
        elif self.fmt == "json":
            self.stdout.write(self.render())
            self.stdout.flush()


class RichSink:
    """The terminal view: each page as a panel on standard output (`exaone ocr` on a terminal)."""

    def __init__(self, stdout: IO[str]) -> None:
        self.console = Console(file=stdout, highlight=False)

    def write(self, record: PageRecord) -> None:
        print_page(self.console, record)

    def close(self) -> None:
        pass


def make_sink(settings: OcrSettings, stdout: IO[str]) -> Sink:
    """The sink for the run's format and destination; `stdout` is where the product goes when
    there is no -o file."""
    if settings.fmt == "jsonl":
        return JsonlSink(settings.output, append=settings.resume, stdout=stdout)
    if settings.fmt == "rich":
        return RichSink(stdout)
    return DocumentSink(
        settings.fmt, settings.output, stdout,
        model=settings.load.model, preset=settings.preset, sampling=settings.sampling,
    )  # fmt: skip
