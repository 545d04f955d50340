"""JSON output: the public contract. Never ANSI, always valid, UTF-8 text as is."""

from __future__ import annotations

import json
from typing import IO, Any


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


def write_json(obj: Any, stream: IO[str]) -> None:
    stream.write(dumps(obj) + "\n")
    stream.flush()
