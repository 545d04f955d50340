"""The page store: every page text exaone made or read, kept in SQLite so no page is read twice.

One small class over one SQLite file (no SQL anywhere else). A row is one page's record as JSON,
under a key made of everything that decided its text: the document's content hash, the page, where
the text came from (`model`, `text-layer`) and the settings that shaped it (DPI, rasterizer, pixel
budget, prompt, preset and sampling, model). A file renamed or copied is the same document; a file
changed by one byte is another.

Concurrency and interruptions: the file is in WAL mode, so readers never block the one writer and
several exaone processes can share it; each page is written in its own transaction (`BEGIN
IMMEDIATE`, so a writer waits its turn for up to `BUSY_TIMEOUT_S` instead of failing), and a key is
the table's primary key, so a page is either wholly in the store or not at all, and never twice.
`synchronous=NORMAL`: a killed process loses nothing it committed; a power cut may lose the last
pages written, never the file (SQLite's documented WAL guarantee).

Privacy: these are people's documents. The folder is created 0700 and the file 0600, and
`secure_delete` overwrites what `drop`/`clear` remove instead of leaving it in free pages.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ExaoneError

SCHEMA_VERSION = 1
FILE_NAME = "pages.sqlite3"
BUSY_TIMEOUT_S = 60.0  # how long a writer waits for another process's transaction
CACHE_DIR_ENV = "EXAONE_CACHE_DIR"
NO_CACHE_ENV = "EXAONE_NO_CACHE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pages (
    key TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    page INTEGER NOT NULL,
    text_source TEXT NOT NULL,
    settings TEXT NOT NULL,
    source TEXT NOT NULL,
    record TEXT NOT NULL,
    stored_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS pages_by_document ON pages (sha256);
"""


class StoreError(ExaoneError):
    """The page store cannot be opened, read or written."""


class UnusableStore(StoreError):
    """The store's file opens but is no page store this exaone can use: not an SQLite database
    (corrupt, or another file under the name), or a newer exaone's schema."""


def default_store_path() -> Path:
    """`$EXAONE_CACHE_DIR/pages.sqlite3`, else the user's cache folder (platformdirs:
    ~/.cache/exaone on Linux, honouring XDG_CACHE_HOME; ~/Library/Caches/exaone on macOS;
    %LOCALAPPDATA%\\exaone\\Cache on Windows)."""
    folder = os.environ.get(CACHE_DIR_ENV)
    if not folder:
        import platformdirs

        folder = platformdirs.user_cache_dir("exaone", appauthor=False)
    return Path(folder).expanduser() / FILE_NAME


_OFF = ("1", "true", "yes", "on")  # EXAONE_NO_CACHE values that switch the store off
_ON = ("", "0", "false", "no", "off")  # ... and those that leave it on


def store_disabled_by_env(warn: Callable[[str], None] | None = None) -> bool:
    """EXAONE_NO_CACHE=1 (or true/yes/on) switches the store off for every run; 0/false/no/off
    (or unset) leave it on. Any other value leaves it on, with a warning through `warn`."""
    value = os.environ.get(NO_CACHE_ENV, "").strip().lower()
    if value not in _OFF + _ON and warn is not None:
        warn(
            f"{NO_CACHE_ENV}={os.environ[NO_CACHE_ENV]!r} is not understood, so the page store stays on"
            f" ({NO_CACHE_ENV}=1 switches it off, 0 keeps it on)"
        )
    return value in _OFF


def store_folder_problem(path: Path) -> str | None:
    """Why the store's folder cannot hold it (EXAONE_CACHE_DIR naming a file, say), or None."""
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            if not folder.is_dir():
                return f"the page store cannot be kept in {path.parent}: {folder} is a file, not a folder"
            return None
    return None


def remove_store_file(path: Path) -> None:
    """Delete a store file that is not a usable store (not a database, or a newer exaone's), with
    its WAL and shared-memory files. OSError when it cannot be removed."""
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        name.unlink(missing_ok=True)


