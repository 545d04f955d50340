"""How much memory the model needs and where it would go, planned from its config alone.

The model is built on the meta device (no weights, no download), every tensor is sized the way
transformers really loads it, and placement replays transformers' budget rules before asking
accelerate's `infer_auto_device_map`, so `exaone doctor` can say "fits", "fits with N layers on
the CPU" or "does not fit" in seconds, and which --quantize would make it fit.

bitsandbytes sizes: an 8-bit linear keeps one int8 per weight plus an fp32 scale per output row;
a 4-bit NF4 linear with double quantization keeps half a byte per weight plus an 8-bit absmax per
64-weight block and an fp32 absmax per 256 blocks. Everything else (embeddings, norms, biases and
the modules in UNQUANTIZED_MODULES) stays in the compute dtype.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import re
import warnings
from dataclasses import asdict, dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .config import UNQUANTIZED_MODULES, LoadOptions, parse_memory
from .engines.checkpoint import DOWNLOAD_HINT, EXAONE_MODEL_TYPE, looks_like_path
from .errors import EngineError, UsageError
from .vision import visual_tokens

if TYPE_CHECKING:
    from .machine import Machine

GiB = 2**30
A4_AT_200_DPI = (1654, 2339)
PAGE_OUTPUT_TOKENS = 1000
PAGE_ASSUMPTION = "one A4 page at 200 DPI (default visual-token budget) plus 1,000 output tokens"
DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
# transformers' own margins (integrations/accelerate.py, quantizers/quantizer_bnb_*.py).
SINGLE_GPU_SHARE = 0.9  # of one GPU, when --max-memory is not given
CPU_SHARE = 0.9  # of available RAM, when --max-memory is not given
BNB_SHARE = 0.9  # of every budget, with bitsandbytes

VerdictKind = Literal["gpu", "gpu_tight", "offload", "cpu", "no_fit"]
ConfigSource = Literal["package", "folder", "hub"]


def format_bytes(size: float) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} bytes"


@dataclass(frozen=True)
class ModelConfig:
    """A transformers config of an EXAONE 4.5 checkpoint, and where it was read from."""

    name: str
    source: ConfigSource
    config: Any
    has_weights: bool = True


def load_model_config(model: str, revision: str | None = None) -> ModelConfig:
    """A local folder's config.json; the config shipped in exaone_cli/model_configs for known hub
    ids (works offline); otherwise the HF cache or the hub."""
    if looks_like_path(model):
        return _folder_config(Path(model).expanduser())
    packaged = resources.files("exaone_cli") / "model_configs" / model.replace("/", "--") / "config.json"
    if packaged.is_file():
        return ModelConfig(model, "package", _config_from_dict(json.loads(packaged.read_text(encoding="utf-8"))))
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(model, revision=revision)
    except (OSError, ValueError) as exc:
        raise EngineError(
            f"could not read the config of {model!r}: {_first_line(exc)}",
            hint="check the hub id and the network (or HF_HUB_OFFLINE), or pass a local folder with --model DIR",
        ) from exc
    _check_model_type(getattr(config, "model_type", None), model)
    return ModelConfig(model, "hub", config)


def _folder_config(folder: Path) -> ModelConfig:
    config_path = folder / "config.json"
    if not folder.is_dir():
        raise EngineError(f"{folder}: no such model folder", hint=DOWNLOAD_HINT)
    if not config_path.is_file():
        raise EngineError(f"{folder}: not a model folder (no config.json)", hint=DOWNLOAD_HINT)
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(f"{config_path}: unreadable config ({exc})", hint=DOWNLOAD_HINT) from exc
    _check_model_type(data.get("model_type") if isinstance(data, dict) else None, str(folder))
    has_weights = any(any(folder.glob(pattern)) for pattern in ("*.safetensors", "*.bin"))
    return ModelConfig(str(folder), "folder", _config_from_dict(data), has_weights)


def _check_model_type(model_type: object, where: str) -> None:
    if model_type != EXAONE_MODEL_TYPE:
        raise EngineError(
            f"{where}: not an EXAONE 4.5 checkpoint (model_type {model_type!r})",
            hint=f"exaone plans models of type {EXAONE_MODEL_TYPE!r}",
        )


def _config_from_dict(data: dict[str, Any]) -> Any:
    from transformers import AutoConfig

    data = dict(data)
    return AutoConfig.for_model(data.pop("model_type"), **data)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


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


@dataclass(frozen=True)
class Hardware:
    """What the plan places weights on: free memory per GPU and available RAM."""

    gpus: tuple[int, ...]
    cpu_bytes: int
    described: bool = False  # from --gpu-memory rather than this machine

    def describe(self) -> str:
        if not self.gpus:
            return "no GPU"
        sizes = [_size_words(size) for size in self.gpus]
        if len(self.gpus) == 1:
            return f"one {sizes[0]} GPU"
        if len(set(sizes)) == 1:
            return f"{len(sizes)} GPUs of {sizes[0]} each"
        return f"{len(sizes)} GPUs ({' + '.join(sizes)})"


def hardware_of(machine: Machine, gpu_memory: tuple[int, ...] | None = None) -> Hardware:
    """This machine's free GPU memory and available RAM, or the GPUs described by --gpu-memory."""
    if gpu_memory is not None:
        return Hardware(gpu_memory, machine.ram_available_bytes, described=True)
    return Hardware(tuple(gpu.free_bytes for gpu in machine.gpus), machine.ram_available_bytes)


