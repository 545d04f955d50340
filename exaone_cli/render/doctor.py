"""`exaone doctor`'s output: the machine, then the memory plan and its verdict; or one JSON object."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..engines.installed import matching_torchvision, torch_pair_problem
from ..json_text import dumps
from ..machine import Machine
from ..memory import MemoryPlan, format_bytes

SCHEMA_VERSION = 1
_VERDICT_STYLE = {
    "gpu": "bold green", "gpu_tight": "bold yellow", "offload": "yellow", "disk": "bold red", "cpu": "yellow"
}  # fmt: skip


def doctor_json(machine: Machine, plan: MemoryPlan) -> dict[str, Any]:
    """The plan's keys at the top (weights_bytes, placement, kv_cache, verdict, suggestion, ...), the
    machine's facts under "machine"."""
    return {"schema_version": SCHEMA_VERSION, **plan.to_dict(), "machine": machine.to_dict()}


def print_doctor(machine: Machine, plan: MemoryPlan, console: Console, *, as_json: bool) -> None:
    if as_json:
        console.file.write(dumps(doctor_json(machine, plan)) + "\n")
        return
    print_machine(machine, console)
    console.print()
    source = {"package": "config shipped with exaone", "folder": "local folder", "hub": "Hub config"}
    console.print(Text.assemble(("Memory plan: ", "bold"), plan.model, f" ({source[plan.config_source]})"))
    _print_rows(console, _plan_rows(plan))
    console.print(_placement(plan))
    console.print(
        Text.assemble(("Verdict: ", "bold"), (plan.verdict.message, _VERDICT_STYLE.get(plan.verdict.kind, "bold red")))
    )
    if plan.suggestion is not None:
        console.print(Text.assemble(("Suggestion: ", "bold"), plan.suggestion.message))
    for note in plan.notes:
        console.print(Text(f"· {note}", style="dim"))


def print_machine(machine: Machine, console: Console) -> None:
    """The machine report alone (also when no plan can be made)."""
    console.print(Text("Machine", style="bold"))
    _print_rows(console, _machine_rows(machine))


def _print_rows(console: Console, rows: list[tuple[str, str]]) -> None:
    width = max(len(key) for key, _ in rows) + 2
    for key, value in rows:
        console.print(Text.assemble((key.ljust(width), "cyan"), value))


def _machine_rows(machine: Machine) -> list[tuple[str, str]]:
    versions = machine.versions
    rows = [("Python", f"{machine.python} ({machine.platform})")]
    rows += [(name, versions.get(name) or "not installed") for name in versions]
    pair = torch_pair_problem(versions.get("torch"), versions.get("torchvision"))
    if pair:  # transformers says only "Could not import module 'Exaone4_5_ForConditionalGeneration'"
        at = next(i for i, (name, _) in enumerate(rows) if name == "torchvision")
        wanted = matching_torchvision(str(versions["torch"]))
        rows[at] = ("torchvision", f"{versions['torchvision']}: NOT for torch {versions['torch']} (needs {wanted}.x)")
    cuda = "no torch (a --server install)" if not versions.get("torch") else "none (CPU-only torch)"
    rows.append(("CUDA", f"{machine.cuda} (torch's build)" if machine.cuda else cuda))
    gpus = [
        f"{g.index}: {g.name}, {format_bytes(g.free_bytes)} free of {format_bytes(g.total_bytes)}" for g in machine.gpus
    ]
    rows.append(("GPUs", "; ".join(gpus) or "none visible to torch"))
    rows.append(
        ("RAM", f"{format_bytes(machine.ram_available_bytes)} available of {format_bytes(machine.ram_total_bytes)}")
    )
    free = machine.hf_cache_free_bytes
    rows.append(
        ("HF cache", f"{machine.hf_cache} ({format_bytes(free) + ' free' if free is not None else 'disk unknown'})")
    )
    models = [f"{m.repo_id} ({format_bytes(m.size_bytes)})" for m in machine.cached_models]
    cache = ", ".join(models) or "none"
    rows.append(("Cached models", f"{cache}; scan failed: {machine.cache_error}" if machine.cache_error else cache))
    rows.append(
        ("poppler", f"pdftoppm {machine.poppler}" if machine.poppler else "missing (--rasterizer poppler needs it)")
    )
    rows.append(("HWP, HWPX", _hwp(machine.hwp)))
    rows.append(("Offline mode", "on: only cached models load" if machine.offline else "off"))
    rows.append(("flash-attn", "installed" if machine.flash_attn else "not installed (needed by flash_attention_2)"))
    return rows


