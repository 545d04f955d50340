"""Citations in answers: `[p. N]`, `[A p. N]` and the forms models actually write."""

from __future__ import annotations

from exaone_cli.parse import Citation, find_citations


def pages(text: str) -> list[tuple[str | None, int]]:
    return [(c.label, c.page) for c in find_citations(text)]


def test_the_fixed_forms() -> None:
    assert pages("위약금은 3,700만원입니다 [p. 87].") == [(None, 87)]
    assert pages("A는 [A p. 3], B는 [B p. 12]에 있습니다.") == [("A", 3), ("B", 12)]
    assert find_citations("[p. 1]") == [Citation(None, 1)]


def test_forms_models_write_instead() -> None:
    assert pages("[pp. 3-5]") == [(None, 3), (None, 4), (None, 5)]
    assert pages("[p. 3, 7]") == [(None, 3), (None, 7)]
    assert pages("[p.12] [A, p. 2] [A p. 2; B p. 7] [p. 3–4]") == [
        (None, 12), ("A", 2), ("A", 2), ("B", 7), (None, 3), (None, 4),
    ]  # fmt: skip
    assert pages("[p. 1-900]") == [(None, 1), (None, 900)]  # a huge range: its two ends, not 900 pages


def test_other_brackets_are_not_citations() -> None:
    assert pages("[1] [x] [link](https://a.b) [page 3] [P. 3] [p. three] \\boxed{[a, b]} [p. 3 and more]") == []


def test_hostile_output_parses_in_linear_time() -> None:
    # No timing: these finish at all only if the scan is linear (a backtracking regex would not).
    assert pages("[p. 1," * 200_000) == []
    assert len(find_citations("[p. 1]" * 100_000)) == 100_000
    assert pages("[" * 100_000 + "p. 2]") == [(None, 2)]
