"""The presence penalty moves exactly the logits OpenAI/vLLM semantics say it should."""

from __future__ import annotations

import torch

from exaone_cli.engines.presence import PresencePenaltyLogitsProcessor


def test_subtracts_once_from_generated_ids_only() -> None:
    # Two rows, prompt width 3 (left padded); vocabulary of 8.
    input_ids = torch.tensor(
        [
            [0, 5, 6, 2, 2, 2, 3],  # prompt ids 5, 6 ; generated 2 (three times) and 3
            [7, 7, 1, 4, 7, 4, 4],  # prompt ids 7, 1 ; generated 4 and 7
        ]
    )
    scores = torch.arange(16, dtype=torch.float32).reshape(2, 8)
    out = PresencePenaltyLogitsProcessor(1.5, prompt_length=3)(input_ids, scores.clone())
    moved = (scores - out).tolist()
    assert moved[0] == [0, 0, 1.5, 1.5, 0, 0, 0, 0]  # 2 counted once; prompt ids 5, 6 untouched
    assert moved[1] == [0, 0, 0, 0, 1.5, 0, 0, 1.5]  # 7 is penalised as generated, 1 (prompt only) not


def test_nothing_generated_yet_changes_nothing() -> None:
    input_ids = torch.tensor([[1, 2, 3]])
    scores = torch.randn(1, 8)
    out = PresencePenaltyLogitsProcessor(1.5, prompt_length=3)(input_ids, scores.clone())
    assert torch.equal(out, scores)


def test_negative_scores_and_large_penalty() -> None:
    input_ids = torch.tensor([[0, 3, 3]])
    scores = torch.full((1, 4), -2.0)
    out = PresencePenaltyLogitsProcessor(10.0, prompt_length=1)(input_ids, scores.clone())
    assert out.tolist() == [[-2.0, -2.0, -2.0, -12.0]]
