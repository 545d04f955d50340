"""The settings of one `exaone ocr` run, checked once, before anything is loaded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import LoadOptions, Preset, Sampling, SamplingFlags
from ..engines.remote import RemoteOptions
from ..errors import UsageError
from ..pages import DEFAULT_MAX_PAGE_PIXELS, DEFAULT_RASTERIZER, PageRanges, RasterOptions, parse_page_ranges
from ..prompts import template
from .output import OutputFormats, check_destination, check_resumable
from .pipeline import OcrRequest
from .retries import DEFAULT_PAGE_RETRIES, MAX_PAGE_RETRIES
from .text_sources import DEFAULT_TEXT_LAYER_MODE, text_layer_mode

OCR_FORMATS = OutputFormats(
    names=("auto", "rich", "text", "markdown", "json", "jsonl"),
    by_suffix={".txt": "text", ".text": "text", ".md": "markdown", ".markdown": "markdown", ".json": "json",
               ".jsonl": "jsonl", ".ndjson": "jsonl"},
    piped="text",
    command="ocr",
    writes="text, Markdown, JSON or JSON Lines",
)  # fmt: skip
FORMATS = OCR_FORMATS.names


@dataclass(frozen=True)
class OcrSettings:
    files: tuple[str, ...]
    ranges: PageRanges
    load: LoadOptions
    request: OcrRequest
    fmt: str
    output: Path | None
    resume: bool
    remote: RemoteOptions | None = None
    cache: bool = True  # read and write the page store (--no-cache, EXAONE_NO_CACHE turn it off)

    @property
    def preset(self) -> Preset:
        return self.request.preset

    @property
    def sampling(self) -> Sampling:
        return self.request.sampling

    @classmethod
    def from_flags(
        cls,
        *,
        files: list[str],
        pages: str | None,
        dpi: int,
        rasterizer: str | None,
        password: str | None,
        load: LoadOptions,
        prompt_file: Path | None,
        thinking: bool,
        flags: SamplingFlags,
        batch_size: int,
        fmt: str,
        output: Path | None,
        resume: bool,
        stdout_is_terminal: bool,
        remote: RemoteOptions | None = None,
        text_layer: str = DEFAULT_TEXT_LAYER_MODE,
        page_retries: int = DEFAULT_PAGE_RETRIES,
        cache: bool = True,
        max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS,
    ) -> OcrSettings:
        fmt = OCR_FORMATS.resolve(fmt, output, stdout_is_terminal)
        if resume and (output is None or fmt != "jsonl"):
            raise UsageError("--resume needs -o FILE.jsonl", hint="exaone ocr doc.pdf -o pages.jsonl --resume")
        if output is not None:
            check_destination(output, files)
            if resume:
                check_resumable(output)
        if files.count("-") > 1:
            raise UsageError("'-' (standard input) can be given once")
        if not 0 <= page_retries <= MAX_PAGE_RETRIES:
            raise UsageError(f"--page-retries must be 0 to {MAX_PAGE_RETRIES}", hint="a page's tries: 1 + N")
        mode = text_layer_mode(text_layer)
        if rasterizer not in (None, "pdfium", "poppler"):
            raise UsageError(f"unknown rasterizer {rasterizer!r}", hint="use pdfium or poppler")
        if prompt_file is not None:
            try:
                prompt = prompt_file.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise UsageError(f"{prompt_file}: cannot read the prompt file ({exc})") from exc
            if not prompt:
                raise UsageError(f"{prompt_file}: the prompt file is empty")
        else:
            prompt = template("ocr")
        preset, _, sampling = flags.resolve("", n_images=1, has_document=True)
        raster = RasterOptions(
            rasterizer=rasterizer or DEFAULT_RASTERIZER, dpi=dpi, password=password,  # type: ignore[arg-type]
            max_page_pixels=max_page_pixels,
        )  # fmt: skip
        request = OcrRequest(
            prompt=prompt,
            thinking=thinking,
            preset=preset,
            sampling=sampling,
            raster=raster,
            batch_size=batch_size,
            min_pixels=load.min_pixels,
            max_pixels=load.max_pixels,
            text_layer=mode,
            page_retries=page_retries,
        )
        ranges = parse_page_ranges(pages)
        return cls(tuple(files), ranges, load, request, fmt, output, resume, remote, cache)


def transcription_request(
    raster: RasterOptions,
    load: LoadOptions,
    batch_size: int = 4,
    *,
    max_new_tokens: int = 4096,
    page_retries: int = DEFAULT_PAGE_RETRIES,
) -> OcrRequest:
    """What `exaone ocr` does to a page with its default prompt, preset and sampling: the request
    `ask` uses to transcribe pages in document mode, so the two commands share the page store.
    `max_new_tokens` and `page_retries` are ocr's --max-new-tokens and --page-retries (ask's
    --page-tokens and --page-retries)."""
    flags = SamplingFlags(preset="ocr", max_new_tokens=max_new_tokens)
    preset, _, sampling = flags.resolve("", n_images=1, has_document=True)
    return OcrRequest(
        prompt=template("ocr"),
        thinking=False,
        preset=preset,
        sampling=sampling,
        raster=raster,
        batch_size=batch_size,
        min_pixels=load.min_pixels,
        max_pixels=load.max_pixels,
        page_retries=page_retries,
    )
