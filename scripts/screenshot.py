"""The manual's terminal screenshot (docs/assets/terminal.svg): a real `exaone ocr` run on a real
pseudo-terminal, with the test suite's tiny checkpoint (random weights), rendered to SVG.

    python scripts/screenshot.py [--model /tmp/exaone-tiny]

The run goes through tests/terminal.py (a pty, read by the pyte terminal emulator, as the tests
read what a person sees); the screen's characters and colours are then drawn by rich's SVG export.
Nothing is retouched: rerun it after a change to what the terminal shows.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pyte
from rich.console import Console
from rich.style import Style
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from terminal import run_on_terminal  # noqa: E402
from tiny_checkpoint import build  # noqa: E402

COLUMNS = 92
TITLE = "exaone ocr · tiny test checkpoint, random weights"
# A born-digital report (its pages come from the text layer: real text, no model) and a receipt
# photo (the tiny model reads it: noise), so the picture shows both paths honestly. Both are shipped
# in examples/, so a reader can run the command the picture shows.
COMMAND = [
    "ocr", "examples/business-report.pdf", "examples/receipt.png", "--text-layer", "prefer", "--max-new-tokens", "24",
]  # fmt: skip


def _colour(name: str) -> str | None:
    """pyte's colour names (ANSI names, 'brown' for yellow, 'brightred', or hex) as rich's."""
    if name == "default":
        return None
    if len(name) == 6 and all(c in "0123456789abcdefABCDEF" for c in name):
        return f"#{name}"
    name = name.replace("brown", "yellow")
    return f"bright_{name.removeprefix('bright')}" if name.startswith("bright") else name


def screen_text(raw: bytes, rows: int) -> Text:
    """The final screen, character by character with its colours, as rich Text."""
    screen = pyte.Screen(COLUMNS, rows)
    pyte.ByteStream(screen).feed(raw)
    lines = []
    for y in range(rows):
        line = Text()
        row = screen.buffer[y]
        for x in range(COLUMNS):
            char = row[x]
            style = Style(color=_colour(char.fg), bgcolor=_colour(char.bg), bold=char.bold, italic=char.italics)
            line.append(char.data, style)
        line.rstrip()
        lines.append(line)
    while lines and not lines[-1].plain:
        lines.pop()
    return Text("\n").join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path("/tmp/exaone-tiny"))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "assets" / "terminal.svg")
    args = parser.parse_args()
    if not (args.model / "config.json").exists():
        build(args.model)
    work = Path(tempfile.mkdtemp(prefix="exaone-screenshot-"))
    (work / "examples").symlink_to(ROOT / "examples")
    os.chdir(work)
    prompt = Text(f"$ exaone {' '.join(COMMAND)} --model {args.model}", style="bold")
    run = run_on_terminal(
        *COMMAND, "--model", str(args.model), columns=COLUMNS, rows=60, stdout="terminal",
        env={"EXAONE_NO_CACHE": "1"},
    )  # fmt: skip
    console = Console(record=True, width=COLUMNS, force_terminal=True, color_system="truecolor", file=io.StringIO())
    console.print(prompt)
    console.print(screen_text(run.raw, 60))
    console.print(Text("tiny test checkpoint, random weights: the receipt's text is noise", style="italic"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    console.save_svg(str(args.out), title=TITLE)
    print(f"{args.out} (exit code {run.returncode})")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