def _size_words(size: int) -> str:
    return f"{size / GiB:.0f} GiB" if size % GiB == 0 else format_bytes(size)


def parse_gpu_memory(spec: str) -> tuple[int, ...]:
    """--gpu-memory '24GiB' or '48GiB,48GiB' -> free bytes per GPU."""
    sizes = tuple(parse_memory(part) for part in spec.split(","))
    if not all(sizes):
        raise UsageError(f"--gpu-memory {spec!r}: every GPU needs some memory", hint="e.g. --gpu-memory 24GiB,24GiB")
    return sizes


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

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "bytes_per_token": self.bytes_per_token,
            "bytes_per_token_global_layers": self.layer_bytes_per_token * self.global_layers,
            "bytes_per_token_sliding_layers": self.layer_bytes_per_token * self.sliding_layers,
            "page_tokens": self.page_tokens,
            "bytes_per_page": self.bytes_per_page,
            "page_assumption": PAGE_ASSUMPTION,
        }


def kv_cache(config: Any, dtype: str, min_pixels: int, max_pixels: int) -> KvCache:
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
    )


@dataclass(frozen=True)
class DeviceShare:
    """The weights accelerate would put on one device ("0", "1", ..., "cpu", "disk")."""

    device: str
    weights_bytes: int
    free_bytes: int | None  # GPU free memory / available RAM; None for disk
    budget_bytes: int | None  # what placement may fill there, after transformers' margins
    decoder_layers: int
    vision_blocks: int


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    message: str


@dataclass(frozen=True)
class Suggestion:
    flags: str | None  # None: no option fits
    message: str


@dataclass(frozen=True)
class MemoryPlan:
    model: str
    config_source: ConfigSource
    quantize: str
    quantization: Quantization
    dtype: str
    device_map: str
    parameters: int
    quantized_parameters: int
    weights_bytes: int
    kept_unquantized: tuple[tuple[str, int], ...]  # skip pattern -> linear parameters it keeps
    placement: tuple[DeviceShare, ...]
    kv_cache: KvCache
    verdict: Verdict
    hardware: Hardware
    suggestion: Suggestion | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["kept_unquantized"] = dict(self.kept_unquantized)
        body["kv_cache"] = self.kv_cache.to_dict()
        return body


def plan_memory(load: LoadOptions, hardware: Hardware) -> MemoryPlan:
    """The plan for `load` on `hardware`, and, when it does not fit, the first --quantize (none,
    8bit, 4bit; then the same with --max-memory lifting transformers' 10% GPU reserve) that does."""
    extra = [key for key in load.max_memory_dict or {} if isinstance(key, int) and key >= len(hardware.gpus)]
    if extra:
        raise UsageError(
            f"--max-memory names GPU {extra[0]}, but the plan has {hardware.describe()}",
            hint="describe the GPUs with --gpu-memory, e.g. --gpu-memory 24GiB,24GiB",
        )
    _require_local_libraries()
    source = load_model_config(load.model, load.revision)
    quantization = _quantization(source.config, load.quantize)
    model = _meta_model(source.config)
    plan = _plan(source, model, load, hardware, quantization)
    target = "gpu" if hardware.gpus and load.device_map != "cpu" else "cpu"
    suggestion = None if plan.verdict.kind == target else _suggest(source, model, load, hardware, plan, target)
    return replace(plan, suggestion=suggestion, notes=plan.notes + _source_notes(source, load, plan))


