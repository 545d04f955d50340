"""Start-up cost: `exaone --help` and `exaone ocr --dry-run` against the floor of any Python CLI
(`python -c pass`), of `import typer, rich`, and of a bare two-command Typer app's `--help` (the
fair floor for `exaone --help`: the same library doing the same job with nothing of exaone's).
Whole processes, alternated, median of N; ratios to the bare Typer app side by side.

    python benchmarks/startup.py [--repeats 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

BARE_TYPER_APP = """
from typing import Annotated

import typer

app = typer.Typer()


@app.command()
def ocr(files: Annotated[list[str], typer.Argument()], pages: Annotated[str | None, typer.Option()] = None) -> None:
    \"\"\"Transcribe documents and images to text, page by page.\"\"\"


@app.command()
def ask(question: str, think: Annotated[bool, typer.Option(help="Reasoning mode.")] = True) -> None:
    \"\"\"Ask a question, about images or none.\"\"\"


app()
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from pdf_fixtures import SAMPLE_PAGES, make_text_pdf

    work = Path(tempfile.mkdtemp())
    pdf = make_text_pdf(work / "doc.pdf", SAMPLE_PAGES)
    bare = work / "bare_typer_app.py"
    bare.write_text(BARE_TYPER_APP)
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import typer, rich'": [py, "-c", "import typer, rich"],
        "bare two-command typer app --help": [py, str(bare), "--help"],
        "exaone --help": [py, "-m", "exaone_cli", "--help"],
        "exaone ocr --dry-run (3 pages)": [py, "-m", "exaone_cli", "ocr", str(pdf), "--dry-run", "--json"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.repeats):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    floor = statistics.median(times["python -c pass"])
    typer_floor = statistics.median(times["bare two-command typer app --help"])
    rows = []
    print(f"{'command':<36}{'median s':>10}{'vs python':>11}{'vs bare typer':>15}")
    for name, values in times.items():
        median = statistics.median(values)
        rows.append({
            "command": name, "median_seconds": median, "ratio_to_python": median / floor,
            "ratio_to_bare_typer": median / typer_floor,
        })  # fmt: skip
        print(f"{name:<36}{median:>10.3f}{median / floor:>10.1f}x{median / typer_floor:>14.2f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
