"""`exaone chat`: a conversation about images and documents, with the model loaded once."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from ..chat.piped import run_piped
from ..chat.session import ChatCallbacks, ChatOptions, ChatSession
from ..chat.terminal import ChatTerminal, history_file
from ..config import DEFAULT_CONTEXT_TOKENS, DEFAULT_MODEL, LoadOptions, SamplingFlags
from ..engines.remote import remote_options
from ..errors import ExitCode
from ..inputs import text_lines
from ..ocr.retries import DEFAULT_PAGE_RETRIES
from ..pages import DEFAULT_RASTERIZER, RasterOptions, parse_page_ranges
from ..render.progress import loaded_line, say, spinner
from .ask import AnswerTokensOpt, BoxedHintOpt, ContextTokensOpt, MaxImagesOpt, PageRetriesOpt, PageTokensOpt, ThinkOpt
from .errors import error_boundary, warn
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
)  # fmt: skip

CHAT_HELP = """A conversation with EXAONE 4.5 about images and documents, the model loaded once.

Documents are PDFs, HWP or HWPX files. Every question is answered as `exaone ask` answers it \
(images, or a long document's most relevant pages as text, cited as \\[p. N]), with the earlier \
questions and answers in the prompt, so a \
follow-up ("그럼 전년도는?") knows what it follows. The document's pages are read once. On a \
terminal: line editing, history with the arrow keys, /help for the commands; Ctrl-C stops an answer. \
With standard input not a terminal, each line is a question and each answer is written as it \
finishes (exit code 1 when any question failed).

\b
Examples:
  exaone chat 사업보고서.pdf
  exaone chat receipt.png --no-think
  cat questions.txt | exaone chat contract.pdf --jsonl > answers.jsonl
  exaone chat report.pdf --server http://localhost:8000/v1 --no-history
"""


def chat_command(
    ctx: typer.Context,
    inputs: Annotated[list[str] | None, typer.Argument(metavar="[IMAGE|PDF]...", show_default=False)] = None,
    jsonl: Annotated[
        bool, typer.Option("--jsonl", help="Piped: one JSON object per answer (ask --json's, plus turn).")
    ] = False,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Answer every question on its own, without the earlier ones.")
    ] = False,
    no_history: Annotated[
        bool,
        typer.Option(
            "--no-history",
            envvar="EXAONE_NO_HISTORY",
            help="Keep no question history on disk (EXAONE_NO_HISTORY=1 too).",
        ),
    ] = False,
    pages: PagesOpt = None,
    max_images: MaxImagesOpt = 8,
    context_tokens: ContextTokensOpt = DEFAULT_CONTEXT_TOKENS,
    page_tokens: PageTokensOpt = 4096,
    page_retries: PageRetriesOpt = DEFAULT_PAGE_RETRIES,
    cache: CacheOpt = True,
    dpi: DpiOpt = 200,
    rasterizer: RasterizerOpt = None,
    password: PasswordOpt = None,
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
    show_reasoning: ShowReasoningOpt = False,
    debug: DebugOpt = False,
) -> None:
    out, err = Console(highlight=False), Console(stderr=True, highlight=False)
    with error_boundary(err):
        flags = SamplingFlags(preset, temperature, top_p, top_k, presence_penalty, max_new_tokens, seed)
        flags.resolve("", len(inputs or []))  # bad flags fail before anything is loaded
        load = LoadOptions.from_flags(
            model, revision, quantize=quantize, dtype=dtype, device_map=device_map, max_memory=max_memory,
            offload_folder=offload_folder, attn_implementation=attn_implementation,
            min_pixels=min_pixels, max_pixels=max_pixels,
        )  # fmt: skip
        remote = remote_options(chosen_server(ctx, server, model, err), api_key, served_model, concurrency, retries,
                                timeout, load)  # fmt: skip
        raster = RasterOptions(rasterizer=rasterizer or DEFAULT_RASTERIZER, dpi=dpi, password=password)  # type: ignore[arg-type]
        options = ChatOptions(load, remote, flags, boxed_hint, parse_page_ranges(pages), raster, max_images,
                              context_tokens, cache, page_tokens, page_retries)  # fmt: skip
        terminal = sys.stdin.isatty()
        if terminal and jsonl:  # said before the load: the records are for questions piped in
            warn(err, "--jsonl writes records for questions piped in; on a terminal the answers are shown as text",
                 "pipe the questions in: cat questions.txt | exaone chat ... --jsonl")  # fmt: skip
        view = ChatTerminal(out, err, history=None if no_history else history_file(), show_reasoning=show_reasoning,
                            warn=lambda message: warn(err, message), fresh=fresh)  # fmt: skip
        callbacks = ChatCallbacks(
            on_status=view.status, on_warning=lambda message: warn(err, message), on_note=view.note,
            on_loaded=lambda what, seconds, detail: say(err, loaded_line(what, seconds, detail)),
            progress=view.progress if err.is_terminal else None,
        )  # fmt: skip
        session = ChatSession(list(inputs or []), options, thinking=think, callbacks=callbacks)
        try:
            with spinner(err, "Loading") as view.live:
                lines = session.open()
            for line in lines:
                view.note(line)
            if terminal:
                view.note("/help for commands; Ctrl-D ends")
                view.run(session)
                return
            failed = run_piped(
                session, text_lines(sys.stdin), sys.stdout, jsonl=jsonl, fresh=fresh, show_reasoning=show_reasoning,
                on_failed=lambda turn, why: warn(err, f"question {turn}: {why}"),
            )  # fmt: skip
        finally:
            view.live = None
            session.close()
        if failed:
            raise typer.Exit(int(ExitCode.INPUT_FAILED))
