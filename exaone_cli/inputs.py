"""Input paths: check them early, and tell files apart by their bytes, not their names."""

from __future__ import annotations

import atexit
import hashlib
import stat
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, TextIO

from .errors import InputError

Kind = Literal["pdf", "image", "hwp", "hwpx", "unknown"]

STDIN = "-"
STDIN_DISPLAY = "<stdin>"
_CHUNK = 1 << 20
_HEAD = 1024
_CFB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # OLE2 Compound File: HWP 5.0, DOC, XLS, PPT, MSG ...
_ZIP = b"PK\x03\x04"  # HWPX, DOCX, XLSX, PPTX, ODT, EPUB ...
HWP_SIGNATURE = b"HWP Document File"
HWPX_MIMETYPE = b"application/hwp+zip"
_SAVE_AS_PDF = "save or print it as a PDF and pass that"

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
    results; `sha256` fingerprints the content so an interrupted run can tell a file it has seen.
    An HWP or HWPX document becomes a PDF source rendered from it (pages/hwp.py): `path` is then
    the rendered PDF, `rendered_from` the document's kind, and `sha256` still the document's own;
    `page_texts` (page, text) stand in for the text layer of those pages (the document's tables
    as Markdown, placed by pages/hwp_tables.py); `page_doubts` (page, reason) are pages whose
    layer is not the document's text (pages/hwp_order.py): their verdict is `garbled`."""

    path: Path
    kind: Kind
    display: str
    sha256: str
    rendered_from: Kind | None = None
    page_texts: tuple[tuple[int, str], ...] = ()
    page_doubts: tuple[tuple[int, str], ...] = ()

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
    return Source(path=path, kind=_kind(path, head, name), display=name, sha256=digest)


def _kind(path: Path, head: bytes, display: str) -> Kind:
    """sniff(), then a look inside the containers: an OLE2 file is HWP 5.0 when its FileHeader
    stream starts with the HWP signature, a ZIP is HWPX when its `mimetype` entry says so. Other
    containers are refused here, by what they are (a DOCX is no image Pillow could try)."""
    if head.startswith(_CFB):
        return _cfb_kind(path, display)
    if head.startswith(_ZIP):
        return _zip_kind(path, display)
    if head.startswith(HWP_SIGNATURE):  # HWP 3.x: the signature opens the file itself, no container
        raise InputError(
            f"{display}: an HWP 3.x document (Hangul 97 and older), which exaone does not read",
            hint="open it in Hangul and save it as HWP, HWPX or PDF",
        )
    return sniff(head)


def readable_kind(path: Path, head: bytes) -> Kind | None:
    """What exaone would read `path` as (its first bytes `head`), or None for a file it refuses
    (DOC, DOCX, ... ) or cannot tell: how a folder's documents are picked, HWP and HWPX included."""
    try:
        kind = _kind(path, head, str(path))
    except InputError:
        return None
    return None if kind == "unknown" else kind


def _cfb_kind(path: Path, display: str) -> Kind:
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            if ole.exists("FileHeader") and ole.openstream("FileHeader").read(32).startswith(HWP_SIGNATURE):
                return "hwp"
            streams = {"/".join(entry) for entry in ole.listdir()}
    except Exception as exc:  # olefile raises OSError, struct.error, IndexError ... on a damaged file
        raise InputError(f"{display}: a damaged or truncated OLE2 (compound) file ({exc})", hint=_CUT) from None
    if {"FileHeader", "DocInfo"} <= streams:  # HWP 5.0's streams, its header unreadable: truncated
        raise InputError(f"{display}: a damaged HWP 5.0 document (its FileHeader cannot be read)", hint=_CUT)
    if not streams:  # cut before its directory: an HWP, DOC or XLS file alike, none of it readable
        raise InputError(
            f"{display}: a damaged or truncated OLE2 (compound) file (HWP 5.0, DOC, XLS, ...): "
            "none of its streams can be read",
            hint=_CUT,
        )
    what = next((label for stream, label in _CFB_KINDS if stream in streams), "an OLE2 compound file (not HWP 5.0)")
    raise InputError(f"{display}: {what}, which exaone does not read", hint=_SAVE_AS_PDF)


_CUT = "check that it was saved or downloaded completely"
_CFB_KINDS = (
    ("WordDocument", "a Word 97-2003 document (DOC)"),
    ("Workbook", "an Excel 97-2003 workbook (XLS)"),
    ("Book", "an Excel 5 workbook (XLS)"),
    ("PowerPoint Document", "a PowerPoint 97-2003 presentation (PPT)"),
    ("__properties_version1.0", "an Outlook message (MSG)"),
)


def _zip_kind(path: Path, display: str) -> Kind:
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").strip() if "mimetype" in names else b""
    except (OSError, zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, RuntimeError) as exc:
        # an HWPX file stores its `mimetype` first, uncompressed: its opening bytes say what was cut
        cut = "HWPX document" if HWPX_MIMETYPE in _head(path, 128) else "ZIP archive"
        raise InputError(f"{display}: a damaged or truncated {cut} ({exc})", hint=_CUT) from None
    if mimetype == HWPX_MIMETYPE:
        return "hwpx"
    what = _ZIP_MIMETYPES.get(mimetype.decode("ascii", "replace"))
    if what is None:
        what = next((label for member, label in _ZIP_MEMBERS if member in names), "a ZIP archive")
    raise InputError(f"{display}: {what}, which exaone does not read", hint=_SAVE_AS_PDF)


def _head(path: Path, size: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(size)
    except OSError:
        return b""


_ZIP_MIMETYPES = {
    "application/vnd.oasis.opendocument.text": "an OpenDocument text (ODT)",
    "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet (ODS)",
    "application/vnd.oasis.opendocument.presentation": "an OpenDocument presentation (ODP)",
    "application/epub+zip": "an EPUB book",
}
_ZIP_MEMBERS = (
    ("word/document.xml", "a Word document (DOCX)"),
    ("xl/workbook.xml", "an Excel workbook (XLSX)"),
    ("ppt/presentation.xml", "a PowerPoint presentation (PPTX)"),
)


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
    try:
        kind = _kind(path, head, STDIN_DISPLAY)
    except InputError:
        _remove(path)
        raise
    return Source(path=path, kind=kind, display=STDIN_DISPLAY, sha256=digest)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


def text_lines(stream: TextIO) -> Iterator[str]:
    """The lines of a piped text stream, each read as UTF-8, else in the stream's own encoding
    (a legacy code page such as cp949, as `echo` writes it there), never an error: on Korean
    Windows a UTF-8 file piped in ended a run with UnicodeDecodeError at its first Hangul."""
    buffer = getattr(stream, "buffer", None)
    if buffer is None:  # a text stream without bytes under it (tests, an embedding program)
        yield from stream
        return
    legacy = getattr(stream, "encoding", None) or "utf-8"
    for raw in buffer:
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield raw.decode(legacy, errors="replace")
