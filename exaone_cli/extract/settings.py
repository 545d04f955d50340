"""The settings of one `exaone extract` run, checked once, before anything is loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import LoadOptions, Preset, Sampling, SamplingFlags
from ..engines.remote import RemoteOptions
from ..errors import UsageError
from ..pages import DEFAULT_RASTERIZER, PageRanges, RasterOptions, parse_page_ranges
from .schema import ExtractionSchema

FORMATS = ("auto", "rich", "json", "jsonl", "csv")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv"}


def resolve_format(fmt: str, output: Path | None, stdout_is_terminal: bool) -> str:
    """auto: the table on a terminal, JSON when piped; with -o, the file's suffix decides."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}")
    if fmt == "auto":
        if output is not None:
            return _SUFFIX_FORMATS.get(output.suffix.lower(), "json")
        return "rich" if stdout_is_terminal else "json"
    if fmt == "rich" and output is not None:
        raise UsageError("--format rich is for terminals", hint="use -o with json, jsonl or csv")
    return fmt


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
        load: LoadOptions | None = None,
        remote: RemoteOptions | None = None,
        thinking: bool = False,
        per_page: bool = False,
        max_images: int = 8,
        batch_size: int = 4,
        fmt: str = "auto",
        output: Path | None = None,
        stdout_is_terminal: bool = False,
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
        preset, _, sampling = flags.resolve("", n_images=1, has_document=True)
        raster = RasterOptions(rasterizer=rasterizer or DEFAULT_RASTERIZER, dpi=dpi, password=password)  # type: ignore[arg-type]
        return cls(
            files=tuple(files), target=target, preset=preset, sampling=sampling,
            ranges=parse_page_ranges(pages) if pages else PageRanges.all(), raster=raster,
            load=load or LoadOptions(), remote=remote, thinking=thinking, per_page=per_page,
            max_images=max_images, batch_size=batch_size,
            fmt=resolve_format(fmt, output, stdout_is_terminal), output=output,
        )  # fmt: skip