@dataclass(frozen=True)
class PageKey:
    """What decided one page's text. `settings` is any JSON-able mapping (for a model transcription:
    DPI, rasterizer, pixel budget, prompt hash, preset, sampling, model); it is stored canonically
    (sorted keys), so equal settings give equal keys."""

    sha256: str
    page: int
    text_source: str
    settings: str  # canonical JSON

    @classmethod
    def of(cls, sha256: str, page: int, text_source: str, settings: Mapping[str, Any]) -> PageKey:
        canonical = json.dumps(settings, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return cls(sha256, page, text_source, canonical)

    @property
    def digest(self) -> str:
        """The primary key: SHA-256 of the four parts."""
        parts = "\0".join((self.sha256, str(self.page), self.text_source, self.settings))
        return hashlib.sha256(parts.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class StoredPage:
    """One stored page: its key's digest, the settings that made it, and its record."""

    digest: str
    page: int
    settings: dict[str, Any]
    record: dict[str, Any]


@dataclass(frozen=True)
class StoredDocument:
    """One document in the store: its content hash, the name it was last stored under, its pages."""

    sha256: str
    source: str
    pages: int
    bytes: int
    last_stored: float


@dataclass(frozen=True)
class StoreInfo:
    path: Path
    file_bytes: int  # the database file plus its WAL
    pages: int
    documents: list[StoredDocument]
    by_text_source: dict[str, int]


Warn = Callable[[str], None]


class PageStore:
    """Page records (dicts) by PageKey, in one SQLite file; see the module docstring.

    With `on_error`, a failure after opening (disk full, a locked file past the timeout) is warned
    about once and the store switches itself off for the rest of the run: a cache never ends a run.
    Without it (the `exaone cache` commands), failures raise StoreError."""

    def __init__(self, path: Path, connection: sqlite3.Connection, on_error: Warn | None = None) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = connection
        self._on_error = on_error
        self.broken = False  # a failure switched the store off for the rest of the run
        self.read_only = False  # opened for reading only: this user cannot write the file or its folder

    @classmethod
    def open(cls, path: Path | None = None, on_error: Warn | None = None) -> PageStore:
        """Open (creating if needed) the store at `path` (default: default_store_path()).
        Raises StoreError when the folder cannot be made or the file is not a usable store.

        A store this user cannot write (a read-only folder, another user's file or folder) is
        opened read-only: its pages are read, new pages are not kept (`read_only`; one line
        through `on_error` says so), and `drop`/`clear` raise StoreError."""
        path = path or default_store_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not path.exists():
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            if path.is_file() and os.access(path, os.R_OK):
                return cls._read_only(path, on_error)
            hint = (
                f"if the file is yours, make it readable (chmod u+rw {path}*); else {_HINT}"
                if path.is_file()
                else _HINT
            )
            raise StoreError(f"the page store at {path} cannot be opened ({exc})", hint=hint) from exc
        try:
            _prepare(db)
        except (sqlite3.Error, StoreError) as exc:
            db.close()
            if not _writable(path):
                return cls._read_only(path, on_error)
            if isinstance(exc, StoreError):
                raise UnusableStore(exc.message, hint=exc.hint) from exc
            raise UnusableStore(f"the page store at {path} is not usable ({exc})", hint=_UNUSABLE_HINT) from exc
        if not _writable(path):  # a read-only file in a folder this user can write: SQLite opened it anyway
            db.close()
            return cls._read_only(path, on_error)
        return cls(path, db, on_error)

    @classmethod
    def _read_only(cls, path: Path, on_error: Warn | None) -> PageStore:
        """The store opened for reading only: `mode=ro`, or, when SQLite cannot make the WAL's
        shared-memory file beside it (a read-only folder), `immutable=1` (a snapshot: nothing
        else may write it meanwhile, and in such a folder this user's exaone cannot)."""
        uri = path.resolve().as_uri()
        last: sqlite3.Error | None = None
        for options in ("mode=ro", "mode=ro&immutable=1"):
            try:
                db = sqlite3.connect(f"{uri}?{options}", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            except sqlite3.Error as exc:
                last = exc
                continue
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                db.execute("SELECT COUNT(*) FROM pages WHERE key = ''").fetchone()
            except sqlite3.Error as exc:
                db.close()
                last = exc
                continue
            if version > SCHEMA_VERSION:
                db.close()
                raise StoreError(
                    f"the page store at {path} was written by a newer exaone (schema {version}; this one reads "
                    f"{SCHEMA_VERSION}), and this user cannot write it",
                    hint=_read_only_hint(path),
                )
            store = cls(path, db, on_error)
            store.read_only = True
            if on_error is not None:
                on_error(
                    f"the page store at {path} cannot be written by this user ({_why_read_only(path)}): "
                    f"stored pages are read, new pages are not kept (set {CACHE_DIR_ENV} to a folder of yours "
                    "to keep them)"
                )
            return store
        raise StoreError(
            f"the page store at {path} cannot be written by this user and cannot be read ({last})",
            hint=_read_only_hint(path),
        )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> PageStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- pages -------------------------------------------------------------------------------

    def get_many(self, keys: Iterable[PageKey]) -> dict[PageKey, dict[str, Any]]:
        """The stored records for those of `keys` that are in the store."""
        wanted = {key.digest: key for key in keys}
        found: dict[PageKey, dict[str, Any]] = {}
        digests = list(wanted)
        if self.broken:
            return found
        with self._guard("read"):
            for start in range(0, len(digests), 500):  # SQLite's bound-parameter limit
                chunk = digests[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for digest, record in self._conn().execute(
                    f"SELECT key, record FROM pages WHERE key IN ({marks})", chunk
                ):
                    found[wanted[digest]] = json.loads(record)
        return found

    def pages_of(self, sha256: str, text_source: str) -> list[StoredPage]:
        """Every stored page of one document from one text source, newest first."""
        if self.broken:
            return []
        with self._guard("read"):
            rows = self._conn().execute(
                "SELECT key, page, settings, record, stored_at FROM pages WHERE sha256 = ? AND text_source = ? "
                "ORDER BY stored_at DESC",
                (sha256, text_source),
            )
            return [
                StoredPage(key, page, json.loads(settings), json.loads(record))
                for key, page, settings, record, _ in rows
            ]
        return []

    def put(self, key: PageKey, record: Mapping[str, Any], source: str) -> None:
        """Store (or replace) one page's record, in its own transaction."""
        row = (
            key.digest, key.sha256, key.page, key.text_source, _sqlite_text(key.settings), _sqlite_text(source),
            _record_json(record), time.time(),
        )  # fmt: skip
        if self.broken or self.read_only:  # a read-only store said so once, when it was opened
            return
        with self._guard("write"), self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    # ---- what `exaone cache` shows and removes -------------------------------------------------

    def info(self) -> StoreInfo:
        db = self._conn()
        with self._guard("read"):
            rows = db.execute(
                "SELECT sha256, MAX(source), COUNT(*), SUM(LENGTH(record)), MAX(stored_at) FROM pages "
                "GROUP BY sha256 ORDER BY MAX(stored_at) DESC"
            ).fetchall()
            sources = dict(db.execute("SELECT text_source, COUNT(*) FROM pages GROUP BY text_source").fetchall())
        documents = [StoredDocument(*row) for row in rows]
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return StoreInfo(self.path, size, sum(d.pages for d in documents), documents, sources)

    def drop_document(self, sha256: str) -> int:
        """Remove every page of the document with this content hash; the number removed."""
        with self._guard("write"), self._transaction() as db:
            removed = db.execute("DELETE FROM pages WHERE sha256 = ?", (sha256,)).rowcount
        self._shrink()
        return int(removed)

    def documents_matching(self, prefix: str) -> list[str]:
        """Content hashes in the store that start with `prefix` (lower-case hex)."""
        with self._guard("read"):
            rows = self._conn().execute("SELECT DISTINCT sha256 FROM pages WHERE sha256 LIKE ?", (prefix + "%",))
            return [row[0] for row in rows]

    def clear(self) -> int:
        """Remove every page; the number removed. The file is shrunk so the text leaves the disk."""
        with self._guard("write"), self._transaction() as db:
            removed = db.execute("DELETE FROM pages").rowcount
        self._shrink()
        return int(removed)

    # ---- plumbing ------------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError("the page store is closed")
        return self._db

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock at the start (waiting up to the busy timeout), so
        two writers never deadlock upgrading a read lock."""
        if self.read_only:
            raise StoreError(
                f"the page store at {self.path} cannot be changed: {_why_read_only(self.path)}",
                hint=_read_only_hint(self.path),
            )
        db = self._conn()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextlib.contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            error = StoreError(f"the page store at {self.path} could not {what} ({exc})", hint=_HINT)
            if self._on_error is None:
                raise error from exc
            self._on_error(f"{error.message}; going on without it for this run")
            self.broken = True

    def _shrink(self) -> None:
        """Checkpoint the WAL into the file and VACUUM it, so removed text is gone from disk."""
        with self._guard("shrink"):
            db = self._conn()
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.execute("VACUUM")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


_HINT = f"set {CACHE_DIR_ENV} to a folder you can write, or run with --no-cache"
_UNUSABLE_HINT = f"`exaone cache clear` removes it; or set {CACHE_DIR_ENV} to another folder, or run with --no-cache"
_READ_ONLY_HINT = (
    f"its owner can run `exaone cache clear`; for your own store, set {CACHE_DIR_ENV} to a folder of yours"
)


def _writable(path: Path) -> bool:
    """True when this user can write the store's file (if there is one), the WAL and shared-memory
    files beside it (if there are) and its folder, where SQLite makes them."""
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    return os.access(path.parent, os.W_OK | os.X_OK) and all(not f.exists() or os.access(f, os.W_OK) for f in files)


def _read_only_hint(path: Path) -> str:
    """What works for a store this user cannot write: in a folder it cannot write, only the
    owner can change it; a read-only file in a folder it can write can be made writable."""
    if os.access(path.parent, os.W_OK | os.X_OK):
        return (
            f"if the file is yours, make it writable (chmod u+w {path}*); else set {CACHE_DIR_ENV} to a folder of yours"
        )
    return _READ_ONLY_HINT


def _why_read_only(path: Path) -> str:
    """Why this user cannot write the store, in a person's words."""
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        owner = ""
        with contextlib.suppress(OSError, AttributeError):  # no getuid on Windows
            if folder.stat().st_uid != os.getuid():
                owner = ", another user's"
        return f"its folder {folder} is not writable{owner}"
    return "the file is not writable"


def _prepare(db: sqlite3.Connection) -> None:
    """WAL, the pragmas, and the schema, created once; a file from a newer exaone is refused."""
    for attempt in range(50):  # switching to WAL needs a moment alone with the file
        try:
            mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(0.05 * (attempt + 1))
    else:
        raise sqlite3.OperationalError("the file stayed locked")
    if str(mode).lower() != "wal":
        raise sqlite3.OperationalError(f"WAL mode is not available here (journal mode {mode})")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA secure_delete=ON")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the page store was written by a newer exaone (schema {version}; this one reads {SCHEMA_VERSION})",
            hint="upgrade exaone, or run `exaone cache clear`",
        )
    if version < SCHEMA_VERSION:
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def open_store(enabled: bool, warn: Warn) -> PageStore | None:
    """The run's page store, or None when it is switched off (--no-cache, EXAONE_NO_CACHE) or
    cannot be opened (then with one warning: the run goes on without it)."""
    if not enabled or store_disabled_by_env(warn):
        return None
    try:
        return PageStore.open(on_error=warn)
    except StoreError as exc:
        warn(f"{exc.message}; going on without it" + (f" ({exc.hint})" if exc.hint else ""))
        return None


def _sqlite_text(text: str) -> str:
    """`text` as SQLite can keep it (UTF-8). A file name whose bytes are not UTF-8 reaches Python
    with lone surrogates (PEP 383), which no UTF-8 encoder takes: they become U+FFFD here, in
    what `exaone cache info` shows of the name."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        try:  # the file name's own bytes, each undecodable one shown as one U+FFFD
            raw = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a surrogate that came from elsewhere
            raw = text.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "replace")
    return text


def _record_json(record: Mapping[str, Any]) -> str:
    """A page record as JSON text for the store: readable UTF-8, or, when a value holds lone
    surrogates (a non-UTF-8 file name in `source`), ASCII escapes, which JSON reads back exactly."""
    text = json.dumps(record, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record)
    return text
