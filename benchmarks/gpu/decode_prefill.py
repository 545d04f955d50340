"""EXAONE 4.5 at full size on one GPU, without downloading it: prefill and decode speed against
the card's memory-bandwidth ceiling, in bf16 and in 4-bit.

The architecture comes from the config shipped in the package (exaone_cli/model_configs), the
weights are random (speed does not depend on their values), built directly on the GPU in bf16
(default dtype set first, so fp32 never materialises). Measured:
- the card's memory bandwidth (a large device-to-device copy);
- prefill tokens/s of one A4 page at 200 DPI (4,956 visual tokens + the OCR prompt);
- decode tokens/s at batch 1, 4 and 8, each beside its ceiling: batch x bandwidth / weight
  bytes read per step (the text tower; the vision tower is not read while decoding);
- the same for 4-bit NF4 (bitsandbytes through from_pretrained, the path users take) on a slice
  of the text layers saved to disk, scaled to the full depth (the slice and the scaling are
  printed: per-layer decode time x 64 layers + the embedding/lm_head time).

    python benchmarks/gpu/decode_prefill.py --json gpu.json          # on an H100/H200, < 8 min
    python benchmarks/gpu/decode_prefill.py --smoke --json cpu.json  # scaled-down, on a CPU (CI)
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

CONFIG = Path(__file__).resolve().parents[2] / "exaone_cli/model_configs/LGAI-EXAONE--EXAONE-4.5-33B/config.json"
PAGE_GRID = (1, 168, 118)  # an A4 page at 200 DPI (1652x2352 px after resizing): 4,956 visual tokens
PROMPT_TOKENS = 120


def smoke_config(config: dict[str, Any]) -> dict[str, Any]:
    """The same architecture, scaled down so a CPU runs it in seconds (sizes multiples of 64)."""
    text, vision = dict(config["text_config"]), dict(config["vision_config"])
    text.update(hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
                num_key_value_heads=2, head_dim=64, vocab_size=1024, layer_types=None, sliding_window=64)  # fmt: skip
    vision.update(depth=2, hidden_size=128, intermediate_size=256, num_heads=2, num_key_value_heads=1,
                  out_hidden_size=256, fullatt_block_indexes=[1])  # fmt: skip
    return {**config, "text_config": text, "vision_config": vision}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(device: torch.device, fn: Any, repeats: int = 3) -> float:
    fn()  # warm-up
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    return best


def bandwidth(device: torch.device, gib: float) -> float:
    """Bytes/s of a device-to-device copy (read + write)."""
    n = int(gib * 2**30) // 2
    source = torch.empty(n, dtype=torch.bfloat16, device=device)
    target = torch.empty_like(source)
    seconds = timed(device, lambda: target.copy_(source))
    return 2 * n * 2 / seconds


def build(config_dict: dict[str, Any], device: torch.device) -> Any:
    from transformers import Exaone4_5_Config, Exaone4_5_ForConditionalGeneration
    from transformers.initialization import no_init_weights

    config = Exaone4_5_Config(**{k: v for k, v in config_dict.items() if k not in ("architectures", "model_type")})
    torch.set_default_dtype(torch.bfloat16)
    with device, no_init_weights():
        model = Exaone4_5_ForConditionalGeneration(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.02)
    torch.set_default_dtype(torch.float32)
    return model.eval()


def _bytes(model: Any, keep: Any) -> int:
    total = 0
    for name, parameter in model.named_parameters():
        if keep(name):
            # bitsandbytes packs 4-bit weights two per byte into uint8 storage; numel counts bytes then
            total += parameter.numel() * parameter.element_size()
    return total


def text_weight_bytes(model: Any) -> int:
    """Weights read for every decoded token: the text layers and lm_head. Not the vision tower
    (it runs once per image) nor the embedding table (a step reads only its own rows)."""
    return _bytes(model, lambda n: ".visual." not in f".{n}" and "embed_tokens" not in n)


def layer_bytes(model: Any) -> int:
    return _bytes(model, lambda n: ".layers." in n and ".visual." not in f".{n}")


def page_inputs(model: Any, device: torch.device, grid: tuple[int, int, int]) -> dict[str, Any]:
    config = model.config
    vision = config.vision_config
    patches = grid[0] * grid[1] * grid[2]
    visual_tokens = patches // vision.spatial_merge_size**2
    patch_dim = vision.in_channels * vision.temporal_patch_size * vision.patch_size**2
    ids = torch.randint(100, 1000, (1, PROMPT_TOKENS + visual_tokens), device=device)
    ids[0, 10 : 10 + visual_tokens] = config.image_token_id
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "pixel_values": torch.randn(patches, patch_dim, device=device, dtype=torch.bfloat16),
        "image_grid_thw": torch.tensor([grid], device=device),
    }


@torch.inference_mode()
def decode_rate(model: Any, device: torch.device, batch: int, steps: int) -> float:
    """Decoded tokens/s at `batch`: generate `steps` more tokens minus the prefill-only time."""
    ids = torch.randint(100, 1000, (batch, PROMPT_TOKENS), device=device)
    kwargs = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "do_sample": False, "eos_token_id": None}
    one = timed(device, lambda: model.generate(**kwargs, max_new_tokens=1, min_new_tokens=1), repeats=2)
    many = timed(
        device, lambda: model.generate(**kwargs, max_new_tokens=steps + 1, min_new_tokens=steps + 1), repeats=2
    )
    return batch * steps / max(many - one, 1e-9)


@torch.inference_mode()
def prefill_rate(model: Any, device: torch.device, grid: tuple[int, int, int]) -> float:
    inputs = page_inputs(model, device, grid)
    seconds = timed(device, lambda: model(**inputs, logits_to_keep=1), repeats=2)
    return inputs["input_ids"].shape[1] / seconds


def four_bit_slice(config_dict: dict[str, Any], device: torch.device, layers: int, batches: list[int], steps: int,
                   bw: float) -> dict[str, Any]:  # fmt: skip
    """4-bit NF4 through from_pretrained on a slice of `layers` text layers; scaled to full depth."""
    from transformers import AutoModelForImageTextToText, BitsAndBytesConfig

    from exaone_cli.config import UNQUANTIZED_MODULES

    full_layers = config_dict["text_config"]["num_hidden_layers"]
    sliced = json.loads(json.dumps(config_dict))
    sliced["text_config"]["num_hidden_layers"] = layers
    sliced["text_config"]["layer_types"] = config_dict["text_config"]["layer_types"][:layers] if config_dict[
        "text_config"].get("layer_types") else None  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        build(sliced, torch.device("cpu")).save_pretrained(folder)
        quant = BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=torch.bfloat16,
            llm_int8_skip_modules=list(UNQUANTIZED_MODULES),
        )
        model = AutoModelForImageTextToText.from_pretrained(
            folder, quantization_config=quant, device_map={"": str(device)}
        )
    fixed = text_weight_bytes(model) - layer_bytes(model)  # lm_head and the final norm
    full_bytes = layer_bytes(model) / layers * full_layers + fixed
    per_layer = {}
    rows = {}
    for batch in batches:
        rate = decode_rate(model, device, batch, steps)
        per_layer[batch] = rate
    # Scale: step time = fixed (embeddings, lm_head) + layers x per-layer; estimate per-layer by
    # the slice's step time / layers (an over-estimate of the fixed part; said so in the output).
    for batch, rate in per_layer.items():
        step = batch / rate
        rows[batch] = batch / (step / layers * full_layers)
    return {
        "slice_layers": layers,
        "scaled_to_layers": full_layers,
        "weight_bytes_estimate": full_bytes,
        "decode_tokens_per_s": rows,
        "ceiling_tokens_per_s": {b: b * bw / full_bytes for b in batches},
        "note": "slice of layers, scaled linearly to full depth (embedding and lm_head costs scaled too: pessimistic)",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="scaled-down config on the CPU (CI)")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--batches", default="1,4,8")
    parser.add_argument("--four-bit-layers", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = json.loads(CONFIG.read_text())
    device = torch.device("cpu" if args.smoke or not torch.cuda.is_available() else "cuda")
    if args.smoke:
        config = smoke_config(config)
    grid = (1, 8, 8) if args.smoke else PAGE_GRID
    batches = [int(b) for b in args.batches.split(",")]
    started = time.perf_counter()
    bw = bandwidth(device, 0.25 if args.smoke else 4.0)
    model = build(config, device)
    weights = text_weight_bytes(model)
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "smoke": args.smoke,
        "bandwidth_bytes_per_s": bw,
        "bf16": {
            "weight_bytes_per_token": weights,
            "prefill_tokens_per_s": prefill_rate(model, device, grid),
            "page_tokens": PROMPT_TOKENS + grid[0] * grid[1] * grid[2] // 4,
            "decode_tokens_per_s": {b: decode_rate(model, device, b, args.steps) for b in batches},
            "ceiling_tokens_per_s": {b: b * bw / weights for b in batches},
        },
    }
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    layers = min(args.four_bit_layers, config["text_config"]["num_hidden_layers"])
    result["nf4"] = four_bit_slice(config, device, layers, batches, args.steps, bw)
    result["seconds"] = time.perf_counter() - started
    print(f"{result['device']}: bandwidth {bw / 1e9:,.0f} GB/s")
    for name in ("bf16", "nf4"):
        part = result[name]
        if "prefill_tokens_per_s" in part:
            print(
                f"{name} prefill: {part['prefill_tokens_per_s']:,.0f} tokens/s ({part['page_tokens']} tokens, one page)"
            )
        for batch in batches:
            rate, ceiling = part["decode_tokens_per_s"][batch], part["ceiling_tokens_per_s"][batch]
            print(f"{name} decode batch {batch}: {rate:,.1f} tok/s, ceiling {ceiling:,.1f} ({rate / ceiling:.0%})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
