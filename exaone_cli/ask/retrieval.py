"""Which pages of a long document to read for a question: BM25 over Korean-aware terms.

Pure: page texts in, page ids (indices into the texts) out. Ranking is Okapi BM25 as the `bm25s`
library computes it (Lucene's variant, k1=1.5, b=0.75: Lù, "BM25S", 2024); we only decide the
terms. Korean writes particles and endings onto the word (`위약금은`, `위약금을`, `위약금`), so a
whitespace split would never match a question to its page. Hangul and CJK runs are cut into
overlapping character bigrams instead, as Lucene's CJKBigramFilter does (`위약금은` -> `위약`,
`약금`, `금은`; a page's `위약금` -> `위약`, `약금`), and other scripts into lower-cased words and
numbers. This needs no dictionary or model, so it handles names and terms no analyser knows.

Choosing pages under a budget: the highest-scoring page first, then the pages right before and
after it in the same document (tables and clauses run over page breaks), then the next-best
page, and so on, each page taken only if its text still fits.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence

_HANGUL_OR_CJK = (
    "\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3"  # Hangul jamo, compatibility jamo, syllables
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # kana, CJK ideographs (Hanja)
)
_TERM = re.compile(rf"([{_HANGUL_OR_CJK}]+)|([^\W_{_HANGUL_OR_CJK}]+)")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def terms(text: str) -> list[str]:
    """The BM25 terms of `text`: character bigrams of Hangul/CJK runs (a one-character run is
    itself a term), and lower-cased words and numbers elsewhere ("3,700" is one number, 3700).
    Text is NFKC-normalised first, so full-width and compatibility forms match plain ones."""
    text = _THOUSANDS.sub("", unicodedata.normalize("NFKC", text).casefold())
    found: list[str] = []
    for match in _TERM.finditer(text):
        run, word = match.groups()
        if word is not None:
            found.append(word)
        elif len(run) == 1:
            found.append(run)
        else:
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
    return found


def rank_pages(question: str, texts: Sequence[str]) -> list[int]:
    """Indices of the pages that share any term with the question, best BM25 score first (ties
    keep document order). Pages sharing no term are left out."""
    query = terms(question)
    if not texts or not query:
        return []
    import bm25s  # numpy-backed; imported only when a question needs ranking

    index = bm25s.BM25()
    index.index([terms(text) for text in texts], show_progress=False)
    scores = index.get_scores(query)
    return sorted((i for i in range(len(texts)) if scores[i] > 0), key=lambda i: (-float(scores[i]), i))


def estimate_tokens(text: str) -> int:
    """An upper estimate of the tokens `text` costs the model, without its tokenizer (a server
    does not share one, and the same pages must be chosen through either engine).

    One token per Hangul syllable, CJK character, digit and punctuation mark, one per three
    letters of other words, one per line break; spaces are free. EXAONE's byte-level BPE
    (153,600 entries) merges most syllables and English words further, so real counts are lower."""
    count = 0
    for match in _TERM.finditer(text):
        run, word = match.groups()
        if run is not None:
            count += len(run)
        else:
            digits = sum(ch.isdigit() for ch in word)
            count += digits + math.ceil((len(word) - digits) / 3)
    count += sum(1 for ch in text if not ch.isspace() and not ch.isalnum())
    return count + text.count("\n")


def choose_pages(
    question: str,
    texts: Sequence[str],
    budget: int,
    documents: Sequence[int] | None = None,
    cost: Callable[[int], int] | None = None,
    neighbours: int = 1,
) -> list[int]:
    """The pages to read for `question`, in document order, whose costs add up to at most `budget`.

    `texts[i]` is page i's text; `documents[i]` says which document it belongs to (neighbours are
    taken only within one document; default: all one document); `cost(i)` is what page i costs
    in the prompt (default: estimate_tokens of its text). All pages, when they all fit. Otherwise
    pages by BM25 rank, each followed by its `neighbours` pages on either side; pages that would
    not fit are passed over for smaller ones. When no page shares a term with the question, the
    pages from the start of the document, as many as fit."""
    n = len(texts)
    documents = documents if documents is not None else [0] * n
    price = cost or (lambda i: estimate_tokens(texts[i]))
    costs = [price(i) for i in range(n)]
    if sum(costs) <= budget:
        return list(range(n))
    chosen: set[int] = set()
    left = budget

    def take(i: int) -> None:
        nonlocal left
        if i not in chosen and costs[i] <= left:
            chosen.add(i)
            left -= costs[i]

    ranked = rank_pages(question, texts)
    for best in ranked or range(n):
        take(best)
        if best not in chosen or not ranked:
            continue
        for step in range(1, neighbours + 1):
            for near in (best - step, best + step):
                if 0 <= near < n and documents[near] == documents[best]:
                    take(near)
    return sorted(chosen)
