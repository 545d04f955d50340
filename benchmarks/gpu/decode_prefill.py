"""EXAONE 4.5 at full size on one GPU, without downloading it: prefill and decode speed against
the card's memory-bandwidth ceiling, and pages per hour, in bf16 and in 4-bit.

The architecture comes from the config shipped in the package (exaone_cli/model_configs), the
weights are random (speed does not depend on their values), built directly on the GPU in bf16
(default dtype set first, so fp32 never materialises). Stages (`--stages`, in this order):
- bf16: the card's memory bandwidth (a large device-to-device copy); prefill tokens/s of one A4
  page at 200 DPI (4,956 visual tokens + the OCR prompt); decode tokens/s at batch 1, 4 and 8,
  each beside its ceiling: batch x bandwidth / weight bytes read per step (the text tower and
  lm_head; the vision tower is not read while decoding).
- pages: whole A4 pages in batches of 1, 4 and 8 through `generate` (vision tower, prefill, then
  decode with the pages in the KV cache), timed token by token (the first token, then the steady
  step over --steps more), and turned into pages per hour for pages of --page-tokens output
  tokens (random weights never stop by themselves, so the output length is set; 1,000 tokens is
  about a dense Korean A4 page).
- compile: batch-1 decode with a static KV cache, eager and with transformers' automatic
  torch.compile (the first call's compile time is reported apart).
- nf4: 4-bit NF4 (bitsandbytes through from_pretrained, the path users take) on two slices of
  the text layers saved to disk; step time = fixed (lm_head, embeddings) + layers x per-layer,
  fitted on the two slices and evaluated at the full 64 layers.
A stage that runs out of memory or fails is recorded as an error and the next one runs; the JSON
is rewritten after every stage, so a run cut short keeps what it measured.

    python benchmarks/gpu/decode_prefill.py --json gpu.json          # H100/H200, bf16+pages+nf4 < 8 min
    python benchmarks/gpu/decode_prefill.py --stages compile --json compile.json
    python benchmarks/gpu/decode_prefill.py --smoke --json cpu.json  # scaled-down, on a CPU (CI)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
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


def page_inputs(model: Any, device: torch.device, grid: tuple[int, int, int], batch: int = 1) -> dict[str, Any]:
    """`batch` pages of one size as the processor would hand them over: the prompt with the
    page's visual tokens in it, and the page's patches."""
    config = model.config
    vision = config.vision_config
    patches = grid[0] * grid[1] * grid[2]
    visual_tokens = patches // vision.spatial_merge_size**2
    patch_dim = vision.in_channels * vision.temporal_patch_size * vision.patch_size**2
    ids = torch.randint(100, 1000, (batch, PROMPT_TOKENS + visual_tokens), device=device)
    ids[:, 10 : 10 + visual_tokens] = config.image_token_id
    return {
        "input_ids": ids,
        "attention_mask": torch.ones_like(ids),
        "pixel_values": torch.randn(batch * patches, patch_dim, device=device, dtype=torch.bfloat16),
        "image_grid_thw": torch.tensor([grid] * batch, device=device),
    }


class StepClock:
    """A stopping criterion that never stops: it notes the time after every generated token (the
    device synchronised), so one generate call gives both the first token's time (vision tower
    and prefill) and the steady decode step, without subtracting two noisy runs."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.times = device, [time.perf_counter()]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        sync(self.device)
        self.times.append(time.perf_counter())
        return torch.zeros(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)

    @property
    def first_token_seconds(self) -> float:
        return self.times[1] - self.times[0]

    @property
    def step_seconds(self) -> float:
        return (self.times[-1] - self.times[1]) / (len(self.times) - 2)


