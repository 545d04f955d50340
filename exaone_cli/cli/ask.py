"""`exaone ask`: a question about images, PDFs or nothing at all."""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..api import ask
from ..config import DEFAULT_CONTEXT_TOKENS, DEFAULT_MODEL, LoadOptions, SamplingFlags
from ..engines.remote import remote_options
from ..engines.text import valid_text
from ..errors import ExaoneError, ExitCode, UsageError
from ..json_text import write_json
from ..ocr.retries import DEFAULT_PAGE_RETRIES
from ..pages import DEFAULT_MAX_PAGE_PIXELS, DEFAULT_RASTERIZER, RasterOptions, parse_page_ranges
from ..render.progress import OcrView, loaded_line, say, set_spinner_text, spinner
from ..render.rich import StreamingAnswer, print_ask
from ..render.terminal import for_terminal
from ..render.text import ask_text
from ..results import SCHEMA_VERSION, AskResult
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
    Format,
    FormatOpt,
    JsonOpt,
    MaxMemoryOpt,
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
    ShowReasoningOpt,
    TemperatureOpt,
    TimeoutOpt,
    TopKOpt,
    TopPOpt,
    chosen_server,
    one_format,
)

ASK_HELP = """Ask EXAONE 4.5 a question, about images, documents of any length, or nothing.

The last argument is the question; every argument before it is an image, a PDF or an HWP/HWPX \
document. When the \
selected pages fit in one prompt (--max-images, --context-tokens), they go in as images. A longer \
document is answered from the text of its most relevant pages (from the page store, or transcribed \
by the model), and the answer cites them as \\[p. N] (N: the page's index in the file, as --pages \
counts; several files: \\[A p. N], A = the first file).

\b
Examples:
  exaone ask receipt.jpg "합계 금액은 얼마인가요?"
  exaone ask receipt.png "What is shown?" --no-think --json | jq -r .final
  exaone ask "세종대왕은 누구인가요?"
  exaone ask examples/receipt.png examples/report.pdf "두 문서의 차이는?"
  exaone ask examples/report.pdf --pages 2 "이 표에서 합계는?"
  exaone ask 사업보고서.pdf "2023년 영업이익은 얼마인가요?"
  exaone ask contract.pdf minutes-*.pdf "위약금은?" --json | jq .citations
  exaone ask scan.pdf "Who signed the agreement?" --look
"""

DOCUMENT = "Documents"

# The options `exaone chat` shares with ask (cli/chat.py), defined once.
MaxImagesOpt = Annotated[
    int, typer.Option("--max-images", min=1, help="At most this many pages/images in one prompt as images.")
]
ContextTokensOpt = Annotated[
    int,
    typer.Option(
        "--context-tokens",
        min=1024,
        envvar="EXAONE_CONTEXT_TOKENS",
        help="Tokens of one prompt: the pages (as images or text) and the question. Raise it for vLLM.",
        rich_help_panel=DOCUMENT,
    ),
]
PageTokensOpt = Annotated[
    int,
    typer.Option(
        "--page-tokens",
        min=1,
        metavar="N",
        help="Token limit for transcribing each page not yet in the page store, as exaone ocr's "
        "--max-new-tokens (run exaone ocr first to choose every setting: ask reuses its pages).",
        rich_help_panel=DOCUMENT,
    ),
]
PageRetriesOpt = Annotated[
    int,
    typer.Option(
        "--page-retries",
        min=0,
        metavar="N",
        help="More tries for a page whose transcription loops, is cut or fails, as exaone ocr's.",
        rich_help_panel=DOCUMENT,
    ),
]
ThinkOpt = Annotated[bool, typer.Option("--think/--no-think", help="Reasoning mode (the model's default).")]
BoxedHintOpt = Annotated[
    bool, typer.Option("--boxed-hint/--no-boxed-hint", help="Add the card's \\boxed{} answer instruction.")
]
AnswerTokensOpt = Annotated[
    int,
    typer.Option(
        "--max-new-tokens",
        metavar="N",
        help="Token limit for the answer (and its reasoning); pages are transcribed with --page-tokens.",
        rich_help_panel=SAMPLING,
    ),
]


