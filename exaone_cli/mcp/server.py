"""The MCP server: the tools with their descriptions, errors as tool errors, and the transports.

Every failure reaches the agent as a ToolError with exaone's one-line message and its hint (with
mcp 2.x any other exception arrives as a bare "Error executing tool ocr"), and the server goes on.
Over stdio the SDK points file descriptor 1 at stderr while it serves and keeps the protocol on a
private copy, so nothing else (a stray print, a native library, a warning) can reach the wire.
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Annotated, Any, Literal

import anyio.from_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BeforeValidator, Field

from .. import __version__
from ..errors import ExaoneError, ExitCode, UsageError, debug_enabled
from .engine import to_stderr
from .tools import DocumentTools, Report, in_tool_words

INSTRUCTIONS = """\
EXAONE 4.5 reads documents (PDFs, images, HWP/HWPX, Korean first) {where}: `inspect` to see what
a document holds and what reading it costs (no model), `ocr` for the text of its pages, `ask` for
an answer with the pages it cites, `extract` for fields as JSON that matches a schema. Paths are
files or folders under {roots}; relative paths start there. Large results come in parts: call the
same tool again with the `cursor` the result gives."""

LOOPBACK = ("127.0.0.1", "localhost", "::1")  # where the SDK turns its DNS-rebinding protection on
STOP_GRACE_S = 3.0  # after Ctrl-C or SIGTERM, how long a stdio server may take to end by itself


def _sent_as_text(value: Any) -> Any:
    """An argument sent as JSON text stays text. The SDK parses every string argument not typed
    plain `str` as JSON first (for clients that send lists as strings), which turned a schema
    given as JSON text into an object that the string argument then refused."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value


AsText = BeforeValidator(_sent_as_text)

Path_ = Annotated[
    str,
    Field(
        description="A file (PDF, image, HWP or HWPX) or a folder (its PDFs, images and HWP/HWPX documents, "
        "not subfolders), under the server's roots; relative paths start at the first root, ~ is the home "
        "folder. Several: one per line. Not needed with a cursor."
    ),
]
Pages = Annotated[
    str | int | None,
    AsText,
    Field(description='Pages to use, 1-based, e.g. "1-5,7" or "10-" (default: all).'),
]
TextLayer = Annotated[
    str | None,
    AsText,
    Field(
        description="What to do with a PDF's own text layer: 'fallback' (default: the model reads every page, "
        "a good layer stands in when it fails), 'prefer' (pages with a good layer are taken from it, no model: "
        "fast), 'hint' (the layer goes into the prompt), 'off'."
    ),
]
Cursor = Annotated[
    str | None,
    AsText,
    Field(description="The `paging.next_cursor` of an earlier result, for its next part (other arguments ignored)."),
]

OCR = """Transcribe the pages of PDFs, images and HWP/HWPX documents to text (Markdown, tables as HTML), \
page by page, with EXAONE 4.5 (where it runs: see the server's instructions). \
Result: {"documents": [{"file", "pages": [{"page", "text", "text_source", ...}]}]}; \
a page that failed has "error" instead of "text". Pages already read come from the page store at once. \
Sends a progress notification per page. A long result comes in parts: see "paging"."""
ASK = """Answer a question about documents (PDFs, images), or about nothing (path empty). Short documents go \
to the model as images; long ones are answered from the text of their most relevant pages (transcribed once, \
then kept). Result: {"answer", "final" (the \\boxed{} answer if any), "citations": [{"file", "page"}], \
"pages_read": [{"file", "page", "as"}], "mode"}. Check cited pages where the answer matters. An answer too long \
for one result comes in parts: see "paging" and "answer_part"."""
EXTRACT = """Pull fields out of documents as JSON that matches a schema: one result per file (its pages in one \
prompt), or per page with per_page. Give exactly one of: schema (a JSON Schema as JSON text, or a .json file's \
path), fields ("상호, 일자:date, 합계:integer, 품목:string[]"; types string, integer, number, boolean, date, \
time, email, TYPE[]), template (receipt, tax-invoice, business-card, ...). Every result is checked against the \
schema: {"file", "pages", "valid", "data"} or, when invalid, "errors" and "raw". A long result comes in parts."""
INSPECT = """See what documents hold before reading them, with no model: per page its size, the PDF text \
layer's verdict (good, poor, none) and whether its text would come from the layer or the model, the visual \
tokens it costs; totals and a cost line. Cheap: use it first on large folders or long PDFs."""


