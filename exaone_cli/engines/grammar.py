"""Constrained decoding for the local engine: an answer that is JSON matching a schema, by construction.

llguidance (guidance-ai/llguidance) compiles the JSON Schema into a grammar over the model's own
tokens and says, at every step, which tokens keep the output inside it; this logits processor
gives every other token a score of -inf, before temperature, top-k and top-p.

Ending within the token budget. A grammar says what may come next, not when to stop: a model
(the random test checkpoint, or a real one stuck in a loop) can keep a JSON string open until
--max-new-tokens cuts it, and a cut JSON is invalid. So each row also knows what the shortest
way out costs from where it stands: a deterministic closing rule (`ClosingRule`: end the string,
null for a value, close the list or object, the grammar's forced tokens, else the first allowed
character) is played out on a copy of the matcher. When no more tokens are left than that cost,
the row follows the rule for real and the JSON ends, complete, by the last token
(finish_reason "length"). A row whose output starts to loop (engines/repetition.py's rule) is
closed the same way ("repetition"). With thinking on, the reasoning is free text up to
`</think>`, ended early when only the answer's share of the budget is left.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import llguidance
import llguidance.hf
import numpy as np
import torch
from transformers import LogitsProcessor

from ..errors import UsageError
from .grammar_schema import THINK_END, compile_error, decoding_schema, lark_grammar  # noqa: F401 (re-exported)
from .repetition import DEFAULT_RULE, repeating_unit

ANSWER_SHARE = 4  # with thinking, the reasoning ends when 1/ANSWER_SHARE of --max-new-tokens is left
CHECK_EVERY = 8  # steps between closing-cost checks while the end of the budget is far
MAX_PLAYOUT = 2048  # tokens a closing playout may take before it counts as "longer than the budget"
_REPEATS = 8  # the same fallback token this many times in a row: try the next allowed one instead


@dataclass
class _Walk:
    """Where a closing playout stands: the last token the rule chose and how many times in a row;
    once a choice has repeated _REPEATS times, `turn` rotates the fallback choices instead."""

    last: int | None = None
    repeats: int = 0
    turn: int | None = None


class ClosingRule:
    """The shortest-way-out policy, as token ids found once per tokenizer.

    In order: the end-of-turn token when the JSON is complete; `</think>` while reasoning; the
    grammar's forced tokens (keys, punctuation); inside a free string, the closing quote;
    otherwise `]`, `}`, `null`, `"`, `{`, `[`, `,`; failing all, `1` or else the allowed one-byte
    token that comes first in byte order (`1`: 1111-11-11 is a date, 0000-00-00 is not). Once a
    choice has come _REPEATS times in a row, the fallback choices rotate instead, so a pattern
    like an e-mail address's `[a-z0-9.]+@` gets out of its loop."""

    _CLOSERS = (b"]", b"}", b"null", b"nul", b"nu", b"n", b'"', b"{", b"[", b",")

    def __init__(self, tokenizer: llguidance.LLTokenizer, think_end: int | None) -> None:
        self.eos = tokenizer.eos_token
        self.think_end = think_end
        by_bytes: dict[bytes, int] = {}
        singles: list[tuple[int, int]] = []
        for token in range(tokenizer.vocab_size):
            if tokenizer.is_special_token(token):
                continue
            data = tokenizer.decode_bytes([token])
            by_bytes.setdefault(data, token)
            if len(data) == 1:
                singles.append((data[0], token))
        self.closers = [by_bytes[b] for b in self._CLOSERS if b in by_bytes]
        self.quote = [by_bytes[b'"']] if b'"' in by_bytes else []
        self.text_probe = [by_bytes[b] for b in (b" ", b"a") if b in by_bytes]  # allowed only inside strings
        ones = [by_bytes[b"1"]] if b"1" in by_bytes else []
        self.fallback = ones + [token for _, token in sorted(singles) if token not in ones]
        self.width = max(self.fallback, default=0) + 1

    @staticmethod
    def allows(matcher: llguidance.LLMatcher, token: int) -> bool:
        return bool(matcher.validate_tokens([token]) == 1)

    def in_reasoning(self, matcher: llguidance.LLMatcher) -> bool:
        return self.think_end is not None and self.allows(matcher, self.think_end)

    def choose(self, matcher: llguidance.LLMatcher, walk: _Walk) -> int | None:
        """The rule's next token, or None when nothing is allowed (a matcher in error)."""
        if self.allows(matcher, self.eos):
            return self.eos
        if self.in_reasoning(matcher):
            return self.think_end
        forced = matcher.compute_ff_tokens()
        if forced:
            return int(forced[0])
        in_string = any(self.allows(matcher, token) for token in self.text_probe)
        for token in self.quote if in_string else self.closers:
            if self.allows(matcher, token):
                return self._note(walk, token)
        allowed = mask_bits(matcher, self.width)
        candidates = [token for token in self.fallback if allowed[token]]
        if not candidates:
            everything = np.flatnonzero(mask_bits(matcher, None))
            return int(everything[0]) if len(everything) else None
        if walk.turn is None:
            return self._note(walk, candidates[0])
        walk.turn += 1
        return self._note(walk, candidates[walk.turn % len(candidates)])

    @staticmethod
    def _note(walk: _Walk, token: int) -> int:
        walk.repeats = walk.repeats + 1 if token == walk.last else 1
        walk.last = token
        if walk.repeats >= _REPEATS and walk.turn is None:
            walk.turn = 0
        return token

    def cost(self, matcher: llguidance.LLMatcher, limit: int) -> int | None:
        """Tokens the rule needs from here to the end-of-turn token (included), or None if it
        needs more than `limit`."""
        playout, walk = matcher.deep_copy(), _Walk()
        for used in range(1, limit + 1):  # one token at a time, exactly as the rule will be followed
            token = self.choose(playout, walk)
            if token is None or not playout.consume_token(token):
                return None
            if token == self.eos:
                return used
        return None


