"""`exaone ocr` against the model card's one-page-at-a-time loop: same model, pages, settings.

Two measurements, each taking turns, on the same PDF:

1. Whole processes (start-up, imports, model load, rasterizing and generation): what a user waits
   for. Both pay the same import-and-load floor (seconds of torch/transformers imports), which
   dominates on a tiny model and pulls every ratio towards 1.
2. Pages only: one process loads the model once; the card's loop (`card_loop.ocr_pages`) and
   exaone's pipeline (`api.ocr_run` with a LocalEngine around the very same model object) then
   take turns over the pages, timed from the first page to the last. This ratio measures
   batching and read-ahead, not start-up.

Greedy decoding, no presence penalty (transformers' loop has none) and no repetition guard, so both
generate exactly the same tokens: the script checks that every page's text is identical.

    python benchmarks/ocr_throughput.py                      # tiny random checkpoint, 12 pages
    python benchmarks/ocr_throughput.py --model DIR --pages 12 --batch-sizes 1,2,4,8 --json out.json
    python benchmarks/ocr_throughput.py --pages 2 --batch-sizes 2 --repeats 1 --max-new-tokens 4   # smallest
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
sys.path.insert(0, str(HERE))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, list[str]]:
    """Wall time of a whole process, and the page texts it printed (JSON Lines)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: pages the token limit cut (the tiny model never ends one): still timed
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return seconds, [_clean(json.loads(line)["text"]) for line in proc.stdout.splitlines()]


def _clean(text: str) -> str:
    # exaone strips and NFC-normalises page text; the loop prints it raw.
    return unicodedata.normalize("NFC", text.strip())


class _Collect:
    """A sink that keeps the page records (exaone's pipeline hands every record to a sink)."""

    def __init__(self) -> None:
        self.records: list = []

    def write(self, record: object) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


def pages_only(args: argparse.Namespace, model_dir: str, pdf: Path, prompt_path: Path) -> dict:
    """Load once; then the card's loop and exaone's pipeline take turns over the pages."""
    from card_loop import ocr_pages

    start = time.perf_counter()
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from exaone_cli.api import ocr_run
    from exaone_cli.config import LoadOptions, SamplingFlags
    from exaone_cli.engines.local import LocalEngine
    from exaone_cli.ocr.settings import OcrSettings

    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir, device_map="auto")
    floor = time.perf_counter() - start
    load = LoadOptions(model=model_dir).with_pixels(None, args.max_pixels)
    engine = LocalEngine(model, processor, name=model_dir, min_pixels=load.min_pixels, max_pixels=load.max_pixels)
    prompt = prompt_path.read_text(encoding="utf-8").strip()
    size = {"shortest_edge": load.min_pixels, "longest_edge": load.max_pixels}
    flags = SamplingFlags("ocr", 0.0, None, None, 0.0, args.max_new_tokens, None, repetition_guard=False)

    def card() -> list[str]:
        return [
            _clean(p["text"])
            for p in ocr_pages(processor, model, str(pdf), prompt, args.dpi, args.max_new_tokens, size)
        ]

    def exaone(batch: int) -> list[str]:
        settings = OcrSettings.from_flags(
            files=[str(pdf)], pages=None, dpi=args.dpi, rasterizer="poppler", password=None, load=load,
            prompt_file=prompt_path, thinking=False, flags=flags, batch_size=batch, fmt="jsonl", output=None,
            resume=False, stdout_is_terminal=False, text_layer="off", page_retries=0,  # as the processes run
            cache=False,  # every repeat does the work: the processes run with --no-cache too
        )  # fmt: skip
        sink = _Collect()
        for _ in ocr_run(settings, sink, engine=engine):
            pass
        return [_clean(record.text) for record in sink.records]

    runs: dict[str, list[float]] = {"card loop": []}
    calls = {"card loop": card}
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        runs[f"exaone -b {batch}"] = []
        calls[f"exaone -b {batch}"] = lambda batch=batch: exaone(batch)
    reference: list[str] | None = None
    for _ in range(args.repeats):
        for name, call in calls.items():
            began = time.perf_counter()
            texts = call()
            runs[name].append(time.perf_counter() - began)
            reference = reference or texts
            if len(texts) != args.pages or texts != reference:
                raise SystemExit(f"pages only, {name}: its {len(texts)} page texts differ from the card loop's")
    print(f"\npages only (model loaded once, import + load {floor:.2f} s not counted):")
    return {"import_and_load_seconds": floor, "rows": table(runs, args.pages, args.repeats)}


def table(runs: dict[str, list[float]], pages: int, repeats: int) -> list[dict]:
    """Print and return median wall time, pages/s and the ratio to the card loop (first entry).
    Each repeat runs every entry once, in turn: a ratio per repeat compares runs made moments
    apart, so the spread of those ratios shows how much the machine's noise moves the result."""
    loop = next(iter(runs.values()))
    rows = []
    print(f"{'run':<22}{'wall s':>9}{'pages/s':>9}{'vs loop':>9}  range over {repeats} repeats")
    for name, times in runs.items():
        wall = statistics.median(times)
        ratios = [t / base for t, base in zip(times, loop, strict=True)]
        ratio = statistics.median(ratios)
        rows.append({
            "run": name, "wall_seconds": wall, "pages_per_second": pages / wall, "ratio": ratio,
            "ratio_min": min(ratios), "ratio_max": max(ratios), "wall_seconds_each": times,
        })  # fmt: skip
        print(f"{name:<22}{wall:>9.2f}{pages / wall:>9.2f}{ratio:>9.2f}  {min(ratios):.2f}-{max(ratios):.2f}")
    return rows


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
            sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--model", model, "--jsonl", "--quiet", "--no-cache",
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
    print(
        f"{args.pages} pages, {args.dpi} DPI, max {args.max_pixels} px, {args.max_new_tokens} new tokens, model {model}"
    )
    print("whole processes (start-up, imports and model load included):")
    rows = table(runs, args.pages, args.repeats)
    only = pages_only(args, model, pdf, prompt)
    if args.json:
        settings = vars(args) | {"json": str(args.json), "model": model}
        args.json.write_text(json.dumps({"settings": settings, "rows": rows, "pages_only": only}, indent=2))


if __name__ == "__main__":
    main()
