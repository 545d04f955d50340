"""One input planned for a run: its selected pages and their text layers, or why it cannot be read.

Its own module because both the pipeline (which makes plans) and the read-ahead (which renders
their pages) need it, and neither should import the other for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..inputs import Source
from ..pages.text_layer import TextLayer


@dataclass(frozen=True)
class DocumentPlan:
    """One input: its selected pages, or why it cannot be read at all; for a PDF whose text layer
        was read, each selected page's layer (`layers`, by page number; None when not read). A document
    that has `text` and no pages is read as that text, unnumbered (pages/hwp.py's NoPages)."""

    display: str
    source: Source | None = None
    pages: tuple[int, ...] = ()
    page_count: int = 0
    error: str | None = None
    hint: str | None = None  # what to do about `error`, when there is something
    layers: Mapping[int, TextLayer] | None = None
    note: str | None = None  # requested pages it does not have; goes into each of its records
    text: str | None = None  # no pages (rhwp could not render it): its own text stands in (extract)

    @property
    def sha256(self) -> str | None:
        return self.source.sha256 if self.source else None

    def layer(self, number: int) -> TextLayer | None:
        return self.layers.get(number) if self.layers is not None else None
