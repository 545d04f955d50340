"""Split EXAONE 4.5 output into reasoning and answer; pull out ``\\boxed{}`` answers.

In thinking mode EXAONE 4.5 usually emits *no* opening ``<think>``: the text is
``reasoning ... </think>\\n\\nanswer``.  A token limit can stop generation inside
the reasoning, so a missing ``</think>`` means "truncated", not "no reasoning".
Models and servers also produce other shapes (a ``</think>`` with thinking off,
an unclosed ``<think>`` after the answer, repeated tags); one rule splits them
all, for both engines, whatever the thinking flag (see ``parse_answer``).

Boxes are read only from the answer, and only where a Markdown renderer would
show them as math: text inside fenced code blocks or inline code spans is
opaque.  ``final`` is the last box as plain text for scripts (``\\text{}`` and
its kin unwrapped, TeX digit grouping undone); ``boxed`` keeps every box raw.
Every step is a single left-to-right pass (or a constant number of
them) with no backtracking regexes, so hostile or degenerate model output of
any size parses in linear time and never raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

__all__ = ["Answer", "find_boxed", "parse_answer", "plain_text"]

_OPEN = "<think>"
_CLOSE = "</think>"
_COMMANDS = ("boxed", "fbox")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Characters TeX cannot take as a one-token argument without an error (or that end the group).
_NOT_A_TOKEN = frozenset("}$%#&^_")


@dataclass(frozen=True)
class Answer:
    """One parsed generation.

    ``reasoning`` is None when the output had no think block at all (and
    thinking was off); ``truncated`` is True when the output stopped inside
    reasoning with no answer at all.  ``boxed`` holds every top-level box of
    the answer as written; ``final`` is the last one as plain text (the
    model's convention for its final result; see ``plain_text``).
    """

    reasoning: str | None
    answer: str
    boxed: list[str] = field(default_factory=list)
    final: str | None = None
    truncated: bool = False


def parse_answer(raw: str, thinking: bool) -> Answer:
    """Parse raw generated text into reasoning and answer, one rule for every tag shape.

    * The answer is the text after the *last* ``</think>``; everything before
      it is reasoning (a second ``</think>`` means the model went on reasoning).
    * In that answer, a ``<think>`` opens reasoning that never closed: the text
      before it is the answer, the rest is reasoning.
    * ``thinking=True`` means the prompt already opened a think block (EXAONE's
      template ends with ``<think>\n``), exactly as if the text began with
      ``<think>``; a leading ``<think>`` (after whitespace) is dropped either way.
      So output with no ``</think>`` at all is reasoning that stopped early
      (``truncated``) when thinking is on or the text starts with ``<think>``,
      and plain answer otherwise.

    The flag changes nothing once a ``</think>`` is present, so a server or
    model that ignores ``enable_thinking`` is split the same way.  Tags never
    reach ``answer`` or ``reasoning``: the pieces of reasoning between tags are
    stripped and joined by blank lines.
    """
    body = raw.lstrip()
    opened = thinking or body.startswith(_OPEN)
    body = body.removeprefix(_OPEN)
    close = body.rfind(_CLOSE)
    if close < 0 and opened:
        return Answer(reasoning=_join_reasoning(body), answer="", truncated=True)
    parts: list[str] = [body[:close]] if close >= 0 else []
    answer = body[close + len(_CLOSE) :] if close >= 0 else body
    unclosed = answer.find(_OPEN)
    if unclosed >= 0:
        parts.append(answer[unclosed + len(_OPEN) :])
        answer = answer[:unclosed]
    if not parts:
        return _with_boxes(None, answer.strip())
    answer = answer.strip()
    truncated = unclosed >= 0 and not answer
    if truncated:
        return Answer(reasoning=_join_reasoning(*parts), answer="", truncated=True)
    return _with_boxes(_join_reasoning(*parts), answer)


def _join_reasoning(*parts: str) -> str:
    """Reasoning text without its tags: the stripped pieces between tags, joined by blank lines."""
    pieces = (piece.strip() for part in parts for piece in part.replace(_OPEN, _CLOSE).split(_CLOSE))
    return "\n\n".join(piece for piece in pieces if piece)


def _with_boxes(reasoning: str | None, answer: str) -> Answer:
    boxes = _scan_boxes(answer)
    boxed = [content for content, _ in boxes]
    final = None
    for content, doubled in reversed(boxes):  # the last box with something in it: `\boxed{}` is no answer
        final = plain_text(content.replace("\\\\", "\\") if doubled else content) or None
        if final is not None:
            break
    return Answer(reasoning, answer, boxed, final)


def find_boxed(text: str) -> list[str]:
    r"""Return stripped contents of top-level ``\boxed``/``\fbox`` boxes, in order, as written.

    Rules (each chosen to keep one linear pass and to match what a reader sees):

    * The command name must end where it does: ``\boxedfoo``/``\fboxsep`` are
      other commands.  Whitespace may separate the command from its argument.
    * The argument is a ``{...}`` group or, as in TeX, one token: ``\boxed 5``
      and ``\boxed\n5`` box ``5``, ``\boxed\pi`` boxes ``\pi`` (and
      ``\boxed 12`` boxes only ``1``, as TeX shows it).  A blank line, ``}``
      or ``$`` is no argument.
    * A backslash escapes the next character, so ``\{``/``\}`` do not count
      as braces.  An even run of backslashes before ``boxed`` is the command
      after JSON escaping doubled its backslash (``\\boxed{..}``), and counts.
    * Code is opaque: braces inside code do not count, and a box counts only
      if its command, braces and content all lie outside code.
    * A box nested in another box is part of the outer content.
    * A box whose ``{`` is never matched (or whose content contains code) is
      ignored and scanning resumes right after that ``{``, so in
      ``\boxed{a \boxed{b}`` the inner ``b`` is still found.
    """
    return [content for content, _ in _scan_boxes(text)]


def _scan_boxes(text: str) -> list[tuple[str, bool]]:
    """``find_boxed``'s boxes as (content, doubled): doubled when the command's backslash
    was doubled by JSON escaping, so the content's backslashes are doubled too."""
    n = len(text)
    code = _code_mask(text)
    match = _match_braces(text, code)
    code_before = list(accumulate(code, initial=0))
    found: list[tuple[str, bool]] = []
    i = 0
    while i < n:
        if code[i] or text[i] != "\\":
            i += 1
            continue
        k = i
        while k < n and not code[k] and text[k] == "\\":
            k += 1
        run = k - i
        name = next((c for c in _COMMANDS if text.startswith(c, k)), None)
        j = k + len(name) if name else n
        if name is None or (j < n and text[j] in _ASCII_LETTERS):
            i = k + (run % 2)  # an odd run escapes the next character; some other command
            continue
        start = j
        while j < n and not code[j] and text[j].isspace():
            j += 1
        if j >= n or code[j]:
            i = j
            continue
        if text[j] != "{":
            end = _word_end(text, j, code, match, code_before)
            word = _without_trailing_punctuation(text[j:end])
            if word and text.count("\n", start, j) < 2:  # a blank line ends the paragraph: no argument
                found.append((word, run % 2 == 0))
            i = max(end, j)
            continue
        close = match[j]
        if close < 0 or code_before[close] != code_before[j]:
            i = j + 1  # unterminated or straddling code: ignore, look inside
            continue
        found.append((text[j + 1 : close].strip(), run % 2 == 0))
        i = close + 1
    return found


def _word_end(text: str, j: int, code: bytearray, match: list[int], code_before: list[int]) -> int:
    """End of the braceless argument at ``text[j]``: the run of characters up to whitespace,
    ``$``, ``}``, an unmatched ``{`` or code (a backslash takes the next character with it, so
    ``\\{`` or ``\\%`` is part of the word, and so is a whole group: ``1{,}000``), or ``j``
    when ``text[j]`` cannot begin an argument.

    TeX would box one token (``\\boxed 12`` shows a boxed 1); a model writing ``\\boxed 12.``
    means 12, which is how lm-evaluation-harness reads it too, so the answer is the word."""
    n = len(text)
    if text[j] in _NOT_A_TOKEN:
        return j
    k = j
    while k < n and not code[k] and not text[k].isspace() and text[k] not in "$}":
        if text[k] == "{":
            if k == j or match[k] < 0 or code_before[match[k]] != code_before[k]:
                break
            k = match[k] + 1  # a group inside the word (1{,}000) belongs to it
        else:
            k += 2 if text[k] == "\\" and k + 1 < n and not code[k + 1] else 1
    return min(k, n)


# Sentence punctuation after a braceless box ends the sentence, it is not part of the answer.
_TRAILING = frozenset(".,;:!?\u3002\uff0c\u3001\uff01\uff1f\uff1a\uff1b\"'\u201d\u2019")
_CLOSERS = {")": "(", "]": "[", "\uff09": "\uff08"}


def _without_trailing_punctuation(word: str) -> str:
    """``word`` without the punctuation that ends the sentence around it: ``12.`` is ``12``,
    ``(3).`` is ``(3)``, a lone ``.`` is nothing (never an answer). An escaped character
    (``\\%``, ``\\.``) and a bracket closing one opened in the word stay."""
    unopened = {c: word.count(c) - word.count(o) for c, o in _CLOSERS.items()}
    end = len(word)
    while end > 0 and not _odd_backslashes_before(word, end - 1):
        c = word[end - 1]
        if c in _CLOSERS and unopened[c] > 0:
            unopened[c] -= 1
        elif c not in _TRAILING:
            break
        end -= 1
    return word[:end]


def _odd_backslashes_before(text: str, i: int) -> bool:
    k = i
    while k > 0 and text[k - 1] == "\\":
        k -= 1
    return (i - k) % 2 == 1


# \text{..} and its kin: wrappers whose content is the plain text (LaTeX2e and amsmath names).
_WRAPPERS = frozenset(
    ["text", "textrm", "textbf", "textit", "textsf", "texttt", "textup", "textnormal",
     "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mbox", "hbox"]
)  # fmt: skip
_SPACING = {",": " ", ":": " ", ";": " ", " ": " ", "!": "", "thinspace": " ", "quad": " ", "qquad": " "}
_ESCAPED = frozenset("%$&#_{}")


def plain_text(tex: str) -> str:
    r"""A box's content as plain text for scripts: ``\text{1,118원}`` -> ``1,118원``.

    Unwraps ``\text{}``, ``\textbf{}``, ``\mathrm{}`` and their kin (``_WRAPPERS``), turns
    ``1{,}118`` into ``1,118`` (the group only stops TeX's math spacing after the comma),
    drops TeX spacing between digits (``1\,118`` -> ``1118``, ``11,\! 111`` -> ``11,111``:
    digit-group separators), makes other spacing commands (``\,`` ``\;`` ``\quad``...) a
    space, and un-escapes ``\% \$ \& \# \_ \{ \}``.  Math stays math: a box holding any
    other command (``\frac{1}{2}``, ``\left\{``, ``\begin{cases}``) is returned as written,
    since half-unwrapped TeX is neither TeX nor text.  ``x^2`` stays as written.
    One pass with precomputed brace matches: linear in the length.
    """
    if _is_math(tex):
        return tex.strip()
    n = len(tex)
    match = _match_braces(tex, bytearray(n))
    dropped = bytearray(n)  # closing braces of unwrapped groups
    out: list[str] = []
    last = before_last = ""  # the last two characters written, to tell digit grouping from spacing
    i = 0
    while i < n:
        c = tex[i]
        piece = c
        step = 1
        if dropped[i]:
            piece = ""
        elif c == "{" and match[i] == i + 2 and tex[i + 1] in ",.":
            piece, step = tex[i + 1], 3
        elif c == "\\" and i + 1 < n:
            j = i + 1
            while j < n and tex[j] in _ASCII_LETTERS:
                j += 1
            name = tex[i + 1 : j] or tex[i + 1]
            step = max(j, i + 2) - i
            k = i + step
            while k < n and tex[k].isspace() and name in _WRAPPERS:
                k += 1
            if name in _WRAPPERS and k < n and tex[k] == "{" and match[k] > 0:
                dropped[match[k]] = 1
                piece, step = "", k + 1 - i
            elif name in _SPACING:
                after = k
                while after < n and tex[after] in " \t":
                    after += 1
                # after a digit any spacing is a group separator (1\,118); after a digit and a
                # comma only the negative space is (11,\!111), a real space parts a list (3,\ 5)
                grouped = last.isdigit() or (name == "!" and last == "," and before_last.isdigit())
                if grouped and tex[after : after + 1].isdigit():  # 1\,118, 11,\! 111: one number
                    piece, step = "", after - i
                else:
                    piece = _SPACING[name]
            elif name in _ESCAPED:
                piece = name
            else:
                piece = tex[i : i + step]
        out.append(piece)
        if piece:
            before_last, last = (piece[-2:-1] or last), piece[-1]
        i += step
    return "".join(out).strip()


def _is_math(tex: str) -> bool:
    """True when ``tex`` holds a command other than the text wrappers, spacing and escapes
    (``\\frac``, ``\\left``, ``\\begin{cases}``, ``\\\\``): unwrapping ``\\text{}`` or
    unescaping ``\\{`` there would turn valid TeX into neither TeX nor text."""
    i = tex.find("\\")
    n = len(tex)
    while 0 <= i < n - 1:
        j = i + 1
        while j < n and tex[j] in _ASCII_LETTERS:
            j += 1
        name = tex[i + 1 : j] or tex[i + 1]
        if name not in _WRAPPERS and name not in _SPACING and name not in _ESCAPED:
            return True
        i = tex.find("\\", max(j, i + 2))
    return False


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


# ---- citations: [p. N] ---------------------------------------------------------------------------

__all__ += ["Citation", "find_citations", "unread_citations"]

# The brackets models cite in: ASCII, full-width, and the lenticular 【】 of Korean and Chinese text.
# The inside of a bracket holds no bracket of any kind, so one in another (`([A p. 2]는 ...)`) is
# found on its own and not swallowed by the outer one.
_INSIDE = r"([^()\[\]【】［］（）〔〕\n]{1,200})"
_BRACKETS = re.compile(
    "|".join(rf"{re.escape(o)}{_INSIDE}{re.escape(c)}" for o, c in ("[]", "()", "【】", "［］", "（）", "〔〕"))
)
_BEFORE = r"(?:[Pp]{1,2}\.|[Pp]gs?\.|[Pp]ages?\b|페이지|쪽)"  # p. 3, pp. 3-4, P. 3, page 3, 페이지 3
_AFTER = r"(?:쪽|페이지)"  # 3쪽, 3-4페이지
# Read inside a bracket, not taken as a sign of a citation elsewhere ("(2p + 1)" is math): the
# page word without its period (`(p 3)`, `[pg 3]`), `p` after the number (`(3p)`, `[3-4p]`, as
# Korean writes it), and 제 before it (`[제3쪽]`).
_BEFORE_READ = rf"(?:{_BEFORE}|(?:[Pp]{{1,2}}|[Pp]gs?)(?![A-Za-z.]))"
_AFTER_READ = r"(?:쪽|페이지|[Pp]\.?(?![A-Za-z]))"
_NUMBER = r"\d{1,6}"
_NTH = rf"(?:제\s*)?{_NUMBER}"
_LABEL = r"(?:([A-Z]{1,2})(?:\s*,\s*|\s+|(?=[p\d])))?"
_CITED = re.compile(
    rf"\s*{_LABEL}(?:{_BEFORE_READ}\s*({_NUMBER}(?:\s*[-–~,]\s*(?:{_BEFORE_READ}\s*)?{_NUMBER})*)"
    rf"|((?:{_NTH}(?:\s*{_AFTER_READ})?\s*[-–~,]\s*)*{_NTH})\s*{_AFTER_READ})\s*"
)
# What a citation looks like even when it cannot be read: a page word next to a number or numeral.
_LOOKS_CITED = re.compile(rf"(?:(?<![A-Za-z]){_BEFORE}\s*(?:\d|[ivxlcIVXLC]+\b)|\d\s*{_AFTER})")
_PAGE_NUMBER = re.compile(r"\d{1,6}|[-–~]")
MAX_RANGE = 50  # a range wider than this is read as its two ends, not every page between


@dataclass(frozen=True)
class Citation:
    """One page an answer cites. `label` is the document label of the several-document form
    (``[B p. 4]``), None in the one-document form (``[p. 4]``); `page` is the number as written."""

    label: str | None
    page: int


def find_citations(text: str) -> list[Citation]:
    """Every page cited in `text`, in order of appearance (repeats kept).

    The fixed forms are ``[p. N]`` and, for several documents, ``[A p. N]``. Tolerated, because
    models write them: other brackets (``(p. 3)``, ``【p. 3】``, full-width ``［］（）〔〕``), other
    page words (``P. 3``, ``page 3``, ``pg. 3``, ``(p 3)``, ``(3p)``, Korean ``[3쪽]``, ``(3페이지)``,
    ``[페이지 3]``, ``[제3쪽]``),
    ``pp.``, a comma after the label, several pages ``[p. 3, 5]``, ranges ``[p. 3-5]`` (expanded;
    wider than MAX_RANGE pages: the two ends), and several citations in one bracket separated by
    ``;`` (``[A p. 2; B p. 7]``). Other bracketed text (``[1]``, ``[x]``, Markdown links) is not a
    citation; what looks like one but is not read is `unread_citations`. Linear time: brackets
    are found in one pass and each inside (at most 200 characters) is matched once."""
    return _read_citations(text)[0]


def unread_citations(text: str) -> list[str]:
    """The brackets of `text` that look like citations (a page word beside a number or a roman
    numeral: ``[p. iii]``, ``(see p. 3)``, ``[3쪽 표 2]``) but are not read as any, as written,
    each once: the answer should be told, not silently left uncited."""
    return _read_citations(text)[1]


def _read_citations(text: str) -> tuple[list[Citation], list[str]]:
    found: list[Citation] = []
    unread: list[str] = []
    for bracket in _BRACKETS.finditer(text):
        inside = next(group for group in bracket.groups() if group is not None)
        parts = [_CITED.fullmatch(part) for part in inside.split(";")]
        if not all(parts):
            if _LOOKS_CITED.search(inside) and bracket.group(0) not in unread:
                unread.append(bracket.group(0))
            continue
        for part in parts:
            assert part is not None
            label, before, after = part.groups()
            found += [Citation(label, page) for page in _expand(before or after)]
    return found, unread


def _expand(numbers: str) -> list[int]:
    tokens = _PAGE_NUMBER.findall(numbers)
    pages: list[int] = []
    i = 0
    while i < len(tokens):
        if tokens[i].isdigit() and i + 2 < len(tokens) and not tokens[i + 1].isdigit() and tokens[i + 2].isdigit():
            first, last = int(tokens[i]), int(tokens[i + 2])
            if 0 <= last - first <= MAX_RANGE:
                pages += range(first, last + 1)
            else:
                pages += [first, last]
            i += 3
        elif tokens[i].isdigit():
            pages.append(int(tokens[i]))
            i += 1
        else:
            i += 1
    return pages
