"""--pages: which pages of each input to take."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class PageRanges:
    """Which pages to take, as 1-based inclusive spans; `last=None` runs to the document's end."""

    spans: tuple[tuple[int, int | None], ...]

    @classmethod
    def all(cls) -> PageRanges:
        return cls(((1, None),))

    def select(self, count: int) -> list[int]:
        """The selected page numbers that exist in a `count`-page document, ascending, once each."""
        chosen: set[int] = set()
        for first, last in self.spans:
            chosen.update(range(first, min(count, last if last is not None else count) + 1))
        return sorted(chosen)

    def missing(self, count: int) -> str | None:
        """The requested pages a `count`-page document does not have, written as --pages writes
        them ("5", "4-9", "10-"), or None when every requested page exists. An open range past
        the end ("2-" of a 3-page document) asks for nothing missing unless it starts past it."""
        parts: list[str] = []
        for first, last in self.spans:
            if last is None:
                if first > count:
                    parts.append(f"{first}-")
            elif last > count:
                low = max(first, count + 1)
                parts.append(str(low) if low == last else f"{low}-{last}")
        return ",".join(parts) or None

    def missing_note(self, count: int) -> str | None:
        """`missing` in words for a record's note and a warning, or None: "no page 5 in this
        3-page file (--pages 2,5)"."""
        missing = self.missing(count)
        if missing is None:
            return None
        word = "pages" if "-" in missing or "," in missing else "page"
        return f"no {word} {missing} in this {count}-page file (--pages {self})"

    def __str__(self) -> str:
        return ",".join(str(a) if a == b else f"{a}-{'' if b is None else b}" for a, b in self.spans)


_RANGE_HINT = "pages count from 1: e.g. 1-3,7,10- (10- means page 10 to the end)"
_RANGE_PART = re.compile(r"([0-9]+)\s*(?:(-)\s*([0-9]+)?)?")


def parse_page_ranges(spec: str | None) -> PageRanges:
    """`1-3,7,10-` as PageRanges; None means every page. Raises UsageError with a hint on junk."""
    if spec is None:
        return PageRanges.all()
    text = spec.replace("\u2013", "-").replace("\u2014", "-")  # en/em dashes pasted from documents
    if not text.strip():
        raise UsageError("page range is empty", hint=_RANGE_HINT)
    spans: list[tuple[int, int | None]] = []
    for part in (p.strip() for p in text.split(",")):
        match = _RANGE_PART.fullmatch(part)
        if not part:
            raise UsageError(f"page range {spec!r}: empty part (a stray comma?)", hint=_RANGE_HINT)
        if match is None:
            raise UsageError(f"page range {spec!r}: {part!r} is not a page number or range", hint=_RANGE_HINT)
        first = int(match[1])
        last = None if match[2] and not match[3] else int(match[3] or first)
        if first == 0 or last == 0:
            raise UsageError(f"page range {spec!r}: there is no page 0", hint=_RANGE_HINT)
        if last is not None and last < first:
            raise UsageError(f"page range {spec!r}: {part!r} runs backwards", hint=f"write {last}-{first}")
        spans.append((first, last))
    return PageRanges(tuple(spans))
