"""Input paths: check them early, and tell files apart by their bytes, not their names."""

from __future__ import annotations

import atexit
import hashlib
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from .errors import InputError

Kind = Literal["pdf", "image", "unknown"]

STDIN = "-"
STDIN_DISPLAY = "<stdin>"
_CHUNK = 1 << 20
_HEAD = 1024

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
    """The kind of a file from its first bytes. PDFs may have junk before %PDF- (within 1 KiB).

    "unknown" is not an error: Pillow reads formats this table leaves out (ICO, JPEG 2000, ...), so
    pages/ decides once it has tried."""
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if b"%PDF-" in head[:_HEAD]:
        return "pdf"
    return "unknown"


@dataclass(frozen=True)
class Source:
    """One input the user named, checked and identified.

    `path` is always a real regular file (standard input is spooled to a temporary one, so PDF
    libraries and poppler's subprocesses can seek it); `display` is what users see in messages and
    results; `sha256` fingerprints the content so an interrupted run can tell a file it has seen."""

    path: Path
    kind: Kind
    display: str
    sha256: str

    @property
    def name(self) -> str:
        """The display name (kept for callers written before `display` existed)."""
        return self.display


def open_source(name: str) -> Source:
    """Check that `name` is a readable, non-empty regular file (or "-" for standard input), sniff
    its kind and hash it; raise InputError naming the file and what to do if not."""
    if name == STDIN:
        return _spool_stdin()
    path = Path(name)
    try:
        # stat before open: opening a FIFO would block until a writer appears.
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise InputError(f"{name}: no such file", hint="check the path (quote names with spaces)") from None
    except PermissionError:
        raise InputError(f"{name}: permission denied", hint="check the permissions of its folders") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})", hint="check the path") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{name}: is a folder, not a file", hint="pass the files inside it, e.g. DIR/*.pdf")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(
            f"{name}: not a regular file (a pipe, socket or device)",
            hint="save it to a file first, or pipe it in and pass - as the input",
        )
    if info.st_size == 0:
        raise InputError(f"{name}: empty file", hint="check that it was saved completely")
    try:
        with path.open("rb") as handle:
            head, digest = _read_all(handle)
    except PermissionError:
        raise InputError(f"{name}: permission denied", hint="check the file's permissions") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot be read ({exc.strerror})", hint="check the file and the disk") from None
    if not head:  # it was emptied between the stat and the read
        raise InputError(f"{name}: empty file", hint="check that it was saved completely")
    return Source(path=path, kind=sniff(head), display=name, sha256=digest)


def _read_all(handle: IO[bytes], copy_to: IO[bytes] | None = None) -> tuple[bytes, str]:
    """Stream `handle` in chunks: its first KiB and the SHA-256 of the whole (optionally copying it)."""
    hasher = hashlib.sha256()
    head = b""
    while chunk := handle.read(_CHUNK):
        if len(head) < _HEAD:
            head += chunk[: _HEAD - len(head)]
        hasher.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return head, hasher.hexdigest()


def _spool_stdin() -> Source:
    """Standard input's bytes in a temporary file removed at exit; the kind comes from the bytes."""
    stdin = sys.stdin
    if stdin is None or getattr(stdin, "buffer", None) is None:
        raise InputError(f"{STDIN_DISPLAY}: standard input is closed", hint="pipe a file in: exaone ... - < scan.pdf")
    isatty = getattr(stdin, "isatty", None)
    if isatty is not None and isatty():
        raise InputError(
            f"{STDIN_DISPLAY}: nothing piped in (standard input is a terminal)",
            hint="pipe a file in: exaone ... - < scan.pdf",
        )
    handle = tempfile.NamedTemporaryFile(prefix="exaone-stdin-", delete=False)  # noqa: SIM115 (kept past return)
    path = Path(handle.name)
    atexit.register(_remove, path)
    try:
        with handle:
            head, digest = _read_all(stdin.buffer, copy_to=handle)
    except OSError as exc:
        _remove(path)
        raise InputError(
            f"{STDIN_DISPLAY}: cannot be read ({exc})", hint="check the command piping into exaone"
        ) from None
    if not head:
        _remove(path)
        raise InputError(
            f"{STDIN_DISPLAY}: standard input was empty", hint="pipe a PDF or image in: exaone ... - < scan.pdf"
        )
    return Source(path=path, kind=sniff(head), display=STDIN_DISPLAY, sha256=digest)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
