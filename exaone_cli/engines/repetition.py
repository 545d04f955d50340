"""The runaway-repetition guard: stop a generation that keeps repeating a short unit.

OCR models sometimes loop on a unit ("곧 곧 곧 …", "| | | …", one token forever) until the token
limit, costing minutes per page. The guard looks at the tail of the generated token ids: when it
is periodic with a short period over a long enough span, the page is stopped and marked
`finish_reason: "repetition"`. Legitimate repetition in documents (a table rule, dot leaders)
is far shorter than the span required here.

Two signs count: a tail that is exactly periodic with a short period, and a tail that has cycled
through only a handful of distinct tokens for a long stretch (a loop that drifts between
"금액 금액 …" and "에서에서…" is no more useful than an exact one).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RepetitionRule:
    """A tail repeats when a unit of at most `max_unit` tokens covers the last
    max(`min_span`, unit * `min_repeats`) tokens."""

    max_unit: int = 32
    min_span: int = 64
    min_repeats: int = 8
    diversity_window: int = 128
    max_distinct: int = 8

    def span(self, unit: int) -> int:
        return max(self.min_span, unit * self.min_repeats)

    @property
    def window(self) -> int:
        """How many tail tokens a check may look at."""
        return max(self.span(self.max_unit), self.diversity_window)


DEFAULT_RULE = RepetitionRule()


def repeating_unit(ids: Sequence[int], rule: RepetitionRule = DEFAULT_RULE) -> int | None:
    """The length of the repeating unit at the end of `ids` (for a drifting loop, the number of
    distinct tokens it cycles through), or None.

    Cheap for the common case: a period u is only checked in full when the last token equals
    the one u places before it.
    """
    n = len(ids)
    if n < rule.min_span:
        return None
    if n >= rule.diversity_window:
        distinct = set(ids[n - rule.diversity_window :])
        if len(distinct) <= rule.max_distinct:
            return len(distinct)
    last = ids[-1]
    for unit in range(1, rule.max_unit + 1):
        span = rule.span(unit)
        if span > n or ids[-1 - unit] != last:
            continue
        if all(ids[i] == ids[i - unit] for i in range(n - span + unit, n)):
            return unit
    return None