def clocked(model: Any, device: torch.device, inputs: dict[str, Any], steps: int, **extra: Any) -> StepClock:
    """One generate of 1 + `steps` tokens after a warm-up call; its clock."""
    from transformers import StoppingCriteriaList

    def run(clock: StepClock) -> StepClock:
        sync(device)
        clock.times[0] = time.perf_counter()
        model.generate(
            **inputs, do_sample=False, eos_token_id=None, max_new_tokens=steps + 1, min_new_tokens=steps + 1,
            stopping_criteria=StoppingCriteriaList([clock]), **extra,
        )  # fmt: skip
        return clock

    run(StepClock(device))
    return run(StepClock(device))


@torch.inference_mode()
def decode_rate(model: Any, device: torch.device, batch: int, steps: int, **extra: Any) -> float:
    """Decoded tokens/s at `batch` after a short text prompt: the steady step, timed per step."""
    ids = torch.randint(100, 1000, (batch, PROMPT_TOKENS), device=device)
    clock = clocked(model, device, {"input_ids": ids, "attention_mask": torch.ones_like(ids)}, steps, **extra)
    return batch / clock.step_seconds


@torch.inference_mode()
def prefill_rate(model: Any, device: torch.device, grid: tuple[int, int, int]) -> float:
    inputs = page_inputs(model, device, grid)
    seconds = timed(device, lambda: model(**inputs, logits_to_keep=1), repeats=2)
    return inputs["input_ids"].shape[1] / seconds


@torch.inference_mode()
def page_rate(
    model: Any, device: torch.device, grid: tuple[int, int, int], batch: int, steps: int, page_tokens: int
) -> dict[str, float]:
    """Whole pages through generate: the first token (vision tower + prefill), then decode steps
    with the pages in the cache; pages/hour for pages of `page_tokens` output tokens."""
    clock = clocked(model, device, page_inputs(model, device, grid, batch), steps)
    first, step = clock.first_token_seconds, clock.step_seconds
    seconds = first + page_tokens * step
    return {
        "first_token_seconds": first,
        "step_seconds": step,
        "decode_tokens_per_s": batch / step,
        "seconds_per_batch": seconds,
        "pages_per_hour": 3600 * batch / seconds,
    }


def attempt(name: str, fn: Any) -> Any:
    """A measurement, or what stopped it: out of memory (expected for the largest batches on an
    H100), or any other error, printed; the next measurement still runs."""
    try:
        return fn()
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        print(f"{name}: out of GPU memory", file=sys.stderr)
        return {"error": "out of memory"}
    except Exception as exc:
        traceback.print_exc()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return {"error": f"{type(exc).__name__}: {exc}"}


def _slice_config(config_dict: dict[str, Any], layers: int) -> dict[str, Any]:
    """The first `layers` text layers, and one vision block (decode never runs the vision tower:
    its 1.3 B parameters would only cost time to build, save and load)."""
    sliced = json.loads(json.dumps(config_dict))
    text = sliced["text_config"]
    text["num_hidden_layers"] = layers
    if text.get("layer_types"):
        text["layer_types"] = text["layer_types"][:layers]
    sliced["vision_config"].update(depth=1, fullatt_block_indexes=[0])
    return sliced


