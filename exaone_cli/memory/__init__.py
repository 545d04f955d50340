"""How much memory the model needs and where it would go, planned from its config alone.
May import engines/ (the checkpoint), config, machine, vision and errors; only doctor's cli and render use it.

Every tensor is sized the way transformers really loads it: from the model built on the meta device
(no weights, no download) when torch is installed, or from the tensor table shipped beside the
model's config when it is not (a --server install). Placement replays transformers' budget rules
and accelerate's `infer_auto_device_map`, so `exaone doctor` can say "fits", "fits with N layers on
the CPU" or "does not fit" in seconds, and which --quantize would make it fit.

Modules: model (the config, the meta model or the shipped table), tensors (the tensor table), sizes
(bytes per tensor, quantization), kv (the KV cache per page), hardware (GPUs and RAM), plan
(placement and verdict).
"""

from __future__ import annotations

from .hardware import GiB, Hardware, format_bytes, hardware_of, parse_gpu_memory
from .kv import KvCache, kv_cache
from .model import ModelConfig, load_model_config
from .plan import DeviceShare, MemoryPlan, Suggestion, Verdict, plan_memory
from .sizes import Quantization, bitsandbytes_quantization, checkpoint_quantization, skipped

__all__ = [
    "DeviceShare", "GiB", "Hardware", "KvCache", "MemoryPlan", "ModelConfig", "Quantization", "Suggestion", "Verdict",
    "bitsandbytes_quantization", "checkpoint_quantization", "format_bytes", "hardware_of", "kv_cache",
    "load_model_config", "parse_gpu_memory", "plan_memory", "skipped",
]  # fmt: skip
