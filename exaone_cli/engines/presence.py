"""OpenAI/vLLM presence penalty for transformers, which has none.

`generate` offers only `repetition_penalty`, a multiplicative rule that also counts the prompt.
The model card's presets ask for a presence penalty: subtract the penalty once from the logit of
every token id that already occurs in the generated output (not the prompt), whatever its count.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor


class PresencePenaltyLogitsProcessor(LogitsProcessor):
    """Subtract `penalty` from the scores of token ids already generated in each row.

    `prompt_length` is the (left-padded) prompt width: ids before it are the prompt and never
    penalised. Rows are independent.
    """

    def __init__(self, penalty: float, prompt_length: int) -> None:
        self.penalty = float(penalty)
        self.prompt_length = int(prompt_length)

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self.prompt_length :]
        if generated.shape[1] == 0 or self.penalty == 0:
            return scores
        # Touch only the generated ids (not the 153k-wide vocabulary): every copy of an id writes
        # the same value, its original score minus the penalty, so repeats count once.
        ids = generated.to(scores.device)
        return scores.scatter(1, ids, scores.gather(1, ids) - self.penalty)  # type: ignore[return-value]