def _require_local_libraries() -> None:
    try:
        import accelerate  # noqa: F401
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        raise EngineError(
            f"the memory plan needs torch, transformers and accelerate ({exc.name} is missing)",
            hint="pip install 'exaone-cli[local]'",
        ) from exc


def _quantization(config: Any, quantize: str) -> Quantization:
    spec = getattr(config, "quantization_config", None)
    if spec is None:
        return bitsandbytes_quantization(quantize)
    if quantize != "none":
        raise UsageError(
            f"--quantize {quantize}: the checkpoint is already quantized", hint="leave out --quantize for this model"
        )
    return checkpoint_quantization(spec if isinstance(spec, dict) else spec.to_dict())


_META_MODELS: dict[str, Any] = {}


def _meta_model(config: Any) -> Any:
    """The model on the meta device, in float32 (sizes are then computed for any dtype); built once
    per config because building the 33B model takes seconds."""
    key = config.to_json_string()
    if key not in _META_MODELS:
        import torch
        from transformers import AutoModelForImageTextToText

        # torch's meta device rather than accelerate's init_empty_weights, which unties tied weights.
        with torch.device("meta"):
            _META_MODELS[key] = AutoModelForImageTextToText.from_config(copy.deepcopy(config), dtype=torch.float32)
    return _META_MODELS[key]


def _load_dtype(config: Any, dtype: str, quant: Quantization) -> str:
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
class _Sizes:
    bytes: dict[str, int]  # parameter/buffer name -> bytes as loaded
    placement_dtypes: dict[str, Any]  # quantized weights -> the dtype transformers places them as
    parameters: int
    quantized: int
    kept: tuple[tuple[str, int], ...]


def _tensor_sizes(model: Any, quantization: Quantization, dtype_bytes: int) -> _Sizes:
    import torch
    from accelerate.utils import CustomDtype

    unit = {8: torch.int8, 4: CustomDtype.INT4, 2: CustomDtype.INT2}.get(quantization.bits)
    sizes: dict[str, int] = {}
    placement: dict[str, Any] = {}
    kept = dict.fromkeys(quantization.skip, 0)
    parameters = quantized = 0
    seen: set[int] = set()  # tied weights are one tensor
    for module_name, module in model.named_modules():
        linear = type(module) is torch.nn.Linear and quantization.active
        keep = linear and skipped(module_name, quantization.skip)
        for name, tensor in module.named_parameters(recurse=False):
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            full = f"{module_name}.{name}" if module_name else name
            parameters += tensor.numel()
            if linear and name == "weight" and not keep:
                sizes[full] = quantization.linear_weight_bytes(*tensor.shape)
                quantized += tensor.numel()
                if unit is not None:
                    placement[full] = unit
            else:
                sizes[full] = tensor.numel() * dtype_bytes
            if keep and name == "weight":
                pattern = next(p for p in quantization.skip if skipped(module_name, (p,)))
                kept[pattern] += tensor.numel()
        for name, tensor in module.named_buffers(recurse=False):
            sizes[f"{module_name}.{name}" if module_name else name] = tensor.numel() * tensor.element_size()
    return _Sizes(sizes, placement, parameters, quantized, tuple(kept.items()) if quantization.active else ())


def _plan(source: ModelConfig, model: Any, load: LoadOptions, hardware: Hardware, quant: Quantization) -> MemoryPlan:
    dtype = _load_dtype(source.config, load.dtype, quant)
    sizes = _tensor_sizes(model, quant, DTYPE_BYTES[dtype])
    placed, budgets, notes = _place(model, sizes, load, hardware, quant, dtype)
    devices = _device_shares(model, sizes, placed, budgets, hardware)
    kv = kv_cache(source.config, dtype, load.min_pixels, load.max_pixels)
    return MemoryPlan(
        model=source.name,
        config_source=source.source,
        quantize=load.quantize,
        quantization=quant,
        dtype=dtype,
        device_map=load.device_map,
        parameters=sizes.parameters,
        quantized_parameters=sizes.quantized,
        weights_bytes=sum(sizes.bytes.values()),
        kept_unquantized=sizes.kept,
        placement=devices,
        kv_cache=kv,
        verdict=_verdict(devices, hardware, kv),
        hardware=hardware,
        notes=notes,
    )


