"""A long Hangul document to text: `exaone ocr --text-layer prefer` (rhwp renders it to PDF, the
text layer is read, tables come from the document's own grid; no model), beside rhwp's rendering
alone followed by `pdftotext` on that PDF, and the same pages through the tiny model.

The document is an HWPX file made with python-hwpx (a notice of numbered paragraphs with a
four-column table every ten paragraphs): HWP 5.0 files cannot be written by any library here,
and rhwp reads both formats into the same model. Whole processes, taking turns; the median of
`--repeats`. The characters column counts Hangul syllables and digits in each output (whitespace
and table markup aside): what pdftotext finds is what the pages show.

    python benchmarks/hwp.py                         # 400 paragraphs (~60 pages), 3 repeats
    python benchmarks/hwp.py --paragraphs 40 --repeats 1 --model-pages 2   # smallest useful run
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE.parent / "tests")]

LINES = [
    "제{n}조 (지원 내용) 선정된 기업에는 2026년 3월 2일부터 12월 31일까지 사업비를 지원한다.",
    "신청은 온라인(www.example.go.kr)으로 하며, 마감은 2026년 3월 31일 18:00이다.",
    "지원 금액은 기업당 최대 5,000만원이며 자부담 비율은 20% 이상이어야 한다.",
]
TABLE = [["구분", "지원 대상", "지원 금액", "기간"], ["창업기업", "업력 3년 이내", "5,000만원", "최대 2년"]]


def make_document(path: Path, paragraphs: int) -> Path:
    from hwpx import HwpxDocument

    document = HwpxDocument.new()
    for n in range(1, paragraphs + 1):
        document.add_paragraph(LINES[n % len(LINES)].format(n=n))
        if n % 10 == 0:
            grid = document.add_table(len(TABLE), 4, height=len(TABLE) * 2400)
            for r, row in enumerate(TABLE):
                for c, value in enumerate(row):
                    grid.set_cell_text(r, c, value)
    document.save_to_path(str(path))
    return path


def timed(command: list[str], cut_ok: bool = False) -> tuple[float, str]:
    """Seconds and stdout of one whole process; `cut_ok`: exit 1 for pages the token limit cut
    (the tiny model never ends one) is still a timed run."""
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "EXAONE_NO_CACHE": "1"})
    seconds = time.perf_counter() - start
    if proc.returncode != 0 and not (cut_ok and proc.returncode == 1 and "cut short by the token limit" in proc.stderr):
        raise SystemExit(f"failed: {' '.join(command)}\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


RENDER = """
import sys
from exaone_cli.pages.hwp import load_rhwp, quiet_native_output
with quiet_native_output():
    pdf = load_rhwp().parse(sys.argv[1]).render_pdf()
open(sys.argv[2], "wb").write(pdf)
"""


def characters(text: str) -> int:
    return sum(1 for char in text if "\uac00" <= char <= "\ud7a3" or char.isdigit())


def measure(args: argparse.Namespace, model: str, document: Path, work: Path) -> list[dict[str, object]]:
    pdf = work / "rendered.pdf"
    prefer = [sys.executable, "-m", "exaone_cli", "ocr", str(document), "--text-layer", "prefer", "--jsonl", "--quiet"]
    render = [sys.executable, "-c", RENDER, str(document), str(pdf)]
    pdftotext = ["pdftotext", str(pdf), "-"]
    pages = f"1-{args.model_pages}"
    tiny = [sys.executable, "-m", "exaone_cli", "ocr", str(document), "--text-layer", "off", "--jsonl", "--quiet",
            "--model", model, "--pages", pages, "--dpi", "50", "--max-pixels", str(160 * 28 * 28),
            "--max-new-tokens", "16", "--page-retries", "0"]  # fmt: skip
    walls: dict[str, list[float]] = {"prefer": [], "render": [], "pdftotext": [], "model": []}
    outputs: dict[str, str] = {}
    for _ in range(args.repeats):
        for name, command in (("prefer", prefer), ("render", render), ("pdftotext", pdftotext), ("model", tiny)):
            seconds, outputs[name] = timed(command, cut_ok=name == "model")
            walls[name].append(seconds)
    records = [json.loads(line) for line in outputs["prefer"].splitlines()]
    count = len(records)
    prefer_text = "\n".join(str(r["text"]) for r in records)
    both = statistics.median(walls["render"]) + statistics.median(walls["pdftotext"])
    return [
        {"what": "exaone ocr --text-layer prefer (whole process)", "pages": count,
         "wall_s": statistics.median(walls["prefer"]), "characters": characters(prefer_text),
         "tables_as_markdown": sum(line.startswith("| --- |") for line in prefer_text.splitlines())},
        {"what": "rhwp render to PDF (one process) + pdftotext (another)", "pages": count, "wall_s": both,
         "characters": characters(outputs["pdftotext"]), "tables_as_markdown": 0},
        {"what": f"exaone ocr --text-layer off, tiny model, pages {pages}", "pages": args.model_pages,
         "wall_s": statistics.median(walls["model"]), "characters": None, "tables_as_markdown": None},
    ]  # fmt: skip


def table(rows: list[dict[str, object]]) -> str:
    lines = [f"{'what':<58} {'pages':>5} {'wall s':>7} {'s/page':>7} {'chars':>7} {'md tables':>9}"]
    for r in rows:
        wall, pages = float(r["wall_s"]), int(r["pages"])  # type: ignore[arg-type]
        chars = "-" if r["characters"] is None else str(r["characters"])
        tables = "-" if r["tables_as_markdown"] is None else str(r["tables_as_markdown"])
        lines.append(f"{r['what']:<58} {pages:>5} {wall:>7.2f} {wall / pages:>7.3f} {chars:>7} {tables:>9}")
    lines.append(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="checkpoint folder (default: build the tiny random one)")
    parser.add_argument("--paragraphs", type=int, default=400, help="paragraphs of the notice (default 400)")
    parser.add_argument("--model-pages", type=int, default=8, help="pages sent to the model (default 8)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement; the median is kept")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="exaone-bench-") as tmp:
        work = Path(tmp)
        model = args.model
        if model is None:
            from tiny_checkpoint import build

            model = str(build(work / "tiny"))
        document = make_document(work / "공고문.hwpx", args.paragraphs)
        rows = measure(args, model, document, work)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps({"settings": vars(args) | {"json": str(args.json)}, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