class ExaoneMCP:
    """The server around DocumentTools: one MCPServer, the four tools registered."""

    def __init__(self, tools: DocumentTools) -> None:
        self.tools = tools
        roots = tools.roots.describe()
        self.server: MCPServer[Any] = MCPServer(
            "exaone",
            version=__version__,
            instructions=INSTRUCTIONS.format(roots=roots, where=_where(tools)),
            log_level="DEBUG" if debug_enabled() else "WARNING",
        )
        read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)  # type: ignore[call-arg]
        self.server.tool(name="ocr", description=OCR, annotations=read_only)(self._ocr())
        self.server.tool(name="ask", description=ASK, annotations=read_only)(self._ask())
        self.server.tool(name="extract", description=EXTRACT, annotations=read_only)(self._extract())
        self.server.tool(name="inspect", description=INSPECT, annotations=read_only)(self._inspect())

    def _ocr(self) -> Callable[..., CallToolResult]:
        def ocr(
            ctx: Context, path: Path_ = "", pages: Pages = None, text_layer: TextLayer = None, cursor: Cursor = None
        ) -> CallToolResult:
            with tool_errors("ocr"):
                known_arguments(ctx, ocr)
                if cursor:
                    return _result(self.tools.pager.next("ocr", cursor))
                return _result(self.tools.ocr(path, _pages(pages), text_layer, progress(ctx)))

        return ocr

    def _ask(self) -> Callable[..., CallToolResult]:
        def ask(
            question: Annotated[str, Field(description="The question, in any language (Korean works best).")],
            ctx: Context,
            path: Annotated[str, Field(description="Documents to answer from (as for ocr); empty: none.")] = "",
            pages: Pages = None,
            thinking: Annotated[
                bool, Field(description="Reason before answering (default true; false is faster).")
            ] = True,
            cursor: Cursor = None,
        ) -> CallToolResult:
            with tool_errors("ask"):
                known_arguments(ctx, ask)
                if cursor:
                    return _result(self.tools.pager.next("ask", cursor))
                return _result(self.tools.ask(question, path, _pages(pages), thinking, progress(ctx)))

        return ask

    def _extract(self) -> Callable[..., CallToolResult]:
        def extract(
            ctx: Context,
            path: Path_ = "",
            schema: Annotated[
                str | None, AsText, Field(description="A JSON Schema as JSON text, or a file's path.")
            ] = None,
            fields: Annotated[str | None, AsText, Field(description='A field list, e.g. "상호, 일자:date".')] = None,
            template: Annotated[
                str | None, AsText, Field(description="A shipped template's name, e.g. receipt.")
            ] = None,
            pages: Pages = None,
            per_page: Annotated[bool, Field(description="One result per page instead of per file.")] = False,
            cursor: Cursor = None,
        ) -> CallToolResult:
            with tool_errors("extract"):
                known_arguments(ctx, extract)
                if cursor:
                    return _result(self.tools.pager.next("extract", cursor))
                body = self.tools.extract(path, schema, fields, template, _pages(pages), per_page, progress(ctx))
                return _result(body)

        return extract

    def _inspect(self) -> Callable[..., CallToolResult]:
        def inspect(
            ctx: Context, path: Path_ = "", pages: Pages = None, text_layer: TextLayer = None, cursor: Cursor = None
        ) -> CallToolResult:
            with tool_errors("inspect"):
                known_arguments(ctx, inspect)
                if cursor:
                    return _result(self.tools.pager.next("inspect", cursor))
                return _result(self.tools.inspect(path, _pages(pages), text_layer))

        return inspect

    def run(self, transport: Literal["stdio", "streamable-http"], host: str, port: int) -> None:
        """Serve until the client goes (stdio) or the process is stopped; the engine is closed then."""
        try:
            if transport == "stdio":
                # A print is flushed at once, while fd 1 points at stderr: never held back in the
                # buffer until exit, when the SDK has given fd 1 back to the protocol stream.
                with suppress(AttributeError, ValueError):
                    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
                if _typed_at(sys.stdin):  # a person trying it, not a client: else it just sits there
                    to_stderr(
                        "exaone mcp: waiting for an MCP client on standard input (an agent's client starts"
                        " this command: see `exaone mcp --help`); Ctrl-C stops it"
                    )
                with signals_end_the_server():
                    self.server.run("stdio")
            else:
                can_listen(host, port)
                to_stderr(f"exaone mcp: serving http://{host}:{port}/mcp (roots: {self.tools.roots.describe()})")
                if host not in LOOPBACK:
                    to_stderr(
                        f"Warning: --host {host}: anyone who reaches this port can read the documents under the roots"
                        " (no authentication, and no DNS-rebinding check off 127.0.0.1)"
                    )
                self.server.run("streamable-http", host=host, port=port)
        finally:
            self.tools.close()


