"""Build a tiny EXAONE-4.5-shaped checkpoint on disk: real model class, random weights.

The test suite uses it (tests/conftest.py), and anyone can make one for a smoke run:

    python tests/tiny_checkpoint.py /tmp/exaone-tiny
    exaone ask examples/receipt.png "합계 금액은?" --model /tmp/exaone-tiny

Everything users touch is real: `Exaone4_5_ForConditionalGeneration` with random weights, a
byte-level BPE tokenizer trained here by `tokenizers` that carries EXAONE's special tokens
(`<|image_pad|>` at id 67, `<|video_pad|>` at 68, `<|endofturn|>` as eos, role tokens), the
Qwen2-VL image processor, and a chat template with EXAONE 4.5's prompt layout. Layer sizes are
multiples of 64 so bitsandbytes' 4-bit CPU path works on them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

# Role tokens are special (skipped when decoding); <think>/</think>/<vision> are not, as in the
# real tokenizer, so the reasoning markers survive `skip_special_tokens=True`.
SPECIAL = ["[PAD]", "[BOS]", "[UNK]", "<|endofturn|>", "<|system|>", "<|user|>", "<|assistant|>"]
NORMAL_ADDED = ["<think>", "</think>", "<vision>", "</vision>"]
IMAGE_TOKEN_ID = 67
VIDEO_TOKEN_ID = 68

# EXAONE 4.5's layout (../shared/EXAONE.md): turns end with <|endofturn|>\n, images are
# <vision><|image_pad|></vision>\n where the item stands, no default system prompt, and the
# generation prompt opens a think block, empty and closed when enable_thinking is false.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|' + message['role'] + '|>\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'image' -%}{{- '<vision><|image_pad|></vision>\\n' -}}"
    "{%- elif item['type'] == 'video' -%}{{- '<vision><|video_pad|></vision>\\n' -}}"
    "{%- elif item['type'] == 'text' -%}{{- item['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|endofturn|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}"
    "{{- '<|assistant|>\\n<think>\\n\\n</think>\\n\\n' -}}"
    "{%- else -%}{{- '<|assistant|>\\n<think>\\n' -}}{%- endif -%}"
    "{%- endif -%}"
)

CORPUS = [
    "영수증 합계 금액은 12,500원입니다. 부가세 포함. 카드 결제 승인번호 0042.",
    "세종대왕은 조선의 제4대 임금으로 훈민정음을 창제하였다.",
    "이 문서의 표에서 2023년 매출은 1,234억 원이고 영업이익은 56억 원이다.",
    "두 그림의 차이는 색깔과 위치입니다. 답: \\boxed{3}",
    "The total amount is $42.50 including tax. Final answer: \\boxed{42.50}",
    "What is shown? A cat sitting on a keyboard, reading a Korean PDF page.",
    "| 항목 | 수량 | 금액 |\n|---|---|---|\n| 커피 | 2 | 9,000 |",
    "Let me think step by step. First, read the table. Then add the numbers.",
    "수식: $E = mc^2$, $\\frac{1}{2}$, 결론적으로 정답은 다음과 같다.",
]


def build_tokenizer(out: Path, vocab_size: int = 640) -> None:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    # Fill ids up to 68 so the image/video pads land where the real ones are.
    fill = [f"<|reserved_{i}|>" for i in range(len(SPECIAL), IMAGE_TOKEN_ID)]
    specials = SPECIAL + fill + ["<|image_pad|>", "<|video_pad|>"]
    assert specials.index("<|image_pad|>") == IMAGE_TOKEN_ID

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="[BOS]",
        eos_token="<|endofturn|>",
        pad_token="[PAD]",
        unk_token="[UNK]",
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>", "<|image_pad|>", "<|video_pad|>"],
    )
    from tokenizers import AddedToken

    fast.add_tokens([AddedToken(t, special=False, normalized=False) for t in NORMAL_ADDED])
    fast.padding_side = "left"
    fast.save_pretrained(out)


def build(out: Path, seed: int = 0, max_pixels: int = 64 * 28 * 28) -> Path:
    """Write a tiny checkpoint to `out` and return it."""
    import torch
    from transformers import (
        AutoProcessor,
        AutoTokenizer,
        Exaone4_5_Config,
        Exaone4_5_ForConditionalGeneration,
        GenerationConfig,
        Qwen2VLImageProcessor,
    )
    from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    build_tokenizer(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    vocab = len(tokenizer)
    vocab = (vocab + 63) // 64 * 64

    text_config = {
        "model_type": "exaone4",
        "vocab_size": vocab,
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 32,
        "max_position_embeddings": 8192,
        "sliding_window": 64,
        # The installed Exaone4Config takes the pattern as an int ("LLLG" == 4), not the string.
        "sliding_window_pattern": 4,
        "bos_token_id": tokenizer.convert_tokens_to_ids("[BOS]"),
        "eos_token_id": tokenizer.convert_tokens_to_ids("<|endofturn|>"),
        "pad_token_id": tokenizer.convert_tokens_to_ids("[PAD]"),
        "tie_word_embeddings": False,
    }
    vision_config = {
        "depth": 2,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_heads": 2,
        "num_key_value_heads": 1,
        "out_hidden_size": 128,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "fullatt_block_indexes": [1],
        "window_size": 112,
    }
    config = Exaone4_5_Config(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=IMAGE_TOKEN_ID,
        video_token_id=VIDEO_TOKEN_ID,
    )
    torch.manual_seed(seed)
    model = Exaone4_5_ForConditionalGeneration(config).eval()
    # Random init gives near-uniform logits; a larger lm_head spread makes greedy decoding less
    # tie-prone, so batch-vs-single comparisons are meaningful.
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 0.5)
    model.generation_config = GenerationConfig(
        bos_token_id=text_config["bos_token_id"],
        eos_token_id=text_config["eos_token_id"],
        pad_token_id=text_config["pad_token_id"],
    )
    model.save_pretrained(out)

    image_processor = Qwen2VLImageProcessor(
        size={"shortest_edge": 4 * 28 * 28, "longest_edge": max_pixels},
        patch_size=14,
        merge_size=2,
        temporal_patch_size=2,
    )
    video_processor = Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2)
    from transformers import Exaone4_5_Processor

    processor = Exaone4_5_Processor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(out)
    # Round-trip once: a checkpoint that AutoProcessor cannot read back is useless.
    AutoProcessor.from_pretrained(out)
    (out / "TINY_CHECKPOINT.json").write_text(json.dumps({"random_weights": True, "seed": seed}) + "\n")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder to write the checkpoint to")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(build(args.out, seed=args.seed))


if __name__ == "__main__":
    main()