def _place(
    model: Any, sizes: _Sizes, load: LoadOptions, hardware: Hardware, quant: Quantization, dtype: str
) -> tuple[dict[str, str], dict[str, int], tuple[str, ...]]:
    """Every tensor's device, the budgets placement used, and notes on the margins applied."""
    fixed = re.fullmatch(r"(?:cuda:?)?([0-9]*)|cpu", load.device_map)
    if fixed:
        device = "cpu" if load.device_map == "cpu" else fixed.group(1) or "0"
        return dict.fromkeys(sizes.bytes, device), {}, ()
    import torch
    from accelerate import infer_auto_device_map
    from accelerate.utils import compute_module_sizes

    torch_dtype = getattr(torch, dtype)
    no_split = sorted(getattr(model, "_no_split_modules", None) or [])
    budgets, notes = _budgets(load, hardware, quant)
    if load.device_map != "sequential":
        unit_sizes = compute_module_sizes(model, dtype=torch_dtype, special_dtypes=sizes.placement_dtypes)
        budgets = _balanced(model, unit_sizes, no_split, budgets, load)
    if quant.method == "bitsandbytes":
        budgets = {key: int(value * BNB_SHARE) for key, value in budgets.items()}
    logger = logging.getLogger("accelerate.utils.modeling")  # "Device 0 is not available" for --gpu-memory
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            device_map = infer_auto_device_map(
                model,
                max_memory=dict(budgets),
                no_split_module_classes=no_split,
                dtype=torch_dtype,
                special_dtypes=sizes.placement_dtypes,
            )
    finally:
        logger.setLevel(level)
    return _expand(device_map, sizes.bytes), {str(key): int(value) for key, value in budgets.items()}, notes


def _budgets(
    load: LoadOptions, hardware: Hardware, quant: Quantization
) -> tuple[dict[int | str, int], tuple[str, ...]]:
    """Per-device limits as transformers' from_pretrained derives them (integrations/accelerate.py)."""
    user = load.max_memory_dict
    notes: list[str] = []
    if user is None:
        budgets: dict[int | str, int] = dict(enumerate(hardware.gpus))
        budgets["cpu"] = int(hardware.cpu_bytes * CPU_SHARE)
        if len(hardware.gpus) == 1 and load.device_map != "sequential":
            notes.append("without --max-memory, transformers fills at most 90% of a single GPU")
    else:
        budgets = {key: value for key, value in user.items() if key != "mps"}
    if quant.method == "bitsandbytes":
        notes.append("with bitsandbytes, transformers fills at most 90% of each device's budget")
    return budgets, tuple(notes)


def _balanced(
    model: Any, unit: dict[str, float], no_split: list[str], budgets: dict[int | str, int], load: LoadOptions
) -> dict[int | str, int]:
    """transformers' get_balanced_memory: spread layers evenly over the GPUs (and keep 10% of a single
    GPU free when the user gave no --max-memory)."""
    budgets = dict(budgets)
    gpus = sorted(key for key, value in budgets.items() if isinstance(key, int) and value > 0)
    if not gpus:
        return budgets
    low_zero = load.device_map == "balanced_low_0" and len(gpus) > 1
    if len(gpus) == 1 and load.max_memory is None:
        budgets[gpus[0]] = int(budgets[gpus[0]] * SINGLE_GPU_SHARE)
    per_gpu = unit[""] // (len(gpus) - 1 if low_zero else len(gpus))
    blocks = [unit[name] for name, module in model.named_modules() if type(module).__name__ in no_split]
    leaves: dict[str, float] = {}
    for name, _ in [*model.named_parameters(), *model.named_buffers()]:
        parent = name.rpartition(".")[0]
        leaves[parent] = leaves.get(parent, 0) + unit[name]
    per_gpu += int(1.25 * max(max(blocks, default=0), max(leaves.values(), default=0)))
    for index in gpus[:-1]:
        budgets[index] = int(min(budgets[gpus[0]] if low_zero and index == gpus[0] else per_gpu, budgets[index]))
    if low_zero:
        rest = sum(budgets[index] for index in gpus[1:])
        budgets[gpus[0]] = int(min(max(0, unit[""] - rest), budgets[gpus[0]]))
    return budgets


