"""The KV cache a page costs: global layers hold every token, sliding-window layers at most the window."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..config import DEFAULT_CONTEXT_TOKENS
from ..vision import visual_tokens
from .sizes import DTYPE_BYTES

A4_AT_200_DPI = (1654, 2339)
PAGE_OUTPUT_TOKENS = 1000
PAGE_ASSUMPTION = "one A4 page at 200 DPI (default visual-token budget) plus 1,000 output tokens"
ANSWER_TOKENS = 4096  # `exaone ask`'s default --max-new-tokens


@dataclass(frozen=True)
class KvCache:
    """KV cache cost: global layers hold every token, sliding-window layers at most `sliding_window`."""

    dtype: str
    layer_bytes_per_token: int  # 2 (K and V) x KV heads x head_dim x dtype bytes
    global_layers: int
    sliding_layers: int
    sliding_window: int | None
    page_visual_tokens: int
    page_output_tokens: int = PAGE_OUTPUT_TOKENS
    context_tokens: int = DEFAULT_CONTEXT_TOKENS  # one `ask` prompt (--context-tokens) ...
    answer_tokens: int = ANSWER_TOKENS  # ... and its answer

    def bytes_for(self, tokens: int) -> int:
        window = tokens if self.sliding_window is None else min(tokens, self.sliding_window)
        return self.layer_bytes_per_token * (self.global_layers * tokens + self.sliding_layers * window)

    @property
    def bytes_per_token(self) -> int:
        """Per token while the context is shorter than the window (all layers hold it)."""
        return self.bytes_for(1)

    @property
    def page_tokens(self) -> int:
        return self.page_visual_tokens + self.page_output_tokens

    @property
    def bytes_per_page(self) -> int:
        return self.bytes_for(self.page_tokens)

    @property
    def bytes_per_context(self) -> int:
        """One `exaone ask` prompt of --context-tokens tokens and its answer."""
        return self.bytes_for(self.context_tokens + self.answer_tokens)

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "bytes_per_token": self.bytes_per_token,
            "bytes_per_token_global_layers": self.layer_bytes_per_token * self.global_layers,
            "bytes_per_token_sliding_layers": self.layer_bytes_per_token * self.sliding_layers,
            "page_tokens": self.page_tokens,
            "bytes_per_page": self.bytes_per_page,
            "page_assumption": PAGE_ASSUMPTION,
            "bytes_per_context": self.bytes_per_context,
        }


def kv_cache(
    config: Any, dtype: str, min_pixels: int, max_pixels: int, context_tokens: int = DEFAULT_CONTEXT_TOKENS
) -> KvCache:
    text = config.text_config
    head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
    window = getattr(text, "sliding_window", None)
    types = list(getattr(text, "layer_types", None) or ["full_attention"] * text.num_hidden_layers)
    sliding = sum(kind == "sliding_attention" for kind in types) if window else 0
    page = visual_tokens(*A4_AT_200_DPI, min_pixels=min_pixels, max_pixels=max_pixels)
    return KvCache(
        dtype=dtype,
        layer_bytes_per_token=2 * text.num_key_value_heads * head_dim * DTYPE_BYTES[dtype],
        global_layers=len(types) - sliding,
        sliding_layers=sliding,
        sliding_window=window,
        page_visual_tokens=page.tokens,
        context_tokens=context_tokens,
    )
