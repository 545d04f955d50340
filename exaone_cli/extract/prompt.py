"""The extraction prompt (prompts/extract.txt) and the one repair prompt (prompts/extract_repair.txt)."""

from __future__ import annotations

import json
from typing import Any

from ..prompts import template

MAX_ANSWER_CHARS = 4000  # of a failed answer shown back to the model: enough to fix, bounded prompt


def extract_prompt(schema: dict[str, Any]) -> str:
    """The user text: the instructions (JSON only, values as written, null for what is not on the
    document) and the schema itself, compact, Korean as is."""
    return template("extract").format(schema=json.dumps(schema, ensure_ascii=False))


def repair_prompt(schema: dict[str, Any], answer: str, errors: list[str]) -> str:
    """The second and last attempt: the first prompt, the failed answer and what was wrong with it."""
    if len(answer) > MAX_ANSWER_CHARS:
        answer = answer[:MAX_ANSWER_CHARS] + " …"
    return template("extract_repair").format(
        prompt=extract_prompt(schema),
        answer=answer or "(nothing)",
        errors="\n".join(f"- {error}" for error in errors),
    )
