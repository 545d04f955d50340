"""The repetition guard stops loops and leaves ordinary text alone."""

from __future__ import annotations

import random

import pytest

from exaone_cli.engines.repetition import RepetitionRule, repeating_unit


def test_one_token_forever_is_caught_at_the_minimum_span() -> None:
    assert repeating_unit([7] * 63) is None
    assert repeating_unit([7] * 64) == 1


@pytest.mark.parametrize("unit", [[11, 12], [5, 9, 13], list(range(40, 60))])
def test_short_units_repeated_are_caught(unit: list[int]) -> None:
    rule = RepetitionRule()
    prefix = [1, 2, 3, 4, 5, 6]
    ids = prefix + unit * (rule.span(len(unit)) // len(unit) + 1)
    assert repeating_unit(ids, rule) == len(unit)


def test_hangul_loop_tokens_like_got_got_got() -> None:
    # "곧 곧 곧 …" tokenised as ["곧", " "] pairs, after some real text.
    text_ids = list(range(100, 160))
    assert repeating_unit(text_ids + [901, 17] * 40) == 2


def test_ordinary_text_and_short_repeats_pass() -> None:
    rng = random.Random(0)
    ids = [rng.randrange(1000) for _ in range(2000)]
    assert repeating_unit(ids) is None
    table_rule = [300, 301] * 20  # "|---" twenty times: 40 tokens, under the span
    assert repeating_unit(ids + table_rule) is None


def test_units_longer_than_the_limit_are_not_flagged() -> None:
    unit = list(range(500, 540))  # 40 tokens: a repeated paragraph, not a stuck decoder
    assert repeating_unit(unit * 10) is None


def test_a_loop_that_drifts_between_few_tokens_is_caught() -> None:
    # What a stuck decoder does in practice: "557 553" a while, then "557 215", then "215" alone...
    drift = [557, 553] * 20 + [557, 215] * 15 + [215] * 20 + [215, 293] * 20 + [215] * 15
    assert repeating_unit(list(range(200, 260)) + drift) is not None


def test_a_long_line_of_ordinary_korean_is_not_a_loop() -> None:
    rng = random.Random(1)
    vocabulary = list(range(1000, 1040))  # 40 syllable tokens, text written from them
    ids = [rng.choice(vocabulary) for _ in range(400)]
    assert repeating_unit(ids) is None
