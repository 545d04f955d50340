"""Where results go: stdout, or a file written so that finished work is never lost.

JSON Lines are written and flushed one page at a time (an interrupted run keeps every finished
page as a complete line); JSON, Markdown and text files are written whole, to a temporary file
renamed over the target, so they never appear truncated. While a run writes a file it holds an
advisory lock on it (`exclusive_output`): a second run naming the same file is refused (exit 2).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from ..errors import ExaoneError, ExitCode, UsageError
from ..json_text import dumps
from ..results import PageRecord

ResumeKey = tuple[str, int, str, str, str]  # sha256, page, prompt_sha256, preset, model


class Record(Protocol):
    """Anything written as one JSON Lines record (a page of `ocr`, a result of `extract`)."""

    def to_dict(self) -> dict[str, Any]: ...


class Sink(Protocol):
    """Takes finished page records one at a time; `close` writes whatever must be written whole."""

    def write(self, record: PageRecord) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class OutputFormats:
    """A command's output formats: which it has, which one a file's suffix picks with `auto`, and
    what `auto` means on a pipe (the rich view is for terminals only)."""

    names: tuple[str, ...]  # "auto" and "rich" included
    by_suffix: dict[str, str]
    piped: str  # `auto` when stdout is not a terminal, and for an -o name without a suffix
    command: str = "exaone"  # for messages: "extract writes JSON, JSON Lines or CSV"
    writes: str = ""

    def resolve(self, fmt: str, output: Path | None, stdout_is_terminal: bool) -> str:
        """The format to write: auto is rich on a terminal, `piped` otherwise; with -o, the file's
        suffix decides, by one rule for every command: a suffix of its formats picks that format,
        no suffix (a device such as /dev/stdout, a plain name) is written as on a pipe, and any
        other suffix (.xlsx, .docx) is a UsageError rather than text under a misleading name.
        UsageError too for an unknown name, or rich into a file."""
        if fmt not in self.names:
            raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(self.names)}")
        if fmt == "auto":
            if output is not None:
                suffix = output.suffix.lower()
                if not suffix:
                    return self.piped
                if suffix not in self.by_suffix:
                    flags = ", ".join(f"--format {name}" for name in self.names if name not in ("auto", "rich"))
                    raise UsageError(
                        f"-o {output}: {self.command} writes {self.writes}, and cannot tell which from {suffix}",
                        hint=f"name the file {', '.join(self.by_suffix)}, or give {flags}",
                    )
                return self.by_suffix[suffix]
            return "rich" if stdout_is_terminal else self.piped
        if fmt == "rich" and output is not None:
            files = [name for name in self.names if name not in ("auto", "rich")]
            raise UsageError("--format rich is for terminals", hint=f"use -o with {', '.join(files)}")
        return fmt


def check_destination(output: Path, inputs: Iterable[str]) -> None:
    """Refuse an -o path before any work is done (UsageError, exit 2): a folder, a folder that
    does not exist or cannot be written, or one of the inputs (writing the text there would
    destroy it)."""
    shown = str(output)
    if output.is_dir():
        raise UsageError(f"-o {shown}: is a folder", hint=f"name a file in it, e.g. -o {output / 'pages.jsonl'}")
    if _special(output):
        return  # a device or a pipe is written in place (/dev/stdout): nothing is created beside it
    folder = output.parent
    if not folder.is_dir():
        raise UsageError(f"-o {shown}: the folder {folder} does not exist", hint=f"create it first: mkdir -p {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"-o {shown}: cannot write in the folder {folder}", hint="choose a folder you can write to")
    if output.exists():
        for name in inputs:
            if name != "-" and os.path.exists(name) and os.path.samefile(name, output):
                raise UsageError(
                    f"-o {shown} is also an input: writing the output there would overwrite it",
                    hint="choose another output file",
                )
    target = Path(os.path.realpath(output))
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"-o {shown}: the file is read-only", hint="choose another file, or make it writable")
    _try_creating_a_file(shown, target)


def _special(path: Path) -> bool:
    """An existing thing that is not a regular file (/dev/null, a FIFO, /dev/stdout on a pipe):
    written in place, never replaced by a rename (that would put a plain file where the device
    was). Asked of the path as given, links followed by the system: the real path of
    /dev/stdout on a pipe is /proc/N/fd/pipe:[M], a name that exists nowhere."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _try_creating_a_file(shown: str, target: Path) -> None:
    """Create and remove a temporary file where the writers will put theirs: the one check that
    catches every folder where creating a file fails (/proc, /sys, a read-only or full disk)."""
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise UsageError(
            f"-o {shown}: cannot create a file in {target.parent} ({_reason(exc)})",
            hint="choose a folder on a disk you can write to",
        ) from exc


@contextlib.contextmanager
def exclusive_output(output: Path | None) -> Iterator[None]:
    """Hold the -o file for the whole run (before --resume reads it, until the last byte is
    written): two runs writing one file would glue their lines together. The lock is an advisory
    `flock` on a hidden sidecar file beside the target (`.NAME.lock`, holding the writer's process
    id), not on the target itself: the atomic writer replaces the target, which would leave a lock
    on the old file. A second run is refused at once (UsageError, exit 2) naming the process that
    holds the file, rather than waiting an unknown time behind it. Devices and pipes (/dev/null,
    /dev/stdout) are not locked. The sidecar is removed when the run ends; one left by a killed
    run holds no lock and is reused."""
    if output is None:
        yield
        return
    if _special(output):
        yield
        return
    target = Path(os.path.realpath(output))
    lock = target.parent / f".{target.name}.lock"
    fd = _claim(lock, output)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()  # before the lock is released, so a run that opens it next makes a new one
        os.close(fd)


