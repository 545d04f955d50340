"""`exaone extract`: documents to JSON that matches a schema."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..config import DEFAULT_MODEL, LoadOptions, SamplingFlags
from ..engines import describe_engine, describe_source
from ..engines.remote import remote_options
from ..errors import ExitCode
from ..extract.runner import ExtractRun, check_local_grammar, extract_run
from ..extract.schema import resolve_schema, template_titles
from ..extract.settings import FORMATS, ExtractSettings, format_flag
from ..ocr.output import exclusive_output
from ..pages import DEFAULT_MAX_PAGE_PIXELS
from ..render.extract import error_line, make_result_sink
from ..render.progress import LoadingStep, OcrView, finished_line, same_terminal, say
from .errors import error_boundary, report, warn
from .options import (
    ApiKeyOpt,
    AttnImplementationOpt,
    ConcurrencyOpt,
    DebugOpt,
    DeviceMapOpt,
    DpiOpt,
    DtypeOpt,
    ExtractCacheOpt,
    MaxMemoryOpt,
    MaxNewTokensOpt,
    MaxPagePixelsOpt,
    MaxPixelsOpt,
    MinPixelsOpt,
    ModelOpt,
    OffloadFolderOpt,
    PagesOpt,
    PasswordOpt,
    PresencePenaltyOpt,
    PresetOpt,
    QuantizeOpt,
    RasterizerOpt,
    RetriesOpt,
    RevisionOpt,
    SeedOpt,
    ServedModelOpt,
    ServerOpt,
    TemperatureOpt,
    TimeoutOpt,
    TopKOpt,
    TopPOpt,
    chosen_server,
)  # fmt: skip

EXTRACT_HELP = "\n\n".join(
    [
        "Pull fields out of documents as JSON that matches a schema.",
        "One result per input file (an image, a PDF or an HWP/HWPX document: its selected pages in one "
        "prompt), or one per page with --per-page.",
        "The target is a JSON Schema file (--schema), a field list (--fields; types string, integer, number, "
        "boolean, date, time, email, and TYPE[] for a list), or a shipped template (--template). Every result "
        "is checked against the schema; values must still be checked by a person where they matter.",
        "\b\nTemplates:\n" + "\n".join(f"  {name:<23}{title}" for name, title in template_titles().items()),
        """\b
