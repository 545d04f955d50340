"""The text-layer verdicts over a folder of real PDFs, page by page, and what changed between two
versions of exaone: how many pages change verdict or completeness, and the time per page.

    python benchmarks/text_layer_corpus.py read FOLDER OUT.jsonl [--pages 3]     # this checkout
    PYTHONPATH=/path/to/old python benchmarks/text_layer_corpus.py read FOLDER OLD.jsonl
    python benchmarks/text_layer_corpus.py compare OLD.jsonl NEW.jsonl

`read` writes one line per page (file, page, verdict, complete, hidden characters, annotations,
seconds, the text's length) as it goes, and resumes after the last file it finished, so a file
that hangs pdfium can be skipped by running it again (the file it was on is marked and skipped).
The corpus used for the README: mozilla/pdf.js test/pdfs, every file under 300 KB (Apache-2.0).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path


def read(folder: Path, out: Path, pages: int) -> None:
    from exaone_cli.inputs import open_source
    from exaone_cli.pages.text_layer import read_text_layers

    done = {json.loads(line)["file"] for line in out.read_text().splitlines()} if out.exists() else set()
    with out.open("a") as sink:
        for path in sorted(folder.glob("*.pdf")):
            if path.name in done:
                continue
            sink.write(json.dumps({"file": path.name, "page": 0, "verdict": "started"}) + "\n")
            sink.flush()
            try:
                source = open_source(str(path))
                first = read_text_layers(source, [1])
                count = _page_count(path)
                layers = first + (read_text_layers(source, range(2, min(count, pages) + 1)) if count > 1 else [])
            except Exception as exc:  # a file that cannot be opened is a row too
                sink.write(json.dumps({"file": path.name, "page": 0, "verdict": f"error: {type(exc).__name__}"}) + "\n")
                continue
            for layer in layers:
                start = time.perf_counter()
                read_text_layers(source, [layer.page])  # timed again alone: the first call paid for imports
                seconds = time.perf_counter() - start
                row = {
                    "file": path.name,
                    "page": layer.page,
                    "verdict": layer.verdict,
                    "complete": layer.complete,
                    "hidden": getattr(layer, "hidden", 0),
                    "annotations": getattr(layer, "annotations", 0),
                    "chars": len(layer.text),
                    "controls": sum(1 for ch in layer.text if ord(ch) < 32 and ch not in "\n\t"),
                    "reason": layer.reason,
                    "seconds": seconds,
                }
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            sink.flush()


def _page_count(path: Path) -> int:
    import pypdfium2 as pdfium

    from exaone_cli.pages.pdfium import PDFIUM_LOCK

    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(str(path))
        try:
            return len(pdf)
        finally:
            pdf.close()


def _rows(path: Path) -> dict[tuple[str, int], dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {(r["file"], r["page"]): r for r in rows if r["page"]}


def compare(old_path: Path, new_path: Path) -> None:
    old, new = _rows(old_path), _rows(new_path)
    both = sorted(old.keys() & new.keys())
    changes: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for key in both:
        a, b = old[key], new[key]
        if a["verdict"] != b["verdict"]:
            change = f"{a['verdict']} -> {b['verdict']}"
        elif a["complete"] != b["complete"]:
            change = f"{a['verdict']}: complete {a['complete']} -> {b['complete']}"
        else:
            continue
        changes[change] += 1
        examples.setdefault(change, []).append(f"{key[0]}:{key[1]} ({b['reason']})")
    print(f"{len(both)} pages of {len({k[0] for k in both})} files read by both")
    print("verdicts before:", dict(Counter(str(old[k]["verdict"]) for k in both)))
    print("verdicts after: ", dict(Counter(str(new[k]["verdict"]) for k in both)))
    print("complete before/after:", sum(bool(old[k]["complete"]) for k in both),
          sum(bool(new[k]["complete"]) for k in both))  # fmt: skip
    print("pages with control characters before/after:", sum(bool(old[k]["controls"]) for k in both),
          sum(bool(new[k]["controls"]) for k in both))  # fmt: skip
    print("pages with hidden text left out:", sum(bool(new[k]["hidden"]) for k in both),
          "with form values or annotations:", sum(bool(new[k]["annotations"]) for k in both))  # fmt: skip
    for change, n in changes.most_common():
        print(f"  {n:4d}  {change}   e.g. {'; '.join(examples[change][:3])}")
    for name, rows in (("before", old), ("after", new)):
        seconds = [float(rows[k]["seconds"]) for k in both]  # type: ignore[arg-type]
        p95 = sorted(seconds)[int(0.95 * len(seconds))]
        print(f"time per page {name}: median {statistics.median(seconds) * 1000:.2f} ms, "
              f"mean {statistics.fmean(seconds) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("read")
    r.add_argument("folder", type=Path)
    r.add_argument("out", type=Path)
    r.add_argument("--pages", type=int, default=3, help="the first pages of each file (default 3)")
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "read":
        read(args.folder, args.out, args.pages)
    else:
        compare(args.old, args.new)


if __name__ == "__main__":
    main()
