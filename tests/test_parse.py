"""Tests for exaone_cli.parse: think-block splitting and \\boxed{} extraction."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exaone_cli.parse import Answer, find_boxed, parse_answer

# (id, raw, thinking, reasoning, answer, boxed, truncated)
SPLIT_CASES = [
    (
        "plain-answer",
        "The answer is \\boxed{4}.",
        False,
        None,
        "The answer is \\boxed{4}.",
        ["4"],
        False,
    ),
    (
        "plain-answer-in-thinking-mode-is-truncated-reasoning",
        "The answer is \\boxed{4}.",
        True,
        "The answer is \\boxed{4}.",
        "",
        [],
        True,
    ),
    (
        "reasoning-and-answer",
        "2+2 is 4.\n</think>\n\nThe answer is \\boxed{4}.",
        True,
        "2+2 is 4.",
        "The answer is \\boxed{4}.",
        ["4"],
        False,
    ),
    (
        "leading-think-with-whitespace",
        "  \n<think>\nhmm\n</think>\n\nok \\boxed{1}",
        True,
        "hmm",
        "ok \\boxed{1}",
        ["1"],
        False,
    ),
    ("empty-think-block", "<think></think>\n\nhi", True, "", "hi", [], False),
    ("empty-think-block-no-open", "</think>hi", True, "", "hi", [], False),
    (
        "truncated-in-reasoning",
        "<think>\nLet me try \\boxed{3} first... and then",
        True,
        "Let me try \\boxed{3} first... and then",
        "",
        [],
        True,
    ),
    (
        "no-think-mode-plain",
        "  Seoul is the capital: \\boxed{서울}\n",
        False,
        None,
        "Seoul is the capital: \\boxed{서울}",
        ["서울"],
        False,
    ),
    (
        "no-think-mode-with-think-block",
        "\n<think>\nwork \\boxed{0}\n</think>\n\\boxed{7}",
        False,
        "work \\boxed{0}",
        "\\boxed{7}",
        ["7"],
        False,
    ),
    (
        "no-think-mode-empty-think-block",
        "<think>\n\n</think>x",
        False,
        "",
        "x",
        [],
        False,
    ),
    (
        "no-think-mode-close-without-open-is-text",
        "a</think>b",
        False,
        None,
        "a</think>b",
        [],
        False,
    ),
    (
        "no-think-mode-unclosed-think-is-text",
        "<think> \\boxed{2}",
        False,
        None,
        "<think> \\boxed{2}",
        ["2"],
        False,
    ),
    (
        "boxes-only-in-reasoning",
        "maybe \\boxed{5}?\n</think>\nI am not sure.",
        True,
        "maybe \\boxed{5}?",
        "I am not sure.",
        [],
        False,
    ),
    (
        "only-first-close-splits",
        "r</think>a</think>b",
        True,
        "r",
        "a</think>b",
        [],
        False,
    ),
]


@pytest.mark.parametrize(
    ("raw", "thinking", "reasoning", "answer", "boxed", "truncated"),
    [pytest.param(*case[1:], id=case[0]) for case in SPLIT_CASES],
)
def test_split(
    raw: str,
    thinking: bool,
    reasoning: str | None,
    answer: str,
    boxed: list[str],
    truncated: bool,
) -> None:
    result = parse_answer(raw, thinking)
    assert result.reasoning == reasoning
    assert result.answer == answer
    assert result.boxed == boxed
    assert result.final == (boxed[-1] if boxed else None)
    assert result.truncated is truncated


def test_plain_answer_no_thinking() -> None:
    assert parse_answer("The answer is \\boxed{4}.", thinking=False) == Answer(
        reasoning=None, answer="The answer is \\boxed{4}.", boxed=["4"], final="4"
    )


def test_truncated_has_no_answer() -> None:
    result = parse_answer("  <think>  step 1 \\boxed{9}", thinking=True)
    assert result == Answer(reasoning="step 1 \\boxed{9}", answer="", truncated=True)
    assert result.boxed == []
    assert result.final is None


BOX_CASES = [
    ("simple", "\\boxed{42}", ["42"]),
    ("nested-braces", "\\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"]),
    ("escaped-close-brace", "\\boxed{a\\}b}", ["a\\}b"]),
    ("escaped-both-braces", "\\boxed{\\{x\\}}", ["\\{x\\}"]),
    ("escaped-backslash-then-brace", "\\boxed{a\\\\}b}", ["a\\\\"]),
    ("korean-won", "총액은 \\boxed{12,500원}", ["12,500원"]),
    ("korean-sentence", "답은 \\boxed{서울}입니다", ["서울"]),
    ("several-boxes", "\\boxed{1}, \\boxed{2} and \\boxed{3}", ["1", "2", "3"]),
    ("fbox", "\\fbox{x}", ["x"]),
    ("fbox-and-boxed", "\\fbox{x} \\boxed{y}", ["x", "y"]),
    ("fboxsep-not-a-box", "\\fboxsep{3pt} \\boxed{y}", ["y"]),
    ("boxedfoo-not-a-box", "\\boxedfoo{1} \\boxed{2}", ["2"]),
    ("digit-ends-command", "\\boxed1{2}", []),
    ("whitespace-before-brace", "\\boxed {x}", ["x"]),
    ("newline-before-brace", "\\boxed\n\t{x}", ["x"]),
    ("escaped-command-is-text", "\\\\boxed{1}", []),
    ("unterminated-ignored", "\\boxed{1 and more", []),
    ("unterminated-then-closed", "\\boxed{oops \\boxed{2}", ["2"]),
    ("unterminated-outer-inner-found", "\\boxed{a \\boxed{b}", ["b"]),
    ("command-without-brace", "\\boxed x \\boxed{y}", ["y"]),
    ("contents-stripped", "\\boxed{  42 }", ["42"]),
    ("contents-verbatim", "\\boxed{ x  =  \\text{a b} }", ["x  =  \\text{a b}"]),
    ("empty-box", "\\boxed{}", [""]),
    ("top-level-only", "\\boxed{\\boxed{1}+2}", ["\\boxed{1}+2"]),
    (
        "fenced-block-ignored",
        "```latex\n\\boxed{no}\n```\nSo \\boxed{yes}",
        ["yes"],
    ),
    ("tilde-fence-ignored", "~~~\n\\boxed{no}\n~~~\n\\boxed{yes}", ["yes"]),
    (
        "fence-closed-only-by-same-char-and-length",
        "````\n```\n\\boxed{no}\n~~~~\n````\n\\boxed{yes}",
        ["yes"],
    ),
    ("unclosed-fence-runs-to-end", "\\boxed{yes}\n```\n\\boxed{no}", ["yes"]),
    ("indented-fence", "- item\n  ```\n  \\boxed{no}\n  ```\n\\boxed{yes}", ["yes"]),
    ("inline-span-ignored", "Write `\\boxed{no}` like \\boxed{yes}", ["yes"]),
    ("double-backtick-span", "``a ` \\boxed{no}`` \\boxed{yes}", ["yes"]),
    ("one-line-triple-backticks-is-inline", "```\\boxed{no}``` \\boxed{yes}", ["yes"]),
    ("unmatched-backtick-is-literal", "it`s \\boxed{yes}", ["yes"]),
    ("span-needs-exact-length", "`` \\boxed{a} ` \\boxed{b}", ["a", "b"]),
    ("span-stops-at-blank-line", "a ` b\n\n\\boxed{yes} ` c", ["yes"]),
    ("braces-in-code-do-not-count", "\\boxed{x} `}` \\boxed{`{`y}", ["x"]),
    ("box-straddling-code-ignored", "\\boxed{a `}` b}", []),
]


@pytest.mark.parametrize(("text", "expected"), [pytest.param(t, e, id=i) for i, t, e in BOX_CASES])
def test_find_boxed(text: str, expected: list[str]) -> None:
    assert find_boxed(text) == expected
    result = parse_answer(text, thinking=False)
    assert result.boxed == expected
    assert result.final == (expected[-1] if expected else None)


def test_boxes_in_answer_after_reasoning() -> None:
    raw = "I think \\boxed{1}.\n</think>\n\n답: \\boxed{2}, 최종 \\boxed{3}"
    result = parse_answer(raw, thinking=True)
    assert result.boxed == ["2", "3"]
    assert result.final == "3"


def test_answer_is_frozen() -> None:
    result = parse_answer("x", thinking=False)
    with pytest.raises(AttributeError):
        result.answer = "y"  # type: ignore[misc]


N = 100_000
PATHOLOGICAL = [
    pytest.param("\\boxed{" * (N // 7), id="many-open-boxes"),
    pytest.param("{" * N, id="open-braces"),
    pytest.param("}" * N, id="close-braces"),
    pytest.param("\\boxed{" + "{" * N, id="box-then-open-braces"),
    pytest.param("\\boxed{x}" * (N // 9), id="many-boxes"),
    pytest.param("`" * N, id="one-long-backtick-run"),
    pytest.param("` " * (N // 2), id="many-single-backticks"),
    pytest.param("".join("`" * k + " " for k in range(1, 447)), id="distinct-backtick-runs"),
    pytest.param("```\n" * (N // 4), id="many-fence-lines"),
    pytest.param("```" + "`" * N, id="long-fence-line"),
    pytest.param("\\" * N, id="backslashes"),
    pytest.param("\\boxed" + " " * N, id="command-then-spaces"),
    pytest.param("\\boxed " * (N // 7), id="many-commands-no-brace"),
    pytest.param("\\fboxsep" * (N // 8), id="many-near-commands"),
    pytest.param("\n" * N, id="newlines"),
    pytest.param("<think>" * (N // 7), id="many-think-tags"),
    pytest.param("</think>" + "\\boxed{`" * (N // 8), id="boxes-and-backticks"),
]


@pytest.mark.parametrize("text", PATHOLOGICAL)
@pytest.mark.parametrize("thinking", [True, False], ids=["thinking", "plain"])
def test_linear_time(text: str, thinking: bool) -> None:
    """Complexity guard: 100k characters of any shape must parse well under 1 s."""
    start = time.perf_counter()
    parse_answer(text, thinking)
    find_boxed(text)
    assert time.perf_counter() - start < 1.0


FRAGMENTS = st.sampled_from(
    [
        "\\boxed{",
        "\\fbox{",
        "\\boxed ",
        "}",
        "{",
        "\\",
        "\\{",
        "\\}",
        "```",
        "~~~",
        "`",
        "``",
        "\n",
        "\n\n",
        " ",
        "x",
        "답",
        "<think>",
        "</think>",
    ]
)
TEXT = st.lists(st.one_of(FRAGMENTS, st.text(max_size=5)), max_size=60).map("".join)


def _balanced(content: str) -> bool:
    """Braces balanced, a backslash escaping the next character."""
    depth = 0
    i = 0
    while i < len(content):
        c = content[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


@given(TEXT, st.booleans())
def test_never_raises(raw: str, thinking: bool) -> None:
    result = parse_answer(raw, thinking)
    assert isinstance(result.answer, str)
    assert result.final == (result.boxed[-1] if result.boxed else None)
    if result.truncated:
        assert thinking
        assert result.answer == ""
        assert result.boxed == []


@given(st.text())
def test_never_raises_arbitrary_text(raw: str) -> None:
    parse_answer(raw, True)
    parse_answer(raw, False)


@given(TEXT)
def test_boxed_contents_balanced(raw: str) -> None:
    for content in find_boxed(raw):
        assert _balanced(content), content


@given(TEXT)
def test_boxes_come_from_the_answer(raw: str) -> None:
    result = parse_answer(raw, thinking=True)
    assert result.boxed == find_boxed(result.answer)
    for content in result.boxed:
        assert content in result.answer
        assert content == content.strip()