def four_bit_slices(
    config_dict: dict[str, Any], device: torch.device, layers: int, batches: list[int], steps: int, bw: float
) -> dict[str, Any]:
    """4-bit NF4 through from_pretrained on slices of layers//2 and `layers` text layers; the
    step time fitted as fixed + per-layer x layers and evaluated at full depth."""
    from transformers import AutoModelForImageTextToText, BitsAndBytesConfig

    from exaone_cli.config import UNQUANTIZED_MODULES

    full_layers = config_dict["text_config"]["num_hidden_layers"]
    small, large = max(1, layers // 2), max(2, layers)
    quant = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
        llm_int8_skip_modules=list(UNQUANTIZED_MODULES),
    )
    steps_at: dict[int, dict[int, float]] = {}
    per_layer_bytes = fixed_bytes = 0.0
    for count in (small, large):
        with tempfile.TemporaryDirectory() as folder:
            build(_slice_config(config_dict, count), torch.device("cpu")).save_pretrained(folder)
            model = AutoModelForImageTextToText.from_pretrained(
                folder, quantization_config=quant, device_map={"": str(device)}
            )
        per_layer_bytes = layer_bytes(model) / count
        fixed_bytes = text_weight_bytes(model) - layer_bytes(model)  # lm_head and the final norm
        steps_at[count] = {batch: batch / decode_rate(model, device, batch, steps) for batch in batches}
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    full_bytes = fixed_bytes + per_layer_bytes * full_layers
    rates = {}
    for batch in batches:
        per_layer = max(steps_at[large][batch] - steps_at[small][batch], 0.0) / (large - small)
        fixed = max(steps_at[small][batch] - small * per_layer, 0.0)
        rates[batch] = batch / (fixed + per_layer * full_layers)
    return {
        "slices_layers": [small, large],
        "slice_step_seconds": steps_at,
        "scaled_to_layers": full_layers,
        "weight_bytes_estimate": full_bytes,
        "decode_tokens_per_s": rates,
        "ceiling_tokens_per_s": {b: b * bw / full_bytes for b in batches},
        "note": f"step time fitted on slices of {small} and {large} layers (fixed + per-layer), evaluated at "
        f"{full_layers} layers",
    }


@torch.inference_mode()
def compile_stage(model: Any, device: torch.device, steps: int, smoke: bool) -> dict[str, Any]:
    """Batch-1 decode: the dynamic cache (as exaone runs today), a static cache, and a static
    cache with transformers' automatic torch.compile (CUDA graphs)."""
    from transformers import CompileConfig

    result: dict[str, Any] = {
        "dynamic_cache": attempt("dynamic cache", lambda: decode_rate(model, device, 1, steps)),
        "static_cache": attempt(
            "static cache",
            lambda: decode_rate(model, device, 1, steps, cache_implementation="static", disable_compile=True),
        ),
    }
    config = CompileConfig(backend="eager") if smoke else CompileConfig()  # CPU: tracing only, no inductor
    if smoke:
        config._compile_all_devices = True
    ids = torch.randint(100, 1000, (1, PROMPT_TOKENS), device=device)
    inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    extra = {"cache_implementation": "static", "compile_config": config}

    def first_compiled_call() -> float:
        start = time.perf_counter()
        model.generate(**inputs, do_sample=False, max_new_tokens=steps + 1, min_new_tokens=steps + 1, **extra)
        sync(device)
        return time.perf_counter() - start

    result["compile_first_call_seconds"] = attempt("compile", first_compiled_call)
    result["static_cache_compiled"] = attempt("compiled", lambda: decode_rate(model, device, 1, steps, **extra))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="scaled-down config on the CPU (CI)")
    parser.add_argument("--stages", default="bf16,pages,nf4", help="any of bf16,pages,compile,nf4")
    parser.add_argument("--steps", type=int, default=32)
    parser.add_argument("--batches", default="1,4,8")
    parser.add_argument("--page-batches", default="1,4,8")
    parser.add_argument("--page-tokens", type=int, default=1000, help="output tokens per page, for pages/hour")
    parser.add_argument("--four-bit-layers", type=int, default=8)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = json.loads(CONFIG.read_text())
    device = torch.device("cpu" if args.smoke or not torch.cuda.is_available() else "cuda")
    if args.smoke:
        config = smoke_config(config)
    grid = (1, 8, 8) if args.smoke else PAGE_GRID
    stages = args.stages.split(",")
    batches = [int(b) for b in args.batches.split(",")]
    page_batches = [int(b) for b in args.page_batches.split(",")]
    started = time.perf_counter()
    bw = bandwidth(device, 0.25 if args.smoke else 4.0)
    if device.type == "cuda":
        torch.cuda.empty_cache()
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "smoke": args.smoke,
        "settings": {k: str(v) for k, v in vars(args).items()},
        "bandwidth_bytes_per_s": bw,
    }

    def save() -> None:
        result["seconds"] = time.perf_counter() - started
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str))

    print(f"{result['device']}: bandwidth {bw / 1e9:,.0f} GB/s", flush=True)
    save()
    if {"bf16", "pages", "compile"} & set(stages):
        model = build(config, device)
        weights = text_weight_bytes(model)
        if "bf16" in stages:
            part = result["bf16"] = {
                "weight_bytes_per_token": weights,
                "page_tokens": PROMPT_TOKENS + grid[0] * grid[1] * grid[2] // 4,
                "prefill_tokens_per_s": attempt("prefill", lambda: prefill_rate(model, device, grid)),
                "ceiling_tokens_per_s": {b: b * bw / weights for b in batches},
                "decode_tokens_per_s": {},
            }
            print(f"bf16 prefill: {_number(part['prefill_tokens_per_s'])} tokens/s ({part['page_tokens']} tokens)")
            for batch in batches:
                rate = part["decode_tokens_per_s"][batch] = attempt(
                    f"decode {batch}", lambda b=batch: decode_rate(model, device, b, args.steps)
                )
                _print_rate("bf16", batch, rate, part["ceiling_tokens_per_s"][batch])
                save()
        if "pages" in stages:
            pages = result["pages"] = {"page_tokens": args.page_tokens, "batches": {}}
            for batch in page_batches:
                row = pages["batches"][batch] = attempt(
                    f"pages {batch}",
                    lambda b=batch: page_rate(model, device, grid, b, args.steps, args.page_tokens),
                )
                if "error" in row:
                    print(f"pages batch {batch}: {row['error']}", flush=True)
                else:
                    print(
                        f"pages batch {batch}: first token {row['first_token_seconds']:.2f} s, decode "
                        f"{row['decode_tokens_per_s']:,.1f} tok/s with the pages in the cache -> "
                        f"{row['pages_per_hour']:,.0f} pages/hour at {args.page_tokens} tokens a page",
                        flush=True,
                    )
                save()
        if "compile" in stages:
            result["compile"] = compile_stage(model, device, args.steps, args.smoke)
            print(f"batch-1 decode, cache/compile: {json.dumps(result['compile'], default=str)}", flush=True)
            save()
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()
    if "nf4" in stages:
        layers = min(args.four_bit_layers, config["text_config"]["num_hidden_layers"])
        result["nf4"] = attempt("nf4", lambda: four_bit_slices(config, device, layers, batches, args.steps, bw))
        nf4 = result["nf4"]
        if "error" not in nf4:
            for batch in batches:
                _print_rate("nf4", batch, nf4["decode_tokens_per_s"][batch], nf4["ceiling_tokens_per_s"][batch])
        save()
    _print_targets(result)
    save()