def mask_bits(matcher: llguidance.LLMatcher, width: int | None) -> np.ndarray:
    """The matcher's allowed-token mask as booleans (one per token id, `width` of them)."""
    bits = np.unpackbits(np.frombuffer(matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
    return bits[:width].astype(bool)


class GrammarCompiler:
    """llguidance's view of the tokenizer (built once per engine: about a second for EXAONE's
    153,600 tokens) and the grammars compiled so far."""

    def __init__(self, hf_tokenizer: Any, n_vocab: int) -> None:
        self.n_vocab = n_vocab
        self.tokenizer = llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=n_vocab)
        think = hf_tokenizer.convert_tokens_to_ids(THINK_END)
        self.think_end = think if isinstance(think, int) and think != hf_tokenizer.unk_token_id else None
        self.rule = ClosingRule(self.tokenizer, self.think_end)
        self._grammars: dict[tuple[str, bool], str] = {}

    def matcher(self, schema: Mapping[str, Any], thinking: bool) -> llguidance.LLMatcher:
        """A fresh matcher for the schema; UsageError when llguidance cannot compile it."""
        if thinking and self.think_end is None:
            raise UsageError(f"--think with a schema needs a tokenizer with a {THINK_END} token", hint="use --no-think")
        key = (json.dumps(schema, sort_keys=True), thinking)
        if key not in self._grammars:
            self._grammars[key] = llguidance.LLMatcher.grammar_from_lark(lark_grammar(schema, thinking))
        matcher = llguidance.LLMatcher(self.tokenizer, self._grammars[key], log_level=0)
        if matcher.is_error():
            reason = compile_error(matcher.get_error())
            raise UsageError(f"the schema cannot be used for constrained decoding: {reason}", hint="fix the schema")
        return matcher

    def shortest_answer(self, schema: Mapping[str, Any], thinking: bool) -> int | None:
        """New tokens the schema's shortest answer takes with this tokenizer (the closing rule
        played out from the start: every nullable value null, the end-of-turn token included), or
        None when that is more than MAX_PLAYOUT. Below this --max-new-tokens, no answer can end."""
        return self.rule.cost(self.matcher(schema, thinking), MAX_PLAYOUT)

    def processor(self, prompts: Sequence[Any], prompt_length: int, max_new_tokens: int) -> JsonSchemaLogitsProcessor:
        rows = [_Row(self.matcher(p.schema, p.thinking), p.thinking) if p.schema else None for p in prompts]
        return JsonSchemaLogitsProcessor(rows, self.rule, prompt_length, max_new_tokens, self.n_vocab)


@dataclass
class _Row:
    matcher: llguidance.LLMatcher
    thinking: bool
    closing: str | None = None  # "length" or "repetition" once the row follows the closing rule
    walk: _Walk = field(default_factory=_Walk)
    cost: int | None = None
    next_check: int = 0  # the step at which the closing cost is worked out again
    tail: list[int] = field(default_factory=list)
    done: bool = False


class JsonSchemaLogitsProcessor(LogitsProcessor):
    """Masks each constrained row of a batch to its grammar; rows without a schema are left alone.

    `prompt_length` is the (left-padded) prompt width; `max_new_tokens` the budget every row must
    end within. `closed[i]` says why row i was closed early ("length", "repetition") or None."""

    def __init__(
        self, rows: list[_Row | None], rule: ClosingRule, prompt_length: int, max_new_tokens: int, n_vocab: int
    ) -> None:
        self.rows = rows
        self.rule = rule
        self.prompt_length = prompt_length
        self.max_new_tokens = max_new_tokens
        self.n_vocab = n_vocab

    @property
    def closed(self) -> list[str | None]:
        return [row.closing if row else None for row in self.rows]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = int(input_ids.shape[1]) - self.prompt_length
        remaining = self.max_new_tokens - generated
        allowed = np.ones(tuple(scores.shape), dtype=bool)
        for i, row in enumerate(self.rows):
            if row is None or row.done:
                continue
            if generated and not self._advance(row, int(input_ids[i, -1])):
                continue
            token = self._closing_token(row, generated, remaining)
            if token is not None:
                allowed[i] = False
                allowed[i, token] = True
            else:
                bits = mask_bits(row.matcher, scores.shape[1])
                allowed[i] = False
                allowed[i, : len(bits)] = bits
        mask = torch.from_numpy(allowed).to(scores.device)
        return scores.masked_fill(~mask, float("-inf"))  # type: ignore[return-value]

    def _advance(self, row: _Row, token: int) -> bool:
        """Feed the row's newest token to its matcher; False once the row is finished."""
        if token == self.rule.eos or not row.matcher.consume_token(token):
            row.done = True  # the end of the turn (or, never expected, a token the grammar refused)
            return False
        row.tail.append(token)
        return True

    def _closing_token(self, row: _Row, generated: int, remaining: int) -> int | None:
        """The token the closing rule dictates for this row now, or None to let the model choose."""
        if row.closing:
            return self.rule.choose(row.matcher, row.walk)
        reasoning = row.thinking and self.rule.in_reasoning(row.matcher)
        if len(row.tail) >= DEFAULT_RULE.min_span and repeating_unit(row.tail[-DEFAULT_RULE.window :]):
            row.tail.clear()
            return self._close(row, "repetition", reasoning)
        reserve = self.max_new_tokens // ANSWER_SHARE if reasoning else 0
        if generated >= row.next_check:
            row.cost = self.rule.cost(row.matcher, min(remaining + 1, MAX_PLAYOUT))
        if row.cost is None:  # the rule needs more than the tokens left, or than MAX_PLAYOUT
            if remaining < MAX_PLAYOUT:
                return self._close(row, "length", reasoning)
            row.next_check = generated + CHECK_EVERY
            return None
        # The margin covers the cost growing between checks and within one step (a new list item
        # can cost as much as the rest of its object): half the cost, and a little more.
        gap = remaining - (row.cost + row.cost // 2 + 8 + reserve)
        if gap <= 0:
            return self._close(row, "length", reasoning)
        if generated >= row.next_check:  # every CHECK_EVERY steps, every step at the end
            row.next_check = generated + max(1, min(CHECK_EVERY, gap // CHECK_EVERY))
        return None

    def _close(self, row: _Row, why: str, reasoning: bool) -> int | None:
        """End the reasoning (the model then writes the answer), or close the JSON for good."""
        if reasoning:
            row.next_check = 0
            return self.rule.think_end
        row.closing = why
        return self.rule.choose(row.matcher, row.walk)
