"""The Typer app: global options and the commands."""

from __future__ import annotations

import os
import signal
import warnings
from types import FrameType
from typing import Annotated

import typer

from .. import __version__
from .ask import ASK_HELP, ask_command
from .doctor import DOCTOR_HELP, doctor_command
from .extract import EXTRACT_HELP, extract_command
from .ocr import OCR_HELP, ocr_command

EPILOG = (
    "Exit codes: 0 success · 1 some inputs failed · 2 usage error · "
    "3 model/engine could not be loaded or reached · 130 interrupted."
)

app = typer.Typer(
    name="exaone",
    help="EXAONE 4.5 from the command line: Korean-first document OCR and question answering.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"exaone {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[
        bool, typer.Option("--debug", envvar="EXAONE_DEBUG", help="Show tracebacks and library logs.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """EXAONE 4.5 from the command line."""
    if debug:
        os.environ["EXAONE_DEBUG"] = "1"
    else:
        # Pillow warns about damaged metadata (corrupt EXIF, ...) with its own source lines; the
        # page still renders, and a page that does not gets its own one-line error.
        warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")


app.command(name="ocr", help=OCR_HELP, epilog=EPILOG, no_args_is_help=True)(ocr_command)
app.command(name="ask", help=ASK_HELP, epilog=EPILOG, no_args_is_help=True)(ask_command)
app.command(name="doctor", help=DOCTOR_HELP, epilog=EPILOG)(doctor_command)
app.command(name="extract", help=EXTRACT_HELP, epilog=EPILOG, no_args_is_help=True)(extract_command)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (a batch scheduler, `kill`) ends a run the way Ctrl-C does: finished work is
    # kept, and the exit code is 130.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    app(prog_name="exaone")
