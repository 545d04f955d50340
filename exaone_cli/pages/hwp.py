"""HWP 5.0 and HWPX documents (Hangul, 한/글) as PDFs, so the PDF path does the rest.

rhwp (PyPI `rhwp-python`, the `[hwp]` extra) parses both formats and lays the pages out the way
Hangul does; its PDF keeps the text as a real text layer. `as_pdf` renders a document once per
process into a temporary PDF and returns a PDF Source that keeps the document's display name and
its own SHA-256 (so the page store knows the document, not the rendering).

Four things rhwp 0.8.1 does that a user must never see (README, "HWP and HWPX"):
- its wheel bundles a FreeType older than its code needs (`undefined symbol: FT_Palette_Data_Get`
  on Debian 12): the system FreeType is loaded first, RTLD_GLOBAL, before rhwp is imported;
- with only Nanum fonts, its font fallback finds nothing and Korean text renders blank: a
  rendering whose text layer lacks the document's own text is refused, naming fonts-noto-cjk;
- its native code prints layout debug lines (LAYOUT_OVERFLOW ...) to stdout: file descriptors 1
  and 2 point elsewhere while it runs;
- a distribution document (배포용 문서) must be decrypted; its one-line stub notice, which text
  readers return instead of the body, is never passed off as the document.
And one its PDF sets for PDFium: each page of a multi-page document is a form XObject drawn at a
scale of about 1/1000 then scaled back up; PDFium's text layer loses the narrow glyphs (digits,
punctuation) at that scale, though it draws them: hwp_pdf.py moves the scale into the page's
own `cm`, and draws the pages as pictures where rhwp's PDF output fails.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import ctypes.util
import io
import os
import queue
import sys
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO, TypeVar, cast

from ..errors import EngineError, InputError
from ..inputs import Source
from .hwp_order import out_of_order
from .hwp_pdf import page_pictures, unscale_page_forms
from .hwp_spaces import drop_invented_spaces
from .hwp_tables import Table, document_tables, place_tables
from .text_layer import read_text_layers

HWP_INSTALL = "pip install '.[hwp]' in exaone's folder (see the README's Install)"
FONT_PACKAGE = "fonts-noto-cjk"
FONT_HINT = f"install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE}); Nanum fonts are not enough"
FREETYPE_PACKAGE = "libfreetype6"
# The system FreeType, by soname first (no ldconfig run), then wherever ctypes finds one.
FREETYPE_NAMES: tuple[str, ...] = ("libfreetype.so.6", "libfreetype.6.dylib")
# What text-only readers return for a distribution document they cannot decrypt.
DISTRIBUTION_STUB = "배포용 문서"
# FileHeader properties (HWP 5.0 spec, 3.2.1): bit 1 a password, bit 2 a distribution document, bit 4 DRM.
_PASSWORD, _DISTRIBUTION, _DRM = 0x02, 0x04, 0x10
# A rendering keeps at least this share of the document's Hangul, or its fonts are missing.
_KEPT_SHARE = 0.5

T = TypeVar("T")
_LOCK = threading.Lock()  # one rendering at a time: the descriptors 1 and 2 are process-wide
# document SHA-256 -> its rendered PDF, the texts of its pages that read better than their layer
# (invented spaces taken out, tables as Markdown), and the pages whose layer is not its text at
# all (why), for this process
_Pages = tuple[tuple[int, str], ...]
_RENDERED: dict[str, tuple[Path, _Pages, _Pages]] = {}


@dataclass(frozen=True)
class Rendering:
    """A document rendered: the PDF's bytes, the document's own text and tables (rhwp's model)."""

    pdf: bytes
    text: str
    pages: int
    tables: tuple[Table, ...] = ()


def as_pdf(source: Source, on_status: Callable[[str], None] | None = None) -> Source:
    """`source` itself unless it is an HWP or HWPX document; then a PDF Source rendered from it
    (rendered once per process), with the same display name and SHA-256, its pages' text
    without the spaces pdfium invents in rhwp's glyph runs (hwp_spaces.py), its tables as
    Markdown on the pages where they stand (hwp_tables.py), and the pages whose layer is not the
    document's text (hwp_order.py: rhwp laid them out wrongly), which are judged `garbled`.

    `on_status` is told when rhwp starts rendering, and how many pages (about a second each).

    Raises EngineError (exit 3) when rhwp is not installed or cannot load, InputError when the
    document cannot be read or rendered, or renders without its text (missing fonts)."""
    if source.kind not in ("hwp", "hwpx"):
        return source
    with _LOCK:
        known = _RENDERED.get(source.sha256)
        if known is None or not known[0].exists():
            try:
                rendering = render(source, on_status)
            except NoPages as exc:
                raise _without_blank_pictures(exc) from None
            path = _keep(rendering.pdf)
            read = _layer_texts(Source(path, "pdf", source.display, source.sha256))
            check_text(source.display, rendering.text, "\n".join(read))
            pages = drop_invented_spaces(read, rendering.text)
            better = {n: text for n, (was, text) in enumerate(zip(read, pages, strict=True), 1) if text != was}
            doubts = tuple(sorted(out_of_order(read, rendering.text).items()))
            known = path, tuple(sorted((better | place_tables(pages, rendering.tables)).items())), doubts
            _RENDERED[source.sha256] = known
    path, page_texts, page_doubts = known
    return replace(
        source, path=path, kind="pdf", rendered_from=source.kind, page_texts=page_texts, page_doubts=page_doubts
    )


def render(source: Source, on_status: Callable[[str], None] | None = None) -> Rendering:
    """The document through rhwp: parsed, rendered to PDF, its own text read from its model.
    `on_status` hears when the rendering starts, with the page count (known once parsed)."""
    rhwp = load_rhwp()
    _refuse_locked(source)

    def work(say: Callable[[str], None]) -> tuple[str, tuple[Table, ...], int, bytes]:
        # rhwp's document may not leave the thread that made it (pyo3 "unsendable"): all of it here
        document = None
        try:
            try:
                document = rhwp.parse(str(source.path))
                text, tables = document_model(document)
            except (ValueError, OSError, RuntimeError) as exc:
                raise _read_error(source, exc) from None
            try:
                pages = int(document.page_count)
                say(f"Rendering {source.display} with rhwp: {pages} page{'' if pages == 1 else 's'}…")
                pdf = document.render_pdf()
            except (ValueError, OSError, RuntimeError) as exc:  # read, but not laid out (an image it cannot decode)
                # its traceback's frames hold the document, which must be dropped in this thread
                exc.__traceback__ = None
                raise _no_pages(source, exc, text, page_pictures(document, pages)) from None
            return text, tables, pages, pdf
        finally:
            del document  # dropped in this thread, before an error's traceback leaves it

    with quiet_native_output():
        text, tables, pages, pdf = interruptible(work, on_status)
    if not pdf.startswith(b"%PDF-") or pages < 1:
        raise InputError(f"{source.display}: rhwp rendered no pages", hint="open it in Hangul and save it again")
    return Rendering(unscale_page_forms(pdf), text, pages, tables)


def load_rhwp() -> ModuleType:
    """rhwp, imported after the system FreeType (see the module's docstring); EngineError (exit 3)
    naming what to install when it is missing or cannot load."""
    if "rhwp" in sys.modules and sys.modules["rhwp"] is not None:
        return sys.modules["rhwp"]
    try:
        import importlib.util

        found = importlib.util.find_spec("rhwp") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise EngineError("reading HWP and HWPX files needs rhwp-python, which is not installed", hint=HWP_INSTALL)
    freetype = preload_freetype()
    try:
        import rhwp
    except ImportError as exc:
        if "FT_" in str(exc) and freetype is None:
            raise EngineError(
                f"rhwp cannot load: it needs the system FreeType library, which was not found ({exc})",
                hint=f"install the Debian package {FREETYPE_PACKAGE} (apt-get install {FREETYPE_PACKAGE})",
            ) from None
        raise EngineError(f"rhwp cannot load ({exc})", hint=f"reinstall it: {HWP_INSTALL}") from None
    return rhwp


def preload_freetype() -> str | None:
    """Load the system FreeType with RTLD_GLOBAL so rhwp's native code binds to it; its name, or
    None when this machine has none."""
    names = list(FREETYPE_NAMES)
    found = ctypes.util.find_library("freetype") if names else None
    if found and found not in names:
        names.append(found)
    for name in names:
        try:
            ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        return name
    return None


def interruptible(call: Callable[[Callable[[str], None]], T], on_status: Callable[[str], None] | None = None) -> T:
    """`call(say)` (rhwp's native parse and render: seconds a page, with Python's signal handlers
    held off until each returns) in a daemon thread, waited for here in short steps, so Ctrl-C and
    SIGTERM end the run at once, not after the whole document is laid out. What it `say`s reaches
    `on_status` from this thread (a spinner, an MCP progress report: they belong to the caller's
    thread), while it waits. An abandoned call runs on in its thread until the process exits."""
    outcome: dict[str, Any] = {}
    said: queue.Queue[str] = queue.Queue()
    heard = threading.Event()

    def say(message: str) -> None:
        heard.clear()
        said.put(message)
        heard.wait()

    def run() -> None:
        try:
            outcome["value"] = call(say)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="rhwp", daemon=True)
    worker.start()
    while worker.is_alive():
        try:
            message = said.get(timeout=0.1)
        except queue.Empty:
            continue
        try:
            if on_status is not None:
                on_status(message)
        finally:
            heard.set()
    if "error" in outcome:
        raise outcome["error"]
    return cast(T, outcome["value"])


