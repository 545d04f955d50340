"""Options shared by every command, declared once so `ask` and `ocr` agree on names and help."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config import DEFAULT_MODEL
from ..errors import UsageError
from .errors import set_debug, warn

EPILOG = (
    "Exit codes: 0 success · 1 some inputs failed · 2 usage error · "
    "3 model/engine could not be loaded or reached · 130 interrupted · 141 standard output closed (e.g. | head)."
)


def _debug(value: bool) -> None:
    if value:
        set_debug(True)


# Every command takes --debug too, where the "run again with --debug" hint tells people to put it.
DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        envvar="EXAONE_DEBUG",
        callback=_debug,
        is_eager=True,
        expose_value=False,
        help="Show tracebacks and library logs.",
    ),
]


class Format(str, Enum):
    auto = "auto"
    rich = "rich"
    text = "text"
    json = "json"


SAMPLING = "Sampling"
MODEL = "Model"
OUTPUT = "Output"

ModelOpt = Annotated[
    str,
    typer.Option(
        "--model",
        "-m",
        envvar="EXAONE_MODEL",
        help="Hub id or local checkpoint folder.",
        rich_help_panel=MODEL,
        show_default=True,
        metavar="ID|PATH",
    ),
]
RevisionOpt = Annotated[
    str | None, typer.Option("--revision", help="Hub branch, tag or commit.", rich_help_panel=MODEL, metavar="REV")
]
PresetOpt = Annotated[
    str,
    typer.Option(
        "--preset",
        help="Model-card sampling preset: auto, ocr (documents, Korean), general (images), text.",
        rich_help_panel=SAMPLING,
        metavar="NAME",
    ),
]
TemperatureOpt = Annotated[
    float | None, typer.Option("--temperature", help="Override; 0 means greedy.", rich_help_panel=SAMPLING, metavar="T")
]
TopPOpt = Annotated[
    float | None, typer.Option("--top-p", help="Override top-p.", rich_help_panel=SAMPLING, metavar="P")
]
TopKOpt = Annotated[
    int | None, typer.Option("--top-k", help="Override top-k (0: off).", rich_help_panel=SAMPLING, metavar="K")
]
PresencePenaltyOpt = Annotated[
    float | None,
    typer.Option(
        "--presence-penalty", help="Override (OpenAI semantics; 0: off).", rich_help_panel=SAMPLING, metavar="X"
    ),
]
MaxNewTokensOpt = Annotated[
    int,
    typer.Option("--max-new-tokens", help="Token limit for each generation.", rich_help_panel=SAMPLING, metavar="N"),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Random seed for sampling.", rich_help_panel=SAMPLING, metavar="N")
]
FormatOpt = Annotated[
    Format,
    typer.Option(
        "--format", "-f", help="auto = rich on a terminal, text when piped.", rich_help_panel=OUTPUT, metavar="FORMAT"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Same as --format json.", rich_help_panel=OUTPUT)]
ShowReasoningOpt = Annotated[
    bool, typer.Option("--show-reasoning", help="Show the model's reasoning too.", rich_help_panel=OUTPUT)
]

__all__ = ["DEFAULT_MODEL"]

INPUT = "Input"

PagesOpt = Annotated[
    str | None,
    typer.Option(
        "--pages", "-p", help="Pages to use, 1-based: 1-3,7,10- (default: all).", rich_help_panel=INPUT, metavar="PAGES"
    ),
]
DpiOpt = Annotated[
    int, typer.Option("--dpi", min=36, max=1200, help="PDF rendering DPI.", rich_help_panel=INPUT, metavar="DPI")
]
MaxPagePixelsOpt = Annotated[
    int,
    typer.Option(
        "--max-page-pixels",
        min=1,
        envvar="EXAONE_MAX_PAGE_PIXELS",
        help="Refuse pages larger than this many pixels (decompression bombs; a PDF page is rendered at a lower "
        "DPI). Raise it only for files you trust.",
        rich_help_panel=INPUT,
        metavar="PIXELS",
    ),
]
RasterizerOpt = Annotated[
    str | None,
    typer.Option(
        "--rasterizer",
        help="PDF renderer: pdfium or poppler (default: the faster).",
        rich_help_panel=INPUT,
        metavar="pdfium|poppler",
    ),
]
PasswordOpt = Annotated[
    str | None,
    typer.Option(
        "--password",
        envvar="EXAONE_PDF_PASSWORD",
        help="Password of encrypted PDFs.",
        rich_help_panel=INPUT,
        metavar="TEXT",
    ),
]
MaxPixelsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-pixels",
        help="Visual-token budget: pixels per image after resizing (28x28 px = 1 token). "
        "Default 5120 tokens: an A4 page at 200 DPI unscaled.",
        rich_help_panel=INPUT,
        metavar="PIXELS",
    ),
]
MinPixelsOpt = Annotated[
    int | None,
    typer.Option(
        "--min-pixels",
        help="Smaller images are scaled up to this many pixels.",
        rich_help_panel=INPUT,
        metavar="PIXELS",
    ),
]

LOADING = "Loading"

QuantizeOpt = Annotated[
    str,
    typer.Option(
        "--quantize",
        help="bitsandbytes 8-bit or 4-bit (4bit = NF4, double quantization, 16-bit compute). "
        "lm_head and the vision tower stay 16-bit: they are ~6% of the weights, lm_head's errors hit every "
        "token's probabilities, and the vision tower runs once per image.",
        rich_help_panel=LOADING,
        metavar="none|8bit|4bit",
    ),
]
DtypeOpt = Annotated[
    str, typer.Option("--dtype", help="auto | bfloat16 | float16 | float32.", rich_help_panel=LOADING, metavar="DTYPE")
]
DeviceMapOpt = Annotated[
    str,
    typer.Option(
        "--device-map",
        help="auto | balanced | sequential | cpu | cuda:N (accelerate).",
        rich_help_panel=LOADING,
        metavar="MAP",
    ),
]
MaxMemoryOpt = Annotated[
    str | None,
    typer.Option(
        "--max-memory",
        help="Per-device limits, e.g. 0=20GiB,1=20GiB,cpu=64GiB.",
        rich_help_panel=LOADING,
        metavar="LIMITS",
    ),
]
OffloadFolderOpt = Annotated[
    Path | None,
    typer.Option(
        "--offload-folder", help="Folder for weights offloaded to disk.", rich_help_panel=LOADING, metavar="DIR"
    ),
]
AttnImplementationOpt = Annotated[
    str | None,
    typer.Option(
        "--attn-implementation", help="sdpa | flash_attention_2 | eager.", rich_help_panel=LOADING, metavar="NAME"
    ),
]

SERVER = "Server (OpenAI-compatible)"

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        envvar="EXAONE_SERVER",
        help="Use this OpenAI-compatible server (vLLM, SGLang, TensorRT-LLM, llama.cpp, transformers serve) "
        "instead of a local model, e.g. http://gpu-box:8000/v1.",
        rich_help_panel=SERVER,
        metavar="URL",
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=["EXAONE_API_KEY", "OPENAI_API_KEY"],
        help="The server's API key.",
        show_envvar=True,
        rich_help_panel=SERVER,
        metavar="KEY",
    ),
]
ServedModelOpt = Annotated[
    str | None,
    typer.Option(
        "--served-model",
        help="Model name on the server (default: the one it serves).",
        rich_help_panel=SERVER,
        metavar="NAME",
    ),
]
ConcurrencyOpt = Annotated[
    int,
    typer.Option(
        "--concurrency",
        "-c",
        min=1,
        help="Requests in flight (ocr; ask's page transcription).",
        rich_help_panel=SERVER,
        metavar="N",
    ),
]
RetriesOpt = Annotated[
    int,
    typer.Option(
        "--retries", min=0, help="Retries on connection errors, 429 and 5xx.", rich_help_panel=SERVER, metavar="N"
    ),
]
TimeoutOpt = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds per request.", rich_help_panel=SERVER, metavar="SECONDS")
]

CacheOpt = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Read and write the page store (see `exaone cache`); EXAONE_NO_CACHE=1 turns it off too.",
        rich_help_panel=OUTPUT,
    ),
]


ExtractCacheOpt = Annotated[
    bool,
    typer.Option(
        "--cache/--no-cache",
        help="Accepted as ocr and ask take it; extract keeps nothing in the page store (its answers depend on the "
        "schema), so it changes nothing.",
        rich_help_panel=OUTPUT,
    ),
]


def _typed(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def chosen_server(ctx: typer.Context, server: str | None, model: str, err: Console) -> str | None:
    """The server to use, with a flag typed on the command line winning over the environment (Click's
    parameter source tells them apart): an explicit --model with the server only from EXAONE_SERVER
    runs that model locally (said in one warning); an explicit --model with an explicit --server is
    a usage error, since --model names a local checkpoint and --served-model the served one."""
    if not server or not _typed(ctx, "model"):
        return server
    if _typed(ctx, "server"):
        raise UsageError(
            "--model and --server both given: --model names a local checkpoint",
            hint="name the served model with --served-model NAME, or drop --server to run --model here",
        )
    warn(err, f"--model {model} runs here, not on EXAONE_SERVER={server} (pass --server to use the server)")
    return None


def one_format(fmt: str, **flags: bool) -> str:
    """The output format from --format and its shorthands (--json, --jsonl): UsageError (exit 2)
    when they name different formats, instead of one of them silently winning."""
    named = {name for name, on in flags.items() if on} | ({fmt} if fmt != "auto" else set())
    if len(named) > 1:
        shorthands = ", ".join(f"--{name}" for name in flags)
        raise UsageError(
            f"conflicting output formats: {' and '.join(sorted(named))}",
            hint=f"give one: --format NAME or {shorthands}",
        )
    return named.pop() if named else fmt
