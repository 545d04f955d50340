"""Citations in answers: `[p. N]`, `[A p. N]` and the forms models actually write."""

from __future__ import annotations

import pytest

from exaone_cli.parse import Citation, find_citations, unread_citations


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
    assert pages("[1] [x] [link](https://a.b) (2024) [p. three] \\boxed{[a, b]} [p. 3 and more] (3) (Exp. 3)") == []
    assert pages("(2p + 1) (step 3) (HP 3) (3 px) (p < 0.05) (x, 2p) (app 3)") == []
    assert unread_citations("(2p + 1) (step 3) (HP 3) (3 px) (p < 0.05) (x, 2p)") == []


# Issue #22 item 6: the forms models write in other brackets, cases and languages.
OTHER_FORMS = [
    ("(p. 3)", [(None, 3)]),
    ("【p. 3】", [(None, 3)]),
    ("[3쪽]", [(None, 3)]),
    ("[P. 3]", [(None, 3)]),
    ("[pp. 3-4]", [(None, 3), (None, 4)]),
    ("(3페이지)", [(None, 3)]),
    ("［p. 3］", [(None, 3)]),
    ("（3쪽）", [(None, 3)]),
    ("〔p. 3〕", [(None, 3)]),
    ("[page 3]", [(None, 3)]),
    ("[Page 3]", [(None, 3)]),
    ("(pages 3-4)", [(None, 3), (None, 4)]),
    ("[pg. 3]", [(None, 3)]),
    ("[페이지 3]", [(None, 3)]),
    ("[쪽 3]", [(None, 3)]),
    ("[3-4쪽]", [(None, 3), (None, 4)]),
    ("[3쪽, 5쪽]", [(None, 3), (None, 5)]),
    ("[3, 5페이지]", [(None, 3), (None, 5)]),
    ("[B 4쪽]", [("B", 4)]),
    ("(B p. 4)", [("B", 4)]),
    ("【A p. 2; B p. 7】", [("A", 2), ("B", 7)]),
    ("[PP. 3-4]", [(None, 3), (None, 4)]),
    # Without the period, with p after the number (Korean writing), with 제 before it.
    ("(p 3)", [(None, 3)]),
    ("(p3)", [(None, 3)]),
    ("[pg 3]", [(None, 3)]),
    ("(3p)", [(None, 3)]),
    ("[3-4p]", [(None, 3), (None, 4)]),
    ("(3 p.)", [(None, 3)]),
    ("[제3쪽]", [(None, 3)]),
    ("[제 3 페이지]", [(None, 3)]),
    ("[B p 4]", [("B", 4)]),
]


@pytest.mark.parametrize(("text", "expected"), OTHER_FORMS, ids=[t for t, _ in OTHER_FORMS])
def test_other_forms_are_read(text: str, expected: list[tuple[str | None, int]]) -> None:
    assert pages(f"답은 3,700만원입니다 {text}.") == expected
    assert unread_citations(text) == []


LOOKALIKES = ["[p. iii]", "(see p. 3)", "[p. 3 and more]", "[3쪽 표 2]", "【page xii】", "(p. 3 참조)"]


@pytest.mark.parametrize("text", LOOKALIKES)
def test_what_looks_like_a_citation_and_is_not_read_is_reported(text: str) -> None:
    answer = f"답은 여기 있습니다 {text}. 그리고 {text}."
    assert pages(answer) == []
    assert unread_citations(answer) == [text]  # as written, once


def test_ordinary_brackets_are_not_reported() -> None:
    answer = "[1] [x] (2024) (Exp. 3) [link](https://a.b) (약 3,700만원) (표 2 참조) (3)"
    assert unread_citations(answer) == []


def test_hostile_output_parses_in_linear_time() -> None:
    # No timing: these finish at all only if the scan is linear (a backtracking regex would not).
    assert pages("[p. 1," * 200_000) == []
    assert len(find_citations("[p. 1]" * 100_000)) == 100_000
    assert pages("[" * 100_000 + "p. 2]") == [(None, 2)]
    assert pages("(p. 1," * 200_000) == [] and pages("【" * 100_000 + "3쪽】") == [(None, 3)]
    assert len(unread_citations("(p. x) " * 100_000)) == 1


def test_sources_show_the_printed_label_beside_the_index() -> None:
    from exaone_cli.results import Cited, describe_pages

    cited = [Cited("r.pdf", 9, "5"), Cited("r.pdf", 10, "10"), Cited("r.pdf", 11, None), Cited("r.pdf", 2, "ii")]
    assert describe_pages(cited, labels=True) == "r.pdf p. 2 (printed ii), 9 (printed 5), 10-11"
    assert describe_pages(cited) == "r.pdf p. 2, 9-11"


def test_a_citation_inside_parentheses_is_still_found() -> None:
    assert pages("[B p. 12] ([A p. 12]는 관계없음, (p. 3) 참조)") == [("B", 12), ("A", 12), (None, 3)]
