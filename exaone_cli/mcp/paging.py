"""Tool results an agent can take whole: a result over about 20,000 tokens is handed over in
parts, each saying how to get the next (a cursor), never cut short without a word.

Agents refuse large tool results (Claude Code stops at 25,000 tokens), so a 300-page transcript
comes back in parts. The whole result is kept in memory for the server's life (the last few),
and each part is a valid result on its own: the same head (what was asked, totals), a run of the
items, which items these are, and the cursor of the rest.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InputError

TOKEN_BUDGET = 20_000
KEPT_RESULTS = 32
Shape = Callable[[list[dict[str, Any]]], dict[str, Any]]  # a part's items -> its body (e.g. grouped by file)


def estimate_tokens(text: str) -> int:
    """An upper estimate of a text's tokens for today's agent models: one per character outside
    ASCII (a Hangul syllable costs about one), one per three ASCII characters."""
    wide = sum(1 for char in text if ord(char) > 127)
    return wide + (len(text) - wide) // 3 + 1


def _tokens(value: Any) -> int:
    return estimate_tokens(json.dumps(value, ensure_ascii=False))


def split_text(item: dict[str, Any], field: str, budget: int) -> list[dict[str, Any]]:
    """An item whose `field` alone passes the budget, as parts of that text (`part`, `parts`),
    cut at line ends where possible; others as they are. Text is measured as it travels, escaped
    in JSON (a line end is two characters there)."""
    text = item.get(field)
    if not isinstance(text, str) or _tokens(item) <= budget:
        return [item]
    pieces: list[str] = []
    current, used = "", 0
    for line in text.splitlines(keepends=True):
        while _tokens(line) > budget:  # one line longer than a part: cut it by characters
            cut = _fitting(line, budget)
            if current:
                pieces.append(current)
                current, used = "", 0
            pieces.append(line[:cut])
            line = line[cut:]
        cost = _tokens(line)
        if current and used + cost > budget:
            pieces.append(current)
            current, used = "", 0
        current, used = current + line, used + cost
    if current:
        pieces.append(current)
    return [{**item, field: piece, "part": n, "parts": len(pieces)} for n, piece in enumerate(pieces, 1)]


def _fitting(text: str, budget: int) -> int:
    low, high = 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if _tokens(text[:middle]) <= budget else (low, middle - 1)
    return low


@dataclass
class _Kept:
    tool: str
    head: dict[str, Any]
    items: list[dict[str, Any]]
    shape: Shape


class Pager:
    """Results by cursor, the most recent KEPT_RESULTS of them; thread-safe (tools run on worker
    threads)."""

    def __init__(self, budget: int = TOKEN_BUDGET, keep: int = KEPT_RESULTS) -> None:
        self.budget = budget
        self.keep = keep
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def first(self, tool: str, head: dict[str, Any], items: list[dict[str, Any]], shape: Shape) -> dict[str, Any]:
        """The first part of a result: all of it when it fits the budget."""
        part_budget = max(self.budget - _tokens(head) - 300, self.budget // 4)
        items = [part for item in items for part in split_text(item, "text", part_budget)]
        with self._lock:
            key = secrets.token_hex(4)
            self._kept[key] = _Kept(tool, head, items, shape)
            while len(self._kept) > self.keep:
                self._kept.popitem(last=False)
        return self._part(key, 0)

    def next(self, tool: str, cursor: str) -> dict[str, Any]:
        """The part a cursor names. InputError for a cursor this server does not hold (another
        tool's, a restarted server's, one too old)."""
        key, _, start = cursor.strip().partition(":")
        with self._lock:
            kept = self._kept.get(key)
        if kept is None or kept.tool != tool or not start.isdigit() or int(start) >= len(kept.items):
            raise InputError(
                f"cursor {cursor!r} is not one this server holds for {tool} (it keeps the last {self.keep} results)",
                hint=f"call {tool} again with the same arguments and no cursor",
            )
        return self._part(key, int(start))

    def _part(self, key: str, start: int) -> dict[str, Any]:
        kept = self._kept[key]
        total, budget = len(kept.items), self.budget - _tokens(kept.head) - 300
        end, used = start, 0
        while end < total:
            cost = _tokens(kept.items[end])
            if end > start and used + cost > budget:
                break
            used += cost
            end += 1
        items = kept.shape(kept.items[start:end])
        if start == 0 and end == total:
            return {**kept.head, **items}
        more = end < total
        cursor = f"{key}:{end}" if more else None
        paging = {
            "items": f"{start + 1}-{end} of {total}",
            "next_cursor": cursor,
            "how": (
                f"This is part of a larger result. Call {kept.tool} again with cursor={cursor!r} "
                "(other arguments are then ignored) for the next part."
                if more
                else "This is the last part of the result."
            ),
        }
        return {**kept.head, "paging": paging, **items}
