"""MkDocs hooks for the manual (mkdocs.yml `hooks:`).

1. The command reference is generated here, at build time, by Typer's own Markdown generator
   (`typer ... utils docs` is the same function) from the app `exaone` runs, so `--help` and the
   manual cannot drift. It runs in process: mkdocs-typer2 shells out to a `typer` found on PATH and
   renders nothing at all when that fails, which `mkdocs build --strict` would not notice.
2. A console example marked `<!-- illustrative: WHY -->` (real model output the test suite cannot
   produce; tests/test_docs_examples.py runs every other one) is shown in a labelled box, so the
   label a reader sees and the marker the tests read are one thing.
"""

from __future__ import annotations

import html
import re
from typing import Any

CLI_MARKER = "<!-- exaone-cli-reference -->"
ILLUSTRATIVE = re.compile(
    r"^<!-- illustrative: (?P<why>.+?) -->\n(?P<block>(?P<fence>```+)[a-z]*\n.*?\n(?P=fence))$", re.M | re.S
)


def cli_reference() -> str:
    """Every command's help as Markdown, from the Typer app (commands are imported to list their options)."""
    import typer
    from typer.cli import MARKUP_MODE_KEY, get_docs_for_click

    from exaone_cli.cli.app import app

    command = typer.main.get_command(app)
    ctx = typer.Context(command)
    ctx.obj = {MARKUP_MODE_KEY: app.rich_markup_mode}
    # The command lists show each command's whole first line, not Click's 45-character cut.
    base = next(c for c in type(command).__mro__ if "get_short_help_str" in vars(c))
    cut = base.get_short_help_str
    base.get_short_help_str = lambda self, limit=45: cut(self, limit=300)  # type: ignore[method-assign]
    try:
        text = get_docs_for_click(obj=command, ctx=ctx, name="exaone", indent=1)
    finally:
        base.get_short_help_str = cut  # type: ignore[method-assign]
    return _examples_as_blocks(text)


def _examples_as_blocks(text: str) -> str:
    """The help's `Examples:` paragraphs (Click keeps their lines with \\b) as console blocks."""

    def block(match: re.Match[str]) -> str:
        lines = [html.unescape(line.strip()) for line in match.group(2).splitlines() if line.strip()]
        return match.group(1) + "\n\n```console\n" + "\n".join(f"$ {line}" for line in lines) + "\n```\n"

    return re.sub(r"^(\s*Examples?:)\n((?:  +\S.*\n)+)", block, text, flags=re.M)


def _illustrative(match: re.Match[str]) -> str:
    why = match.group("why").replace('"', "'")
    body = "\n".join(f"    {line}" if line else "" for line in match.group("block").splitlines())
    return f'!!! example "Illustrative: {why}"\n\n{body}'


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if page.file.src_uri == "reference/cli.md":
        if CLI_MARKER not in markdown:
            raise ValueError(f"reference/cli.md lost its {CLI_MARKER} line")
        markdown = markdown.replace(CLI_MARKER, cli_reference())
    return ILLUSTRATIVE.sub(_illustrative, markdown)
