"""What a PDF page shows outside its content stream: filled-in form fields, FreeText notes, stamps,
ink (hand-drawn signatures) and signature fields. Viewers draw them over the page, pdfium's text
layer does not hold them, so a page showing any is not taken as complete from its text layer
(a certificate whose body sits in a form field would come out as its one printed line).

Annotations a viewer does not draw (hidden or no-view flags, sticky notes' popups, links) and
those that add no words (highlights, lines, boxes: a box drawn over text is the visibility
check's business) are not counted. Callers hold `PDFIUM_LOCK` (pages/pdfium.py).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

# What each counted kind is called in a layer's reason.
KINDS = {
    "field": "filled-in form field",
    "checkbox": "ticked box",
    "note": "FreeText note",
    "stamp": "stamp",
    "ink": "ink drawing",
    "signature": "signature",
}


def drawn_annotations(page: Any, form: Any | None) -> Counter[str]:
    """How many annotations of each KINDS kind `page` (a pypdfium2 PdfPage) shows; `form` is the
    document's form handle (pypdfium2's `pdf.formenv.raw`), None without a form environment
    (widgets' values are then judged by their appearance stream alone)."""
    import pypdfium2.raw as pdfium_c

    found: Counter[str] = Counter()
    for index in range(pdfium_c.FPDFPage_GetAnnotCount(page.raw)):
        annot = pdfium_c.FPDFPage_GetAnnot(page.raw, index)
        if not annot:
            continue
        try:
            kind = _kind(annot, form)
        finally:
            pdfium_c.FPDFPage_CloseAnnot(annot)
        if kind is not None:
            found[kind] += 1
    return found


def describe(found: Counter[str]) -> str:
    """'2 filled-in form field(s), 1 stamp(s)'."""
    return ", ".join(f"{n} {KINDS[kind]}(s)" for kind, n in found.most_common())


def _kind(annot: Any, form: Any | None) -> str | None:
    import pypdfium2.raw as pdfium_c

    if pdfium_c.FPDFAnnot_GetFlags(annot) & (pdfium_c.FPDF_ANNOT_FLAG_HIDDEN | pdfium_c.FPDF_ANNOT_FLAG_NOVIEW):
        return None
    subtype = pdfium_c.FPDFAnnot_GetSubtype(annot)
    drawn = bool(pdfium_c.FPDFAnnot_HasKey(annot, b"AP"))
    if subtype == pdfium_c.FPDF_ANNOT_FREETEXT:
        return "note" if drawn or _string(annot, b"Contents") else None
    if subtype in (pdfium_c.FPDF_ANNOT_STAMP, pdfium_c.FPDF_ANNOT_INK):
        return ("stamp" if subtype == pdfium_c.FPDF_ANNOT_STAMP else "ink") if drawn else None
    if subtype != pdfium_c.FPDF_ANNOT_WIDGET:
        return None
    field = pdfium_c.FPDFAnnot_GetFormFieldType(form, annot) if form else pdfium_c.FPDF_FORMFIELD_UNKNOWN
    if field == pdfium_c.FPDF_FORMFIELD_SIGNATURE:
        return "signature" if drawn else None
    if field in (pdfium_c.FPDF_FORMFIELD_CHECKBOX, pdfium_c.FPDF_FORMFIELD_RADIOBUTTON):
        return "checkbox" if pdfium_c.FPDFAnnot_IsChecked(form, annot) else None
    if field in (pdfium_c.FPDF_FORMFIELD_TEXTFIELD, pdfium_c.FPDF_FORMFIELD_COMBOBOX, pdfium_c.FPDF_FORMFIELD_LISTBOX):
        # The value's length in bytes of UTF-16 with its terminator: 2 for an empty field.
        return "field" if pdfium_c.FPDFAnnot_GetFormFieldValue(form, annot, None, 0) > 2 else None
    if field == pdfium_c.FPDF_FORMFIELD_UNKNOWN and drawn and _string(annot, b"V"):
        return "field"  # no form environment: a widget drawn with a value of its own
    return None


def _string(annot: Any, key: bytes) -> bool:
    """Whether the annotation's string entry `key` is non-empty."""
    import pypdfium2.raw as pdfium_c

    return pdfium_c.FPDFAnnot_GetStringValue(annot, key, None, 0) > 2
