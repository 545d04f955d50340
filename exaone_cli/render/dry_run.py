"""`exaone ocr --dry-run`: the pages, their sizes and their visual-token cost, before any model."""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..api import DryRunPlan
from ..ocr_settings import OcrSettings
from .json import dumps


def print_dry_run(plan: DryRunPlan, settings: OcrSettings, console: Console, *, as_json: bool) -> None:
    request, load = settings.request, settings.load
    if as_json:
        body = {
            "pages": [asdict(page) for page in plan.pages],
            "visual_tokens": plan.visual_tokens,
            "prompt": request.prompt,
            "preset": request.preset.to_dict(),
            "sampling": request.sampling.to_dict(),
            "thinking": request.thinking,
            "rasterizer": request.raster.rasterizer,
            "dpi": request.raster.dpi,
            "min_pixels": load.min_pixels,
            "max_pixels": load.max_pixels,
            "model": load.model,
        }
        console.file.write(dumps(body) + "\n")
        return
    table = Table("source", "page", "pixels", "DPI", "resized", "visual tokens", "note", title_justify="left")
    for page in plan.pages:
        if page.error:
            table.add_row(Text(page.source), "", "", "", "", "", Text(page.error, style="red"))
            continue
        table.add_row(
            Text(page.source),
            str(page.page),
            f"{page.width}x{page.height}",
            str(page.dpi or ""),
            f"{page.resized_width}x{page.resized_height}",
            f"{page.visual_tokens:,}",
            Text(page.note or ""),
        )
    console.print(table)
    console.print(
        Text(
            f"{sum(1 for p in plan.pages if not p.error)} page(s), {plan.visual_tokens:,} visual tokens · "
            f"preset {request.preset.name} · thinking {'on' if request.thinking else 'off'} · "
            f"{request.raster.rasterizer} at {request.raster.dpi} DPI · model {load.model}"
        )
    )
    console.print(Text("Prompt:", style="bold"))
    console.print(Text(request.prompt))
