"""Generated text made valid where it enters exaone: model and server output is untrusted data.

A server may send a lone UTF-16 surrogate (``"\\ud83d"`` is a legal JSON escape) and a model's
byte tokens may end mid-character; such text cannot be written as UTF-8 and once ended whole runs.
Both engines pass what they generate through `valid_text`, so everything after them (parsing,
JSON, files, terminals) holds only characters that can be encoded.
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"  # U+FFFD REPLACEMENT CHARACTER


def valid_text(text: str) -> str:
    """`text` with every lone surrogate (U+D800..U+DFFF not forming a pair) replaced by U+FFFD,
    one for one; a high+low pair that arrived as two code points becomes the character it encodes.

    The work is Python's own UTF-16 codec (``surrogatepass`` out, ``replace`` in), which follows
    the Unicode standard's rules for ill-formed UTF-16 (one U+FFFD per lone code unit).
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def replaced_characters(*texts: str | None) -> int:
    """How many U+FFFD replacement characters `texts` hold: what decoding (broken UTF-8 from byte
    tokens, by the tokenizer or the server) or `valid_text` put where text was not valid.
    A U+FFFD the model itself chose to write counts too; it is equally unreadable."""
    return sum(text.count(REPLACEMENT) for text in texts if text)
