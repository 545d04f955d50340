"""Untrusted text on a terminal: control characters shown, never obeyed.

Model output, server messages and file names are data. On a terminal, ESC starts sequences that
recolour text, rewrite the screen, retitle the window (OSC 0) or, on some terminals, set the
clipboard (OSC 52); NUL, BEL, backspace and carriage return hide or overwrite text. So the rich and
text views pass such text through `for_terminal` when (and only when) it goes to a terminal:
every C0 control but newline and tab, DEL and every C1 control becomes a visible stand-in, and
lone surrogates become U+FFFD. Files and pipes get the exact text; JSON escapes controls
(json_text.py), so it is exact and inert everywhere.
"""

from __future__ import annotations

import re

from ..engines.text import valid_text

__all__ = ["for_terminal"]

# C0 except \t (09) and \n (0A), then DEL and C1 (7F..9F): ECMA-48's control functions.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    """Unicode's Control Pictures block (U+2400 + code: ESC -> ␛, NUL -> ␀; DEL -> ␡) for C0;
    C1 has no pictures, so `<9B>` names the byte."""
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"<{code:02X}>"


def for_terminal(text: str) -> str:
    """`text` safe to print on a terminal: same characters, controls made visible (`␛[31m`),
    Windows line ends (CRLF) as plain newlines, lone surrogates as U+FFFD. Linear time."""
    text = valid_text(text)
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return _CONTROLS.sub(_visible, text)
