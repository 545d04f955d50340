"""`exaone ocr --text-layer prefer` against the default (`fallback`): a born-digital Korean PDF,
whose every page has a good text layer, and a scanned PDF, which has none.

Whole processes (start-up, text-layer reading, model load, rasterizing, generation), the two
modes taking turns on each document; the median of `--repeats`. The table gives the wall time,
pages/s and the ratio prefer/default, and says whether the prefer run imported torch (an
untimed extra run under `python -X importtime`). With prefer, a born-digital document needs no
model at all; a scan goes to the model either way, so its ratio shows what judging the (absent)
layer costs. Both run with --page-retries 0: the tiny random checkpoint never ends a page by
itself, and retries would triple the default's work on every page.

    python benchmarks/text_layer.py                                    # tiny random checkpoint, 200 + 20 pages
    python benchmarks/text_layer.py --text-pages 20 --scan-pages 4 --repeats 1    # smallest useful run
    python benchmarks/text_layer.py --model DIR --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

MODES = ("prefer", "fallback")
# Dense lines of a Korean contract, as in rasterize.py: Hangul, English, digits, punctuation.
TEXT_LINES = [
    "제1조 (목적) 이 계약은 갑과 을 사이의 용역 제공에 관한",
    "사항을 정함을 목적으로 한다. Article 1. Purpose of",
    "this agreement between the parties named below.",
    "제2조 (기간) 2025년 1월 1일부터 12월 31일까지",
    "합계 금액: 12,500,000원 (부가세 포함) TOTAL KRW",
]


def make_documents(folder: Path, text_pages: int, scan_pages: int) -> dict[str, Path]:
    from pdf_fixtures import make_scanned_pdf, make_text_pdf

    # 9 lines wrap to at most 18 at 24 pt: all on the page (text past its edge is hidden, and not taken)
    texts = ["\n".join(TEXT_LINES[(n + i) % len(TEXT_LINES)] for i in range(9)) for n in range(text_pages)]
    scans = ["\n".join(TEXT_LINES)] * scan_pages
    return {
        "born-digital": make_text_pdf(folder / "born-digital.pdf", texts),
        "scan": make_scanned_pdf(folder / "scan.pdf", scans),
    }


def run(command: list[str]) -> tuple[float, list[dict[str, object]], str]:
    """Wall time of a whole process, its JSON Lines records, and its stderr."""
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: pages the token limit cut (the tiny model never ends one): still timed
        raise SystemExit(f"failed: {' '.join(command)}\n{proc.stderr[-2000:]}")
    return seconds, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def imports_torch(command: list[str]) -> bool:
    """Whether the command imports torch (an extra, untimed run under -X importtime)."""
    _, _, stderr = run([command[0], "-X", "importtime", *command[1:]])
    return any(line.split("|")[-1].strip().split(".")[0] == "torch" for line in stderr.splitlines() if "|" in line)


def measure(args: argparse.Namespace, model: str, documents: dict[str, Path]) -> list[dict[str, object]]:
    # The tiny random checkpoint never ends a page by itself: every page would reach the token limit
    # and be tried three times. --page-retries 0 keeps the default at one generation a page, as
    # with a model that ends its pages. --no-cache: the page store would serve one mode's pages to
    # the other, and every repeat after the first.
    common = ["--model", model, "--jsonl", "--quiet", "--dpi", str(args.dpi), "--max-pixels", str(args.max_pixels),
              "--max-new-tokens", str(args.max_new_tokens), "--page-retries", "0",
              "--no-cache"]  # fmt: skip
    rows = []
    for kind, pdf in documents.items():
        commands = {
            mode: [sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--text-layer", mode, *common] for mode in MODES
        }
        walls: dict[str, list[float]] = {mode: [] for mode in MODES}
        sources: dict[str, dict[str, int]] = {}
        for _ in range(args.repeats):
            for mode in MODES:  # taking turns, so both meet the same machine state
                seconds, records, _ = run(commands[mode])
                walls[mode].append(seconds)
                sources[mode] = dict(Counter(str(r["text_source"]) for r in records))
        for mode in MODES:
            wall = statistics.median(walls[mode])
            pages = sum(sources[mode].values())
            taken = sources[mode].get("text-layer", 0)
            rows.append(
                {
                    "document": kind,
                    "mode": mode,
                    "pages": pages,
                    "wall_s": wall,
                    "pages_per_s": pages / wall,
                    "s_per_100_pages": 100 * wall / pages,
                    "from_text_layer": taken,
                    "to_model": pages - taken,
                    "imports_torch": imports_torch(commands[mode]) if mode == "prefer" else True,
                    "ratio_to_default": wall / statistics.median(walls["fallback"]),
                }
            )
    return rows


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        f"{'document':<13} {'mode':<9} {'pages':>5} {'wall s':>8} {'pages/s':>8} {'s/100 pages':>11} "
        f"{'text layer':>10} {'model':>6} {'torch':>6} {'wall vs default':>16}"
    ]
    for r in rows:
        lines.append(
            f"{r['document']:<13} {r['mode']:<9} {r['pages']:>5} {r['wall_s']:>8.2f} {r['pages_per_s']:>8.2f} "
            f"{r['s_per_100_pages']:>11.2f} {r['from_text_layer']:>10} {r['to_model']:>6} "
            f"{'yes' if r['imports_torch'] else 'no':>6} {r['ratio_to_default']:>15.3f}x"
        )
    lines.append(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint folder (default: build the tiny random one)")
    parser.add_argument("--text-pages", type=int, default=200, help="pages of the born-digital PDF (default 200)")
    parser.add_argument("--scan-pages", type=int, default=20, help="pages of the scanned PDF (default 20)")
    parser.add_argument("--dpi", type=int, default=50)
    parser.add_argument("--max-pixels", type=int, default=160 * 28 * 28)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is kept")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="exaone-bench-") as tmp:
        work = Path(tmp)
        model = args.model
        if model is None:
            from tiny_checkpoint import build

            model = str(build(work / "tiny"))
        documents = make_documents(work, args.text_pages, args.scan_pages)
        rows = measure(args, model, documents)
    print(table(rows))
    if args.json:
        args.json.write_text(
            json.dumps({"settings": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
