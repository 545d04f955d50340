"""Batches in input order against batches of pages of similar size (what `exaone ocr` does), on a
mixed run: A4 scans, receipts, business cards and screenshots, shuffled as a real folder is.

A batch pads every prompt to its longest one, so a business card batched with an A4 page costs a
page's worth of prefill, and every decoded token attends over the padding; a batch also runs until
its longest page is done. The script runs the same pages through the same loaded model both ways,
in alternation, and prints wall time, pages/s, and how many of the prompt tokens the batches
computed were padding. Greedy, so both ways must give the same text for every page (checked).

    python benchmarks/batch_order.py                       # tiny random checkpoint, 24 images
    python benchmarks/batch_order.py --model DIR --batch-sizes 4,8 --json out.json
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from exaone_cli.vision import DEFAULT_MAX_PIXELS

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

KINDS = {  # width x height in pixels, as scanned or captured; visual tokens at the default budget
    "A4 scan": (1654, 2339),  # 200 DPI: 4,956 tokens
    "receipt": (576, 1200),  # 80 mm thermal paper: 903
    "business card": (1050, 600),  # 300 DPI: 798
    "screenshot": (1280, 720),  # 1,196
}


class PaddingProbe:
    """Passes batches to the real engine and counts the prompt tokens each batch computed."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.name = engine, engine.name
        self.real_tokens = self.padded_tokens = 0

    def generate(self, prompts: Sequence[Any], sampling: Any, on_text: Any = None) -> list[Any]:
        generations = self.engine.generate(prompts, sampling, on_text)
        lengths = [g.prompt_tokens for g in generations]
        self.real_tokens += sum(lengths)
        self.padded_tokens += max(lengths) * len(lengths) - sum(lengths)
        return list(generations)

    def close(self) -> None:
        pass


def make_images(folder: Path, count: int, seed: int) -> list[str]:
    from pdf_fixtures import SAMPLE_PAGES, scan_image

    rng = random.Random(seed)
    kinds = [list(KINDS)[i % len(KINDS)] for i in range(count)]
    rng.shuffle(kinds)
    names = []
    for i, kind in enumerate(kinds):
        image = scan_image(SAMPLE_PAGES[i % len(SAMPLE_PAGES)] + f"\n{i + 1}").resize(KINDS[kind])
        path = folder / f"{i + 1:02d}-{kind.replace(' ', '-')}.png"
        image.save(path)
        names.append(str(path))
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint folder (default: build the tiny random one)")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-sizes", default="4,8")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from exaone_cli.config import PRESETS, LoadOptions, Sampling
    from exaone_cli.engines.local import LocalEngine
    from exaone_cli.ocr.pipeline import OcrRequest, plan_documents, run_ocr
    from exaone_cli.pages import PageRanges, RasterOptions
    from exaone_cli.prompts import template

    work = Path(tempfile.mkdtemp(prefix="exaone-bench-"))
    model = args.model
    if model is None:
        from tiny_checkpoint import build

        model = str(build(work / "tiny"))
    names = make_images(work, args.images, seed=0)
    plans = plan_documents(names, PageRanges.all(), RasterOptions())
    engine = LocalEngine.load(LoadOptions(model=model, max_pixels=args.max_pixels))
    sampling = Sampling.from_preset(PRESETS["ocr"], max_new_tokens=args.max_new_tokens, temperature=0)
    rows = []
    reference: list[str] | None = None
    print(f"{args.images} images ({', '.join(KINDS)}), max {args.max_pixels:,} px, {args.max_new_tokens} new tokens")
    print(f"{'batch':>5}  {'order':<14}{'wall s':>8}{'pages/s':>9}{'padding':>9}{'vs input':>10}  range")
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        times: dict[str, list[float]] = {"input order": [], "by size": []}
        padding: dict[str, float] = {}
        for _ in range(args.repeats):
            for order, window in (("input order", 1), ("by size", 4)):
                request = OcrRequest(
                    template("ocr"), False, PRESETS["ocr"], sampling, RasterOptions(), batch_size=batch,
                    sort_window=window, max_pixels=args.max_pixels,
                    page_retries=0,  # greedy text compared across orders; the tiny model ends every page at the limit
                )  # fmt: skip
                probe = PaddingProbe(engine)
                start = time.perf_counter()
                texts = [record.text for record in run_ocr(plans, probe, request)]  # type: ignore[arg-type]
                times[order].append(time.perf_counter() - start)
                reference = reference or texts
                if texts != reference:
                    raise SystemExit(f"batch {batch}, {order}: page texts differ from the first run's")
                padding[order] = probe.padded_tokens / (probe.padded_tokens + probe.real_tokens)
        for order, values in times.items():
            wall = statistics.median(values)
            ratios = [t / base for t, base in zip(values, times["input order"], strict=True)]  # run by run
            ratio = statistics.median(ratios)
            row = {
                "batch_size": batch, "order": order, "wall_seconds": wall, "pages_per_second": args.images / wall,
                "padding_fraction": padding[order], "ratio_to_input_order": ratio,
                "ratio_min": min(ratios), "ratio_max": max(ratios),
            }  # fmt: skip
            rows.append(row)
            pages_per_s, share, spread = args.images / wall, padding[order], f"{min(ratios):.2f}-{max(ratios):.2f}"
            print(f"{batch:>5}  {order:<14}{wall:>8.2f}{pages_per_s:>9.2f}{share:>9.0%}{ratio:>10.2f}  {spread}")
    if args.json:
        settings = vars(args) | {"json": str(args.json), "model": model}
        args.json.write_text(json.dumps({"settings": settings, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
