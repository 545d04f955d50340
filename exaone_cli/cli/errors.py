"""The one place that turns errors into a line on stderr and an exit code."""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.text import Text

from ..errors import ExaoneError, ExitCode, debug_enabled
from ..render.terminal import for_terminal


def _shown(err: Console, text: str) -> str:
    """Messages quote file names and servers: on a terminal their control characters are shown."""
    return for_terminal(text) if err.is_terminal else text


# A closed standard output (`exaone ocr ... | head -1`) ends the run quietly with the status a
# Unix tool killed by SIGPIPE reports to its shell: 128 + 13.
BROKEN_PIPE = 141


def set_debug(on: bool) -> None:
    """--debug / EXAONE_DEBUG=1: tracebacks and library logs. Without it, Pillow's warnings about
    damaged metadata (corrupt EXIF, ...) stay quiet: the page still renders, and a page that does
    not gets its own one-line error."""
    if on:
        os.environ["EXAONE_DEBUG"] = "1"
        warnings.filterwarnings("default", category=UserWarning, module=r"PIL\.")
    elif not debug_enabled():
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")


def _soft(err: Console) -> bool:
    """One line each in logs and pipes; on a terminal rich wraps at spaces, so an option name
    such as --max-new-tokens is never cut in two by the terminal's own wrapping at its edge."""
    return not err.is_terminal


def report(err: Console, message: str, hint: str | None = None) -> None:
    err.print(Text.assemble(("Error: ", "bold red"), _shown(err, message)), soft_wrap=_soft(err))
    if hint:
        err.print(Text.assemble(("Hint: ", "yellow"), _shown(err, hint)), soft_wrap=_soft(err))


def warn(err: Console, message: str, hint: str | None = None) -> None:
    err.print(Text.assemble(("Warning: ", "bold yellow"), _shown(err, message)), soft_wrap=_soft(err))
    if hint:
        err.print(Text.assemble(("Hint: ", "yellow"), _shown(err, hint)), soft_wrap=_soft(err))


def quiet_broken_pipe() -> None:
    """Standard output is gone (the reader closed the pipe): point it at /dev/null so Python's
    final flush does not complain, as Python's documentation on SIGPIPE recommends."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests): nothing to silence
        pass


@contextmanager
def error_boundary(err: Console) -> Iterator[None]:
    """Typed errors -> one line (+ hint) and their exit code; Ctrl-C -> 130; a closed stdout ->
    141, quietly; anything else -> one line, with the traceback only under --debug / EXAONE_DEBUG=1."""
    try:
        yield
    except ExaoneError as exc:
        if debug_enabled():
            traceback.print_exc()
        report(err, exc.message, exc.hint)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        err.print(Text("Interrupted.", style="yellow"))
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except (typer.Exit, typer.Abort):
        raise
    except BrokenPipeError:
        quiet_broken_pipe()
        raise typer.Exit(BROKEN_PIPE) from None
    except Exception as exc:
        if debug_enabled():
            traceback.print_exc()
            report(err, f"unexpected {type(exc).__name__}: {exc}")
        else:
            report(err, f"unexpected {type(exc).__name__}: {exc}", "run again with --debug for the traceback")
        raise typer.Exit(int(ExitCode.INPUT_FAILED)) from None
