"""The extraction prompt (prompts/extract.txt) and the one repair prompt (prompts/extract_repair.txt)."""

from __future__ import annotations

import json
from typing import Any

from ..prompts import neutralize, template

MAX_ANSWER_CHARS = 4000  # of a failed answer shown back to the model: enough to fix, bounded prompt


def extract_prompt(schema: dict[str, Any], text: str | None = None) -> str:
    """The user text: the instructions (JSON only, values as written, null for what is not on the
    document) and the schema itself, compact, Korean as is. With `text` (a document read as text,
    with no page images), that text after them."""
    prompt = template("extract").format(schema=json.dumps(schema, ensure_ascii=False))
    if text is None:
        return prompt
    return f"{prompt}\n\nThe document's text (no page images: it is read as text):\n{neutralize(text)}"


def repair_prompt(schema: dict[str, Any], answer: str, errors: list[str], text: str | None = None) -> str:
    """The second and last attempt: the first prompt, the failed answer and what was wrong with it."""
    if len(answer) > MAX_ANSWER_CHARS:
        answer = answer[:MAX_ANSWER_CHARS] + " …"
    return template("extract_repair").format(
        prompt=extract_prompt(schema, text),
        answer=answer or "(nothing)",
        errors="\n".join(f"- {error}" for error in errors),
    )