Examples:
  exaone extract receipt.jpg --template receipt
  exaone extract 영수증/*.jpg --fields "상호, 일자:date, 합계:integer" --csv
  exaone extract invoice.pdf --template tax-invoice --jsonl
  exaone extract --template business-card --show-schema""",
    ]
)
OUTPUT = "Output"
TARGET = "Schema"


def extract_command(
    ctx: typer.Context,
    files: Annotated[list[str] | None, typer.Argument(metavar="FILE...", show_default=False)] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", metavar="FILE", help="A JSON Schema file.", rich_help_panel=TARGET)
    ] = None,
    fields: Annotated[
        str | None,
        typer.Option("--fields", metavar="LIST", help='"name, name:type, ..." (see above).', rich_help_panel=TARGET),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template", "-t", metavar="NAME", help="A shipped template (see above).", rich_help_panel=TARGET
        ),
    ] = None,
    show_schema: Annotated[
        bool,
        typer.Option("--show-schema", help="Print the schema that would be used, and exit.", rich_help_panel=TARGET),
    ] = False,
    per_page: Annotated[bool, typer.Option("--per-page", help="One result per page, not per file.")] = False,
    max_images: Annotated[int, typer.Option("--max-images", min=1, help="At most this many pages per prompt.")] = 8,
    pages: PagesOpt = None,
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
    think: Annotated[bool, typer.Option("--think/--no-think", help="Reasoning before the JSON (off).")] = False,
    preset: PresetOpt = "ocr",
    temperature: TemperatureOpt = None,
    top_p: TopPOpt = None,
    top_k: TopKOpt = None,
    presence_penalty: PresencePenaltyOpt = None,
    max_new_tokens: MaxNewTokensOpt = 4096,
    seed: SeedOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", "-b", min=1, help="Prompts generated together.")] = 4,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help=f"{'|'.join(FORMATS)}.", rich_help_panel=OUTPUT)
    ] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="--format json.", rich_help_panel=OUTPUT)] = False,
    jsonl_out: Annotated[bool, typer.Option("--jsonl", help="--format jsonl.", rich_help_panel=OUTPUT)] = False,
    csv_out: Annotated[
        bool, typer.Option("--csv", help="--format csv (UTF-8; a BOM in files).", rich_help_panel=OUTPUT)
    ] = False,
    formula_guard: Annotated[
        bool,
        typer.Option(
            "--formula-guard/--no-formula-guard",
            envvar="EXAONE_FORMULA_GUARD",
            rich_help_panel=OUTPUT,
            help="CSV: a leading ' on cells a spreadsheet would run as a formula (off: values exact, for programs).",
        ),
    ] = True,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write here.", rich_help_panel=OUTPUT)
    ] = None,
    cache: ExtractCacheOpt = True,  # the same command line works for ocr, ask and extract
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No loading line, progress or summary; errors only.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    err = Console(stderr=True, highlight=False)
    with error_boundary(err):
        server = chosen_server(ctx, server, model, err)  # a flag typed wins over the environment
        target = resolve_schema(schema, fields, template)
        if show_schema:
            if server is None and importlib.util.find_spec("llguidance") is not None:
                check_local_grammar(target, lambda m: warn(err, m))  # what the local engine would refuse
            print(target.to_json())
            raise typer.Exit()
        load = LoadOptions.from_flags(
            model, revision, quantize=quantize, dtype=dtype, device_map=device_map, max_memory=max_memory,
            offload_folder=offload_folder, attn_implementation=attn_implementation,
            min_pixels=min_pixels, max_pixels=max_pixels,
        )  # fmt: skip
        settings = ExtractSettings.from_flags(
            files=files or [], target=target, pages=pages, dpi=dpi, rasterizer=rasterizer, password=password,
            max_page_pixels=max_page_pixels,
            load=load, remote=remote_options(server, api_key, served_model, concurrency, retries, timeout, load),
            flags=SamplingFlags(preset, temperature, top_p, top_k, presence_penalty, max_new_tokens, seed),
            thinking=think, per_page=per_page, max_images=max_images, batch_size=batch_size,
            fmt=format_flag(fmt, json=json_out, jsonl=jsonl_out, csv=csv_out), output=output,
            stdout_is_terminal=sys.stdout.isatty(), formula_guard=formula_guard,
        )  # fmt: skip
        with exclusive_output(settings.output):  # a second run writing the same file is refused
            run = _run(settings, err, quiet=quiet)
        if run.failed or run.warned:
            raise typer.Exit(int(ExitCode.INPUT_FAILED))


def _run(settings: ExtractSettings, err: Console, *, quiet: bool) -> ExtractRun:
    """The run as a person sees it on stderr, as for `exaone ocr`: the loading step, the results
    above one progress line, and a summary line; the product goes to the sink."""
    view = OcrView(err, quiet=quiet, label="Extract", unit="result")
    step = LoadingStep(err, describe_source(settings.load, settings.remote), quiet=quiet)
    with step.running():
        sink = make_result_sink(settings, view.stdout(sys.stdout))
        run = extract_run(settings, sink, warn=lambda m: warn(err, m), on_status=step.status)
        step.detail = describe_engine(run.engine) if run.opened_engine else None
    if not quiet:
        say(err, run.summary())
    in_table = settings.fmt == "rich" and same_terminal(sys.stdout, sys.stderr)  # the table shows errors
    try:
        with view.running(run.total, earlier=run.planning_seconds):
            for result in run:
                view.count(result.completion_tokens, ok=result.valid, cut=result.cut)
                if not result.valid and not in_table:
                    report(err, error_line(result), result.hint)
                elif result.warning and not in_table:  # the table's heading says it on this terminal
                    warn(err, f"{result.source}: {result.warning}")
    except KeyboardInterrupt:  # said once, here (not "Interrupted." again from the error boundary)
        if not quiet:
            say(err, finished_line(view, settings, run.total, interrupted=True))
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    if not quiet:
        say(err, finished_line(view, settings, run.total))
    return run