def can_listen(host: str, port: int) -> None:
    """UsageError unless `host:port` can be bound, before the server says it serves there: a port
    in use was "serving http://..." and then the web server's own ERROR line, with exit code 3."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server binds it
            sock.bind(address)
    except OSError as exc:
        raise UsageError(
            f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})",
            hint="choose another --port, or stop what listens on it",
        ) from None


@contextmanager
def signals_end_the_server() -> Iterator[None]:
    """Ctrl-C and SIGTERM end a stdio server, as they end every exaone command. The SDK reads
    standard input on a worker thread that no cancellation reaches, so while the client keeps
    the pipe open (or a person runs it in a terminal) the interrupted server waited for a next
    line that never came, holding the model. Now it is given STOP_GRACE_S to end by itself (the
    page store keeps every finished page), then the process exits with 130."""
    escaped = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        def exit_now() -> None:
            if not escaped.is_set():  # else the error boundary has said it already
                to_stderr("Interrupted.")
            os._exit(int(ExitCode.INTERRUPTED))

        timer = threading.Timer(STOP_GRACE_S, exit_now)
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    held = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        escaped.set()
        raise
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)


def _typed_at(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _where(tools: DocumentTools) -> str:
    """Where the pages are read, as the agent should tell its user (privacy)."""
    remote = tools.options.remote
    if remote is None:
        return "on this machine (the documents do not leave it)"
    return f"through the EXAONE server at {remote.server} (page images and texts are sent there)"


def _result(body: dict[str, Any]) -> CallToolResult:
    """The result as structured content, and as compact JSON text for clients that read only
    text (no indentation: an agent pays for every token)."""
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=body)


def _pages(pages: str | int | None) -> str | None:
    return None if pages is None or pages == "" else str(pages)


def known_arguments(ctx: Context, tool: Callable[..., Any]) -> None:
    """UsageError for an argument `tool` has not got: the SDK drops it unseen, and an agent that
    guessed `paths` for `path` got an answer about no document at all."""
    params = ctx.request_context.params or {}
    sent = params.get("arguments") or {}
    names = [name for name in inspect.signature(tool).parameters if name != "ctx"]
    unknown = sorted(set(sent) - set(names))
    if unknown:
        raise UsageError(
            f"{tool.__name__} has no argument {', '.join(map(repr, unknown))}",
            hint=f"its arguments are {', '.join(names)}",
        )


@contextmanager
def tool_errors(tool: str) -> Iterator[None]:
    """Any failure as a ToolError the agent can read: exaone's message and hint; an unexpected
    exception as one line (its traceback on stderr only with --debug)."""
    try:
        yield
    except ToolError:
        raise
    except ExaoneError as exc:
        if debug_enabled():
            traceback.print_exc()
        message, hint = in_tool_words(exc.message), in_tool_words(exc.hint) if exc.hint else None
        raise ToolError(f"{message}\nHint: {hint}" if hint else message) from None
    except Exception as exc:
        if debug_enabled():
            traceback.print_exc()
        to_stderr(f"Error: {tool}: unexpected {type(exc).__name__}: {exc}")
        raise ToolError(
            f"{tool} failed: unexpected {type(exc).__name__}: {exc}\n"
            "Hint: the server goes on; start it with --debug to see the traceback on its stderr"
        ) from None


def progress(ctx: Context) -> Report:
    """Progress notifications from a tool's worker thread, each above the last (as the protocol
    asks; a message alone moves it on by a thousandth). A client that asked for none, or is gone,
    costs nothing."""
    last = [-1.0]
    lock = threading.Lock()

    def report(value: float, total: float | None, message: str) -> None:
        with lock:
            value = max(float(value), last[0] + 0.001)
            last[0] = value
        with suppress(Exception):  # a closed stream must not end the work
            anyio.from_thread.run(ctx.report_progress, value, total, message)

    return report
