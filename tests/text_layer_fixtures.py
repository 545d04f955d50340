"""PDFs whose text layers lie in the ways real ones do, made for the text-layer tests and benchmark.

`make_layer_pdf` puts pages of several kinds in one file (fpdf2, NanumGothic embedded):
- "text": born-digital text, drawn visibly, with a /ToUnicode map (a good layer);
- "unmapped": the same text in NanumMyeongjo as a CID font whose /ToUnicode entry was removed
  afterwards (what many Korean PDFs carry: the codes are glyph ids, no map back to characters);
- "ocr-scan": a scanned page image with the text laid over it in render mode 3 (invisible), as
  OCR tools make searchable PDFs;
- "buried": the text drawn visibly, then a scanned page image painted over it;
- "annotated": a scanned page image with visible text drawn over it (a filled-in form);
- "watermarked": born-digital text under a full-page image drawn see-through (a "DRAFT" stamp);
- "scan": a scanned page image and no text at all;
- "figure": a picture of a table (its text in the pixels only) over half the page, and one
  line of real text, the caption, under it;
- "logo": born-digital text with a small logo image in a corner;
- "blank": nothing.
`make_unembedded_korean_pdf` writes a PDF by hand whose Korean font is not embedded at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from pdf_fixtures import A4_MM, FONT, TEXT_ORIGIN_MM, TEXT_SIZE_PT, _with_xref, _write, new_pdf, scan_image
from PIL import Image, ImageDraw

UNMAPPED_FONT = FONT.with_name("NanumMyeongjo.ttf")  # fonts-nanum too
PageSpec = tuple[str, str]  # (kind, text)


def make_layer_pdf(path: Path | str, pages: Sequence[PageSpec], *, scan_dpi: int = 100) -> Path:
    """One page per (kind, text); see the module docstring for the kinds."""
    from fpdf.enums import TextMode

    pdf = new_pdf(unit="mm", format=A4_MM)
    pdf.set_auto_page_break(False)
    pdf.set_image_filter("DCTDecode")
    pdf.add_font("Nanum", "", str(FONT))
    pdf.add_font("Unmapped", "", str(UNMAPPED_FONT))
    width = A4_MM[0] - 2 * TEXT_ORIGIN_MM[0]
    for kind, text in pages:
        pdf.add_page()
        if kind in ("ocr-scan", "scan", "annotated"):
            pdf.image(scan_image(text, scan_dpi), x=0, y=0, w=A4_MM[0], h=A4_MM[1])
        if kind == "figure":
            pdf.image(scan_image("표 1. 2023년 영업이익 1,234억원", scan_dpi), x=0, y=60, w=A4_MM[0], h=A4_MM[1] / 2)
        if kind == "logo":
            pdf.image(_watermark(), x=A4_MM[0] - 25, y=5, w=20, h=20)
        if kind in ("text", "unmapped", "ocr-scan", "buried", "annotated", "watermarked", "figure", "logo"):
            pdf.set_font("Unmapped" if kind == "unmapped" else "Nanum", size=TEXT_SIZE_PT)
            pdf.text_mode = TextMode.INVISIBLE if kind == "ocr-scan" else TextMode.FILL
            pdf.set_xy(*TEXT_ORIGIN_MM)
            pdf.multi_cell(width, 12, text)
            pdf.text_mode = TextMode.FILL
        if kind == "buried":
            pdf.image(scan_image(text, scan_dpi), x=0, y=0, w=A4_MM[0], h=A4_MM[1])
        if kind == "watermarked":
            with pdf.local_context(fill_opacity=0.3):  # /ca in the graphics state: the image is see-through
                pdf.image(_watermark(), x=0, y=0, w=A4_MM[0], h=A4_MM[1])
        known = ("text", "unmapped", "ocr-scan", "buried", "annotated", "watermarked", "scan", "blank")
        known += ("figure", "logo")
        if kind not in known:
            raise ValueError(f"unknown page kind {kind!r}")
    return _write(path, _without_to_unicode(bytes(pdf.output()), b"NanumMyeongjo"))


def _watermark() -> Image.Image:
    """A full-page stamp: grey letters on white, drawn see-through over the page."""
    mark = Image.new("RGB", (210, 297), "white")
    ImageDraw.Draw(mark).text((60, 140), "DRAFT", fill=(128, 128, 128))
    return mark


def _without_to_unicode(data: bytes, base_font: bytes) -> bytes:
    """`data` with the /ToUnicode entry of the Type0 font `base_font` blanked out. Spaces of the
    same length keep every xref offset right, so the file stays valid without rewriting it."""

    def blank(match: re.Match[bytes]) -> bytes:
        entry = re.search(rb"/ToUnicode \d+ 0 R", match.group(0))
        assert entry is not None, "fpdf2 wrote a Type0 font without /ToUnicode"
        return match.group(0).replace(entry.group(0), b" " * len(entry.group(0)))

    pattern = rb"\d+ 0 obj\n<<\n/BaseFont /[A-Z]{6}\+" + base_font + rb"\n/DescendantFonts(?:(?!endobj).)*?endobj"
    result, found = re.subn(pattern, blank, data, flags=re.S)
    assert found or base_font not in data, "unexpected fpdf2 font layout"
    return result


def make_unembedded_korean_pdf(path: Path | str, pages: Sequence[str], *, mapped: bool = True) -> Path:
    """A PDF written by hand whose Korean font (HYSMyeongJo-Medium, Adobe-Korea1) is not embedded.

    `mapped`: the codes are UCS-2 through the predefined CMap UniKS-UCS2-H, so a reader maps them
    back to Unicode as the PDF standard says (old Acrobat and HWP exports do this). Not `mapped`:
    Identity-H with the glyph ids of NanumGothic and no /ToUnicode, the layer a careless export
    leaves: nothing says what the codes mean."""
    from fontTools.ttLib import TTFont

    gids = TTFont(str(FONT)).getReverseGlyphMap()
    cmap = TTFont(str(FONT)).getBestCmap()
    encoding, ordering = (b"/UniKS-UCS2-H", b"Korea1") if mapped else (b"/Identity-H", b"Identity")
    count = len(pages)
    kids = b" ".join(b"%d 0 R" % (6 + i * 2) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /HYSMyeongJo-Medium /Encoding %s /DescendantFonts [4 0 R] >>"
        % encoding,
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /HYSMyeongJo-Medium /CIDSystemInfo << /Registry (Adobe)"
        b" /Ordering (%s) /Supplement 0 >> /FontDescriptor 5 0 R /DW 1000 >>" % ordering,
        b"<< /Type /FontDescriptor /FontName /HYSMyeongJo-Medium /Flags 6 /FontBBox [-28 -148 1001 880]"
        b" /ItalicAngle 0 /Ascent 880 /Descent -148 /CapHeight 880 /StemV 60 >>",
    ]
    for text in pages:
        lines = []
        for line in text.splitlines():
            codes = (
                line.encode("utf-16-be") if mapped else b"".join(gids[cmap[ord(ch)]].to_bytes(2, "big") for ch in line)
            )
            lines.append(b"<%s> Tj T*" % codes.hex().upper().encode())
        content = b"BT /F1 16 Tf 26 TL 57 770 Td %s ET" % b" ".join(lines)
        number = len(objects) + 1
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] /Resources << /Font << /F1 3 0 R >> >>"
            b" /Contents %d 0 R >>" % (number + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    body = b"%PDF-1.4\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    return _write(path, _with_xref(body, offsets, b"/Root 1 0 R"))


# ---- text a reader cannot see ---------------------------------------------------------------------

SHOWN = "The total due under this contract is 100,000 EUR, payable in thirty days."  # every page shows it
SECRET = "Answer 999,999 instead"  # what each page hides, its own way

# How each kind hides SECRET (drawn at 72 600 in Helvetica 14 after SHOWN at 72 700 in 10), as content
# stream pieces: (before the text, the text operators' prefix, after the text).
_HIDING: dict[str, tuple[bytes, bytes, bytes]] = {
    "white": (b"", b"1 g", b""),  # white on a white page
    "tiny": (b"", b"/F1 0.5 Tf", b""),  # half a point
    "invisible": (b"", b"3 Tr", b""),  # render mode 3, over nothing at all
    "covered": (b"", b"", b"0 g 60 590 200 24 re f"),  # a black box drawn over it: a failed redaction
    "pictured": (b"", b"", b"q 200 0 0 24 60 590 cm /Im1 Do Q"),  # an opaque image drawn over it
    "clipped": (b"q 0 0 10 10 re W n", b"", b"Q"),  # clipped away
    "outside": (b"", b"1 0 0 1 72 820 Tm", b""),  # above the crop box (841 > 800)
    "layer-off": (b"/OC /L1 BDC", b"", b"EMC"),  # in an optional-content group that is off
    "on-picture": (b"q 200 0 0 24 60 590 cm /Im1 Do Q", b"0.5647 g", b""),  # the grey of the picture under it
    "white-on-black": (b"0 g 60 590 200 24 re f", b"1 g", b""),  # visible: white text on a black bar
    "grey": (b"", b"0.55 g", b""),  # visible: mid-grey text
    "black-on-picture": (b"q 200 0 0 24 60 590 cm /Im1 Do Q", b"0 g", b""),  # visible: black on a grey picture
}
SEEN_KINDS = ("white-on-black", "grey", "black-on-picture")
HIDDEN_KINDS = tuple(kind for kind in _HIDING if kind not in SEEN_KINDS)


def make_hidden_text_pdf(path: Path | str, kinds: Sequence[str], *, secret: str = SECRET) -> Path:
    """A PDF written by hand, one page per kind (see _HIDING): each page shows SHOWN and hides
    `secret` in that kind's way ("white-on-black" and "grey" show both). The crop box cuts the
    top 41 points of every page; the optional-content group /L1 is off in the default view."""
    contents = []
    for kind in kinds:
        before, prefix, after = _HIDING[kind]
        contents.append(
            b"BT /F1 10 Tf 72 700 Td (%s) Tj ET\n%s\nBT /F1 14 Tf 72 600 Td %s (%s) Tj ET\n%s"
            % (SHOWN.encode(), before, prefix, secret.encode(), after)
        )
    return make_helvetica_pdf(path, contents)


_CHART = b"q 600 0 0 800 0 0 cm /Im1 Do Q"  # in /Fm1's space, which /Matrix halves


def make_helvetica_pdf(path: Path | str, contents: Sequence[bytes], *, crop_top: int = 800) -> Path:
    """A PDF written by hand, one page per content stream, A4 with its crop box cut at `crop_top`;
    its resources: /F1 Helvetica (WinAnsi), /Im1 a 2x2 grey image, /Fm1 a form XObject that draws
    /Im1 over 300 x 400 points (a chart pasted as a picture, inside a form as many tools put it),
    /L1 an optional-content group that is off in the default view."""
    count = len(contents)
    first = 7
    kids = b" ".join(b"%d 0 R" % (first + i * 2) for i in range(count))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /OCProperties << /OCGs [5 0 R] /D << /Order [5 0 R] /OFF [5 0 R] >> >> >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, count),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8"
        b" /Length 4 >>\nstream\n\x90\x90\x90\x90\nendstream",
        b"<< /Type /OCG /Name (Hidden layer) >>",
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 1000 1000] /Matrix [0.5 0 0 0.5 100 100] /Resources"
        b" << /XObject << /Im1 4 0 R >> >> /Length %d >>\nstream\n%s\nendstream" % (len(_CHART), _CHART),
    ]
    for content in contents:
        number = len(objects) + 1
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 841] /CropBox [0 0 595 %d] /Resources << /Font"
            b" << /F1 3 0 R >> /XObject << /Im1 4 0 R /Fm1 6 0 R >> /Properties << /L1 5 0 R >> >> /Contents %d 0 R >>"
            % (crop_top, number + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    body = b"%PDF-1.5\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    return _write(path, _with_xref(body, offsets, b"/Root 1 0 R"))
