"""The settings of one `exaone extract` run, checked once, before anything is loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import LoadOptions, Preset, Sampling, SamplingFlags
from ..engines.remote import RemoteOptions
from ..errors import UsageError
from ..ocr.output import OutputFormats, check_destination
from ..pages import DEFAULT_MAX_PAGE_PIXELS, DEFAULT_RASTERIZER, PageRanges, RasterOptions, parse_page_ranges
from .schema import ExtractionSchema

EXTRACT_FORMATS = OutputFormats(
    names=("auto", "rich", "json", "jsonl", "csv"),
    by_suffix={".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"},
    piped="json",
    command="extract",
    writes="JSON, JSON Lines or CSV",
)
FORMATS = EXTRACT_FORMATS.names


def format_flag(fmt: str, **flags: bool) -> str:
    """The one format asked for by --format and the --json/--jsonl/--csv switches; UsageError
    (exit 2) when they name different formats, rather than the last one silently winning."""
    typed = [f"--{name}" for name, on in flags.items() if on] + ([f"--format {fmt}"] if fmt != "auto" else [])
    asked = {flag.split()[-1].removeprefix("--") for flag in typed}
    if len(asked) > 1:
        raise UsageError(f"{' and '.join(typed)} ask for different output formats", hint="give one of them")
    return asked.pop() if asked else "auto"


@dataclass(frozen=True)
class ExtractSettings:
    """Everything that decides an extraction run's results, and where they go."""

    files: tuple[str, ...]
    target: ExtractionSchema
    preset: Preset
    sampling: Sampling
    ranges: PageRanges = field(default_factory=PageRanges.all)
    raster: RasterOptions = field(default_factory=RasterOptions)
    load: LoadOptions = field(default_factory=LoadOptions)
    remote: RemoteOptions | None = None
    thinking: bool = False
    per_page: bool = False
    max_images: int = 8  # pages of one file in one prompt
    batch_size: int = 4  # prompts the local engine generates together
    fmt: str = "json"
    output: Path | None = None
    formula_guard: bool = True  # CSV: a leading ' on cells a spreadsheet would run (flatten.looks_like_formula)

    @classmethod
    def from_flags(
        cls,
        *,
        files: list[str],
        target: ExtractionSchema,
        flags: SamplingFlags,
        pages: str | None = None,
        dpi: int = 200,
        rasterizer: str | None = None,
        password: str | None = None,
        max_page_pixels: int = DEFAULT_MAX_PAGE_PIXELS,
        load: LoadOptions | None = None,
        remote: RemoteOptions | None = None,
        thinking: bool = False,
        per_page: bool = False,
        max_images: int = 8,
        batch_size: int = 4,
        fmt: str = "auto",
        output: Path | None = None,
        stdout_is_terminal: bool = False,
        formula_guard: bool = True,
    ) -> ExtractSettings:
        """The flags as typed, checked: the document preset unless --preset says otherwise."""
        if not files:
            raise UsageError("no input files", hint="exaone extract receipt.jpg --template receipt")
        if files.count("-") > 1:
            raise UsageError("'-' (standard input) can be given once")
        if rasterizer not in (None, "pdfium", "poppler"):
            raise UsageError(f"unknown rasterizer {rasterizer!r}", hint="use pdfium or poppler")
        if max_images < 1 or batch_size < 1:
            raise UsageError("--max-images and --batch-size must be at least 1")
        if output is not None:
            check_destination(output, files)  # before any work: a folder, a missing folder, an input
        preset, _, sampling = flags.resolve("", n_images=1, has_document=True)
        raster = RasterOptions(
            rasterizer=rasterizer or DEFAULT_RASTERIZER, dpi=dpi, password=password,  # type: ignore[arg-type]
            max_page_pixels=max_page_pixels,
        )  # fmt: skip
        return cls(
            files=tuple(files), target=target, preset=preset, sampling=sampling,
            ranges=parse_page_ranges(pages), raster=raster,
            load=load or LoadOptions(), remote=remote, thinking=thinking, per_page=per_page,
            max_images=max_images, batch_size=batch_size,
            fmt=EXTRACT_FORMATS.resolve(fmt, output, stdout_is_terminal), output=output,
            formula_guard=formula_guard,
        )  # fmt: skip
