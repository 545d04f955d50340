"""Start-up cost: `exaone --help` and `exaone ocr --dry-run` against the floor of any Python CLI
(`python -c pass`) and of one built on typer + rich. Whole processes, alternated, median of N.

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from pdf_fixtures import SAMPLE_PAGES, make_text_pdf

    pdf = make_text_pdf(Path(tempfile.mkdtemp()) / "doc.pdf", SAMPLE_PAGES)
    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "python -c 'import typer, rich'": [py, "-c", "import typer, rich"],
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
    rows = []
    print(f"{'command':<34}{'median s':>10}{'vs python':>11}")
    for name, values in times.items():
        median = statistics.median(values)
        rows.append({"command": name, "median_seconds": median, "ratio_to_python": median / floor})
        print(f"{name:<34}{median:>10.3f}{median / floor:>10.1f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
