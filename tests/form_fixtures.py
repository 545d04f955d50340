"""One-page PDFs whose visible text lives only in forms and annotations, written byte by byte.

After pypdfium2 #311 / pdfplumber #1367 (and the re-creation in tests/cases/): a filled field's
value is not in the page content but in the field's appearance stream (or only in its /V, for
a viewer to draw). Each PDF puts the text that must show inside `VALUE_RECT` (PDF points), and
a label outside it; `shows` says whether a viewer shows the value there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

VALUE_RECT = (150, 690, 450, 720)  # x0, y0, x1, y1 in points; the page is US Letter, 612 x 792
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
_CONTENT = b"BT /F1 18 Tf 72 700 Td (Name:) Tj ET"
_TEXT_AP = b"/Tx BMC q BT /F1 18 Tf 0 g 4 8 Td (FILLED-42) Tj ET Q EMC"
_CROSS_AP = b"q 0 g 4 w 4 4 m 296 26 l S 4 26 m 296 4 l S Q"  # a thick X across the field


@dataclass(frozen=True)
class FormCase:
    name: str
    shows: bool  # whether a viewer (poppler, Acrobat) shows something in VALUE_RECT
    acroform: bool  # the catalog lists the field in /AcroForm
    annot: bytes  # the annotation dictionary, without << >>
    need_appearances: bool = False
    with_ap: bytes | None = _TEXT_AP  # the normal appearance stream, if any
    state: bytes | None = None  # an on/off field in this /AS state; its appearance is for /Yes


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


def form_pdf(case: FormCase) -> bytes:
    """The PDF for `case`: catalog, pages, font, page, content, annotation, appearance."""
    x0, y0, x1, y1 = VALUE_RECT
    form = b""
    if case.acroform:
        need = b" /NeedAppearances true" if case.need_appearances else b""
        form = b" /AcroForm << /Fields [6 0 R] /DA (/F1 18 Tf 0 g) /DR << /Font << /F1 3 0 R >> >>%s >>" % need
    ap = b" /AP << /N 7 0 R >>" if case.with_ap is not None else b""
    if case.state is not None:
        ap = b" /AS /%s /AP << /N << /Yes 7 0 R >> >>" % case.state  # drawn only when on
    bbox = b"/Type /XObject /Subtype /Form /BBox [0 0 %d %d] /Resources << /Font << /F1 3 0 R >> >>" % (
        x1 - x0,
        y1 - y0,
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R%s >>" % form,
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        _FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>"
        b" /Contents 5 0 R /Annots [6 0 R] >>",
        _stream(_CONTENT),
        b"<< /Type /Annot %s /Rect [%d %d %d %d] /P 4 0 R%s >>" % (case.annot, x0, y0, x1, y1, ap),
        _stream(case.with_ap or b"", bbox),
    ]
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(body))
        body += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return body


_FIELD = b"/Subtype /Widget /FT /Tx /T (name) /V (FILLED-42) /DA (/F1 18 Tf 0 g) /F 4"
FORM_CASES = [
    FormCase("field-in-a-complete-form", True, acroform=True, annot=_FIELD),
    FormCase("value-only-need-appearances", True, acroform=True, annot=_FIELD, need_appearances=True, with_ap=None),
    FormCase("widget-without-acroform", True, acroform=False, annot=_FIELD),  # a page copied out of its form
    FormCase(
        "checkbox-on",
        True,
        acroform=True,
        annot=b"/Subtype /Widget /FT /Btn /T (agree) /V /Yes /F 4",
        with_ap=_CROSS_AP,
        state=b"Yes",
    ),
    FormCase(
        "checkbox-without-acroform",
        True,
        acroform=False,
        annot=b"/Subtype /Widget /FT /Btn /T (agree) /V /Yes /F 4",
        with_ap=_CROSS_AP,
        state=b"Yes",
    ),
    FormCase(
        "checkbox-off",
        False,
        acroform=True,
        annot=b"/Subtype /Widget /FT /Btn /T (agree) /V /Off /F 4",
        with_ap=_CROSS_AP,
        state=b"Off",
    ),
    FormCase(
        "free-text-note",
        True,
        acroform=False,
        annot=b"/Subtype /FreeText /Contents (FILLED-42) /F 4 /DA (/F1 18 Tf 0 g)",
    ),
    FormCase("stamp", True, acroform=False, annot=b"/Subtype /Stamp /F 4", with_ap=_CROSS_AP),
    FormCase("hidden-widget", False, acroform=True, annot=_FIELD.replace(b"/F 4", b"/F 2")),
    FormCase("hidden-orphan-widget", False, acroform=False, annot=_FIELD.replace(b"/F 4", b"/F 2")),
    FormCase("no-view-widget", False, acroform=True, annot=_FIELD.replace(b"/F 4", b"/F 36")),
]


def write_form_pdf(folder: Path, case: FormCase) -> Path:
    path = folder / f"{case.name}.pdf"
    path.write_bytes(form_pdf(case))
    return path
