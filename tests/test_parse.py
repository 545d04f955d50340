"""Tests for exaone_cli.parse: think-block splitting and \\boxed{} extraction."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exaone_cli.parse import Answer, find_boxed, parse_answer, plain_text

FINAL_ANSWER_BODY = (
    '{"id": "x", "object": "chat.completion", "created": 0, "model": "fake-exaone", "choices": [{"index": 0, '
    '"message": {"role": "assistant", "content": "부가세는 \\\\boxed{35 cm} ++++++ 최종 답: '
    '\\\\boxed{\\\\text{1,118원}}", "reasoning": "영수증을 본다"}, "finish_reason": "stop"}], '
    '"usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}'
)

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
    # Issue #12 item 2: a tag shape splits the same way whatever the flag. These two cases
    # used to keep the tags in the answer with thinking off ("...-is-text"): reasoning leaked.
    ("no-think-mode-dangling-close-splits", "a</think>b", False, "a", "b", [], False),
    (
        "no-think-mode-leading-unclosed-think-is-unfinished-reasoning",
        "<think> \\boxed{2}",
        False,
        "\\boxed{2}",
        "",
        [],
        True,
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
    # Was "only-first-close-splits" (answer "a</think>b"): a second close left a tag and
    # reasoning in the answer (issue #12 item 2). The answer follows the last close.
    ("last-close-splits", "r</think>a</think>b", True, "r\n\na", "b", [], False),
    ("last-close-splits-thinking-off", "r</think>a</think>b", False, "r\n\na", "b", [], False),
    # The re-created bug reports (shared/cases/hardening/think-tags), thinking off.
    (
        "dangling-close-with-thinking-off",
        "The user wants a transcription. I will copy it.</think>\n\nhello 123",
        False,
        "The user wants a transcription. I will copy it.",
        "hello 123",
        [],
        False,
    ),
    (
        "unclosed-open-after-the-answer",
        "hello 123 <think>wait, is that a 1 or an l?",
        False,
        "wait, is that a 1 or an l?",
        "hello 123",
        [],
        False,
    ),
    (
        "unclosed-open-after-the-answer-thinking-on-never-closed",
        "hello 123 <think>wait",
        True,
        "hello 123\n\nwait",
        "",
        [],
        True,
    ),
    (
        "repeated-blocks",
        "<think>a</think>\n<think>b</think>\n\nanswer \\boxed{1}",
        False,
        "a\n\nb",
        "answer \\boxed{1}",
        ["1"],
        False,
    ),
    ("repeated-blocks-thinking-on", "<think>a</think><think>b</think>x", True, "a\n\nb", "x", [], False),
    ("close-then-unclosed-open", "r</think>ans <think>more", False, "r\n\nmore", "ans", [], False),
    ("second-block-never-closed-leaves-no-answer", "r</think>\n\n<think>more", True, "r\n\nmore", "", [], True),
    ("empty-answer-after-reasoning", "r</think>\n\n", False, "r", "", [], False),
    ("open-inside-reasoning-is-not-kept", "a <think> b</think>c", True, "a\n\nb", "c", [], False),
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
    # A command without a group takes one token as its argument, as TeX does (issue #12 item 7);
    # these three cases used to expect no box at all.
    ("digit-then-group-is-one-word", "\\boxed1{2}", ["1{2}"]),
    ("unmatched-brace-ends-the-word", "\\boxed 12{ and", ["12"]),
    ("whitespace-before-brace", "\\boxed {x}", ["x"]),
    ("newline-before-brace", "\\boxed\n\t{x}", ["x"]),
    ("json-doubled-command", "\\\\boxed{1}", ["1"]),
    ("line-break-then-command", "\\\\\\boxed{1}", ["1"]),
    ("json-doubled-escape-is-still-an-escape", "\\\\\\{x}", []),
    ("unterminated-ignored", "\\boxed{1 and more", []),
    ("unterminated-then-closed", "\\boxed{oops \\boxed{2}", ["2"]),
    ("unterminated-outer-inner-found", "\\boxed{a \\boxed{b}", ["b"]),
    ("one-token-argument-then-group", "\\boxed x \\boxed{y}", ["x", "y"]),
    ("one-token-after-space", "답: \\boxed 5", ["5"]),
    ("one-token-after-newline", "답: \\boxed\n5", ["5"]),
    # Issue #22 item 10: a braceless box takes the word the model meant, not TeX's one token,
    # and never the punctuation that ends the sentence.
    ("braceless-takes-the-number", "\\boxed 12", ["12"]),
    ("braceless-without-the-full-stop", "답은 \\boxed 12.", ["12"]),
    ("braceless-decimal-then-full-stop", "\\boxed 3.5.", ["3.5"]),
    ("braceless-negative-then-comma", "\\boxed -15, 그리고", ["-15"]),
    ("braceless-ideographic-full-stop", "\\boxed 42。", ["42"]),
    ("braceless-parenthesised-choice", "\\boxed (3).", ["(3)"]),
    ("braceless-unopened-paren-dropped", "(답: \\boxed 7)", ["7"]),
    ("braceless-escaped-percent-stays", "\\boxed 50\\%.", ["50\\%"]),
    ("braceless-punctuation-is-no-answer", "\\boxed . 그래서", []),
    ("braceless-colon-is-no-answer", "\\boxed: 12", []),
    ("braceless-stops-at-dollar", "$\\boxed 12$", ["12"]),
    ("one-token-control-word", "\\boxed\\pi r", ["\\pi"]),
    ("one-token-control-symbol", "\\boxed \\{", ["\\{"]),
    ("braceless-hangul-word", "\\boxed 서울", ["서울"]),
    ("blank-line-is-no-argument", "\\boxed\n\n5", []),
    ("close-brace-is-no-argument", "{\\boxed }", []),
    ("dollar-is-no-argument", "$\\boxed $", []),
    ("command-at-the-end", "\\boxed", []),
    ("one-token-in-code-is-no-box", "`\\boxed` 5", []),
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
    # `final` is the last box as plain text (issue #12 item 7); `boxed` stays as written.
    if not expected:
        assert result.final is None
    elif "\\\\boxed" not in text:  # JSON-doubled commands: see FINAL_CASES
        assert result.final == (plain_text(expected[-1]) or None)  # an empty box is no answer


# (id, answer, boxed, final): `final` is plain text for scripts, `boxed` raw (issue #12 item 7).
FINAL_CASES = [
    ("text-wrapper", "최종 답: \\boxed{\\text{1,118원}}", ["\\text{1,118원}"], "1,118원"),
    (
        "the-bug-report",
        "부가세는 \\boxed{35 cm} ++++++ 최종 답: \\boxed{\\text{1,118원}}",
        ["35 cm", "\\text{1,118원}"],
        "1,118원",
    ),
    ("mathrm", "\\boxed{12\\mathrm{kg}}", ["12\\mathrm{kg}"], "12kg"),
    ("textbf", "\\boxed{\\textbf{B}}", ["\\textbf{B}"], "B"),
    ("wrapper-with-space", "\\boxed{\\text {예}}", ["\\text {예}"], "예"),
    ("nested-wrappers", "\\boxed{\\textbf{\\text{42}}}", ["\\textbf{\\text{42}}"], "42"),
    ("braced-comma", "\\boxed{1{,}118}", ["1{,}118"], "1,118"),
    ("braced-decimal-point", "\\boxed{3{.}5}", ["3{.}5"], "3.5"),
    ("thin-space-digit-groups", "\\boxed{1\\,234\\,567}", ["1\\,234\\,567"], "1234567"),
    ("thin-space-before-unit", "\\boxed{35\\,\\text{cm}}", ["35\\,\\text{cm}"], "35 cm"),
    ("quad", "\\boxed{a\\quad b}", ["a\\quad b"], "a  b"),
    ("escaped-percent", "\\boxed{50\\%}", ["50\\%"], "50%"),
    ("escaped-dollar", "\\boxed{\\$42.50}", ["\\$42.50"], "$42.50"),
    ("math-stays", "\\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"], "\\frac{1}{2}"),
    ("unknown-command-stays", "\\boxed{\\pi r^2}", ["\\pi r^2"], "\\pi r^2"),
    ("one-token", "\\boxed 5", ["5"], "5"),
    (
        "json-doubled",
        "\\\\boxed{\\\\text{1,118원}}",
        ["\\\\text{1,118원}"],
        "1,118원",
    ),
    ("json-doubled-math", "\\\\boxed{\\\\frac{1}{2}}", ["\\\\frac{1}{2}"], "\\frac{1}{2}"),
    ("unmatched-wrapper-stays", "\\boxed{\\text}", ["\\text"], "\\text"),
    # Issue #22 item 10: math stays math, digit groups are one number, `\boxed 12.` is 12.
    (
        "left-brace-stays-escaped",
        "\\boxed{\\left\\{ 1, 2 \\right\\}}",
        ["\\left\\{ 1, 2 \\right\\}"],
        "\\left\\{ 1, 2 \\right\\}",
    ),
    (
        "text-inside-cases-stays",
        "\\boxed{\\begin{cases} 1 & \\text{if } x>0 \\\\ 0 & \\text{otherwise} \\end{cases}}",
        ["\\begin{cases} 1 & \\text{if } x>0 \\\\ 0 & \\text{otherwise} \\end{cases}"],
        "\\begin{cases} 1 & \\text{if } x>0 \\\\ 0 & \\text{otherwise} \\end{cases}",
    ),
    (
        "text-inside-array-stays",
        "\\boxed{\\begin{array}{c} \\text{a b} \\end{array}}",
        ["\\begin{array}{c} \\text{a b} \\end{array}"],
        "\\begin{array}{c} \\text{a b} \\end{array}",
    ),
    (
        "fraction-with-unit-stays-tex",
        "\\boxed{\\frac{1}{2}\\,\\text{cm}}",
        ["\\frac{1}{2}\\,\\text{cm}"],
        "\\frac{1}{2}\\,\\text{cm}",
    ),
    ("percent-in-math-stays-escaped", "\\boxed{\\frac{1}{2}\\%}", ["\\frac{1}{2}\\%"], "\\frac{1}{2}\\%"),
    ("negative-thin-space-group", "\\boxed{11,\\! 111}", ["11,\\! 111"], "11,111"),
    ("negative-thin-space-group-no-space", "\\boxed{1,\\!234,\\!567}", ["1,\\!234,\\!567"], "1,234,567"),
    ("braced-comma-then-thin-space", "\\boxed{11{,}\\!111}", ["11{,}\\!111"], "11,111"),
    ("comma-list-keeps-its-space", "\\boxed{3,\\ 5}", ["3,\\ 5"], "3, 5"),
    ("braceless-full-stop", "답은 \\boxed 12.", ["12"], "12"),
    ("braceless-word-with-group", "\\boxed 1{,}000.", ["1{,}000"], "1,000"),
]


@pytest.mark.parametrize(("answer", "boxed", "final"), [pytest.param(*case[1:], id=case[0]) for case in FINAL_CASES])
def test_final_is_plain_text_and_boxed_stays_raw(answer: str, boxed: list[str], final: str) -> None:
    result = parse_answer(answer, thinking=False)
    assert (result.boxed, result.final) == (boxed, final)


def test_the_final_answer_case_file_prints_plain_text() -> None:
    """shared/cases/hardening/final-answer/text.json, as the server sent it."""
    content = json.loads(FINAL_ANSWER_BODY)["choices"][0]["message"]["content"]
    result = parse_answer(content, thinking=False)
    assert result.final == "1,118원"
    assert result.boxed == ["35 cm", "\\text{1,118원}"]


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
    pytest.param("</think>" * (N // 8), id="many-close-tags"),
    pytest.param("</think><think>" * (N // 15), id="alternating-tags"),
    pytest.param("\\boxed" * (N // 6), id="one-token-arguments"),
    pytest.param("\\\\" * (N // 2) + "boxed{x}", id="long-backslash-run"),
    pytest.param("\\boxed{" + "\\text{" * (N // 6) + "}" * (N // 6) + "}", id="nested-wrappers"),
    pytest.param("\\boxed{" + "1\\,2{,}" * (N // 8) + "}", id="digit-groups"),
]


@pytest.mark.parametrize("text", PATHOLOGICAL)
@pytest.mark.parametrize("thinking", [True, False], ids=["thinking", "plain"])
def test_linear_time(text: str, thinking: bool) -> None:
    """Complexity guard: 100k characters of any shape must parse well under 1 s (of this process's
    CPU time, which other processes on a busy machine do not lengthen: under 0.1 s here, where a
    quadratic parse takes far longer)."""
    start = time.process_time()
    parse_answer(text, thinking)
    find_boxed(text)
    plain_text(text)
    assert time.process_time() - start < 1.0


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
    assert (result.final is None) == (not result.boxed)
    # Truncated used to require thinking=True; an explicit unclosed <think> is now unfinished
    # reasoning with thinking off too (issue #12 item 2), so the tag must be in the raw text.
    if result.truncated:
        assert thinking or "<think>" in raw
        assert result.answer == ""
        assert result.boxed == []
    for text in (result.answer, result.reasoning or ""):
        assert "<think>" not in text and "</think>" not in text  # tags never leak


@given(TEXT)
def test_the_flag_changes_nothing_once_a_close_tag_is_present(raw: str) -> None:
    if "</think>" in raw:
        assert parse_answer(raw, thinking=True) == parse_answer(raw, thinking=False)


@given(TEXT)
def test_final_is_the_last_box_as_plain_text(raw: str) -> None:
    result = parse_answer(raw, thinking=False)
    filled = [box for box in result.boxed if plain_text(box) and plain_text(box.replace("\\\\", "\\"))]
    if filled:
        last = filled[-1]
        assert result.final in (plain_text(last), plain_text(last.replace("\\\\", "\\")))
    else:
        assert result.final is None


@pytest.mark.parametrize(
    ("answer", "final"),
    [
        ("답은 \\boxed{42}입니다. (최종 답은 \\boxed{} 안에 넣었습니다.)", "42"),
        ("\\boxed{}", None),
        ("\\boxed{ }", None),
        ("\\boxed{\\text{}}", None),
    ],
)
def test_an_empty_box_is_no_final_answer(answer: str, final: str | None) -> None:
    """The model quoting the instruction (`\\boxed{}`) gave final "" and `--final-only` printed an
    empty line with exit code 0; an empty box is no answer: the last one with content counts."""
    assert parse_answer(answer, thinking=False).final == final


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


# ---- issue #22 item 10: what the model meant, as properties ------------------------------------

PUNCTUATION = st.text(alphabet=".,;:!?。，、！？", min_size=1, max_size=3)


@given(
    st.integers(min_value=-(10**9), max_value=10**9), st.sampled_from(["", *".,;:!?。"]), st.sampled_from([" ", "\n"])
)
def test_braceless_box_is_the_number_without_the_sentence_end(number: int, end: str, after: str) -> None:
    result = parse_answer(f"답은 \\boxed {number}{end}{after}다음", thinking=False)
    assert (result.boxed, result.final) == ([str(number)], str(number))


@given(PUNCTUATION, st.sampled_from([" ", "\n", "$"]))
def test_braceless_box_never_takes_punctuation(marks: str, after: str) -> None:
    assert parse_answer(f"\\boxed {marks}{after}", thinking=False).boxed == []


@given(st.integers(min_value=1000, max_value=10**12), st.sampled_from([",\\!", ",\\! ", "{,}\\!", "{,}"]))
def test_digit_groups_are_one_number(number: int, separator: str) -> None:
    written = f"{number:,}".replace(",", separator)
    assert parse_answer(f"\\boxed{{{written}}}", thinking=False).final == f"{number:,}"


MATH = st.lists(
    st.sampled_from(
        ["\\left\\{", "\\right\\}", "\\text{if }", "x", "&", "\\\\", "\\frac{1}{2}", "\\%", " ", "\\,", "1"]
    ),
    min_size=1,
    max_size=12,
).map("".join)


@given(MATH, st.sampled_from(["cases", "array", "aligned"]))
def test_math_stays_math(body: str, environment: str) -> None:
    """A box holding real TeX comes back as written: valid TeX, not a half-unwrapped mix."""
    content = f"\\begin{{{environment}}} {body} \\end{{{environment}}}"
    assert parse_answer(f"\\boxed{{{content}}}", thinking=False).final == content
