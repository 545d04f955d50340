"""Placement: transformers' budget rules replayed, accelerate's infer_auto_device_map asked, and the
verdict ("fits", "fits with N layers on the CPU", "does not fit") with the first option that fits."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from ..config import DEFAULT_CONTEXT_TOKENS, LoadOptions, parse_memory
from ..engines.installed import LOCAL_INSTALL, LOCAL_PACKAGES, missing
from ..errors import UsageError
from ..machine import Machine
from .hardware import GiB, Hardware, format_bytes
from .kv import KvCache, kv_cache
from .model import ConfigSource, ModelConfig, load_model_config, meta_model, shipped_model, tensors_of
from .sizes import DTYPE_BYTES, Quantization, TensorSizes, load_dtype, quantization_for, tensor_sizes
from .tensors import Tensor

# transformers' own margins (integrations/accelerate.py, quantizers/quantizer_bnb_*.py).
SINGLE_GPU_SHARE = 0.9  # of one GPU, when --max-memory is not given
CPU_SHARE = 0.9  # of available RAM, when --max-memory is not given
BNB_SHARE = 0.9  # of every budget, with bitsandbytes

VerdictKind = Literal["gpu", "gpu_tight", "offload", "disk", "cpu", "no_fit"]


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


def plan_memory(load: LoadOptions, hardware: Hardware, context_tokens: int = DEFAULT_CONTEXT_TOKENS) -> MemoryPlan:
    """The plan for `load` on `hardware`, and, when it does not fit, the first --quantize (none,
    8bit, 4bit; then the same with --max-memory lifting transformers' 10% GPU reserve) that does.
    `context_tokens`: `exaone ask`'s --context-tokens, whose KV cache must fit beside the weights.

    With the local engine installed, the model is built on the meta device and accelerate places
    it; without (a --server-only install), the shipped model's tensor table is placed by exaone's
    own replay of accelerate's sequential fill: an estimate, said in the notes."""
    extra = [key for key in load.max_memory_dict or {} if isinstance(key, int) and key >= len(hardware.gpus)]
    if extra:
        raise UsageError(
            f"--max-memory names GPU {extra[0]}, but the plan has {hardware.describe()}",
            hint="describe the GPUs with --gpu-memory, e.g. --gpu-memory 24GiB,24GiB",
        )
    if missing(LOCAL_PACKAGES):
        source, tensors = shipped_model(load.model)
        layout = Layout(tensors, None)
    else:
        source = load_model_config(load.model, load.revision)
        model = meta_model(source.config)
        layout = Layout(tensors_of(model), model)
    quantization = quantization_for(source.config, load.quantize)
    plan = _plan(source, layout, load, hardware, quantization, context_tokens)
    target = "gpu" if hardware.gpus and load.device_map != "cpu" else "cpu"
    suggestion = (
        None if plan.verdict.kind == target else _suggest(source, layout, load, hardware, plan, target, context_tokens)
    )
    return replace(plan, suggestion=suggestion, notes=plan.notes + _source_notes(source, load, plan, layout))


@dataclass(frozen=True)
class Layout:
    """What is placed: every tensor, and the meta model when the local engine can build it (then
    accelerate places it; without it, exaone's estimate does)."""

    tensors: tuple[Tensor, ...]
    model: Any | None


def _plan(
    source: ModelConfig,
    layout: Layout,
    load: LoadOptions,
    hardware: Hardware,
    quant: Quantization,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
) -> MemoryPlan:
    dtype = load_dtype(source.config, load.dtype, quant)
    sizes = tensor_sizes(layout.tensors, quant, DTYPE_BYTES[dtype])
    placed, budgets, notes = _place(layout, sizes, load, hardware, quant, dtype)
    devices = _device_shares(layout, sizes, placed, budgets, hardware)
    kv = kv_cache(source.config, dtype, load.min_pixels, load.max_pixels, context_tokens)
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
    layout: Layout, sizes: TensorSizes, load: LoadOptions, hardware: Hardware, quant: Quantization, dtype: str
) -> tuple[dict[str, str], dict[str, int], tuple[str, ...]]:
    """Every tensor's device, the budgets placement used, and notes on the margins applied."""
    fixed = re.fullmatch(r"(?:cuda:?)?([0-9]*)|cpu", load.device_map)
    if fixed:
        device = "cpu" if load.device_map == "cpu" else fixed.group(1) or "0"
        return dict.fromkeys(sizes.bytes, device), {}, ()
    budgets, notes = _budgets(load, hardware, quant)
    if layout.model is None:
        units = _units(layout, sizes, quant)
        if load.device_map != "sequential":
            budgets = _balanced(budgets, sum(units.values()), max(units.values(), default=0), load)
        if quant.method == "bitsandbytes":
            budgets = {key: int(value * BNB_SHARE) for key, value in budgets.items()}
        return _fill(layout, units, budgets), {str(key): int(value) for key, value in budgets.items()}, notes
    import torch
    from accelerate import infer_auto_device_map
    from accelerate.utils import CustomDtype, compute_module_sizes

    model = layout.model
    torch_dtype = getattr(torch, dtype)
    unit = {8: torch.int8, 4: CustomDtype.INT4, 2: CustomDtype.INT2}.get(quant.bits)
    special = dict.fromkeys(sizes.quantized_names, unit) if unit is not None else {}
    no_split = sorted(getattr(model, "_no_split_modules", None) or [])
    if load.device_map != "sequential":
        unit_sizes = compute_module_sizes(model, dtype=torch_dtype, special_dtypes=special)
        blocks = [unit_sizes[name] for name, module in model.named_modules() if type(module).__name__ in no_split]
        leaves: dict[str, float] = {}
        for name, _ in [*model.named_parameters(), *model.named_buffers()]:
            parent = name.rpartition(".")[0]
            leaves[parent] = leaves.get(parent, 0) + unit_sizes[name]
        biggest = max(max(blocks, default=0), max(leaves.values(), default=0))
        budgets = _balanced(budgets, unit_sizes[""], biggest, load)
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
                special_dtypes=special,
            )
    finally:
        logger.setLevel(level)
    return _expand(device_map, sizes.bytes), {str(key): int(value) for key, value in budgets.items()}, notes


