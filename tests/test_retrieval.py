"""Choosing pages for a question: Korean-aware BM25 terms, ranking, and packing under a budget."""

from __future__ import annotations

from exaone_cli.ask.retrieval import choose_pages, estimate_tokens, rank_pages, terms

PAGES = [
    "제1조 (목적) 이 계약은 물품 공급에 관한 사항을 정한다.",
    "제2조 (대금) 대금은 매월 말일에 지급한다.",
    "제3조 (위약금) 계약을 해지하는 자는 위약금 3,700만원을 지급한다.",
    "제4조 (비밀 유지) 당사자는 비밀을 유지한다.",
    "Article 5. Governing law: the laws of Korea apply.",
]


def test_particles_attached_to_a_word_still_match_the_word() -> None:
    assert {"위약", "약금"} <= set(terms("위약금은 얼마인가요?"))
    assert {"위약", "약금"} <= set(terms("위약금 3,700만원"))
    # A whitespace split would have nothing in common: "위약금은" is not "위약금".
    assert not set(["위약금은", "얼마인가요?"]) & set(PAGES[2].split())
    assert rank_pages("위약금은 얼마인가요?", PAGES)[0] == 2
    assert rank_pages("계약 해지 시 위약금을 내나요?", PAGES)[0] == 2


def test_numbers_latin_words_and_width_variants_are_terms() -> None:
    assert "3700" in terms("3,700만원") and "3700" in terms("３，７００")
    assert terms("Governing LAW") == ["governing", "law"]
    assert rank_pages("which law governs?", PAGES) == [4]
    assert rank_pages("???", PAGES) == [] and rank_pages("위약금", []) == []


def test_all_pages_when_they_fit() -> None:
    assert choose_pages("아무 질문", PAGES, budget=10_000) == [0, 1, 2, 3, 4]


def test_the_best_page_comes_with_its_neighbours_within_the_budget() -> None:
    cost = 10
    assert choose_pages("위약금은?", PAGES, budget=3 * cost, cost=lambda i: cost) == [1, 2, 3]
    assert choose_pages("위약금은?", PAGES, budget=cost, cost=lambda i: cost) == [2]
    # Neighbours never cross into another document.
    documents = [0, 0, 0, 1, 1]
    assert choose_pages("위약금이 있나요?", PAGES, budget=3 * cost, documents=documents, cost=lambda i: cost) == [1, 2]


def test_a_page_too_long_is_passed_over_for_the_next_best() -> None:
    costs = [10, 10, 500, 10, 10]
    assert 2 not in choose_pages("위약금은 계약 해지", PAGES, budget=35, cost=lambda i: costs[i])


def test_no_shared_term_reads_from_the_start() -> None:
    assert choose_pages("zzz", PAGES, budget=25, cost=lambda i: 10) == [0, 1]


def test_the_token_estimate_counts_what_tokenizers_split() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("위약금") == 3  # one per syllable at most
    assert estimate_tokens("12,500") == 6  # digits one by one, and the comma
    assert estimate_tokens("governing") == 3  # one per three letters
    assert estimate_tokens("a\nb") == 3
    assert estimate_tokens(PAGES[2] * 10) == 10 * estimate_tokens(PAGES[2])