def _expand(device_map: dict[str, int | str], names: dict[str, int]) -> dict[str, str]:
    """accelerate's module -> device map, as tensor name -> device ("0", "cpu", "disk")."""
    placed: dict[str, str] = {}
    for name in names:
        parts = name.split(".")
        prefixes = (".".join(parts[:end]) for end in range(len(parts), -1, -1))
        placed[name] = str(next((device_map[p] for p in prefixes if p in device_map), "cpu"))
    return placed


def _device_shares(
    model: Any, sizes: _Sizes, placed: dict[str, str], budgets: dict[str, int], hardware: Hardware
) -> tuple[DeviceShare, ...]:
    totals: dict[str, int] = {}
    for name, size in sizes.bytes.items():
        totals[placed[name]] = totals.get(placed[name], 0) + size
    layers: dict[str, list[int]] = {}
    no_split = set(getattr(model, "_no_split_modules", None) or [])
    for name, module in model.named_modules():
        kind = type(module).__name__
        first = next((n for n, _ in module.named_parameters()), None)
        if kind in no_split and first is not None:
            counts = layers.setdefault(placed[f"{name}.{first}"], [0, 0])
            counts[1 if "Vision" in kind else 0] += 1
    order = [str(index) for index in range(len(hardware.gpus))]
    order += [*sorted(d for d in totals if d.isdigit() and d not in order), "cpu", "disk"]
    shares = []
    for device in order:
        if device in ("cpu", "disk") and not totals.get(device):
            continue
        free = hardware.cpu_bytes if device == "cpu" else None
        if device.isdigit() and int(device) < len(hardware.gpus):
            free = hardware.gpus[int(device)]
        decoder, vision = layers.get(device, (0, 0))
        shares.append(DeviceShare(device, totals.get(device, 0), free, budgets.get(device), decoder, vision))
    return tuple(shares)


def _verdict(devices: tuple[DeviceShare, ...], hardware: Hardware, kv: KvCache) -> Verdict:
    used = {share.device: share for share in devices if share.weights_bytes}
    gpus = [share for share in used.values() if share.device.isdigit()]
    on_gpu = sum(share.weights_bytes for share in gpus)
    absent = [share.device for share in gpus if share.free_bytes is None]
    if absent:
        return Verdict("no_fit", f"there is no GPU {absent[0]} ({hardware.describe()})")
    if gpus and not {"cpu", "disk"} & used.keys():
        where = hardware.describe() if len(gpus) == len(hardware.gpus) else f"GPU {gpus[0].device}"
        room = sum((share.free_bytes or 0) - share.weights_bytes for share in gpus)
        if room < 0:
            return Verdict("no_fit", f"does not fit: {format_bytes(on_gpu)} of weights on {where}")
        if room < kv.bytes_per_page:
            return Verdict(
                "gpu_tight",
                f"loads on {where} ({format_bytes(on_gpu)} of weights), but the {format_bytes(room)} left is less "
                f"than one page's KV cache ({format_bytes(kv.bytes_per_page)})",
            )
        return Verdict(
            "gpu",
            f"fits on {where} ({format_bytes(on_gpu)} of weights; {format_bytes(room)} left for activations and "
            f"the KV cache, about {room // kv.bytes_per_page} pages at a time)",
        )
    if not gpus and "disk" not in used:
        in_ram = used["cpu"].weights_bytes if "cpu" in used else 0
        if in_ram > hardware.cpu_bytes:
            return Verdict("no_fit", f"does not fit: {format_bytes(in_ram)} of weights, {_ram(hardware)}")
        why = "no GPU" if not hardware.gpus else "--device-map cpu"
        return Verdict("cpu", f"runs on the CPU only ({why}): {format_bytes(in_ram)} of weights in RAM, very slow")
    layers = sum(share.decoder_layers for share in devices)
    offloaded = " and ".join(_offloaded(used[d], layers) for d in ("cpu", "disk") if d in used)
    return Verdict("offload", f"fits with {offloaded} (slow)" + (f"; {format_bytes(on_gpu)} on GPU" if on_gpu else ""))


