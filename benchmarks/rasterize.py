"""PDFium against poppler: pages per second and peak memory, text PDF and scanned PDF, 150/200/300 DPI;
and scans at their own resolution against scans upsampled to the DPI asked for.

    .venv/bin/python benchmarks/rasterize.py [--pages N] [--repeat R] [--json OUT]

The second part renders what Pillow makes of 300-DPI A4 scans (pages that declare 72 DPI, as a
public Korean OCR benchmark's PDFs do: a 2480 px wide scan is a 34-inch page) at --dpi 200, once
at the scan's own pixel density (the default: pages/analysis.py) and once forced to 200 DPI
(`RasterOptions(scan_resolution=False)`, what exaone did before: 50 megapixels a page, the cap).

Every measurement runs in a fresh child process through the same open_document().render() the CLI
uses, so imports and caches from one run cannot help the next. Rasterizers alternate within each
(document, DPI) so both see the same machine state; the median of R timed repeats is kept.

Memory: the child's own peak is VmHWM from /proc/self/status, not getrusage's ru_maxrss, which on
Linux carries the spawning process's high-water mark across vfork+exec (every child would report
the parent's ~130 MiB). Poppler renders in subprocesses (pdf2image runs pdfinfo, `pdftoppm -v` and
pdftoppm for every page), so one extra, untimed run per poppler row puts shims named pdfinfo and
pdftoppm first on PATH that run the real tools under GNU time; their largest %M is the
"subprocess" column, and the number of launches per page is reported too.
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

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

DPIS = (150, 200, 300)
# A text page as dense as the fixture's 24 pt lines allow: Korean and English, digits, punctuation.
TEXT_LINES = [
    "제1조 (목적) 이 계약은 갑과 을 사이의 용역 제공에 관한",
    "사항을 정함을 목적으로 한다. Article 1. Purpose of",
    "this agreement between the parties named below.",
    "제2조 (기간) 2025년 1월 1일부터 12월 31일까지",
    "합계 금액: 12,500,000원 (부가세 포함) TOTAL KRW",
]


def child(pdf: str, rasterizer: str, dpi: int, scan_resolution: bool = True) -> dict[str, float]:
    """One measurement, in this (fresh) process: open, render every page, report time and peaks."""
    from exaone_cli.inputs import open_source
    from exaone_cli.pages import RasterOptions, open_document

    start = time.perf_counter()
    raster = RasterOptions(rasterizer=rasterizer, dpi=dpi, scan_resolution=scan_resolution)  # type: ignore[arg-type]
    with open_document(open_source(pdf), raster) as document:
        opened = time.perf_counter()
        pixels = 0
        for number in range(1, document.page_count + 1):
            page = document.render(number)
            pixels += page.width * page.height
        count = document.page_count
    done = time.perf_counter()
    return {
        "pages": count,
        "megapixels": pixels / 1e6,
        "open_s": opened - start,
        "render_s": done - opened,
        "peak_rss_mib": _vm_hwm_mib(),
        **_subprocess_peaks(),
    }


def _vm_hwm_mib() -> float:
    """This process's own peak resident memory (per address space: exec starts it afresh)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _subprocess_peaks() -> dict[str, float]:
    """What the PATH shims logged: the largest poppler subprocess and how many were launched."""
    log = os.environ.get("EXAONE_BENCH_RSS_LOG")
    if not log or not Path(log).exists():
        return {}
    peaks = [int(line.split()[1]) for line in Path(log).read_text().splitlines() if line.strip()]
    return {"peak_rss_subprocess_mib": max(peaks) / 1024, "subprocesses": len(peaks)}


def make_shims(folder: Path) -> Path:
    """pdfinfo and pdftoppm shims that run the real tools under GNU time, appending "name maxrss_kib"."""
    for tool in ("pdfinfo", "pdftoppm"):
        real = subprocess.run(["which", tool], capture_output=True, text=True, check=True).stdout.strip()
        shim = folder / tool
        log = '"$EXAONE_BENCH_RSS_LOG"'
        shim.write_text(f'#!/bin/sh\nexec /usr/bin/time -a -o {log} -f "{tool} %M" {real} "$@"\n')
        shim.chmod(0o755)
    return folder


