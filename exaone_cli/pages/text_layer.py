"""A PDF page's own text layer, read with pdfium and judged page by page, without loading a model
(and without importing torch): milliseconds a page.

Born-digital PDFs carry their exact characters: reading them costs milliseconds where a
transcription costs seconds of GPU time and can only add errors. But text layers lie, so every
page gets a verdict before its layer is trusted:

Only what a reader sees is a page's text: each character is checked against a cheap grey render
of the page (pages/visibility.py), and text drawn white on white, too small to read, covered,
clipped, outside the crop box, in an optional-content layer that is off, in render mode 3 or
under an image drawn after it is left out of `text`, whatever the verdict; a page that hid any
is not `complete` (its reason says what was hidden and how), so `prefer` and document mode
send it to the model, which sees only what is drawn.

- `good`: readable text, drawn visibly: it can stand in for a transcription.
- `garbled`: characters that cannot be the page's text: fonts without a Unicode mapping (Korean
  CID fonts without /ToUnicode: pdfium flags them, and they come out as control bytes or letters
  of unrelated scripts), replacement, private-use and control characters, pdfminer's `(cid:N)`
  placeholders, Hangul as loose compatibility jamo where syllables belong.
- `invisible`: half the text or more is hidden: drawn invisibly (render mode 3 or 7) or under
  a page image (an earlier OCR laid over a scan, as weak as the OCR that made it), or any of the
  ways above (`text` holds the visible rest).
- `none`: no text, or a few characters over a page image (a stamp, a page number).

A `good` layer is still only the page's text, not what its pictures show: a page whose images
cover PICTURE_SHARE of it or more (a chart, a table pasted as a picture; small logos and icons
are not counted) keeps its verdict, with a reason saying how much the images cover, and is not
`complete` (ocr/text_sources.py sends it to the model).

This is the one API other parts of exaone use (`exaone ocr --text-layer`, document questions):

    from exaone_cli.pages.text_layer import read_text_layers
    for layer in read_text_layers(source, pages=[1, 2, 3], password=None):
        layer.page, layer.text, layer.verdict, layer.reason, layer.good
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import InputError
from ..inputs import Source
from .analysis import PageContent, page_content
from .annotations import describe, drawn_annotations
from .pdfium import PDFIUM_LOCK, init_forms, open_pdf
from .visibility import Visibility, char_visibility, visible_text

Verdict = Literal["good", "garbled", "invisible", "none"]
VERDICTS: tuple[Verdict, ...] = ("good", "garbled", "invisible", "none")

SAMPLE_CHARS = 256  # characters per page whose font mapping and visibility pdfium is asked about
UNMAPPED_SHARE = 0.1  # this share of sampled characters without a Unicode mapping: garbled
HIDDEN_SHARE = 0.5  # this share of the text invisible or under a page image: invisible
BAD_SHARE = 0.05  # replacement, private-use, control or unassigned characters: garbled past this
JAMO_SHARE = 0.2  # loose jamo among Hangul letters: garbled past this (lists use a few: ㄱ. ㄴ.)
STRAY_SCRIPT_SHARE = 0.2  # letters outside the page's two main scripts and the CJK+Latin family
SPARSE_CHARS = 20  # fewer characters than this over an image covering half the page: none
# Images drawn on a page, each covering at least SMALL_IMAGE of it (logos, icons and bullets stay
# under), that together cover PICTURE_SHARE of it show content the text layer does not hold.
# Our own choice: a quarter-page figure is a figure; 2% of A4 is a 3 cm square.
SMALL_IMAGE = 0.02
PICTURE_SHARE = 0.2


@dataclass(frozen=True)
class TextLayer:
    """One page's text layer and whether it can be trusted.

    `page`: 1-based, as `--pages` counts. `text`: the layer's visible text in the order pdfium
    gives it (content-stream order, with the line breaks pdfium infers), lines joined by "\\n",
    Unicode NFC; it is what the layer shows whatever the verdict, "" when there is none. `verdict`: good,
    garbled, invisible or none (see the module docstring). `reason`: one short line saying why
    the verdict is not `good`, or why a `good` layer is not `complete` (None when it is both).
    `pictures`: the share of the page its images cover (0..1, images under SMALL_IMAGE not
    counted). `hidden`: how many characters the layer holds that a reader cannot see (left out
    of `text`). `annotations`: how many filled-in form fields, FreeText notes, stamps, ink
    drawings and signatures the page shows besides (pages/annotations.py): their words are not
    in the layer."""

    page: int
    text: str
    verdict: Verdict
    reason: str | None = None
    pictures: float = 0.0
    hidden: int = 0
    annotations: int = 0

    @property
    def good(self) -> bool:
        return self.verdict == "good"

    @property
    def complete(self) -> bool:
        """The layer is good and says everything the page shows, and nothing more: its images
        cover less than PICTURE_SHARE of the page, it shows no form values or annotations with
        words of their own, and it held no hidden text (a page that hides text goes to the
        model, which sees only what is drawn). Only a complete layer may replace
        a transcription."""
        return self.good and self.pictures < PICTURE_SHARE and self.hidden == 0 and self.annotations == 0


def read_text_layers(
    source: Source, pages: Iterable[int] | None = None, password: str | None = None
) -> list[TextLayer]:
    """The text layer of each page of a PDF (`pages`: 1-based numbers, in the order wanted; None:
    every page), judged. No page is rendered and no model or torch is involved: a millisecond
    or two per page. A page pdfium cannot load, or whose text cannot be checked, is `none` with a
    reason: one page's fault never costs the file's other pages.

    Raises InputError when `source` is not a PDF, cannot be opened (encrypted without the right
    `password`, damaged), or has no page of a number asked for. Thread-safe: every pdfium call
    holds PDFIUM_LOCK, released between pages."""
    if source.kind != "pdf":
        raise InputError(f"{source.display}: not a PDF (only PDFs have a text layer)")
    with PDFIUM_LOCK:
        pdf = open_pdf(source, password)
        init_forms(pdf)  # so the render that checks visibility draws form fields as a viewer does
        count = len(pdf)
    try:
        numbers = list(range(1, count + 1)) if pages is None else list(pages)
        for number in numbers:
            if not 1 <= number <= count:
                raise InputError(f"{source.display}: no page {number} (it has {count})")
        layers = [_read_page(pdf, number) for number in numbers]
    finally:
        with PDFIUM_LOCK:
            pdf.close()
    if not source.page_texts and not source.page_doubts:
        return layers
    # A document rendered to this PDF knows some pages better (pages/hwp.py: its tables as
    # Markdown), and which pages' layers are not its text at all (a layout gone wrong).
    better, doubts = dict(source.page_texts), dict(source.page_doubts)
    layers = [
        replace(layer, verdict="garbled", reason=doubts[layer.page]) if layer.good and layer.page in doubts else layer
        for layer in layers
    ]
    return [
        replace(layer, text=better[layer.page]) if layer.good and layer.page in better else layer for layer in layers
    ]


def _read_page(pdf: Any, number: int) -> TextLayer:
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            page = pdf[number - 1]
        except pdfium.PdfiumError:
            return TextLayer(number, "", "none", "pdfium cannot load this page (damaged)")
        try:
            textpage = page.get_textpage()
            try:
                content = page_content(page)
                seen = char_visibility(page, textpage, content)
                raw = visible_text(textpage, seen.hidden) if seen.hidden else textpage.get_text_bounded()
                unmapped = _unmapped_share(textpage)
                shown = drawn_annotations(page, pdf.formenv.raw if pdf.formenv else None)
            finally:
                textpage.close()
        except pdfium.PdfiumError:
            return TextLayer(number, "", "none", "pdfium cannot read this page's text (damaged)")
        except Exception as exc:  # a check no page should fail: this page goes to the model, the others stand
            return TextLayer(number, "", "none", f"this page's text could not be checked ({type(exc).__name__}: {exc})")
        finally:
            page.close()
    text = decode_markers(unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")))
    verdict, reason = judge(
        text, unmapped=unmapped, hidden=seen.share(text), image_coverage=content.image_coverage, hidden_why=_why(seen)
    )
    pictures = picture_share(content)
    missing = []
    if seen.hidden:
        missing.append(f"{len(seen.hidden)} hidden character(s) left out of the text ({seen.describe()})")
    if pictures >= PICTURE_SHARE:
        missing.append(f"images cover {pictures:.0%} of the page: what they show is not in the text layer")
    if shown:
        missing.append(f"the page shows {describe(shown)} the text layer does not hold")
    if verdict == "good" and missing:
        reason = "; ".join(missing)
    annotations = sum(shown.values())
    return TextLayer(number, _CONTROLS.sub("", text), verdict, reason, pictures, len(seen.hidden), annotations)


# pdfium marks a hyphen at a line end, where it joins the two lines, with U+0002 (FPDFText_GetBoundedText)
# or U+FFFE (FPDFText_GetText): "founda\x02tional".
# Between two control bytes it is a garbled font's glyph id, not a hyphen: left for the verdict.
_LINE_END_HYPHEN = re.compile("(?<=[^\x00-\x1f])[\x02\ufffe](?=[^\x00-\x1f])")
# Controls other than newline and tab, and Unicode's non-characters: never a page's text. They are
# left in for the verdict (control bytes are a garbled font's signature) and taken out of `text`.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff]")


def decode_markers(text: str) -> str:
    """`text` with pdfium's line-end hyphen marker decoded as the page shows it: a hyphen, and the
    line break pdfium took out ("founda-\ntional", as a transcription of the page reads)."""
    return _LINE_END_HYPHEN.sub("-\n", text)


def _why(seen: Visibility) -> str:
    """What hid a page's text, for the `invisible` verdict: an earlier OCR when render mode 3 or a
    page image hid most of it, else the causes themselves (white text, tiny text, ...)."""
    ocr = seen.causes["invisible"] + seen.causes["under-image"]
    if ocr >= sum(seen.causes.values()) / 2:
        return "invisible or under a page image): an earlier OCR"
    return seen.describe() + ")"


def picture_share(content: PageContent) -> float:
    """The share of the page the images drawn on it cover together (0..1), leaving out images
    under SMALL_IMAGE each (overlaps count twice, capped at 1)."""
    return min(1.0, sum(image.coverage for image in content.images if image.coverage >= SMALL_IMAGE))


def _unmapped_share(textpage: Any) -> float:
    """Of up to SAMPLE_CHARS characters spread over the page (pdfium's own line breaks and
    spaces left out): the share whose font has no Unicode mapping for them and that decode to
    something implausible (a control byte, a letter of an unrelated script)."""
    import pypdfium2.raw as pdfium_c

    count = textpage.count_chars()
    sampled = unmapped = 0
    for index in range(0, count, max(1, -(-count // SAMPLE_CHARS))):
        if not pdfium_c.FPDFText_GetTextObject(textpage.raw, index):  # generated by pdfium
            continue
        sampled += 1
        if pdfium_c.FPDFText_HasUnicodeMapError(textpage.raw, index) == 1:
            code = pdfium_c.FPDFText_GetUnicode(textpage.raw, index)
            unmapped += code > 0x10FFFF or implausible(chr(code))
    return unmapped / sampled if sampled else 0.0


def judge(
    text: str,
    *,
    unmapped: float = 0.0,
    hidden: float = 0.0,
    image_coverage: float = 0.0,
    hidden_why: str = "invisible or under a page image): an earlier OCR",
) -> tuple[Verdict, str | None]:
    """The verdict on a page's layer text, with the reason when it is not good. `unmapped` and
    `hidden`: shares of the page's characters without a Unicode mapping and invisible to a
    reader (from pdfium; `text` holds the visible ones only); `image_coverage`: the largest
    share of the page one image covers; `hidden_why`: what hid the text, for the reason."""
    if hidden >= HIDDEN_SHARE:
        return "invisible", f"{hidden:.0%} of the text hidden ({hidden_why}"
    chars = sum(1 for ch in text if not ch.isspace())
    if chars == 0:
        return "none", "no text"
    if chars < SPARSE_CHARS and image_coverage >= 0.5:
        return "none", f"only {chars} character(s) over a page image"
    if unmapped >= UNMAPPED_SHARE:
        return "garbled", f"{unmapped:.0%} of characters unmapped to Unicode (no ToUnicode)"
    problem = text_problem(text)
    return ("garbled", problem) if problem else ("good", None)


_CID = re.compile(r"\(cid:\d+\)")
_COMMON_SCRIPTS = frozenset({"LATIN", "HANGUL", "CJK", "HIRAGANA", "KATAKANA", "GREEK"})


def text_problem(text: str) -> str | None:
    """Why `text` (NFC) cannot be a page's real text, or None: pure string checks, the part of
    the verdict that needs no PDF."""
    counts = Counter(text)
    kinds: Counter[str] = Counter()
    scripts: Counter[str] = Counter()
    for ch, n in counts.items():
        kind = _kind(ch)
        kinds[kind] += n
        if kind.startswith("letter:"):
            scripts[kind[7:]] += n
    total = sum(n for kind, n in kinds.items() if kind != "space")
    bad = {name: kinds[name] for name in ("replacement", "private-use", "control", "unassigned") if kinds[name]}
    if sum(bad.values()) >= 2 and sum(bad.values()) >= BAD_SHARE * total:
        listed = ", ".join(f"{n} {name}" for name, n in bad.items())
        return f"{listed} character(s) among {total}"
    placeholders = len(_CID.findall(text))
    if placeholders >= 3:
        return f"{placeholders} (cid:N) placeholders: the font has no Unicode mapping"
    jamo, old_syllables = loose_jamo(text)
    syllables = scripts["HANGUL"] + old_syllables
    if jamo >= 5 and jamo >= JAMO_SHARE * (jamo + syllables):
        return f"Hangul as loose jamo ({jamo} of {jamo + syllables} Hangul letters) where syllables belong"
    letters = sum(scripts.values())
    main = {script for script, _ in scripts.most_common(2)} | _COMMON_SCRIPTS
    stray = {script: n for script, n in scripts.items() if script not in main}
    if letters >= 10 and sum(stray.values()) >= STRAY_SCRIPT_SHARE * letters:
        names = ", ".join(sorted(stray, key=lambda s: -stray[s])[:4]).title()
        return f"letters scattered over unrelated scripts ({names}, ...)"
    return None


# A syllable written in conjoining jamo: leading consonant(s), vowel(s), optional trailing
# consonant(s). NFC composes the modern ones; old Hangul (Hancom's "ᄒᆞᆫ글") stays so: still text.
_JAMO_SYLLABLE = re.compile("[\u1100-\u115f\ua960-\ua97f]+[\u1160-\u11a7\ud7b0-\ud7c6]+[\u11a8-\u11ff\ud7cb-\ud7fb]*")
_CONJOINING = re.compile("[\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]")
# Compatibility jamo spelling out words: a run of them with a consonant followed by a vowel
# ("ㅇㅕㅇㅅㅜ"). A jamo chart or a list marker ("ㄱ. ", "ㄱ ㄲ ㄴ") has none.
_JAMO_RUN = re.compile("[\u3131-\u318e]{2,}")
_JAMO_SPELLING = re.compile("[\u3131-\u314e\u3165-\u3186][\u314f-\u3163\u3187-\u318e]")


def loose_jamo(text: str) -> tuple[int, int]:
    """(jamo where syllables belong, syllables written in conjoining jamo) in `text` (NFC): the
    jamo that spell out words letter by letter, and conjoining jamo that form no syllable."""
    syllables = len(_JAMO_SYLLABLE.findall(text))
    leftover = len(_CONJOINING.findall(_JAMO_SYLLABLE.sub("", text)))
    spelled = sum(len(run) for run in _JAMO_RUN.findall(text) if _JAMO_SPELLING.search(run))
    return spelled + leftover, syllables


def implausible(ch: str) -> bool:
    """Whether a character cannot be what a font meant: a control, private-use, unassigned or
    replacement character, or a letter of a script outside the common ones (a glyph id read as a
    code point lands in Oriya or Myanmar). pdfium flags characters whose font has no Unicode map
    even when its encoding decodes them right (French accents, Type 3 Latin): those count only
    when what they decode to is implausible."""
    kind = _kind(ch)
    if kind in ("replacement", "private-use", "control", "unassigned"):
        return True
    return kind.startswith("letter:") and kind[7:] not in _PLAUSIBLE_SCRIPTS


_PLAUSIBLE_SCRIPTS = _COMMON_SCRIPTS | {"CYRILLIC"}


@functools.lru_cache(maxsize=8192)
def _kind(ch: str) -> str:
    """What a character is for the checks: space, replacement, private-use, control, unassigned,
    jamo (loose Hangul letters), letter:SCRIPT, or other (digits, punctuation, symbols)."""
    if ch.isspace():
        return "space"
    code = ord(ch)
    if code == 0xFFFD:
        return "replacement"
    if 0xF000 <= code <= 0xF0FF:  # symbol fonts' bullets (Wingdings, Symbol) map here: not a fault
        return "other"
    category = unicodedata.category(ch)
    if category == "Co":
        return "private-use"
    if category == "Cc":
        return "control"
    if category in ("Cn", "Cs"):
        return "unassigned"
    if not category.startswith("L"):
        return "other"
    if 0x1100 <= code <= 0x11FF or 0x3131 <= code <= 0x318E or 0xA960 <= code <= 0xA97F or 0xD7B0 <= code <= 0xD7FF:
        return "jamo"
    return f"letter:{_script(ch)}"


def _script(ch: str) -> str:
    """The script of a letter, from its Unicode name: LATIN, HANGUL, CJK, TAMIL, ..."""
    words = unicodedata.name(ch, "UNKNOWN").split()
    if words[0] in ("FULLWIDTH", "HALFWIDTH") and len(words) > 1:
        words = words[1:]
    if words[0] in ("MATHEMATICAL", "MODIFIER", "SUPERSCRIPT", "SUBSCRIPT"):
        return "LATIN"
    return words[0]
