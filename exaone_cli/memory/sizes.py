"""Bytes per tensor as transformers really loads it: the dtype, and bitsandbytes or a
pre-quantized checkpoint's storage for linear weights.

bitsandbytes sizes: an 8-bit linear keeps one int8 per weight plus an fp32 scale per output row;
a 4-bit NF4 linear with double quantization keeps half a byte per weight plus an 8-bit absmax per
64-weight block and an fp32 absmax per 256 blocks. Everything else (embeddings, norms, biases and
the modules in UNQUANTIZED_MODULES) stays in the compute dtype.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..config import UNQUANTIZED_MODULES
from ..errors import UsageError
from .tensors import Tensor

DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}


@dataclass(frozen=True)
class Quantization:
    """How linear weights are stored. bits 16 means not quantized."""

    method: str  # "none", "bitsandbytes", or a pre-quantized checkpoint's quant_method
    bits: int
    skip: tuple[str, ...] = ()  # module patterns kept in the compute dtype
    group_size: int | None = None  # pre-quantized: a 16-bit scale and a zero point per group
    block: tuple[int, ...] | None = None  # FP8 block quantization: an fp32 scale per block
    prequantized: bool = False

    @property
    def active(self) -> bool:
        return self.bits < 16

    def linear_weight_bytes(self, out_features: int, in_features: int) -> int:
        n = out_features * in_features
        if self.method == "bitsandbytes" and self.bits == 8:
            return n + 4 * out_features  # int8 weights + SCB, one fp32 scale per row
        if self.method == "bitsandbytes" and self.bits == 4:
            blocks = math.ceil(n / 64)
            # packed NF4 + uint8 absmax per block + fp32 absmax per 256 blocks + the two code tables
            return math.ceil(n / 2) + blocks + 4 * math.ceil(blocks / 256) + 4 * (16 + 256 + 1)
        packed = math.ceil(n * self.bits / 8)
        if self.block and len(self.block) == 2:
            return packed + 4 * math.ceil(out_features / self.block[0]) * math.ceil(in_features / self.block[1])
        groups = out_features * (math.ceil(in_features / self.group_size) if self.group_size else 1)
        return packed + 2 * groups + math.ceil(groups * self.bits / 8)


def bitsandbytes_quantization(quantize: str) -> Quantization:
    """--quantize none|8bit|4bit as the local engine loads it."""
    bits = {"none": 16, "8bit": 8, "4bit": 4}[quantize]
    return Quantization("none" if bits == 16 else "bitsandbytes", bits, tuple(UNQUANTIZED_MODULES))


def checkpoint_quantization(spec: dict[str, Any]) -> Quantization:
    """Best effort from a pre-quantized checkpoint's quantization_config (FP8, AWQ, GPTQ, ...)."""
    method = str(spec.get("quant_method", "unknown"))
    if method == "bitsandbytes":
        skip = spec.get("llm_int8_skip_modules") or ["lm_head"]
        return Quantization(method, 4 if spec.get("load_in_4bit") else 8, tuple(skip), prequantized=True)
    groups: dict[str, Any] = spec.get("config_groups") or {}  # compressed-tensors
    first: dict[str, Any] = next(iter(groups.values())) if groups else {}
    weights: dict[str, Any] = first.get("weights") or {}
    bits = spec.get("bits") or spec.get("w_bit") or weights.get("num_bits") or (8 if "fp8" in method else 4)
    group_size = spec.get("group_size") or spec.get("q_group_size") or weights.get("group_size")
    block = spec.get("weight_block_size")
    skip = spec.get("modules_to_not_convert") or spec.get("ignore") or ["lm_head"]
    return Quantization(
        method,
        int(bits),
        tuple(skip),
        group_size=int(group_size) if group_size and group_size > 0 else None,
        block=tuple(block) if block else None,
        prequantized=True,
    )


def skipped(module_name: str, patterns: tuple[str, ...]) -> bool:
    """transformers' rule (quantizers_utils.should_convert_module) for "leave this module alone": a
    pattern matches from the start of the path up to a module boundary, as a regex, or as a suffix."""
    boundary = r"(?:(?<=\.)|(?=\.|$))"
    return any(
        re.match(rf"(?:{pattern.removeprefix('re:')}){boundary}", module_name) or module_name.endswith(pattern)
        for pattern in patterns
    )


def quantization_for(config: Any, quantize: str) -> Quantization:
    spec = getattr(config, "quantization_config", None)
    if spec is None:
        return bitsandbytes_quantization(quantize)
    if quantize != "none":
        raise UsageError(
            f"--quantize {quantize}: the checkpoint is already quantized", hint="leave out --quantize for this model"
        )
    return checkpoint_quantization(spec if isinstance(spec, dict) else spec.to_dict())


def load_dtype(config: Any, dtype: str, quant: Quantization) -> str:
    """--dtype as the local engine resolves it: "auto" is the checkpoint's dtype, or bfloat16 (the
    compute dtype) when bitsandbytes quantizes at load time."""
    if dtype != "auto":
        return dtype
    if quant.method == "bitsandbytes" and not quant.prequantized:
        return "bfloat16"
    found = getattr(config, "dtype", None) or getattr(config.text_config, "dtype", None) or "float32"
    name = str(found).removeprefix("torch.")
    return name if name in DTYPE_BYTES else "float32"


@dataclass(frozen=True)
class TensorSizes:
    bytes: dict[str, int]  # parameter/buffer name -> bytes as loaded
    quantized_names: frozenset[str]  # the linear weights quantization stores
    parameters: int
    quantized: int
    kept: tuple[tuple[str, int], ...]


def tensor_sizes(tensors: Sequence[Tensor], quantization: Quantization, dtype_bytes: int) -> TensorSizes:
    """Every tensor's bytes as transformers loads it with `quantization` and a dtype of `dtype_bytes`."""
    sizes: dict[str, int] = {}
    quantized_names: set[str] = set()
    kept = dict.fromkeys(quantization.skip, 0)
    parameters = quantized = 0
    for tensor in tensors:
        if tensor.kind == "buffer":
            sizes[tensor.name] = tensor.numel * tensor.element_bytes
            continue
        parameters += tensor.numel
        linear = tensor.kind == "linear" and quantization.active
        keep = linear and skipped(tensor.module, quantization.skip)
        if linear and tensor.attribute == "weight" and not keep:
            sizes[tensor.name] = quantization.linear_weight_bytes(*tensor.shape)
            quantized += tensor.numel
            quantized_names.add(tensor.name)
        else:
            sizes[tensor.name] = tensor.numel * dtype_bytes
        if keep and tensor.attribute == "weight":
            pattern = next(p for p in quantization.skip if skipped(tensor.module, (p,)))
            kept[pattern] += tensor.numel
    return TensorSizes(
        sizes, frozenset(quantized_names), parameters, quantized, tuple(kept.items()) if quantization.active else ()
    )
