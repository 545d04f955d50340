"""`exaone ocr --server` pages/s against a local `transformers serve` at --concurrency 1/2/4/8.

Same pages, same settings, alternated runs, median of N. transformers serve generates one request
at a time for this model (no continuous batching for Exaone4_5), so what concurrency can win here
is only the client-side overlap (rendering, encoding, network) with generation; against vLLM or
SGLang, which batch concurrent requests, the gain is the server's batching.

    python benchmarks/remote_concurrency.py [--model DIR] [--pages 12] [--json out.json]
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
    parser.add_argument("--model", help="checkpoint folder (default: build the tiny random one)")
    parser.add_argument("--pages", type=int, default=12)
    parser.add_argument("--concurrency", default="1,2,4,8")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from pdf_fixtures import SAMPLE_PAGES, make_text_pdf
    from serve_fixture import transformers_serve

    work = Path(tempfile.mkdtemp(prefix="exaone-remote-"))
    model = Path(args.model) if args.model else None
    if model is None:
        from tiny_checkpoint import build

        model = build(work / "tiny")
    pdf = make_text_pdf(work / "doc.pdf", [SAMPLE_PAGES[i % 3] + f"\n{i + 1}" for i in range(args.pages)])
    levels = [int(c) for c in args.concurrency.split(",")]
    times: dict[int, list[float]] = {level: [] for level in levels}
    with transformers_serve(model, work / "serve.log") as url:
        for _ in range(args.repeats):
            for level in levels:
                cmd = [
                    sys.executable, "-m", "exaone_cli", "ocr", str(pdf), "--server", url, "--jsonl", "--quiet",
                    "--no-cache", "--concurrency", str(level), "--dpi", "100", "--temperature", "0",
                    "--max-new-tokens", str(args.max_new_tokens),
                    "--page-retries", "0",  # the tiny model ends every page at the token limit: one try each
                ]  # fmt: skip
                start = time.perf_counter()
                proc = subprocess.run(cmd, capture_output=True, text=True)
                times[level].append(time.perf_counter() - start)
                if proc.returncode not in (0, 1):  # 1: pages the token limit cut, as the tiny model's always are
                    raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
                assert len(proc.stdout.splitlines()) == args.pages
    base = statistics.median(times[levels[0]])
    rows = []
    print(f"{args.pages} pages, {args.max_new_tokens} new tokens, transformers serve on 127.0.0.1, model {model}")
    print(f"{'concurrency':<13}{'wall s':>8}{'pages/s':>9}{'speed-up':>10}")
    for level in levels:
        wall = statistics.median(times[level])
        rows.append({"concurrency": level, "wall_seconds": wall, "pages_per_second": args.pages / wall})
        print(f"{level:<13}{wall:>8.2f}{args.pages / wall:>9.2f}{base / wall:>9.2f}x")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
