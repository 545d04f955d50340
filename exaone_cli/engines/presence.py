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
        present = torch.zeros(scores.shape, dtype=torch.bool, device=scores.device)
        present.scatter_(1, generated.to(scores.device), True)
        return scores - self.penalty * present.to(scores.dtype)  # type: ignore[return-value]
