"""`exaone ocr`: documents to text, page by page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..api import OcrRun, dry_run, ocr_run
from ..config import DEFAULT_MODEL, LoadOptions, SamplingFlags
from ..engines import describe_engine, describe_source
from ..engines.remote import remote_options
from ..errors import ExitCode
from ..ocr.output import exclusive_output
from ..ocr.retries import DEFAULT_PAGE_RETRIES, MAX_PAGE_RETRIES, RETRY_LADDER_HELP
from ..ocr.settings import FORMATS, OcrSettings
from ..ocr.text_sources import DEFAULT_TEXT_LAYER_MODE, TEXT_LAYER_HELP
from ..pages import DEFAULT_MAX_PAGE_PIXELS
from ..render.dry_run import print_dry_run
from ..render.progress import LoadingStep, OcrView, finished_line, same_terminal, say
from ..render.sinks import make_sink
from .errors import error_boundary, report, warn
from .options import (
    SAMPLING,
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
    one_format,
)

OCR_HELP = """Transcribe documents and images to text, page by page.

PDFs are rendered page by page; HWP and HWPX (한/글) documents too, after rhwp lays them out as
PDF pages (the \\[hwp] extra); images (PNG, JPEG, TIFF, GIF, WEBP, ...) are used as they are,
every frame a page; '-' reads a file from standard input.