def _units(layout: Layout, sizes: TensorSizes, quant: Quantization) -> dict[str, int]:
    """What placement keeps whole, in the model's order, with its bytes as accelerate counts them
    (a quantized weight at its bits per element, its scales not counted): a no-split block, or the
    module holding a tensor outside every block."""
    units: dict[str, int] = {}
    for tensor in layout.tensors:
        key = tensor.block or tensor.module
        size = tensor.numel * quant.bits // 8 if tensor.name in sizes.quantized_names else sizes.bytes[tensor.name]
        units[key] = units.get(key, 0) + size
    return units


def _fill(layout: Layout, units: dict[str, int], budgets: dict[int | str, int]) -> dict[str, str]:
    """accelerate's infer_auto_device_map, replayed without torch: units in the model's order go to
    the first GPU until its budget is full, then the next, then the CPU, then disk; a device that
    once refused a unit takes no later one; on the first GPU and the CPU (accelerate's main
    devices) the largest unit after the one placed is kept free. Not replayed: splitting tied weights."""
    gpus = [key for key in budgets if isinstance(key, int)]
    devices: list[int | str] = [*gpus, *(["cpu"] if "cpu" in budgets else [])]
    main = {gpus[0] if gpus else "cpu", "cpu"}
    sizes = list(units.values())
    largest_left = [0] * len(sizes)  # the largest unit after this one
    for index in range(len(sizes) - 2, -1, -1):
        largest_left[index] = max(sizes[index + 1], largest_left[index + 1])
    used = dict.fromkeys(devices, 0)
    where: dict[str, str] = {}
    current = 0
    for index, (key, size) in enumerate(units.items()):
        while current < len(devices):
            device = devices[current]
            limit = budgets[device] - (largest_left[index] if device in main else 0)
            if used[device] + size <= limit:
                break
            current += 1
        if current < len(devices):
            used[devices[current]] += size
            where[key] = str(devices[current])
        else:
            where[key] = "disk"
    return {tensor.name: where[tensor.block or tensor.module] for tensor in layout.tensors}


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


