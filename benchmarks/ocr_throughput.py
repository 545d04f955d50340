"""`exaone ocr` against the model card's one-page-at-a-time loop: same model, pages, settings.

Both run as whole processes (start-up, model load, rasterizing and generation included), in
alternation, on the same PDF; the table shows pages/s and the ratio of wall times. Greedy
decoding, no presence penalty (transformers' loop has none) and no repetition guard, so both
generate exactly the same tokens: the script checks that every page's text is identical.

    python benchmarks/ocr_throughput.py                      # tiny random checkpoint, 12 pages
    python benchmarks/ocr_throughput.py --model DIR --pages 12 --batch-sizes 1,2,4,8 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, list[str]]:
    """Wall time of a whole process, and the page texts it printed (JSON Lines)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    # exaone strips and NFC-normalises page text; the loop prints it raw.
    return seconds, [
        unicodedata.normalize("NFC", json.loads(line)["text"].strip()) for line in proc.stdout.splitlines()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint folder (default: build the tiny random one)")
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--dpi", type=int, default=100)
    parser.add_argument("--max-pixels", type=int, default=256 * 28 * 28)
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--batch-sizes", default="1,2,4,8")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    from pdf_fixtures import SAMPLE_PAGES, make_text_pdf

    work = Path(tempfile.mkdtemp(prefix="exaone-bench-"))
    model = args.model
    if model is None:
        from tiny_checkpoint import build

        model = str(build(work / "tiny"))
    pdf = make_text_pdf(
        work / "doc.pdf", [SAMPLE_PAGES[i % len(SAMPLE_PAGES)] + f"\n{i + 1}" for i in range(args.pages)]
    )
    prompt = work / "prompt.txt"
    from exaone_cli.prompts import template

    prompt.write_text(template("ocr"), encoding="utf-8")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    common = [
        "--max-new-tokens",
        str(args.max_new_tokens),
        "--max-pixels",
        str(args.max_pixels),
        "--dpi",
        str(args.dpi),
    ]
    card = [sys.executable, str(HERE / "card_loop.py"), str(pdf), "--model", model, "--prompt", str(prompt), *common]
    runs: dict[str, list[float]] = {"card loop": []}
    commands = {"card loop": card}
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        name = f"exaone ocr -b {batch}"
        runs[name] = []
        commands[name] = [
            sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--model", model, "--jsonl", "--quiet",
            "--temperature", "0", "--presence-penalty", "0", "--no-repetition-guard", "--batch-size", str(batch),
            "--rasterizer", "poppler",  # the loop's renderer: the very same pixels (pdfium is faster still)
            "--prompt-file", str(prompt), *common,
            # The loop has no retries and no text layer; the tiny model ends every page at the limit.
            "--page-retries", "0", "--text-layer", "off",
        ]  # fmt: skip
    reference: list[str] | None = None
    for _ in range(args.repeats):  # alternate, so both see the same machine load
        for name, cmd in commands.items():
            seconds, texts = timed(cmd, env)
            reference = reference or texts
            if len(texts) != args.pages or texts != reference:
                raise SystemExit(f"{name}: its {len(texts)} page texts differ from the card loop's")
            runs[name].append(seconds)
    loop = runs["card loop"]
    rows = []
    print(
        f"{args.pages} pages, {args.dpi} DPI, max {args.max_pixels} px, {args.max_new_tokens} new tokens, model {model}"
    )
    # Each repeat runs every command once, in turn: a ratio per repeat compares runs made moments
    # apart, so the spread of those ratios shows how much the machine's noise moves the result.
    print(f"{'run':<22}{'wall s':>9}{'pages/s':>9}{'vs loop':>9}  range over {args.repeats} repeats")
    for name, times in runs.items():
        wall = statistics.median(times)
        ratios = [t / base for t, base in zip(times, loop, strict=True)]
        ratio = statistics.median(ratios)
        rows.append({
            "run": name, "wall_seconds": wall, "pages_per_second": args.pages / wall, "ratio": ratio,
            "ratio_min": min(ratios), "ratio_max": max(ratios), "wall_seconds_each": times,
        })  # fmt: skip
        print(f"{name:<22}{wall:>9.2f}{args.pages / wall:>9.2f}{ratio:>9.2f}  {min(ratios):.2f}-{max(ratios):.2f}")
    if args.json:
        args.json.write_text(
            json.dumps({"settings": vars(args) | {"json": str(args.json), "model": model}, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
