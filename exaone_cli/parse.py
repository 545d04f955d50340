"""Split EXAONE 4.5 output into reasoning and answer; pull out ``\\boxed{}`` answers.

In thinking mode EXAONE 4.5 usually emits *no* opening ``<think>``: the text is
``reasoning ... </think>\\n\\nanswer``.  A token limit can stop generation inside
the reasoning, so a missing ``</think>`` means "truncated", not "no reasoning".

Boxes are read only from the answer, and only where a Markdown renderer would
show them as math: text inside fenced code blocks or inline code spans is
opaque.  Every step is a single left-to-right pass (or a constant number of
them) with no backtracking regexes, so hostile or degenerate model output of
any size parses in linear time and never raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import accumulate

__all__ = ["Answer", "find_boxed", "parse_answer"]

_OPEN = "<think>"
_CLOSE = "</think>"
_COMMANDS = ("boxed", "fbox")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True)
class Answer:
    """One parsed generation.

    ``reasoning`` is None when the output had no think block at all;
    ``truncated`` is True only in thinking mode when ``</think>`` never came,
    in which case everything generated is reasoning and there is no answer.
    ``final`` is the last top-level box of the answer, the model's convention
    for its final result.
    """

    reasoning: str | None
    answer: str
    boxed: list[str] = field(default_factory=list)
    final: str | None = None
    truncated: bool = False


def parse_answer(raw: str, thinking: bool) -> Answer:
    """Parse raw generated text.

    thinking=True: a leading ``<think>`` (after whitespace) is dropped because
    chat templates sometimes put it in the prompt and sometimes not; text
    before the first ``</think>`` is reasoning.  No ``</think>`` means the
    output stopped mid-reasoning.

    thinking=False: the text is the answer, unless it visibly starts with a
    complete ``<think>...</think>`` block (the model reasoned anyway).
    """
    body = raw.lstrip()
    has_open = body.startswith(_OPEN)
    if has_open:
        body = body[len(_OPEN) :]
    end = body.find(_CLOSE)
    if thinking and end < 0:
        return Answer(reasoning=body.strip(), answer="", truncated=True)
    if end < 0 or not (thinking or has_open):
        return _with_boxes(None, raw.strip())
    return _with_boxes(body[:end].strip(), body[end + len(_CLOSE) :].strip())


def _with_boxes(reasoning: str | None, answer: str) -> Answer:
    boxed = find_boxed(answer)
    return Answer(reasoning, answer, boxed, boxed[-1] if boxed else None)


def find_boxed(text: str) -> list[str]:
    r"""Return stripped contents of top-level ``\boxed``/``\fbox`` boxes, in order.

    Rules (each chosen to keep one linear pass and to match what a reader sees):

    * The command name must end where it does: ``\boxedfoo``/``\fboxsep`` are
      other commands.  Whitespace may separate the command from ``{``.
    * A backslash escapes the next character, so ``\{``/``\}`` do not count
      as braces and ``\\boxed`` is a line break followed by the word "boxed".
    * Code is opaque: braces inside code do not count, and a box counts only
      if its command, braces and content all lie outside code.
    * A box nested in another box is part of the outer content.
    * A box whose ``{`` is never matched (or whose content contains code) is
      ignored and scanning resumes right after that ``{``, so in
      ``\boxed{a \boxed{b}`` the inner ``b`` is still found.
    """
    n = len(text)
    code = _code_mask(text)
    match = _match_braces(text, code)
    code_before = list(accumulate(code, initial=0))
    found: list[str] = []
    i = 0
    while i < n:
        if code[i] or text[i] != "\\":
            i += 1
            continue
        name = next((c for c in _COMMANDS if text.startswith(c, i + 1)), None)
        j = i + 1 + len(name) if name else n
        if name is None or (j < n and text[j] in _ASCII_LETTERS):
            i += 2  # some other command or escaped character
            continue
        while j < n and not code[j] and text[j].isspace():
            j += 1
        if j >= n or code[j] or text[j] != "{":
            i = j
            continue
        close = match[j]
        if close < 0 or code_before[close] != code_before[j]:
            i = j + 1  # unterminated or straddling code: ignore, look inside
            continue
        found.append(text[j + 1 : close].strip())
        i = close + 1
    return found


def _match_braces(text: str, code: bytearray) -> list[int]:
    """Map each ``{`` index to its matching ``}`` index (-1 if none), in one stack pass.

    Precomputing this makes each box lookup O(1), so "resume after an
    unterminated ``{``" cannot turn quadratic on inputs like ``\\boxed{`` * N.
    """
    n = len(text)
    match = [-1] * n
    stack: list[int] = []
    i = 0
    while i < n:
        if code[i]:
            i += 1
            continue
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            stack.append(i)
        elif c == "}" and stack:
            match[stack.pop()] = i
        i += 1
    return match


def _code_mask(text: str) -> bytearray:
    """Mark (with 1) every character inside a fenced code block or inline code span.

    Fences: a line starting (after spaces/tabs) with 3+ backticks or tildes
    opens a block (a backtick fence's info string may not contain a backtick,
    as in CommonMark, so ```` ```x``` ```` on one line is an inline span); a
    line holding only 3+ of the same character, at least as many, closes it;
    an unclosed fence runs to the end.  Inline spans: a run of n backticks is
    closed by the next run of exactly n backticks in the same paragraph
    (paragraphs end at blank lines and fences, so one stray backtick cannot
    hide the rest of the answer); an unmatched run is literal text.
    """
    n = len(text)
    mask = bytearray(n)
    fence_char = ""
    fence_len = 0
    fence_start = 0
    para_start = -1
    pos = 0
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl + 1
        line = text[pos:end]
        stripped = line.strip()
        if fence_char:
            run = _run_length(stripped, 0, len(stripped), fence_char)
            if run >= fence_len and run == len(stripped):
                mask[fence_start:end] = b"\x01" * (end - fence_start)
                fence_char = ""
        else:
            head = line.lstrip(" \t")
            ch = head[:1]
            run = _run_length(head, 0, len(head), ch) if ch in ("`", "~") else 0
            opens = run >= 3 and not (ch == "`" and "`" in head[run:])
            if opens or not stripped:
                if para_start >= 0:
                    _mask_inline(text, para_start, pos, mask)
                    para_start = -1
                if opens:
                    fence_char, fence_len, fence_start = ch, run, pos
            elif para_start < 0:
                para_start = pos
        pos = end
    if fence_char:
        mask[fence_start:n] = b"\x01" * (n - fence_start)
    elif para_start >= 0:
        _mask_inline(text, para_start, n, mask)
    return mask


def _run_length(s: str, start: int, end: int, ch: str) -> int:
    """Length of the run of ``ch`` beginning at ``s[start]``, not past ``end``."""
    j = start
    while j < end and s[j] == ch:
        j += 1
    return j - start


def _mask_inline(text: str, start: int, end: int, mask: bytearray) -> None:
    """Mask inline code spans in ``text[start:end]`` in linear time.

    Collect the backtick runs, precompute for each run the next run of the
    same length (a right-to-left pass), then pair greedily left to right.
    """
    runs: list[tuple[int, int]] = []
    i = text.find("`", start, end)
    while i >= 0:
        length = _run_length(text, i, end, "`")
        runs.append((i, length))
        i = text.find("`", i + length, end)
    nxt = [-1] * len(runs)
    last: dict[int, int] = {}
    for k in range(len(runs) - 1, -1, -1):
        nxt[k] = last.get(runs[k][1], -1)
        last[runs[k][1]] = k
    k = 0
    while k < len(runs):
        m = nxt[k]
        if m < 0:
            k += 1
            continue
        lo, hi = runs[k][0], runs[m][0] + runs[m][1]
        mask[lo:hi] = b"\x01" * (hi - lo)
        k = m + 1
