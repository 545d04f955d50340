"""The Typer app: global options, the commands, and the error boundary around Typer's own parsing.

Start-up stays cheap as the tool grows: `exaone --help` lists the commands from the table below
and imports none of them; a command's module (and whatever it imports) is loaded only when that
command runs or shows its own help. Adding a command is one line in COMMANDS.
"""

from __future__ import annotations

import importlib
import io
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Annotated, Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from .. import __version__
from ..errors import ExitCode
from .errors import BROKEN_PIPE, quiet_broken_pipe, report, set_debug
from .help import ExaoneCommand, PlainGroup
from .options import EPILOG


class CommandSpec(NamedTuple):
    """Where a command lives, and the one line `exaone --help` shows for it without importing it."""

    module: str  # exaone_cli.cli.<module>
    function: str  # the Typer command function in it
    help: str  # the name of the module's full help text
    summary: str  # the line `exaone --help` shows (the first line of the full help)
    group: bool = False  # `function` names a Typer app with subcommands (exaone cache info|drop|clear)


COMMANDS: dict[str, CommandSpec] = {
    "ocr": CommandSpec("ocr", "ocr_command", "OCR_HELP", "Transcribe documents and images to text, page by page."),
    "ask": CommandSpec("ask", "ask_command", "ASK_HELP", "Ask EXAONE 4.5 a question, about images, documents of any length, or nothing."),  # noqa: E501
    "chat": CommandSpec("chat", "chat_command", "CHAT_HELP", "A conversation with EXAONE 4.5 about images and documents, the model loaded once."),  # noqa: E501
    "doctor": CommandSpec("doctor", "doctor_command", "DOCTOR_HELP", "Check this machine, and plan the model's memory without loading any weights."),  # noqa: E501
    "extract": CommandSpec("extract", "extract_command", "EXTRACT_HELP", "Pull fields out of documents as JSON that matches a schema."),  # noqa: E501
    "cache": CommandSpec("cache", "cache_app", "CACHE_HELP", "See and clear the page store: the page texts exaone keeps so no page is read twice.", group=True),  # noqa: E501
    "mcp": CommandSpec("mcp", "mcp_command", "MCP_HELP", "Serve exaone's tools (ocr, ask, extract, inspect) to AI agents over the Model Context Protocol."),  # noqa: E501
}  # fmt: skip

# Typer vendors Click; its exception base class is reachable through the public BadParameter.
_ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_NO_ARGS_IS_HELP = "NoArgsIsHelpError"  # help was printed already; Typer checks it by name too


class ExaoneGroup(PlainGroup):
    """The commands of COMMANDS, each imported when it runs; usage errors in our Error:/Hint: style."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # What `exaone --help` lists, without importing a command module.
        self.commands = {name: TyperCommand(name=name, help=spec.summary) for name, spec in COMMANDS.items()}
        self._listing = False
        self._loaded: dict[str, Any] = {}

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS or self._listing:
            return self.commands.get(cmd_name)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = _load(cmd_name)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        code = _guarded(
            lambda: TyperGroup.main(self, args, prog_name, complete_var, False, windows_expand_args, **extra),
            sys.argv[1:] if args is None else list(args),
        )
        if standalone_mode:
            sys.exit(code)
        return code


def _guarded(run: Callable[[], Any], arguments: list[str]) -> int:
    """Typer's parsing (of `arguments`) and the command, with Typer's usage errors as one `Error:`
    line and a `Hint:` line (the style of every other error), exit code 2."""
    try:
        result = run()
    except _ClickException as exc:
        if type(exc).__name__ == _NO_ARGS_IS_HELP:
            return int(ExitCode.USAGE)
        ctx = getattr(exc, "ctx", None)
        hint = f"see `{ctx.command_path} --help`" if ctx is not None else "see `exaone --help`"
        if dashed := _file_read_as_option(getattr(exc, "option_name", None), arguments):
            hint = f"{dashed} is a file: write it as ./{dashed}, or put -- before it"
        report(_stderr(), exc.format_message(), hint)  # type: ignore[attr-defined]
        return int(getattr(exc, "exit_code", ExitCode.USAGE))
    except typer.Abort:
        report(_stderr(), "aborted")
        return int(ExitCode.INPUT_FAILED)
    except BrokenPipeError:
        quiet_broken_pipe()
        return BROKEN_PIPE
    except SystemExit as exc:
        # rich's Console meets a closed stdout by exiting with 1 (Console.on_broken_pipe, raised
        # while it handles the BrokenPipeError): the reader went away, which exaone says as 141
        if isinstance(exc.__context__, BrokenPipeError):
            quiet_broken_pipe()
            return BROKEN_PIPE
        raise
    return result if isinstance(result, int) else 0


def _file_read_as_option(option: str | None, arguments: list[str]) -> str | None:
    """The argument that is a file whose name starts with a dash (`-weird.png`), which the parser
    took for the unknown option `option` (`-w`); None when there is none."""
    if not option:
        return None
    for argument in arguments:
        if argument.startswith(option) and len(argument) > 1 and os.path.isfile(argument):
            return argument
    return None


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _load(name: str) -> Any:
    """The real command: its module imported now, registered the way Typer registers any command."""
    spec = COMMANDS[name]
    module = importlib.import_module(f"{__package__}.{spec.module}")
    if spec.group:
        group = typer.main.get_group(getattr(module, spec.function))
        group.name = name
        return group
    single = typer.Typer(add_completion=False)
    single.command(
        name=name, help=_unwrap(getattr(module, spec.help)), epilog=EPILOG,
        cls=ExaoneCommand,  # no arguments: one Error:/Hint: pair on stderr (Click's own), not the help on stdout
    )(getattr(module, spec.function))  # fmt: skip
    return typer.main.get_command(single)


def _unwrap(text: str) -> str:
    """Help paragraphs as one line each, so the terminal wraps them at its own width (Typer keeps
    the source's line breaks); `\b` paragraphs (examples) keep theirs."""
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split()) for p in text.strip().split("\n\n"))


app = typer.Typer(
    name="exaone",
    cls=ExaoneGroup,
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
    set_debug(debug)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (a batch scheduler, `kill`) ends a run the way Ctrl-C does: finished work is
    # kept, and the exit code is 130.
    raise KeyboardInterrupt


def product_stdout() -> None:
    """Standard output as the product needs it, set once before any command runs: UTF-8 into a
    file or a pipe whatever the locale (a redirected stdout on Korean Windows is cp949, and JSON
    is UTF-8 by RFC 8259), the terminal's own encoding on a terminal; and a character the stream
    cannot carry becomes `?` rather than ending the run (a lone surrogate is the one left once
    the encoding is UTF-8: the JSON writer and the text renderers escape those already)."""
    stream = sys.stdout
    if not isinstance(stream, io.TextIOWrapper):  # replaced by a caller (tests, an embedding program)
        return
    try:
        terminal = stream.isatty()
    except ValueError:  # closed
        return
    if terminal:
        stream.reconfigure(errors="replace")
    else:
        stream.reconfigure(encoding="utf-8", errors="replace")


def main() -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    product_stdout()
    app(prog_name="exaone")