\b
Examples:
  exaone ocr examples/report.pdf
  exaone ocr scans/*.pdf photo.jpg --jsonl > pages.jsonl
  exaone ocr examples/report.pdf --pages 2 --format markdown -o report.md
  cat receipt.png | exaone ocr - --json | jq '.documents[0].pages[].text'
  exaone ocr big.pdf -o pages.jsonl --resume      # after an interruption
  exaone ocr report.pdf --text-layer prefer       # the PDF's own text
  exaone ocr 공고.hwp --text-layer prefer         # an HWP's own text
"""

OUTPUT = "Output"
PAGE_RETRIES_HELP = (
    f"More tries (0 to {MAX_PAGE_RETRIES}) for a page that loops, hits the token limit, comes back empty or fails: "
    f"{RETRY_LADDER_HELP}. Then a good text layer stands in."
)


def ocr_command(
    ctx: typer.Context,
    files: Annotated[list[str], typer.Argument(metavar="FILE...", show_default=False)],
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
    prompt_file: Annotated[
        Path | None, typer.Option("--prompt-file", metavar="FILE", help="Use this prompt instead.")
    ] = None,
    think: Annotated[bool, typer.Option("--think/--no-think", help="Reasoning mode (off for OCR).")] = False,
    preset: PresetOpt = "ocr",
    temperature: TemperatureOpt = None,
    top_p: TopPOpt = None,
    top_k: TopKOpt = None,
    presence_penalty: PresencePenaltyOpt = None,
    max_new_tokens: MaxNewTokensOpt = 4096,
    seed: SeedOpt = None,
    guard: Annotated[
        bool,
        typer.Option(
            "--repetition-guard/--no-repetition-guard",
            help="Stop a page whose output keeps repeating a short unit (finish_reason 'repetition').",
            rich_help_panel=SAMPLING,
        ),
    ] = True,
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", "-b", min=1, metavar="N", help="Pages generated together; similar sizes grouped."),
    ] = 4,
    text_layer: Annotated[
        str, typer.Option("--text-layer", metavar="MODE", help=TEXT_LAYER_HELP)
    ] = DEFAULT_TEXT_LAYER_MODE,
    page_retries: Annotated[
        int, typer.Option("--page-retries", min=0, max=MAX_PAGE_RETRIES, metavar="N", help=PAGE_RETRIES_HELP)
    ] = DEFAULT_PAGE_RETRIES,
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="FORMAT", help=f"{'|'.join(FORMATS)}.", rich_help_panel=OUTPUT)
    ] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="--format json.", rich_help_panel=OUTPUT)] = False,
    jsonl_out: Annotated[bool, typer.Option("--jsonl", help="--format jsonl.", rich_help_panel=OUTPUT)] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write here, not stdout.", rich_help_panel=OUTPUT),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip pages already in the -o .jsonl file.", rich_help_panel=OUTPUT)
    ] = False,
    cache: CacheOpt = True,
    dry_run_: Annotated[
        bool, typer.Option("--dry-run", help="List pages, token counts and text-layer verdicts; load no model.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only errors and warnings on stderr: no progress, no summary.")
    ] = False,
    debug: DebugOpt = False,
) -> None:
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    with error_boundary(err):
        load = LoadOptions.from_flags(
            model, revision, quantize=quantize, dtype=dtype, device_map=device_map, max_memory=max_memory,
            offload_folder=offload_folder,
            attn_implementation=attn_implementation, min_pixels=min_pixels, max_pixels=max_pixels,
        )  # fmt: skip
        server = chosen_server(ctx, server, model, err)  # a flag typed wins over the environment
        remote = remote_options(server, api_key, served_model, concurrency, retries, timeout, load)
        settings = OcrSettings.from_flags(
            files=files, pages=pages, dpi=dpi, rasterizer=rasterizer, password=password, prompt_file=prompt_file,
            load=load, remote=remote,
            thinking=think,
            flags=SamplingFlags(preset, temperature, top_p, top_k, presence_penalty, max_new_tokens, seed, guard),
            batch_size=batch_size, fmt=one_format(fmt, json=json_out, jsonl=jsonl_out), output=output,
            resume=resume, stdout_is_terminal=sys.stdout.isatty(), text_layer=text_layer, page_retries=page_retries,
            cache=cache, max_page_pixels=max_page_pixels,
        )  # fmt: skip
        if dry_run_:
            plan = dry_run(settings)
            print_dry_run(plan, settings, out, as_json=settings.fmt in ("json", "jsonl"), err=err)
            if not (settings.fmt == "rich" and same_terminal(sys.stdout, sys.stderr)):  # else the table shows them
                for page in (page for page in plan.pages if page.error):
                    report(err, page.error or "", page.error_hint)
            raise typer.Exit(int(ExitCode.INPUT_FAILED if plan.failed else ExitCode.OK))
        with exclusive_output(settings.output):  # a second run writing the same file is refused
            run = _run(settings, err, quiet=quiet)
        if run.failed or run.warned:
            raise typer.Exit(int(ExitCode.INPUT_FAILED))


def _run(settings: OcrSettings, err: Console, *, quiet: bool) -> OcrRun:
    """The run as a person sees it on stderr: the loading step, the pages above one progress
    line, and a summary line; the product goes to the sink, never through the progress."""
    view = OcrView(err, quiet=quiet)
    step = LoadingStep(err, describe_source(settings.load, settings.remote), quiet=quiet)
    with step.running():
        sink = make_sink(settings, view.stdout(sys.stdout))
        run = ocr_run(settings, sink=sink, warn=lambda m: warn(err, m), on_status=step.status)
        step.detail = describe_engine(run.engine) if run.opened_engine else None
    if not quiet:
        say(err, run.summary())
    # The terminal view shows each error in its panel; on the same terminal once is enough.
    in_panels = settings.fmt == "rich" and same_terminal(sys.stdout, sys.stderr)
    unreadable = [plan for plan in run.plans if plan.error]
    for plan in [] if in_panels else unreadable:  # named with the plan line that counts them
        report(err, plan.error or "", plan.hint)
    if run.skipped:
        say(err, f"Resumed: {run.skipped} page(s) already in {settings.output} are skipped.")
    try:
        with view.running(run.pages, earlier=run.planning_seconds):  # unreadable inputs are no page
            for record in run:
                named = record.page is None and record.error in [plan.error for plan in unreadable]
                view.advance(record, page=not named)
                if record.error:
                    if not (in_panels or named):
                        report(err, record.error, record.hint)
                elif record.text_source == "text-layer-fallback":
                    warn(err, f"{record.source}: page {record.page}: {record.note}")
                elif record.warning and not in_panels:  # the panel's footer says it on this terminal
                    warn(err, f"{record.source}: page {record.page}: {record.warning}")
    except KeyboardInterrupt:  # said once, here (not "Interrupted." again from the error boundary)
        if not quiet:
            say(err, finished_line(view, settings, run.pages, interrupted=True))
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    if not quiet:
        say(err, finished_line(view, settings, run.pages))
    return run
