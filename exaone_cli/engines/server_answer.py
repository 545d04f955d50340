"""A server's chat-completion answer as exaone's parts, whatever shape it came in.

OpenAI-compatible servers differ: `content` may be null or a list of parts, the reasoning comes in
`reasoning_content` or `reasoning`, an error may arrive as `{"error": {...}}` with HTTP 200 (a
server's own "CUDA out of memory"), `choices` may be empty. Every shape becomes either the parts
of an answer or `OddAnswer` with a message in words that quotes the server. The bodies are read
as the plain JSON the server sent (the openai client's `to_dict`), not through its typed models,
so a field the client does not know still counts. Text is made valid here (`valid_text`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .text import valid_text

_REASONING_FIELDS = ("reasoning_content", "reasoning")  # vLLM/SGLang with a reasoning parser; older vLLM


class OddAnswer(ValueError):
    """The server answered, but not with an answer (an error body, no choices, a shape no server
    should send). A ValueError, so the request is retried like a malformed body."""


@dataclass(frozen=True)
class ServerAnswer:
    """The parts of one answer: text made valid, the server's finish_reason as sent."""

    content: str
    reasoning: str | None
    finish_reason: object
    prompt_tokens: int = 0
    completion_tokens: int = 0


def read_answer(data: object) -> ServerAnswer:
    """A non-streamed answer body -> ServerAnswer; OddAnswer (quoting the server) otherwise."""
    choice = _first_choice(data, "answer")
    assert isinstance(data, Mapping)
    message = choice.get("message")
    if message is not None and not isinstance(message, Mapping):
        raise OddAnswer(f"the server's `message` is {_kind(message)}, not an object")
    message = message or {}
    content = _text(message.get("content"), "content")
    if not content and message.get("refusal"):
        raise OddAnswer(f"the server refused to answer: {_quote(message['refusal'])}")
    prompt, completion = _usage(data.get("usage"))
    return ServerAnswer(content, _reasoning(message), choice.get("finish_reason"), prompt, completion)


@dataclass(frozen=True)
class Delta:
    """One streamed chunk: new answer text, new reasoning text, finish_reason, usage if sent."""

    content: str = ""
    reasoning: str = ""
    finish_reason: object = None
    usage: tuple[int, int] | None = None


def read_delta(data: object) -> Delta:
    """A streamed chunk -> Delta. A chunk with no choices (the usage chunk) is fine; an error
    chunk raises OddAnswer quoting the server. Text is not made valid here: a surrogate pair may
    be split across chunks, so the caller joins the pieces first."""
    if not isinstance(data, Mapping):
        raise OddAnswer(f"the server streamed {_kind(data)}, not a JSON object")
    if data.get("error"):
        raise OddAnswer(f"the server's own error: {error_message(data['error'])}")
    usage = _usage(data["usage"]) if data.get("usage") else None
    choices = data.get("choices") or []
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
        return Delta(usage=usage)
    choice = choices[0]
    found = choice.get("delta")
    delta: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    reasoning = next((delta[k] for k in _REASONING_FIELDS if delta.get(k)), "")
    return Delta(
        _text(delta.get("content"), "content", valid=False),
        _text(reasoning, "reasoning", valid=False),
        choice.get("finish_reason"),
        usage,
    )


def error_message(error: object) -> str:
    """The server's own error, quoted: `{"message": ..., "type": ..., "code": ...}` or a string."""
    if isinstance(error, Mapping):
        message = error.get("message") or error.get("detail") or error.get("msg")
        extra = ", ".join(str(error[k]) for k in ("type", "code") if error.get(k) not in (None, ""))
        if message:
            return _quote(message) + (f" ({extra})" if extra else "")
    return _quote(error)


def _first_choice(data: object, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise OddAnswer(f"the server's {what} is {_kind(data)}, not a JSON object")
    choices = data.get("choices")
    if data.get("error") and not choices:
        raise OddAnswer(f"the server's own error: {error_message(data['error'])}")
    if not isinstance(choices, list):
        raise OddAnswer(f"the server's {what} has no `choices` list (got {_kind(choices)})")
    if not choices:
        raise OddAnswer(f"the server's {what} has no choices: `choices` is an empty list")
    if not isinstance(choices[0], Mapping):
        raise OddAnswer(f"the server's first choice is {_kind(choices[0])}, not an object")
    return choices[0]


def _text(value: object, what: str, *, valid: bool = True) -> str:
    """`content`/`reasoning` as text: null is empty, a list of parts is joined (the text of each
    part, OpenAI's `{"type": "text", "text": ...}` or a plain string); anything else is odd."""
    if value is None:
        return ""
    if isinstance(value, list):
        texts = (
            part if isinstance(part, str) else part.get("text") if isinstance(part, Mapping) else None for part in value
        )
        value = "".join(text for text in texts if isinstance(text, str))
    if not isinstance(value, str):
        raise OddAnswer(f"the server's `{what}` is {_kind(value)}, not text")
    return valid_text(value) if valid else value


def _reasoning(message: Mapping[str, Any]) -> str | None:
    for key in _REASONING_FIELDS:
        text = _text(message.get(key), key)
        if text:
            return text
    return None


def _usage(usage: object) -> tuple[int, int]:
    if not isinstance(usage, Mapping):
        return 0, 0

    def count(key: str) -> int:
        value = usage.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0

    return count("prompt_tokens"), count("completion_tokens")


def _quote(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(valid_text(text).split())
    return json.dumps(text[:300] + ("…" if len(text) > 300 else ""), ensure_ascii=False)


def _kind(value: object) -> str:
    return "null" if value is None else f"a {type(value).__name__}"