def _offloaded(share: DeviceShare, layers: int) -> str:
    parts = [f"{share.decoder_layers} of {layers} decoder layers"] if share.decoder_layers else []
    parts += [f"{share.vision_blocks} vision blocks"] if share.vision_blocks else []
    where = "the CPU" if share.device == "cpu" else "disk"
    return f"{' and '.join(parts) or 'some weights'} ({format_bytes(share.weights_bytes)}) on {where}"


def _ram(hardware: Hardware) -> str:
    return f"{format_bytes(hardware.cpu_bytes)} of RAM available"


def _suggest(
    source: ModelConfig, model: Any, load: LoadOptions, hardware: Hardware, plan: MemoryPlan, target: str
) -> Suggestion:
    """The first option, least quantized first, whose plan reaches `target` ("gpu" or "cpu")."""
    options = ("none",) if plan.quantization.prequantized else ("none", "8bit", "4bit")
    memories: list[tuple[tuple[str, int], ...] | None] = [load.max_memory]
    if load.max_memory is None and hardware.gpus and load.device_map in ("auto", "balanced", "sequential"):
        # The whole of each GPU, lifting transformers' default 10% reserve (flags a user can type).
        memories.append(tuple((str(i), parse_memory(_memory_flag(free))) for i, free in enumerate(hardware.gpus)))
    smallest = plan
    for quantize in options:
        for max_memory in memories:
            candidate = replace(load, quantize=quantize, max_memory=max_memory)
            if candidate == load:
                continue
            attempt = _plan(source, model, candidate, hardware, _quantization(source.config, quantize))
            smallest = min(smallest, attempt, key=lambda p: p.weights_bytes)
            if attempt.verdict.kind == target:
                return Suggestion(_flags(candidate), f"{_flags(candidate)} {attempt.verdict.message}")
    place = f"on {hardware.describe()}" if target == "gpu" else f"in RAM ({_ram(hardware)})"
    budget = sum(d.budget_bytes or 0 for d in smallest.placement if d.device.isdigit() == (target == "gpu"))
    return Suggestion(
        None,
        f"no --quantize option fits {place}: the smallest, --quantize {smallest.quantize}, needs "
        f"{format_bytes(smallest.weights_bytes)} of weights, and transformers fills at most {format_bytes(budget)}",
    )


def _memory_flag(size: int) -> str:
    tenths = size * 10 // GiB
    return f"{tenths // 10}GiB" if tenths % 10 == 0 else f"{tenths / 10:.1f}GiB"


def _flags(load: LoadOptions) -> str:
    flags = [f"--quantize {load.quantize}"]
    if load.max_memory:
        flags.append("--max-memory " + ",".join(f"{key}={_memory_flag(size)}" for key, size in load.max_memory))
    return " ".join(flags)


def _source_notes(source: ModelConfig, load: LoadOptions, plan: MemoryPlan) -> tuple[str, ...]:
    notes = []
    if source.source == "package":
        notes.append(f"config of {source.name} shipped with exaone: planned without a download")
    if not source.has_weights:
        notes.append(f"{source.name} has no weights yet: planned from its config.json")
    quant = plan.quantization
    if quant.prequantized:
        notes.append(
            f"planned from the checkpoint's quantization_config ({quant.method}, {quant.bits}-bit): an estimate"
        )
    for pattern, count in plan.kept_unquantized:
        if not count:
            notes.append(
                f"skip pattern {pattern!r} matches no linear layer, so those layers ARE quantized "
                "(transformers matches module paths from the start, e.g. 'model.visual')"
            )
    if load.attn_implementation == "eager":
        notes.append("eager attention builds full attention matrices: large pages need far more memory than sdpa")
    if plan.hardware.described:
        notes.append(f"planned for {plan.hardware.describe()} (--gpu-memory: free memory per GPU) and this RAM")
    notes.append("not counted: activations (the vision tower's too) and the CUDA context, about 0.5 GiB per GPU")
    return tuple(notes)
