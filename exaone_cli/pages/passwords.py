"""The byte forms of a PDF password that the standard lets a file have been locked with.

A user types a password once; the file's writer turned it into bytes in one of several ways. ISO
32000-2 says: AES-256 (revision 6) passwords are SASLprep'd (RFC 4013: some characters mapped to
nothing or to a space, NFKC, then UTF-8), revisions 2-4 are PDFDocEncoding (Latin-1 for the
characters a user can type). Writers do not all follow it, and input methods differ (macOS gives
NFD), so the forms are tried in turn before a password is called wrong: as given, NFC,
SASLprep'd, and Latin-1 where the text has a Latin-1 form.
"""

from __future__ import annotations

import contextlib
import stringprep
import unicodedata

__all__ = ["password_forms", "saslprep"]


def password_forms(password: str) -> list[bytes]:
    """The byte forms of `password` to try, most likely first, each once."""
    forms: list[bytes] = []
    texts = [password, unicodedata.normalize("NFC", password)]
    prepared = saslprep(password)
    if prepared is not None:
        texts.append(prepared)
    for text in texts:
        forms.append(text.encode("utf-8", errors="surrogateescape"))
    for text in texts:
        with contextlib.suppress(UnicodeEncodeError):  # no Latin-1 form: Hangul, most of Unicode
            forms.append(text.encode("latin-1"))
    return list(dict.fromkeys(forms))


def saslprep(text: str) -> str | None:
    """RFC 4013 SASLprep of `text` as a query string (unassigned code points allowed), or None
    when the profile prohibits it (control characters, private use, bad bidi): such a password
    has no prepared form, and the other forms are still tried."""
    mapped = "".join(" " if stringprep.in_table_c12(c) else c for c in text if not stringprep.in_table_b1(c))
    prepared = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12, stringprep.in_table_c21, stringprep.in_table_c22, stringprep.in_table_c3,
        stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6, stringprep.in_table_c7,
        stringprep.in_table_c8, stringprep.in_table_c9,
    )  # fmt: skip
    if any(check(c) for c in prepared for check in prohibited):
        return None
    if any(stringprep.in_table_d1(c) for c in prepared):  # RFC 3454 section 6: bidi
        if any(stringprep.in_table_d2(c) for c in prepared):
            return None
        if not (stringprep.in_table_d1(prepared[0]) and stringprep.in_table_d1(prepared[-1])):
            return None
    return prepared