def ask_command(
    ctx: typer.Context,
    args: Annotated[list[str], typer.Argument(metavar="[IMAGE|PDF]... QUESTION", show_default=False)],
    pages: PagesOpt = None,
    max_images: MaxImagesOpt = 8,
    context_tokens: ContextTokensOpt = DEFAULT_CONTEXT_TOKENS,
    look: Annotated[
        bool,
        typer.Option(
            "--look", help="Then show the cited pages as images for a second answer.", rich_help_panel=DOCUMENT
        ),
    ] = False,
    page_tokens: PageTokensOpt = 4096,
    page_retries: PageRetriesOpt = DEFAULT_PAGE_RETRIES,
    cache: CacheOpt = True,
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
    think: ThinkOpt = True,
    boxed_hint: BoxedHintOpt = True,
    preset: PresetOpt = "auto",
    temperature: TemperatureOpt = None,
    top_p: TopPOpt = None,
    top_k: TopKOpt = None,
    presence_penalty: PresencePenaltyOpt = None,
    max_new_tokens: AnswerTokensOpt = 4096,
    seed: SeedOpt = None,
    fmt: FormatOpt = Format.auto,
    json_out: JsonOpt = False,
    final_only: Annotated[
        bool, typer.Option("--final-only", help="Text output: only the final \\boxed{} answer.")
    ] = False,
    show_reasoning: ShowReasoningOpt = False,
    debug: DebugOpt = False,
) -> None:
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    with error_boundary(err):
        fmt = Format(one_format(fmt.value, json=json_out))
    with error_boundary(err), _failure_as_json(fmt is Format.json, args):
        images, question = split_question(args)
        if pages is not None and not images:
            raise UsageError(
                "--pages needs a document, and no input was given", hint='exaone ask report.pdf "question" --pages 2'
            )
        if fmt is Format.auto:
            fmt = Format.rich if sys.stdout.isatty() else Format.text
        flags = SamplingFlags(preset, temperature, top_p, top_k, presence_penalty, max_new_tokens, seed)
        flags.resolve(question, len(images))  # bad flags fail before anything is loaded
        load = LoadOptions.from_flags(
            model, revision, quantize=quantize, dtype=dtype, device_map=device_map, max_memory=max_memory,
            offload_folder=offload_folder, attn_implementation=attn_implementation,
            min_pixels=min_pixels, max_pixels=max_pixels,
        )  # fmt: skip
        server = chosen_server(ctx, server, model, err)  # a flag typed wins over the environment
        remote = remote_options(server, api_key, served_model, concurrency, retries, timeout, load)
        raster = RasterOptions(
            rasterizer=rasterizer or DEFAULT_RASTERIZER, dpi=dpi, password=password,  # type: ignore[arg-type]
            max_page_pixels=max_page_pixels,
        )  # fmt: skip
        ranges = parse_page_ranges(pages)
        with spinner(err, "Loading") as status:
            # The live answer view takes over from the spinner at the first token.
            stream = (
                StreamingAnswer(
                    out, thinking=think, show_reasoning=show_reasoning, on_start=status.stop if status else None
                )
                if fmt is Format.rich
                else None
            )
            with stream or nullcontext():
                result = ask(
                    question,
                    images,
                    load=load,
                    remote=remote,
                    flags=flags,
                    thinking=think,
                    boxed_hint=boxed_hint,
                    on_text=stream.on_text if stream else None,
                    on_status=lambda text: set_spinner_text(status, text),
                    on_warning=lambda message: warn(err, message),
                    on_note=lambda message: err.print(Text(message, style="dim"), soft_wrap=True),
                    on_loaded=lambda what, seconds, detail: say(err, loaded_line(what, seconds, detail)),
                    progress=partial(_transcribing, err, status),
                    ranges=ranges,
                    raster=raster,
                    max_images=max_images,
                    context_tokens=context_tokens,
                    look=look,
                    cache=cache,
                    page_tokens=page_tokens,
                    page_retries=page_retries,
                )
        _print_result(result, fmt, out, err, final_only=final_only, show_reasoning=show_reasoning)