def _hwp(status: dict[str, Any] | None) -> str:
    if status is None or status.get("rhwp") is None:
        return str((status or {}).get("problem") or "not checked")
    if status.get("korean_text"):
        return f"rhwp {status['rhwp']}; Korean text renders"
    return f"rhwp {status['rhwp']}; Korean text renders BLANK: {status.get('problem')}"


def _plan_rows(plan: MemoryPlan) -> list[tuple[str, str]]:
    quant = plan.quantization
    loading = f"--quantize {plan.quantize} · {plan.dtype} · --device-map {plan.device_map}"
    if quant.prequantized:
        loading = f"pre-quantized ({quant.method}, {quant.bits}-bit) · {plan.dtype} · --device-map {plan.device_map}"
    params = _count(plan.parameters)
    if plan.quantized_parameters:
        kept = ", ".join(f"{name} {_count(count)}" for name, count in plan.kept_unquantized)
        params += f" ({_count(plan.quantized_parameters)} in {quant.bits}-bit; kept in {plan.dtype}: {kept})"
    kv = plan.kv_cache
    per_token = f"{format_bytes(kv.bytes_per_token)} per token"
    if kv.sliding_layers and kv.sliding_window:
        global_share = format_bytes(kv.layer_bytes_per_token * kv.global_layers)
        per_token += (
            f" ({kv.sliding_layers} sliding-window layers stop growing at {kv.sliding_window:,} tokens; "
            f"beyond that {global_share} per token)"
        )
    page = (
        f"{format_bytes(kv.bytes_per_page)} per page: {kv.page_tokens:,} tokens = {kv.page_visual_tokens:,} visual "
        f"(A4 at 200 DPI) + {kv.page_output_tokens:,} output (assumed)"
    )
    context = (
        f"{format_bytes(kv.bytes_per_context)} for one `ask` prompt of --context-tokens {kv.context_tokens:,} "
        f"and a {kv.answer_tokens:,}-token answer"
    )
    return [
        ("Loading", loading),
        ("Parameters", params),
        ("Weights", f"{format_bytes(plan.weights_bytes)} as loaded ({plan.weights_bytes:,} bytes)"),
        ("KV cache", f"{per_token}; {page}; {context}"),
        ("Machine", plan.hardware.describe() + (" (--gpu-memory)" if plan.hardware.described else "")),
    ]


def _placement(plan: MemoryPlan) -> Table:
    table = Table(
        "device", "weights", "budget", "free", "decoder layers", "vision blocks", box=None, header_style="bold"
    )
    for share in plan.placement:
        name = f"GPU {share.device}" if share.device.isdigit() else share.device
        table.add_row(
            Text(name),
            Text(format_bytes(share.weights_bytes)),
            Text(_maybe(share.budget_bytes)),
            Text(_maybe(share.free_bytes)),
            Text(str(share.decoder_layers)),
            Text(str(share.vision_blocks)),
        )
    return table


def _maybe(size: int | None) -> str:
    return "-" if size is None else format_bytes(size)


def _count(parameters: int) -> str:
    return f"{parameters / 1e9:.2f} B" if parameters >= 1e8 else f"{parameters / 1e6:.2f} M"
