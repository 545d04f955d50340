"""Which image encoding to send to a server: bytes against fidelity, for a rendered text page
and a scanned page (both A4 at 200 DPI, resized to the default visual-token budget as the remote
engine sends them). Fidelity is PSNR against the exact pixels and the worst error on text edges;
exaone_cli/engines/images.py picks PNG for few-colour images and JPEG q90 otherwise.

    python benchmarks/image_encoding.py [--json out.json]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageChops, ImageStat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def psnr(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a.convert("L"), b.convert("L"))
    mse = sum(v * v for v in ImageStat.Stat(diff).rms) / 1
    return float("inf") if mse == 0 else 20 * math.log10(255 / math.sqrt(mse))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from pdf_fixtures import SAMPLE_PAGES, make_scanned_pdf, make_text_pdf

    from exaone_cli.engines.images import encode, fit_budget
    from exaone_cli.inputs import open_source
    from exaone_cli.pages import RasterOptions, open_document

    work = Path(tempfile.mkdtemp())
    pages = {
        "text": make_text_pdf(work / "text.pdf", SAMPLE_PAGES[:1]),
        "scanned": make_scanned_pdf(work / "scan.pdf", SAMPLE_PAGES[:1], dpi=200),
    }
    rows = []
    print(f"{'page':<9}{'encoding':<12}{'KiB':>8}{'PSNR dB':>9}   chosen")
    for kind, pdf in pages.items():
        with open_document(open_source(str(pdf)), RasterOptions(dpi=200)) as doc:
            image = fit_budget(doc.render(1).image, None, None)
        chosen = encode(image)[0]
        for name, options in [("png", {"format": "PNG"})] + [
            (f"jpeg q{q}", {"format": "JPEG", "quality": q}) for q in (75, 85, 90, 95)
        ]:
            buffer = io.BytesIO()
            image.save(buffer, **options)
            decoded = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
            quality = psnr(image, decoded)
            is_chosen = (name == "png") == (chosen == "image/png") and name in ("png", "jpeg q90")
            rows.append(
                {"page": kind, "encoding": name, "bytes": buffer.tell(), "psnr_db": quality, "chosen": is_chosen}
            )
            print(f"{kind:<9}{name:<12}{buffer.tell() / 1024:>8.1f}{quality:>9.1f}   {'<-' if is_chosen else ''}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
