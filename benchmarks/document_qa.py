"""Document questions: what the page store saves, and a long born-digital document end to end.

1. A scanned PDF (default 100 pages, no text layer). The first question pays for reading every
   page; the second finds every page in the page store and pays only for the answer. Both are
   whole `exaone` processes on the tiny checkpoint, with a fresh store per repeat. The first
   question's pages are transcribed by `exaone ocr` capped at --ocr-tokens tokens a page, one try
   (the tiny random model would otherwise run every page to 4,096 tokens, and try again: hours on
   a CPU); `exaone ask` then reads them from the store as it reads its own transcriptions.
2. A born-digital PDF (default 300 pages): `exaone ask` end to end from a fresh store. Every page
   has a good text layer, so no page goes to the model: the wall time, the pages read, the prompt.

Ratios are medians of --repeats, side by side in one run, so they hold on other machines where the
absolute times do not.

    python benchmarks/document_qa.py                                   # tiny checkpoint, 100 + 300 pages
    python benchmarks/document_qa.py --scan-pages 6 --digital-pages 12 --repeats 1   # a smoke run
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from docqa_fixtures import contract_pages, make_coded_pdf  # noqa: E402

ANSWER = "제87조의2 (위약금) 계약을 해지하는 자는 상대방에게 위약금 3,700만원을 지급한다."
QUESTIONS = ("위약금은 얼마인가요?", "비밀 유지 의무는 언제까지인가요?")


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd[:6])} ... failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout


def exaone(*args: str) -> list[str]:
    return [sys.executable, "-m", "exaone_cli", *args]


def scanned(args: argparse.Namespace, model: str, work: Path) -> dict[str, object]:
    pages = contract_pages(args.scan_pages, min(87, args.scan_pages), ANSWER)
    pdf = make_coded_pdf(work / "scan.pdf", pages, scanned=True, dpi=100)
    first, second = [], []
    for repeat in range(args.repeats):
        env = {**os.environ, "EXAONE_CACHE_DIR": str(work / f"store-{repeat}"), "EXAONE_NO_CACHE": ""}
        ocr_s, _ = run(exaone("ocr", str(pdf), *common(args, model), "--max-new-tokens", str(args.ocr_tokens),
                              "--page-retries", "0", "--jsonl", "--quiet"), env)  # fmt: skip
        ask_s, _ = run(ask(args, model, pdf, QUESTIONS[0]), env)
        again_s, out = run(ask(args, model, pdf, QUESTIONS[1]), env)
        body = json.loads(out)
        assert all(page["cached"] for page in body["pages_read"]), "the second question read a page again"
        first.append(ocr_s + ask_s)
        second.append(again_s)
    a, b = statistics.median(first), statistics.median(second)
    return {"pages": args.scan_pages, "first_question_s": a, "second_question_s": b, "ratio": b / a}


def born_digital(args: argparse.Namespace, model: str, work: Path) -> dict[str, object]:
    pages = contract_pages(args.digital_pages, min(187, args.digital_pages), ANSWER)
    pdf = make_coded_pdf(work / "digital.pdf", pages)
    times, body = [], {}
    for repeat in range(args.repeats):
        env = {**os.environ, "EXAONE_CACHE_DIR": str(work / f"digital-{repeat}"), "EXAONE_NO_CACHE": ""}
        seconds, out = run(ask(args, model, pdf, QUESTIONS[0]), env)
        body = json.loads(out)
        assert {page["text_source"] for page in body["pages_read"]} == {"text-layer"}, "a page went to the model"
        times.append(seconds)
    return {
        "pages": args.digital_pages,
        "ask_s": statistics.median(times),
        "pages_read": len(body.get("pages_read", [])),
        "prompt_tokens": body.get("tokens", {}).get("prompt"),
    }


def common(args: argparse.Namespace, model: str) -> list[str]:
    return ["--model", model, "--dpi", str(args.dpi), "--max-pixels", str(args.max_pixels), "--temperature", "0"]


def ask(args: argparse.Namespace, model: str, pdf: Path, question: str) -> list[str]:
    tokens = ["--max-new-tokens", str(args.answer_tokens), "--no-think", "--json"]
    return exaone("ask", str(pdf), question, *common(args, model), *tokens, "--max-images", "1")  # document mode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint folder (default: build the tiny random one)")
    parser.add_argument("--scan-pages", type=int, default=100)
    parser.add_argument("--digital-pages", type=int, default=300)
    parser.add_argument("--ocr-tokens", type=int, default=16, help="transcription cap per page (tiny model)")
    parser.add_argument("--answer-tokens", type=int, default=32)
    parser.add_argument("--dpi", type=int, default=50)
    parser.add_argument("--max-pixels", type=int, default=160 * 28 * 28)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="exaone-docqa-") as folder:
        work = Path(folder)
        model = args.model
        if model is None:
            from tiny_checkpoint import build

            model = str(build(work / "tiny"))
        result = {"scanned": scanned(args, model, work), "born_digital": born_digital(args, model, work)}
    scan, digital = result["scanned"], result["born_digital"]
    print(
        f"scanned PDF, {scan['pages']} pages: first question {scan['first_question_s']:.1f} s, "
        f"second question {scan['second_question_s']:.1f} s (store hit): {scan['ratio']:.3f}x"
    )
    print(
        f"born-digital PDF, {digital['pages']} pages: `exaone ask` end to end {digital['ask_s']:.1f} s, reading "
        f"{digital['pages_read']} pages from their text layer ({digital['prompt_tokens']} prompt tokens)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
