"""Input paths: check them early, and tell files apart by their bytes, not their names."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .errors import InputError

Kind = Literal["pdf", "image", "unknown"]

_MAGIC: list[tuple[bytes, Kind]] = [
    (b"%PDF-", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"II*\x00", "image"),
    (b"MM\x00*", "image"),
    (b"BM", "image"),
    (b"RIFF", "image"),  # WEBP (checked further by Pillow)
]


def sniff(head: bytes) -> Kind:
    """The kind of a file from its first bytes. PDFs may have junk before %PDF- (within 1 KiB)."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return "unknown"


@dataclass(frozen=True)
class Source:
    """One input the user named: a path, its kind by content, and its bytes' first KiB."""

    path: Path
    kind: Kind

    @property
    def name(self) -> str:
        return str(self.path)


def open_source(name: str) -> Source:
    """Check that `name` is a readable regular file and sniff its kind; raise InputError if not."""
    path = Path(name)
    if not path.exists():
        raise InputError(f"{name}: no such file", hint="check the path (quote names with spaces)")
    if path.is_dir():
        raise InputError(f"{name}: is a folder, not a file", hint="pass the files inside it, e.g. DIR/*.pdf")
    if not path.is_file():
        raise InputError(f"{name}: not a regular file", hint="pass an image or PDF file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{name}: permission denied", hint="check the file's permissions")
    with path.open("rb") as handle:
        head = handle.read(1024)
    return Source(path=path, kind=sniff(head))