@contextmanager
def _failure_as_json(json_out: bool, args: list[str]) -> Iterator[None]:
    """With --json, a question that gets no answer at all (an unreadable input, an engine that
    cannot be loaded or reached, a bad flag) still prints an object on stdout, so a pipeline's
    `jq` reads `error` and `hint` instead of nothing; stderr and the exit code are unchanged."""
    try:
        yield
    except ExaoneError as exc:
        if json_out:
            last = args[-1] if args else None
            question = last if last and last != "-" and not os.path.isfile(last) else None  # none typed
            record = {"schema_version": SCHEMA_VERSION, "question": question, "error": exc.message, "hint": exc.hint}
            write_json(record, sys.stdout)
        raise


def split_question(args: list[str]) -> tuple[list[str], str]:
    """The inputs and the question: the last argument is the question, unless it names a file
    (or is -), which means the question was forgotten."""
    *inputs, question = args
    if question == "-" or os.path.isfile(question):
        raise UsageError(
            f"no question: the last argument, {question}, is an input",
            hint=f"put the question last, in quotes: exaone ask {_question_last(args)}",
        )
    if not question.strip():
        raise UsageError("the question is empty", hint='exaone ask IMAGE "question"')
    return inputs, question


def _question_last(args: list[str]) -> str:
    """The arguments as they should have been typed: a first argument that is no input (the
    question, typed first) moved last; otherwise an example question after the inputs."""
    first, *rest = args
    if first != "-" and not os.path.exists(first):
        inputs, question = rest, first
    else:
        inputs, question = args, "합계 금액은 얼마인가요?"
    quoted = f'"{question}"' if not any(c in question for c in '"$`\\!') else shlex.quote(question)
    return f"{shlex.join(inputs)} {quoted}"


@contextmanager
def _transcribing(err: Console, status: Live | None, total: int) -> Iterator[OcrView]:
    """The page progress bar while document mode transcribes pages (the spinner steps aside:
    one live display at a time)."""
    if status is not None:
        status.stop()
    try:
        with OcrView(err, quiet=False).running(total) as view:
            yield view
    finally:
        if status is not None:
            status.start()


def _print_result(
    result: AskResult, fmt: Format, out: Console, err: Console, *, final_only: bool, show_reasoning: bool
) -> None:
    """The answer in the chosen format on stdout; warnings on stderr; exit 1 when the server's
    answer was no answer, when it is empty, and for --final-only without a boxed answer."""
    if fmt is Format.json:
        write_json(result.to_dict(), sys.stdout)
    elif fmt is Format.rich:
        print_ask(result, out, err, show_reasoning=show_reasoning)
    else:
        text = ask_text(result, final_only=final_only, show_reasoning=show_reasoning)
        print(for_terminal(text) if sys.stdout.isatty() else valid_text(text), flush=True)
    if result.error:
        report(err, result.error, result.hint)
        raise typer.Exit(int(ExitCode.INPUT_FAILED))
    if result.note:
        if not (fmt is Format.rich and result.parsed.truncated):  # the rich view says so itself, with the hint
            warn(err, f"{result.note} (exit code 1)")
        raise typer.Exit(int(ExitCode.INPUT_FAILED))
    final = result.look.parsed.final if result.look is not None else result.parsed.final
    if final_only and final is None:
        warn(err, "the answer has no \\boxed{} final answer (exit code 1)")
        raise typer.Exit(int(ExitCode.INPUT_FAILED))