def baseline() -> dict[str, float]:
    """The same imports with nothing rendered: what every child pays before its first page."""
    import pdf2image  # noqa: F401
    import pypdfium2  # noqa: F401
    from PIL import Image  # noqa: F401

    import exaone_cli.pages  # noqa: F401

    return {"peak_rss_mib": _vm_hwm_mib()}


def run_child(*args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    command = [sys.executable, __file__, "--child", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})})
    result: dict[str, float] = json.loads(out.stdout)
    return result


def run_with_shims(shims: Path, *args: str) -> dict[str, float]:
    log = shims / "rss.log"
    log.unlink(missing_ok=True)
    return run_child(*args, env={"PATH": f"{shims}:{os.environ['PATH']}", "EXAONE_BENCH_RSS_LOG": str(log)})


def make_documents(folder: Path, pages: int) -> dict[str, Path]:
    from pdf_fixtures import make_scanned_pdf, make_text_pdf

    texts = ["\n".join(TEXT_LINES[(n + i) % len(TEXT_LINES)] for i in range(18)) for n in range(pages)]
    return {
        "text": make_text_pdf(folder / "text.pdf", texts),
        # A scanner's output: one 200-DPI JPEG per page, no text layer.
        "scanned": make_scanned_pdf(folder / "scanned.pdf", ["\n".join(TEXT_LINES)] * pages, dpi=200),
    }


def make_pillow_scans(folder: Path, pages: int) -> Path:
    """300-DPI A4 scans saved by Pillow as a PDF at its default 72 DPI: 34 x 49-inch pages."""
    from pdf_fixtures import scan_image

    images = [scan_image("\n".join(TEXT_LINES) + f"\n{n + 1}", dpi=300) for n in range(pages)]
    path = folder / "pillow-scans.pdf"
    images[0].save(path, "PDF", resolution=72, save_all=True, append_images=images[1:])
    return path


def measure_scan_resolution(pdf: Path, pages: int, repeat: int) -> list[dict[str, object]]:
    """Pillow's scans at --dpi 200: at their own resolution (72 DPI here) vs forced to 200 DPI."""
    rows: list[dict[str, object]] = []
    for rasterizer in ("pdfium", "poppler"):
        runs: dict[str, list[dict[str, float]]] = {"own": [], "forced": []}
        for _ in range(repeat):
            for mode in runs:  # alternate, as above
                runs[mode].append(run_child(str(pdf), rasterizer, "200", "1" if mode == "own" else "0"))
        for mode, results in runs.items():
            render_s = statistics.median(r["render_s"] for r in results)
            rows.append(
                {
                    "rasterizer": rasterizer,
                    "scans": mode,
                    "pages_per_s": pages / render_s,
                    "megapixels_per_page": results[0]["megapixels"] / pages,
                    "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
                }
            )
    return rows


def versions() -> dict[str, str]:
    import pypdfium2

    poppler = subprocess.run(["pdftoppm", "-v"], capture_output=True, text=True).stderr.splitlines()
    return {
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "pypdfium2": str(pypdfium2.version.PYPDFIUM_INFO),
        "pdfium": str(pypdfium2.version.PDFIUM_INFO),
        "poppler": poppler[0] if poppler else "unknown",
    }


