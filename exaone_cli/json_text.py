"""JSON output: the public contract. Never ANSI, always valid, UTF-8 text as is.

Text is exact: every string decodes back to what exaone held. Characters that could not be
written as UTF-8 (a lone surrogate, as a file name undecodable in UTF-8 becomes) or that a
terminal would obey (C0 controls, DEL, C1 controls) are written as JSON escapes (`\\udce9`,
`\\u001b`, `\\u009b`), never raw and never dropped.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

# json.dumps already escapes C0; DEL, C1 and surrogates it would write raw with ensure_ascii=False.
_RAW = re.compile("[\x7f-\x9f\ud800-\udfff]")


def dumps(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False)
    if text.isascii() and "\x7f" not in text:
        return text
    # Outside strings JSON holds only ASCII, so every match lies inside a string: escaping it there
    # is the same value written another way.
    return _RAW.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def write_json(obj: Any, stream: IO[str]) -> None:
    stream.write(dumps(obj) + "\n")
    stream.flush()