def _claim(lock: Path, shown: Path) -> int:
    """The lock file's descriptor, locked; UsageError naming the holder when another run has it."""
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise UsageError(
                f"-o {shown}: cannot create the lock file {lock} ({_reason(exc)})",
                hint="choose a folder you can write to",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise UsageError(
                f"-o {shown} is being written by another exaone run ({holder})",
                hint="wait for that run to finish, or choose another -o file",
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:  # not a lock file its last holder removed while this run opened it
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        pid = int(os.pread(fd, 32, 0).decode("ascii", "replace").strip())
    except ValueError:
        return "a process that has not said which"
    return f"process {pid}"


class OutputError(ExaoneError):
    """The -o file could not be written (a full disk, a device that refuses, a file-size limit):
    exit 1, like an input that failed; what was already written and can be kept is kept."""

    exit_code = ExitCode.INPUT_FAILED


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def write_error(path: Path, exc: OSError, kept: str) -> OutputError:
    """One line naming the file and the operating system's reason, and what was kept."""
    return OutputError(f"-o {path}: cannot write ({_reason(exc)})", hint=kept)


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder and a rename. The file gets
    the permissions a plain `open` would give it: the umask's for a new file, the old file's mode
    when it replaces one (mkstemp's 0600 would hide the output from the user's group). A symbolic
    link stays one (its target gets the text); a device or a pipe is written in place. OutputError
    when writing fails; the file that was there before is then left as it was."""
    shown = Path(path)
    if _special(shown):
        try:
            with path.open("w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise write_error(shown, exc, "nothing could be written to it") from exc
        return
    path = Path(os.path.realpath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            kept = "the file was left as it was" if path.exists() else "no file was written"
            raise write_error(shown, exc, kept) from exc
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def resume_key(record: dict[str, object]) -> ResumeKey | None:
    try:
        return (
            str(record["sha256"]),
            int(record["page"]),  # type: ignore[call-overload]
            str(record["prompt_sha256"]),
            str(record["preset"]),
            str(record["model"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class FinishedPages:
    """What a JSON Lines file already holds without error: pages the model transcribed (their
    resume keys), and pages taken from their text layer (sha256, page), whose text depends on
    the file alone, each with how often the file holds it (a file named twice is done twice).
    Pages whose text layer stood in for a failed model are in neither: a --resume run gives the
    model another try at them."""

    model: Counter[ResumeKey] = field(default_factory=Counter)
    text_layer: Counter[tuple[str, int]] = field(default_factory=Counter)


def finished_pages(path: Path) -> FinishedPages:
    """The pages a JSON Lines file already holds. Unparsable lines (a line cut by a crash) are
    ignored: those pages are simply done again."""
    done = FinishedPages()
    if not path.exists():
        return done
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or record.get("error") is not None:
                continue
            key = resume_key(record)
            source = record.get("text_source", "model")  # files written before text layers: all model
            if key is None or source == "text-layer-fallback":
                continue
            if source == "text-layer":
                done.text_layer[key[:2]] += 1
            else:
                done.model[key] += 1
    return done


PAGE_RECORD_FIELDS = frozenset({"source", "page", "text", "error"})  # in every line `exaone ocr` writes


def check_resumable(output: Path) -> None:
    """--resume appends to `output`: refuse it (UsageError, exit 2) before any work unless every
    whole line is a page record of `exaone ocr`; appending to anything else would bury its
    content under ours. A last line without its newline (cut by a crash) is not judged: the
    writer cuts it before appending. A missing or empty file is fine."""
    if not output.is_file():
        return
    with output.open("rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith(b"\n") or not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict) or not record.keys() >= PAGE_RECORD_FIELDS:
                raise UsageError(
                    f"-o {output}: line {number} is not a page record of exaone ocr, and --resume would "
                    "append to this file",
                    hint="name a new file or one an earlier `exaone ocr --resume` wrote; drop --resume to overwrite it",
                )


def _drop_partial_last_line(path: Path) -> None:
    """A crash can leave half a line at the end; cut it so appended lines start clean."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("rb+") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


class JsonlWriter:
    """One line per record, flushed as it is written. `append` keeps what the file holds.
    OutputError when the file cannot be written; the lines flushed before it stay in the file."""

    def __init__(self, stream: IO[str] | None = None, path: Path | None = None, append: bool = False) -> None:
        self._path = path
        if path is not None:
            try:
                if append and path.is_file():
                    _drop_partial_last_line(path)
                stream = path.open("a" if append else "w", encoding="utf-8")
            except OSError as exc:
                raise write_error(path, exc, "nothing was written") from exc
        if stream is None:
            raise UsageError("JsonlWriter needs a stream or a path")
        self._stream = stream
        self._owned = path is not None
        self._lines = 0

    def write(self, record: Record) -> None:
        if self._path is None:  # standard output: its errors are the caller's (a closed pipe)
            self._stream.write(dumps(record.to_dict()) + "\n")
            self._stream.flush()
            return
        try:
            self._stream.write(dumps(record.to_dict()) + "\n")
            self._stream.flush()
        except OSError as exc:
            self._abandon()
            kept = f"the {self._lines} line(s) written before are kept" if self._lines else "no line was written"
            raise write_error(self._path, exc, kept) from exc
        self._lines += 1

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def _abandon(self) -> None:
        """Close after a failed write without trying the unwritten rest again, and cut the part of
        a line that reached the file: every line left is a whole record."""
        with contextlib.suppress(OSError):
            self._stream.close()
        if self._path is not None and self._path.is_file():
            with contextlib.suppress(OSError):
                _drop_partial_last_line(self._path)

    def close(self) -> None:
        if self._owned and not self._stream.closed:
            try:
                self._stream.close()
            except OSError as exc:
                assert self._path is not None
                raise write_error(self._path, exc, f"the {self._lines} line(s) written before are kept") from exc
