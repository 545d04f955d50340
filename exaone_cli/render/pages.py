"""OCR pages for people and documents: text and Markdown with clear page separators, and the
rich terminal view. Model text is printed verbatim (no markup)."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from ..errors import joined
from ..results import CUT_SHORT, PageRecord
from .terminal import for_terminal


def _label(record: PageRecord) -> str:
    return record.source if record.page is None else f"{record.source} · page {record.page}"


def text_block(record: PageRecord) -> str:
    """A page in `--format text`: a separator line naming the page, then its text."""
    body = f"[error: {joined(record.error, record.hint)}]" if record.error else record.text
    if record.cut:
        body += f"\n[{CUT_SHORT}]"
    return f"===== {_label(record)} =====\n{body}\n"


def markdown_block(record: PageRecord, first: bool) -> str:
    """A page in `--format markdown`: pages separated by a rule, each named in a comment."""
    hint = f"\n>\n> **hint:** {record.hint}" if record.hint else ""
    body = f"> **error:** {record.error}{hint}" if record.error else record.text
    if record.cut:
        body += f"\n\n> **{CUT_SHORT}**"
    rule = "" if first else "\n---\n\n"
    return f"{rule}<!-- {_label(record)} -->\n\n{body}\n"


def print_page(console: Console, record: PageRecord) -> None:
    """A finished page as a panel: title = source and page, subtitle = anything unusual. The
    page's text, its name and its messages are untrusted: controls are shown, not obeyed."""
    label = Text(for_terminal(_label(record)))  # a Text: a file name is not rich markup
    if record.error:
        body = Text(for_terminal(record.error), style="red")
        if record.hint:
            body.append_text(Text.assemble("\n", ("Hint: ", "yellow"), for_terminal(record.hint)))
        console.print(Panel(body, title=label, title_align="left"))
        return
    notes = [for_terminal(note) for note in (record.note,) if note]
    if record.text_source == "text-layer":
        notes.append("from the PDF's text layer")
    if record.finish_reason != "stop":
        notes.append(f"finish: {record.finish_reason}")
    console.print(
        Panel(
            Text(for_terminal(record.text)),
            title=label,
            title_align="left",
            subtitle=Text(" · ".join(notes)) if notes else None,
            subtitle_align="right",
            border_style="yellow" if notes else "blue",
        )
    )