@contextlib.contextmanager
def quiet_native_output() -> Iterator[None]:
    """Point file descriptors 1 and 2 at a scratch file while rhwp runs: its Rust code prints debug
    lines there, below Python's sys.stdout, where stdout carries the product. Python's own
    sys.stdout and sys.stderr keep writing where they did (copies of the descriptors): a spinner
    drawn on stderr while rhwp renders (seconds a page) is seen, not swallowed with the debug lines."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    try:
        saved = (os.dup(1), os.dup(2))
    except OSError:  # no descriptors 1 and 2 (a daemon): nothing to protect
        yield
        return
    streams = sys.stdout, sys.stderr
    abandoned = False  # interrupted while rhwp still runs: its lines must not reach the output
    try:
        with tempfile.TemporaryFile() as scratch:
            os.dup2(scratch.fileno(), 1)
            os.dup2(scratch.fileno(), 2)
            sys.stdout, sys.stderr = _on_copy(sys.stdout, 1, saved[0]), _on_copy(sys.stderr, 2, saved[1])
            try:
                yield
            except (KeyboardInterrupt, SystemExit):
                # rhwp goes on in its thread until the process ends: descriptors 1 and 2 stay on
                # the scratch file, Python writes through the copies (the interrupted run's last
                # words reach the terminal; stdout's file gets no debug lines after its records).
                abandoned = True
                raise
            finally:
                for stream in (sys.stdout, sys.stderr):
                    with contextlib.suppress(Exception):
                        stream.flush()
                if not abandoned:
                    sys.stdout, sys.stderr = streams
                    os.dup2(saved[0], 1)
                    os.dup2(saved[1], 2)
    finally:
        if not abandoned:
            os.close(saved[0])
            os.close(saved[1])


def _on_copy(stream: TextIO, descriptor: int, copy: int) -> TextIO:
    """`stream` as it writes while `descriptor` points elsewhere: the same text stream on `copy`
    when it wrote to `descriptor`; any other stream (a test's capture) as it is."""
    try:
        if stream.fileno() != descriptor:
            return stream
    except (AttributeError, OSError, ValueError):
        return stream
    raw = io.FileIO(copy, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding=stream.encoding, errors=stream.errors, line_buffering=True,
                            write_through=True)  # fmt: skip


def document_model(document: Any) -> tuple[str, tuple[Table, ...]]:
    """The document's own text (table cells and text boxes included where rhwp's model has them),
    and its top-level tables."""
    try:
        from rhwp.ir.nodes import ParagraphBlock

        model = document.to_ir()
        blocks = model.iter_blocks(scope="all", recurse=True)
        text = "\n".join(block.text for block in blocks if isinstance(block, ParagraphBlock) and block.text)
        return text, tuple(document_tables(model.body))
    except Exception:  # a model rhwp cannot build: its plain text still says whether there is text
        return str(document.extract_text()), ()


def check_text(display: str, document: str, rendered: str) -> None:
    """Refuse a rendering that lost the document's text (InputError): blank Korean text means rhwp
    found no font for it, and a blank page must never pass as a page. Also refuse a distribution
    document's stub notice in place of its body."""
    shown = _visible(rendered)
    if DISTRIBUTION_STUB in rendered and "상위" in rendered and len(shown) < 120:
        raise InputError(
            f"{display}: a distribution document (배포용 문서) whose body could not be decrypted: "
            "only its notice for old readers came out",
            hint="open it in Hangul or Hangul Viewer and print it to PDF",
        )
    wanted, got = _hangul(document), _hangul(rendered)
    if (wanted and got < wanted * _KEPT_SHARE) or (_visible(document) and not shown):
        raise InputError(
            f"{display}: rendered without its text ({got} of {wanted} Hangul syllables on the pages): "
            "no font with Korean glyphs was found",
            hint=FONT_HINT,
        )


def _layer_texts(pdf: Source) -> list[str]:
    return [layer.text for layer in read_text_layers(pdf)]


def _hangul(text: str) -> int:
    return sum(1 for char in text if "\uac00" <= char <= "\ud7a3")


def _visible(text: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFC", text) if not char.isspace())


def _refuse_locked(source: Source) -> None:
    """A password-protected HWP 5.0 file is refused before rhwp sees it, with what to do."""
    if source.kind != "hwp" or not _flags(source) & _PASSWORD:
        return
    raise InputError(
        f"{source.display}: the HWP document is protected by a password",
        hint="open it in Hangul, remove the password (파일 > 문서 암호), save, and pass that file",
    )


def _flags(source: Source) -> int:
    import olefile

    try:
        with olefile.OleFileIO(str(source.path)) as ole:
            header = ole.openstream("FileHeader").read(40)
    except Exception:
        return 0
    return int.from_bytes(header[36:40], "little") if len(header) >= 40 else 0


def _read_error(source: Source, exc: Exception) -> InputError:
    """rhwp's failure as one line; a distribution or DRM document says so."""
    detail = str(exc).removeprefix("parse failed: ")
    flags = _flags(source) if source.kind == "hwp" else 0
    if flags & _DISTRIBUTION:
        return InputError(
            f"{source.display}: a distribution document (배포용 문서) that rhwp could not decrypt ({detail})",
            hint="open it in Hangul or Hangul Viewer and print it to PDF",
        )
    if flags & _DRM:
        return InputError(
            f"{source.display}: a DRM-protected HWP document ({detail})",
            hint="open it where its DRM allows and print it to PDF",
        )
    kind = "HWPX" if source.kind == "hwpx" else "HWP"
    return InputError(
        f"{source.display}: rhwp cannot read this {kind} document ({detail})",
        hint="open it in Hangul and save it again, or print it to PDF",
    )


class NoPages(InputError):
    """rhwp read the document but could not render it as a PDF. `text` is the document's own
    text (its model), which `exaone ask` and `exaone extract` read instead; `source` the document;
    `pictures`, when rhwp could still draw every page as a picture, a PDF source of those pictures
    (no text layer), which `exaone ocr` reads: the pages go on."""

    def __init__(self, message: str, hint: str, source: Source, text: str, pictures: Source | None = None) -> None:
        super().__init__(message, hint=hint)
        self.source = source
        self.text = text
        self.pictures = pictures


def _no_pages(source: Source, exc: Exception, text: str, pictures: bytes | None) -> InputError:
    """A rendering failure: NoPages when the document has text to stand in, else the file's error."""
    detail = str(exc).removeprefix("PDF conversion failed: ")
    message = f"{source.display}: rhwp read this document but cannot render its pages ({detail})"
    fix = "for pages, open it in Hangul and save it again, or print it to PDF"
    if not _visible(text):
        return InputError(message, hint=fix)
    drawn = None if pictures is None else Source(_keep(pictures), "pdf", source.display, source.sha256, source.kind)
    return NoPages(
        message,
        f"exaone ask and exaone extract read its text instead, without page numbers; {fix}",
        source,
        text,
        drawn,
    )


def _keep(pdf: bytes) -> Path:
    """The rendered PDF in a temporary file removed at exit (PDF readers and poppler want a path)."""
    handle = tempfile.NamedTemporaryFile(prefix="exaone-hwp-", suffix=".pdf", delete=False)  # noqa: SIM115
    path = Path(handle.name)
    atexit.register(path.unlink, missing_ok=True)
    with handle:
        handle.write(pdf)
    return path


PROBE = Path(__file__).with_name("hwp_probe.hwpx")  # one line, "한글 글꼴 확인", made with python-hwpx


def korean_renders() -> bool:
    """Whether Korean text renders on this machine: a real rendering of a one-line HWPX document,
    read back from the PDF's text layer. Raises EngineError or InputError when rhwp cannot run."""
    rendering = render(Source(PROBE, "hwpx", PROBE.name, "probe"))
    with tempfile.TemporaryDirectory(prefix="exaone-probe-") as folder:
        pdf = Path(folder) / "probe.pdf"
        pdf.write_bytes(rendering.pdf)
        rendered = "\n".join(_layer_texts(Source(pdf, "pdf", PROBE.name, "probe")))
    return _hangul(rendered) >= _hangul(rendering.text) > 0


def hwp_status() -> dict[str, object]:
    """For `exaone doctor`: rhwp's version, and whether Korean text renders here (korean_renders)."""
    try:
        rhwp = load_rhwp()
        works = korean_renders()
    except (EngineError, InputError) as exc:
        return {"rhwp": None, "korean_text": None, "problem": f"{exc.message}; {exc.hint}" if exc.hint else exc.message}
    return {"rhwp": str(rhwp.version()), "korean_text": works, "problem": None if works else FONT_HINT}


def _without_blank_pictures(failure: NoPages) -> NoPages:
    """`failure` as it is, unless its pictures of pages would be blank where the document has
    Korean text (no font with Korean glyphs: rhwp's PNG output falls back as its PDF does): then
    without them, the hint naming the font package (ask and extract still read its text)."""
    if failure.pictures is None or not _hangul(failure.text) or korean_renders():
        return failure
    return NoPages(
        f"{failure.message}, and no font with Korean glyphs was found to draw its pages with",
        f"{FONT_HINT}; exaone ask and exaone extract read its text instead, without page numbers",
        failure.source,
        failure.text,
    )
