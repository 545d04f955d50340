"""The one place that turns errors into a line on stderr and an exit code."""

from __future__ import annotations

import traceback
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


def report(err: Console, message: str, hint: str | None = None) -> None:
    err.print(Text.assemble(("Error: ", "bold red"), _shown(err, message)), soft_wrap=True)
    if hint:
        err.print(Text.assemble(("Hint: ", "yellow"), _shown(err, hint)), soft_wrap=True)


def warn(err: Console, message: str, hint: str | None = None) -> None:
    err.print(Text.assemble(("Warning: ", "bold yellow"), _shown(err, message)), soft_wrap=True)
    if hint:
        err.print(Text.assemble(("Hint: ", "yellow"), _shown(err, hint)), soft_wrap=True)


@contextmanager
def error_boundary(err: Console) -> Iterator[None]:
    """Typed errors -> one line (+ hint) and their exit code; Ctrl-C -> 130; anything else ->
    one line, with the traceback only under --debug / EXAONE_DEBUG=1."""
    debug = debug_enabled()
    try:
        yield
    except ExaoneError as exc:
        if debug:
            traceback.print_exc()
        report(err, exc.message, exc.hint)
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        err.print(Text("Interrupted.", style="yellow"))
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if debug:
            traceback.print_exc()
        report(err, f"unexpected {type(exc).__name__}: {exc}", "run again with --debug for the traceback")
        raise typer.Exit(int(ExitCode.INPUT_FAILED)) from None
