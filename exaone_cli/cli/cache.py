"""`exaone cache`: see, drop and clear the page store (people's documents, kept as text)."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from ..errors import InputError
from ..inputs import open_source
from ..json_text import dumps
from ..memory.hardware import format_bytes
from ..results import SCHEMA_VERSION
from ..store import (
    NO_CACHE_ENV,
    PageStore,
    StoreError,
    StoreInfo,
    UnusableStore,
    default_store_path,
    remove_store_file,
    store_disabled_by_env,
    store_folder_problem,
)
from .errors import error_boundary, warn
from .help import ExaoneCommand, PlainGroup
from .options import OUTPUT, DebugOpt

CACHE_HELP = """See and clear the page store: the page texts exaone keeps so no page is read twice.

Every page `exaone ocr` transcribes and every page `exaone ask` reads is stored as text, keyed \
by the file's content (SHA-256), the page and the settings that made the text. The store is one \
SQLite file in your cache folder ($EXAONE_CACHE_DIR overrides it). --no-cache or \
EXAONE_NO_CACHE=1 switch it off.

\b
Examples:
  exaone cache info
  exaone cache drop contract.pdf        # forget one file's pages
  exaone cache clear                    # forget everything
"""

cache_app = typer.Typer(name="cache", help=CACHE_HELP, no_args_is_help=True, cls=PlainGroup)


@cache_app.callback()
def cache_options(debug: DebugOpt = False) -> None:
    """--debug before the subcommand (`exaone cache --debug info`); each subcommand takes it too."""


_HEX = re.compile(r"[0-9a-f]{8,64}")


@cache_app.command("info", help="Where the store is, its size, and the documents in it.", cls=ExaoneCommand)
def info_command(
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.", rich_help_panel=OUTPUT)] = False,
    debug: DebugOpt = False,
) -> None:
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    with error_boundary(err):
        path = _store_path(err)
        enabled = not store_disabled_by_env(lambda message: warn(err, message))
        summary: StoreInfo | None = None
        if path.exists():
            with PageStore.open(path) as store:
                summary = store.info()
        if json_out:
            out.file.write(dumps(_info_json(path, summary, enabled)) + "\n")
            return
        _print_info(out, path, summary, enabled)


@cache_app.command(
    "drop", help="Forget the stored pages of these files (or content hashes, 8+ hex digits).", cls=ExaoneCommand
)
def drop_command(
    files: Annotated[list[str], typer.Argument(metavar="FILE|SHA256...", show_default=False)],
    debug: DebugOpt = False,
) -> None:
    err = Console(stderr=True, highlight=False)
    with error_boundary(err):
        path = _store_path(err)
        if not path.exists():
            err.print(f"Nothing stored yet ({path}).")
            return
        with PageStore.open(path) as store:
            for name in files:
                hashes = _hashes(store, name)
                removed = sum(store.drop_document(sha256) for sha256 in hashes)
                err.print(f"{name}: dropped {removed} page(s).")


@cache_app.command(
    "clear",
    help="Forget every stored page (the text is overwritten on disk). On a terminal it asks first; --yes does not "
    "ask. Piped or in a script (standard input not a terminal) it clears without asking.",
    cls=ExaoneCommand,
)
def clear_command(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Clear without asking.")] = False,
    debug: DebugOpt = False,
) -> None:
    err = Console(stderr=True, highlight=False)
    with error_boundary(err):
        path = _store_path(err)
        if not path.exists():
            err.print(f"Nothing stored yet ({path}).")
            return
        try:
            store = PageStore.open(path)
        except UnusableStore as exc:  # the command meant to clear the store must be able to
            try:
                remove_store_file(path)
            except OSError as why:
                raise StoreError(
                    f"the page store at {path} cannot be removed ({why.strerror or why})",
                    hint="its owner can remove it; or set EXAONE_CACHE_DIR to a folder of yours",
                ) from None
            err.print(f"Removed {path}: it was not a usable page store ({exc.message}).")
            return
        with store:
            if not yes and _asking(err):
                pages = store.info().pages
                question = f"Forget {pages:,} stored page(s) in {path}? Reading them again costs model time"
                if not typer.confirm(question, default=False, err=True):
                    err.print("Nothing was cleared.")
                    return
            removed = store.clear()
        err.print(f"Cleared {removed} page(s) from {path}.")


def _asking(err: Console) -> bool:
    """Ask before clearing only where a person can answer: standard input and stderr on a terminal."""
    try:
        return os.isatty(0) and err.is_terminal
    except (OSError, ValueError):
        return False


def _store_path(err: Console) -> Path:
    """The store's path, with a warning when its folder cannot exist (EXAONE_CACHE_DIR a file)."""
    path = default_store_path()
    problem = store_folder_problem(path)
    if problem:
        warn(err, f"{problem}; runs go on without it", hint="point EXAONE_CACHE_DIR at a folder")
    return path


def _hashes(store: PageStore, name: str) -> list[str]:
    """The content hashes `name` stands for: a file's own, or stored ones starting with a hex prefix."""
    try:
        return [open_source(name).sha256]
    except InputError as exc:
        if os.path.exists(name):
            raise  # a file that is there but cannot be read
        if not _HEX.fullmatch(name.lower()):
            raise InputError(
                f"{name}: no such file, and not a content hash (those are 8 to 64 hex digits)",
                hint="check the path, or copy a hash from `exaone cache info`",
            ) from exc
    found = store.documents_matching(name.lower())
    if len(found) > 1:
        raise InputError(f"{name}: matches {len(found)} stored documents", hint="give more digits of the hash")
    return found


def _info_json(path: object, summary: StoreInfo | None, enabled: bool) -> dict[str, object]:
    documents = summary.documents if summary else []
    return {
        "schema_version": SCHEMA_VERSION,
        "path": str(path),
        "enabled": enabled,
        "file_bytes": summary.file_bytes if summary else 0,
        "pages": summary.pages if summary else 0,
        "by_text_source": summary.by_text_source if summary else {},
        "documents": [
            {"sha256": d.sha256, "source": d.source, "pages": d.pages, "bytes": d.bytes, "last_stored": d.last_stored}
            for d in documents
        ],
    }


def _print_info(out: Console, path: object, summary: StoreInfo | None, enabled: bool) -> None:
    out.print(Text.assemble(("Page store: ", "bold"), str(path)))
    if not enabled:
        out.print(Text(f"switched off in this environment ({NO_CACHE_ENV} is set)", style="yellow"))
    if summary is None or not summary.pages:
        out.print("No pages stored.")
        return
    sources = ", ".join(f"{name} {count}" for name, count in sorted(summary.by_text_source.items()))
    out.print(
        f"{summary.pages} page(s) ({sources}) from {len(summary.documents)} document(s), "
        f"{format_bytes(summary.file_bytes)} on disk"
    )
    out.print(Text("sha256        pages  text        last stored       as", style="bold"))
    for doc in summary.documents:  # the name last and whole: a long path wraps, it is not cut
        when = datetime.fromtimestamp(doc.last_stored).strftime("%Y-%m-%d %H:%M")
        row = f"{doc.sha256[:12]}  {doc.pages:>5}  {format_bytes(doc.bytes):>10}  {when}  {doc.source}"
        out.print(Text(row), soft_wrap=True)
