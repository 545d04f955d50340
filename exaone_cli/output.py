"""Where results go: stdout, or a file written so that finished work is never lost.

JSON Lines are written and flushed one page at a time (an interrupted run keeps every finished
page as a complete line); JSON, Markdown and text files are written whole, to a temporary file
renamed over the target, so they never appear truncated.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .errors import UsageError
from .render.json import dumps
from .results import PageRecord

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
    piped: str  # `auto` when stdout is not a terminal, and for an -o file with another suffix

    def resolve(self, fmt: str, output: Path | None, stdout_is_terminal: bool) -> str:
        """The format to write: auto is rich on a terminal, `piped` otherwise; with -o, the file's
        suffix decides. UsageError for an unknown name, or rich into a file."""
        if fmt not in self.names:
            raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(self.names)}")
        if fmt == "auto":
            if output is not None:
                return self.by_suffix.get(output.suffix.lower(), self.piped)
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


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same folder and a rename. The file gets
    the permissions a plain `open` would give it: the umask's for a new file, the old file's mode
    when it replaces one (mkstemp's 0600 would hide the output from the user's group)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _mode_for(path))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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


def _drop_partial_last_line(path: Path) -> None:
    """A crash can leave half a line at the end; cut it so appended lines start clean."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("rb+") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


class JsonlWriter:
    """One line per record, flushed as it is written. `append` keeps what the file holds."""

    def __init__(self, stream: IO[str] | None = None, path: Path | None = None, append: bool = False) -> None:
        if path is not None:
            if append and path.exists():
                _drop_partial_last_line(path)
            stream = path.open("a" if append else "w", encoding="utf-8")
        if stream is None:
            raise UsageError("JsonlWriter needs a stream or a path")
        self._stream = stream
        self._owned = path is not None

    def write(self, record: Record) -> None:
        self._stream.write(dumps(record.to_dict()) + "\n")
        self._stream.flush()

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        if self._owned:
            self._stream.close()
