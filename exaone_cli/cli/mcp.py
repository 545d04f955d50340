"""`exaone mcp`: exaone's tools for AI agents, over the Model Context Protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config import DEFAULT_MODEL, LoadOptions
from ..engines.remote import remote_options
from ..errors import EngineError, UsageError
from ..ocr.retries import DEFAULT_PAGE_RETRIES
from ..pages import DEFAULT_MAX_PAGE_PIXELS
from .ask import PageRetriesOpt
from .errors import error_boundary
from .options import (
    ApiKeyOpt,
    AttnImplementationOpt,
    CacheOpt,
    ConcurrencyOpt,
    DebugOpt,
    DeviceMapOpt,
    DpiOpt,
    DtypeOpt,
    MaxMemoryOpt,
    MaxNewTokensOpt,
    MaxPagePixelsOpt,
    MaxPixelsOpt,
    MinPixelsOpt,
    ModelOpt,
    OffloadFolderOpt,
    PasswordOpt,
    QuantizeOpt,
    RasterizerOpt,
    RetriesOpt,
    RevisionOpt,
    SeedOpt,
    ServedModelOpt,
    ServerOpt,
    TimeoutOpt,
    chosen_server,
)

MCP_HELP = """Serve exaone's tools (ocr, ask, extract, inspect) to AI agents over the Model Context Protocol.

The agent's client starts it (standard input and output carry the protocol); the model is loaded \
by the first call that needs it and kept until the client stops the server. Only files under the \
--root folders (default: the working folder) are read; no URL is fetched. With --transport \
streamable-http it serves http://127.0.0.1:8765/mcp (--host, --port) instead.

\b
Examples:
  claude mcp add exaone -- exaone mcp --root ~/문서
  exaone mcp --root ~/docs --server http://gpu-box:8000/v1
  exaone mcp --transport streamable-http --port 8765
"""
MCP_INSTALL = "pip install '.[mcp]' in exaone's folder (see the README's Install)"
SERVING = "Serving"


def mcp_command(
    ctx: typer.Context,
    root: Annotated[
        list[Path] | None,
        typer.Option(
            "--root",
            metavar="DIR",
            help="A folder the agent may read (repeatable; default: here).",
            rich_help_panel=SERVING,
        ),
    ] = None,
    transport: Annotated[
        str,
        typer.Option(
            "--transport", metavar="stdio|streamable-http", help="How clients connect.", rich_help_panel=SERVING
        ),
    ] = "stdio",
    host: Annotated[
        str, typer.Option("--host", help="streamable-http: the address to listen on.", rich_help_panel=SERVING)
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="streamable-http: the port.", rich_help_panel=SERVING)
    ] = 8765,
    dpi: DpiOpt = 200,
    rasterizer: RasterizerOpt = None,
    password: PasswordOpt = None,
    max_page_pixels: MaxPagePixelsOpt = DEFAULT_MAX_PAGE_PIXELS,
    max_pixels: MaxPixelsOpt = None,
    min_pixels: MinPixelsOpt = None,
    model: ModelOpt = DEFAULT_MODEL,
    revision: RevisionOpt = None,
    quantize: QuantizeOpt = "none",
    dtype: DtypeOpt = "auto",
    device_map: DeviceMapOpt = "auto",
    max_memory: MaxMemoryOpt = None,
    offload_folder: OffloadFolderOpt = None,
    attn_implementation: AttnImplementationOpt = None,
    server: ServerOpt = None,
    api_key: ApiKeyOpt = None,
    served_model: ServedModelOpt = None,
    concurrency: ConcurrencyOpt = 4,
    retries: RetriesOpt = 3,
    timeout: TimeoutOpt = 600.0,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Pages generated together.")] = 4,
    max_new_tokens: MaxNewTokensOpt = 4096,
    page_retries: PageRetriesOpt = DEFAULT_PAGE_RETRIES,
    seed: SeedOpt = None,
    cache: CacheOpt = True,
    debug: DebugOpt = False,
) -> None:
    err = Console(stderr=True, highlight=False)
    with error_boundary(err):
        if transport not in ("stdio", "streamable-http"):
            raise UsageError(f"unknown transport {transport!r}", hint="use stdio (the default) or streamable-http")
        try:
            from ..mcp.server import ExaoneMCP
            from ..mcp.tools import DocumentTools, ServerOptions
        except ImportError as exc:
            if (exc.name or "").split(".")[0] != "mcp":
                raise
            raise EngineError("exaone mcp needs the MCP SDK (mcp 2.x), which is not installed", MCP_INSTALL) from None
        from ..mcp.roots import Roots

        load = LoadOptions.from_flags(
            model, revision, quantize=quantize, dtype=dtype, device_map=device_map, max_memory=max_memory,
            offload_folder=offload_folder, attn_implementation=attn_implementation,
            min_pixels=min_pixels, max_pixels=max_pixels,
        )  # fmt: skip
        server = chosen_server(ctx, server, model, err)  # a flag typed wins over the environment
        options = ServerOptions(
            load=load, remote=remote_options(server, api_key, served_model, concurrency, retries, timeout, load),
            dpi=dpi, rasterizer=rasterizer, password=password, batch_size=batch_size, seed=seed, cache=cache,
            max_new_tokens=max_new_tokens, max_page_pixels=max_page_pixels, page_retries=page_retries,
        )  # fmt: skip
        tools = DocumentTools(Roots.of(root or []), options)
        ExaoneMCP(tools).run(transport, host, port)  # type: ignore[arg-type]
