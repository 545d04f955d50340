"""What the end of a generation means: the one place that decides whether a page is done.

Only a real stop is success. The token limit (`length`) and the repetition guard (`repetition`)
are cuts the record shows; every other way a server ends an answer (vLLM's `abort`, a
`content_filter`, a reason we do not know, none at all) is an error record, which `--resume`
retries. A stop with an empty answer is not an error but a warning with its reason: said on
stderr, in the record's `note`, and in the exit code (1). Retrying pages builds on these verdicts.
"""

from __future__ import annotations

from .base import FinishReason

# OpenAI's finish reasons (chat completions API reference): "stop" is the model's end of turn or
# a stop sequence, "length" the token limit. Hugging Face's inference spec (TGI) names the same
# stops "eos_token" and "stop_sequence" (huggingface.js TextGenerationStreamFinishReason).
_STOPS = frozenset({"stop", "eos_token", "stop_sequence"})
_CUTS = frozenset({"length"})
_WHY = {
    "abort": "the server aborted the request (vLLM ends requests this way on engine errors and shutdowns)",
    "content_filter": "the server's content filter withheld the answer",
    "tool_calls": "the server answered with a tool call, which exaone never asks for",
    "function_call": "the server answered with a function call, which exaone never asks for",
}


def server_finish(reason: object) -> tuple[FinishReason, str | None]:
    """A server's `finish_reason` as (exaone's finish reason, error message or None).

    `stop` (and its synonyms) -> ("stop", None); `length` -> ("length", None); anything else,
    including a missing reason (a stream cut off before its end), -> ("error", why in words,
    quoting the server's reason)."""
    if reason in _STOPS:
        return "stop", None
    if reason in _CUTS:
        return "length", None
    if reason is None:
        return "error", "the server ended the answer without a finish_reason (it may have been cut off)"
    why = _WHY.get(str(reason), "exaone does not know this reason, so the page may be incomplete")
    return "error", f"the server ended the answer with finish_reason {str(reason)[:80]!r}: {why}"


def empty_answer_note(answer: str, reasoning: str | None, truncated: bool, thinking: bool) -> str | None:
    """Why an answer is empty, for the record's `note` and a warning on stderr; None when the
    answer has text. The reasons a user can act on come first."""
    if answer.strip():
        return None
    if truncated:
        return "empty answer: the output stopped inside the reasoning (raise --max-new-tokens, or use --no-think)"
    size = len(reasoning.strip()) if reasoning else 0
    if size and not thinking:
        return (
            f"empty answer: all {size} characters came as reasoning although thinking was off "
            "(the server may ignore enable_thinking=false); the text is in `reasoning`"
        )
    if size:
        return f"empty answer after {size} characters of reasoning; the reasoning is in `reasoning`"
    return "empty answer: the model returned no text for this page"