def measure(pages: int, repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="exaone-bench-") as tmp:
        documents = make_documents(Path(tmp), pages)
        shims = make_shims(Path(tmp))
        base = run_child("baseline")
        rows = []
        for kind, pdf in documents.items():
            for dpi in DPIS:
                runs: dict[str, list[dict[str, float]]] = {"pdfium": [], "poppler": []}
                for _ in range(repeat):
                    for rasterizer in runs:  # alternate, so both meet the same machine state
                        runs[rasterizer].append(run_child(str(pdf), rasterizer, str(dpi)))
                for rasterizer, results in runs.items():
                    memory = run_with_shims(shims, str(pdf), rasterizer, str(dpi)) if rasterizer == "poppler" else {}
                    render_s = statistics.median(r["render_s"] for r in results)
                    rows.append(
                        {
                            "document": kind,
                            "dpi": dpi,
                            "rasterizer": rasterizer,
                            "pages": pages,
                            "pages_per_s": pages / render_s,
                            "ms_per_page": 1000 * render_s / pages,
                            "open_ms": 1000 * statistics.median(r["open_s"] for r in results),
                            "megapixels_per_page": results[0]["megapixels"] / pages,
                            "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
                            "peak_rss_subprocess_mib": memory.get("peak_rss_subprocess_mib", 0.0),
                            "subprocesses_per_page": memory.get("subprocesses", 0.0) / pages,
                        }
                    )
        scans = measure_scan_resolution(make_pillow_scans(Path(tmp), pages), pages, repeat)
    return {
        "versions": versions(),
        "repeat": repeat,
        "baseline_rss_mib": base["peak_rss_mib"],
        "results": rows,
        "scan_resolution": scans,
    }


def table(report: dict[str, object]) -> str:
    rows: list[dict[str, float | str]] = report["results"]  # type: ignore[assignment]
    speed = {(r["document"], r["dpi"], r["rasterizer"]): float(r["pages_per_s"]) for r in rows}
    lines = [
        f"{'document':<8} {'dpi':>4} {'rasterizer':<10} {'pages/s':>8} {'ms/page':>8} {'open ms':>8} "
        f"{'peak RSS':>9} {'subproc':>8} {'procs/pg':>8} {'pdfium/poppler':>15}",
    ]
    for r in rows:
        ratio = speed[(r["document"], r["dpi"], "pdfium")] / speed[(r["document"], r["dpi"], "poppler")]
        lines.append(
            f"{r['document']:<8} {r['dpi']:>4} {r['rasterizer']:<10} {r['pages_per_s']:>8.1f} "
            f"{r['ms_per_page']:>8.0f} {r['open_ms']:>8.1f} {r['peak_rss_mib']:>6.0f} MiB "
            f"{r['peak_rss_subprocess_mib']:>4.0f} MiB {r['subprocesses_per_page']:>8.1f} "
            f"{f'{ratio:.2f}x faster' if r['rasterizer'] == 'pdfium' else '':>15}"
        )
    lines.append(f"peak RSS of a child that only imports: {report['baseline_rss_mib']:.0f} MiB; pages/s is render only")
    lines.append("Pillow's 300-DPI scans (pages declaring 72 DPI) at --dpi 200: own resolution vs forced to 200 DPI")
    scans: list[dict[str, float | str]] = report["scan_resolution"]  # type: ignore[assignment]
    speed = {(r["rasterizer"], r["scans"]): float(r["pages_per_s"]) for r in scans}
    for r in scans:
        ratio = speed[(r["rasterizer"], "own")] / speed[(r["rasterizer"], "forced")]
        faster = f"   {ratio:.2f}x faster" if r["scans"] == "own" else ""
        lines.append(
            f"  {r['rasterizer']:<8} {r['scans']:<7} {r['pages_per_s']:>7.2f} pages/s "
            f"{r['megapixels_per_page']:>6.1f} MP {r['peak_rss_mib']:>6.0f} MiB{faster}"
        )
    versions: dict[str, str] = report["versions"]  # type: ignore[assignment]
    lines.append("; ".join(f"{k} {v}" for k, v in versions.items()))
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        args = sys.argv[2:]
        scan_resolution = args[3:4] != ["0"]
        print(
            json.dumps(baseline() if args == ["baseline"] else child(args[0], args[1], int(args[2]), scan_resolution))
        )
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=12, help="pages in each test PDF (default 12)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is kept (default 3)")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    options = parser.parse_args()
    report = measure(options.pages, options.repeat)
    print(table(report))
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