def _number(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, float) else str(value)


def _print_rate(name: str, batch: int, rate: Any, ceiling: float) -> None:
    if isinstance(rate, float):
        print(
            f"{name} decode batch {batch}: {rate:,.1f} tok/s, ceiling {ceiling:,.1f} ({rate / ceiling:.0%})", flush=True
        )
    else:
        print(f"{name} decode batch {batch}: {rate}", flush=True)


def _print_targets(result: dict[str, Any]) -> None:
    """The issue's two targets, from what was measured."""
    bf16, pages = result.get("bf16", {}), result.get("pages", {})
    rate, ceiling = bf16.get("decode_tokens_per_s", {}).get(1), bf16.get("ceiling_tokens_per_s", {}).get(1)
    if isinstance(rate, float) and ceiling:
        verdict = "met" if rate >= 0.7 * ceiling else "NOT met"
        print(f"target: bf16 batch-1 decode >= 70% of the ceiling: {rate / ceiling:.0%}, {verdict}")
    rows = [row for row in pages.get("batches", {}).values() if "pages_per_hour" in row]
    if rows:
        best = max(row["pages_per_hour"] for row in rows)
        print(f"target: >= 400 pages/hour with batching: best {best:,.0f}, {'met' if best >= 400 else 'NOT met'}")


if __name__ == "__main__":
    main()