def _balanced(budgets: dict[int | str, int], total: float, biggest: float, load: LoadOptions) -> dict[int | str, int]:
    """transformers' get_balanced_memory: spread layers evenly over the GPUs (and keep 10% of a single
    GPU free when the user gave no --max-memory). `total`: the model's bytes; `biggest`: its largest
    no-split block or leaf module."""
    budgets = dict(budgets)
    gpus = sorted(key for key, value in budgets.items() if isinstance(key, int) and value > 0)
    if not gpus:
        return budgets
    low_zero = load.device_map == "balanced_low_0" and len(gpus) > 1
    if len(gpus) == 1 and load.max_memory is None:
        budgets[gpus[0]] = int(budgets[gpus[0]] * SINGLE_GPU_SHARE)
    per_gpu = total // (len(gpus) - 1 if low_zero else len(gpus))
    per_gpu += int(1.25 * biggest)
    for index in gpus[:-1]:
        budgets[index] = int(min(budgets[gpus[0]] if low_zero and index == gpus[0] else per_gpu, budgets[index]))
    if low_zero:
        rest = sum(budgets[index] for index in gpus[1:])
        budgets[gpus[0]] = int(min(max(0, total - rest), budgets[gpus[0]]))
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
    layout: Layout, sizes: TensorSizes, placed: dict[str, str], budgets: dict[str, int], hardware: Hardware
) -> tuple[DeviceShare, ...]:
    totals: dict[str, int] = {}
    for name, size in sizes.bytes.items():
        totals[placed[name]] = totals.get(placed[name], 0) + size
    layers: dict[str, list[int]] = {}
    counted: set[str] = set()
    for tensor in layout.tensors:  # a block is where its first parameter is
        if tensor.block is None or tensor.block in counted or tensor.kind == "buffer":
            continue
        counted.add(tensor.block)
        counts = layers.setdefault(placed[tensor.name], [0, 0])
        counts[1 if tensor.block_kind == "vision" else 0] += 1
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
        if room < kv.bytes_per_context:
            return Verdict(
                "gpu_tight",
                f"loads on {where} ({format_bytes(on_gpu)} of weights), but the {format_bytes(room)} left is less "
                f"than the KV cache of one `ask` prompt of --context-tokens {kv.context_tokens:,} and its answer "
                f"({format_bytes(kv.bytes_per_context)}): lower --context-tokens",
            )
        return Verdict(
            "gpu",
            f"fits on {where} ({format_bytes(on_gpu)} of weights; {format_bytes(room)} left for activations and "
            f"the KV cache, about {room // kv.bytes_per_page} pages at a time, or one `ask` prompt of "
            f"--context-tokens {kv.context_tokens:,} in {format_bytes(kv.bytes_per_context)})",
        )
    if not gpus and "disk" not in used:
        in_ram = used["cpu"].weights_bytes if "cpu" in used else 0
        if in_ram > hardware.cpu_bytes:
            return Verdict("no_fit", f"does not fit: {format_bytes(in_ram)} of weights, {_ram(hardware)}")
        why = "no GPU" if not hardware.gpus else "--device-map cpu"
        return Verdict("cpu", f"runs on the CPU only ({why}): {format_bytes(in_ram)} of weights in RAM, very slow")
    layers = sum(share.decoder_layers for share in devices)
    offloaded = " and ".join(_offloaded(used[d], layers) for d in ("cpu", "disk") if d in used)
    if "disk" in used:  # loads, but every token reads those weights from disk: no "fits" about it
        return Verdict(
            "disk",
            f"does not fit in memory: it would load only with {offloaded}, and every token would read those "
            "weights from disk (far too slow to use)" + (f"; {format_bytes(on_gpu)} on GPU" if on_gpu else ""),
        )
    return Verdict("offload", f"fits with {offloaded} (slow)" + (f"; {format_bytes(on_gpu)} on GPU" if on_gpu else ""))


def _offloaded(share: DeviceShare, layers: int) -> str:
    parts = [f"{share.decoder_layers} of {layers} decoder layers"] if share.decoder_layers else []
    parts += [f"{share.vision_blocks} vision blocks"] if share.vision_blocks else []
    where = "the CPU" if share.device == "cpu" else "disk"
    return f"{' and '.join(parts) or 'some weights'} ({format_bytes(share.weights_bytes)}) on {where}"


def _ram(hardware: Hardware) -> str:
    return f"{format_bytes(hardware.cpu_bytes)} of RAM available"


def _suggest(
    source: ModelConfig,
    layout: Layout,
    load: LoadOptions,
    hardware: Hardware,
    plan: MemoryPlan,
    target: str,
    context_tokens: int = DEFAULT_CONTEXT_TOKENS,
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
            attempt = _plan(
                source, layout, candidate, hardware, quantization_for(source.config, quantize), context_tokens
            )
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


def _source_notes(source: ModelConfig, load: LoadOptions, plan: MemoryPlan, layout: Layout) -> tuple[str, ...]:
    notes = []
    if layout.model is None:
        notes.append(
            "planned without torch (the local engine is not installed): sizes from the shipped tensor table, "
            f"placement is exaone's estimate of accelerate's; {LOCAL_INSTALL} for the exact one"
        )
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


def machine_notes(plan: MemoryPlan, machine: Machine) -> tuple[str, ...]:
    """What this machine lacks for the plan beyond memory, measured by the machine report: the
    package --quantize needs, and disk for the download (a "fits" verdict says nothing of them)."""
    notes = []
    quant = plan.quantization
    if quant.method == "bitsandbytes" and not quant.prequantized and not machine.versions.get("bitsandbytes"):
        notes.append(
            f"--quantize {plan.quantize} needs bitsandbytes, which is not installed here: pip install '.[local,quant]'"
        )
    cached = {model.repo_id for model in machine.cached_models}
    free = machine.hf_cache_free_bytes
    if plan.config_source != "folder" and plan.model not in cached and free is not None:
        download = plan.parameters * DTYPE_BYTES.get(_checkpoint_dtype(plan), 2)  # as stored, before --quantize
        if download > free:
            notes.append(
                f"the download is about {format_bytes(download)}, and the Hugging Face cache's disk "
                f"({machine.hf_cache}) has {format_bytes(free)} free: free space, or set HF_HOME to a larger disk"
            )
    return tuple(notes)


def _checkpoint_dtype(plan: MemoryPlan) -> str:
    """The dtype the checkpoint's weights are stored in: the plan's, unless bitsandbytes quantizes
    them at load time (then bfloat16, as EXAONE 4.5 ships)."""
    return (
        "bfloat16" if plan.quantization.method == "bitsandbytes" and not plan.quantization.prequantized else plan.dtype
    )
