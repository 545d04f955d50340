"""What a plan places weights on: free GPU memory and available RAM, measured or described."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import parse_memory
from ..errors import UsageError

if TYPE_CHECKING:
    from ..machine import Machine

GiB = 2**30


def format_bytes(size: float) -> str:
    for unit, scale in (("GiB", GiB), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size:.0f} bytes"


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
    try:
        sizes = tuple(parse_memory(part) for part in spec.split(","))
    except UsageError as exc:  # name the flag, and show the whole value written right
        hint = f"e.g. --gpu-memory {_with_units(spec)}"
        raise UsageError(f"--gpu-memory {spec!r}: {exc.message}", hint=hint) from exc
    if not all(sizes):
        raise UsageError(f"--gpu-memory {spec!r}: every GPU needs some memory", hint="e.g. --gpu-memory 24GiB,24GiB")
    return sizes


def _with_units(spec: str) -> str:
    """'24' -> '24GiB', '48,48' -> '48GiB,48GiB': what a bare number most likely meant."""
    parts = [part.strip() for part in spec.split(",")]
    fixed = ",".join(part + "GiB" if part.replace(".", "", 1).isdigit() else part for part in parts)
    return fixed if fixed != spec.strip() else "24GiB or 48GiB,48GiB"
