"""`exaone ocr --dry-run`: the pages, their sizes, their visual-token cost and their text layers'
verdicts, before any model."""

from __future__ import annotations

from dataclasses import asdict

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from ..api import DryRunPage, DryRunPlan
from ..errors import joined
from ..json_text import dumps
from ..ocr.settings import OcrSettings
from ..prompts import template
from ..results import SCHEMA_VERSION
from .terminal import for_terminal


def print_dry_run(
    plan: DryRunPlan, settings: OcrSettings, console: Console, *, as_json: bool, err: Console | None = None
) -> None:
    """The plan on `console` (stdout). Plain rows (piped, or --format text) are the product, for
    `cut` and `awk`: the totals and the prompt then go to `err` (stderr), as the JSON carries them.
    JSON Lines is one page a line, as a run's JSON Lines is: `jq 'select(...)'` filters pages."""
    request, load = settings.request, settings.load
    if as_json and settings.fmt == "jsonl":
        for page in plan.pages:
            console.file.write(dumps({"schema_version": SCHEMA_VERSION, **asdict(page)}) + "\n")
        console.file.flush()
        return
    if as_json:
        body = {
            "schema_version": SCHEMA_VERSION,
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
            "model": _model(settings),
            "text_layer": request.text_layer,
            "page_retries": request.page_retries,
        }
        console.file.write(dumps(body) + "\n")
        return
    if settings.fmt == "rich":
        _tables(plan, console)
    else:  # piped, redirected or --format text: one plain line per page, tab-separated
        console.file.write("\t".join(_COLUMNS) + "\n")
        for page in plan.pages:
            console.file.write("\t".join([page.source, *(cell.plain for cell in _cells(page))]) + "\n")
        console.file.flush()
        console = err or console
    console.print(Text(_totals(plan, settings)), soft_wrap=not console.is_terminal)
    console.print(Text("Prompt:", style="bold"))
    console.print(Text(request.prompt), soft_wrap=not console.is_terminal)
    if request.text_layer == "hint" and any(page.hint for page in plan.pages):
        hint = template("ocr.hint").replace("{prompt}", request.prompt).replace("{text}", "<the page's text layer>")
        console.print(Text("Prompt for pages with a good text layer (--text-layer hint):", style="bold"))
        console.print(Text(hint), soft_wrap=not console.is_terminal)


_COLUMNS = ("source", "page", "pixels", "DPI", "resized", "visual tokens", "text layer", "note")


def _cells(page: DryRunPage) -> list[Text]:
    """A page's cells after the source: page, pixels, DPI, resized, visual tokens, text layer, note."""
    if page.error:
        return [Text(str(page.page or "")), Text(), Text(), Text(), Text(), _verdict(page),
                Text(for_terminal(joined(page.error, page.error_hint) or ""), style="red")]  # fmt: skip
    taken = page.text_source == "text-layer"
    return [
        Text(str(page.page)),
        Text(f"{page.width}x{page.height}"),
        Text(str(page.dpi or "")),
        Text("" if taken else f"{page.resized_width}x{page.resized_height}"),
        Text("" if taken else f"{page.visual_tokens:,}"),
        _verdict(page),
        Text("; ".join(filter(None, [page.text_layer_reason, page.note]))),
    ]


def _tables(plan: DryRunPlan, console: Console) -> None:
    """On a terminal: one table per file, the file's whole name as its title (never cut), sizes
    kept whole, the note column taking the rest of the width."""
    groups: list[tuple[str, list[DryRunPage]]] = []
    for page in plan.pages:
        if not groups or groups[-1][0] != page.source or page.page is None:
            groups.append((page.source, []))
        groups[-1][1].append(page)
    for source, pages in groups:
        table = Table(
            "page", Column("pixels", no_wrap=True, min_width=9), "DPI", Column("resized", no_wrap=True, min_width=9),
            Column("tokens", no_wrap=True), Column("text layer", no_wrap=True, min_width=9),
            Column("note", ratio=1, min_width=10, overflow="fold"),
            title=Text(for_terminal(source), style="bold"), title_justify="left",  # the name is data: shown, not obeyed
        )  # fmt: skip
        for page in pages:
            table.add_row(*_cells(page))
        console.print(table)


def _verdict(page: DryRunPage) -> Text:
    """The layer's verdict, and what the mode does with the page: "good → text" (taken from the
    layer), "good + hint" (in the prompt); the reason for a bad verdict goes to the note column."""
    if page.text_layer is None:
        return Text("not read" if page.dpi is not None else "")  # image files have no text layer
    action = " → text" if page.text_source == "text-layer" else " + hint" if page.hint else ""
    return Text(page.text_layer + action, style="green" if page.text_layer == "good" else "yellow")


def _totals(plan: DryRunPlan, settings: OcrSettings) -> str:
    request = settings.request
    pages = [p for p in plan.pages if not p.error]
    from_layer = sum(1 for p in pages if p.text_source == "text-layer")
    good = sum(1 for p in pages if p.text_layer == "good")
    read = sum(1 for p in pages if p.text_layer is not None)
    layer = f"text layer good on {good} of {read} PDF page(s)" if read else "text layer not read"
    what = {
        "prefer": f"{from_layer} page(s) from the text layer, {len(pages) - from_layer} to the model",
        "hint": f"{len(pages)} page(s) to the model, {good} with the text layer in the prompt",
        "fallback": f"{len(pages)} page(s) to the model; the good text layers stand in for pages the model fails",
        "off": f"{len(pages)} page(s) to the model",
    }[request.text_layer]
    return (
        f"{len(pages)} page(s) · {layer} · --text-layer {request.text_layer}: {what} · "
        f"{plan.visual_tokens:,} visual tokens · preset {request.preset.name} · "
        f"thinking {'on' if request.thinking else 'off'} · {request.raster.rasterizer} at {request.raster.dpi} DPI · "
        + _engine(settings)
    )


def _engine(settings: OcrSettings) -> str:
    remote = settings.remote
    if remote is None:
        return f"model {settings.load.model}"
    return f"server {remote.server}" + (f" (model {remote.served_model})" if remote.served_model else "")


def _model(settings: OcrSettings) -> str:
    """The model a run would use: with --server, the name it is served under (--served-model) or
    the server's URL (its model is known once asked), as `exaone mcp`'s inspect says it."""
    if settings.remote is None:
        return settings.load.model
    return settings.remote.served_model or settings.remote.server
