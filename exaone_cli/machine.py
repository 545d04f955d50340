"""What this machine has for running EXAONE 4.5: GPUs, RAM, disk, library versions, poppler,
offline mode and the models already in the Hugging Face cache.

Every probe tolerates failure (a missing library, no cache yet, an odd driver) and reports it as
data: `exaone doctor` is what people run when something is wrong.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import shutil
import subprocess
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("torch", "torchvision", "transformers", "accelerate", "bitsandbytes", "huggingface_hub")
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = ("1", "on", "yes", "true")


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    total_bytes: int
    free_bytes: int


@dataclass(frozen=True)
class CachedModel:
    repo_id: str
    size_bytes: int
    revisions: int

    @property
    def is_exaone(self) -> bool:
        return "exaone" in self.repo_id.lower()


@dataclass(frozen=True)
class Machine:
    python: str
    platform: str
    versions: dict[str, str | None]  # distribution -> version, None when not installed
    cuda: str | None  # the CUDA torch was built with
    gpus: tuple[Gpu, ...]
    ram_total_bytes: int
    ram_available_bytes: int
    hf_cache: str
    hf_cache_free_bytes: int | None
    poppler: str | None  # `pdftoppm -v`'s version, None when poppler is missing
    offline: bool
    flash_attn: bool
    cached_models: tuple[CachedModel, ...]
    cache_error: str | None = None
    hwp: dict[str, Any] | None = None  # pages.hwp.hwp_status(): rhwp and the Korean fonts it renders with

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["cached_models"] = [{**asdict(m), "is_exaone": m.is_exaone} for m in self.cached_models]
        return body


def inspect_machine() -> Machine:
    """Everything `exaone doctor` reports about this machine. Imports torch (for the GPUs)."""
    total, available = ram()
    cache = hf_cache_dir()
    models, cache_error = cached_models()
    return Machine(
        python=platform.python_version(),
        platform=platform.platform(terse=True),
        versions={name: _version(name) for name in PACKAGES},
        cuda=_torch_cuda(),
        gpus=gpus(),
        ram_total_bytes=total,
        ram_available_bytes=available,
        hf_cache=str(cache),
        hf_cache_free_bytes=free_disk(cache),
        poppler=poppler_version(),
        offline=offline_mode(),
        flash_attn=importlib.util.find_spec("flash_attn") is not None,
        cached_models=models,
        cache_error=cache_error,
    )


def _version(distribution: str) -> str | None:
    """The installed version of a package (its distribution and import names are the same
    here), or None when it is not installed or cannot be found for import."""
    try:
        if importlib.util.find_spec(distribution) is None:
            return None
        return metadata.version(distribution)
    except (metadata.PackageNotFoundError, ImportError, ValueError):
        return None


def _torch_cuda() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.version.cuda


def gpus() -> tuple[Gpu, ...]:
    """CUDA GPUs with their total and free memory, as torch sees them; without torch (a --server
    install), as nvidia-smi reports them; none without either."""
    if importlib.util.find_spec("torch") is None:
        return _nvidia_smi_gpus()
    try:
        import torch

        if not torch.cuda.is_available():
            return ()
        found = []
        for index in range(torch.cuda.device_count()):
            free, total = torch.cuda.mem_get_info(index)
            found.append(Gpu(index, torch.cuda.get_device_name(index), int(total), int(free)))
        return tuple(found)
    except Exception:  # a broken driver is a fact to report, not a crash
        return ()


def _nvidia_smi_gpus() -> tuple[Gpu, ...]:
    """The GPUs nvidia-smi lists (index, name, total and free MiB), or none."""
    tool = shutil.which("nvidia-smi")
    if tool is None:
        return ()
    query = [tool, "--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits"]
    try:
        listed = subprocess.run(query, capture_output=True, text=True, timeout=10, check=True).stdout
        found = []
        for line in listed.splitlines():
            parts = [part.strip() for part in line.split(",")]
            if len(parts) >= 4:
                name = ", ".join(parts[1:-2])
                found.append(Gpu(int(parts[0]), name, int(parts[-2]) * 2**20, int(parts[-1]) * 2**20))
        return tuple(found)
    except (OSError, subprocess.SubprocessError, ValueError):  # a broken driver is a fact, not a crash
        return ()


def ram() -> tuple[int, int]:
    """(total, available) bytes of RAM: psutil, else /proc/meminfo, else zeros."""
    try:
        import psutil

        memory = psutil.virtual_memory()
        return int(memory.total), int(memory.available)
    except ImportError:
        pass
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines() if ":" in line)
        return _kib(fields["MemTotal"]), _kib(fields.get("MemAvailable", fields["MemFree"]))
    except (OSError, KeyError, ValueError):
        return 0, 0


def _kib(value: str) -> int:
    return int(value.strip().split()[0]) * 1024


def hf_cache_dir() -> Path:
    """Where downloads go: huggingface_hub's HF_HUB_CACHE (HF_HUB_CACHE, HF_HOME/hub, ~/.cache)."""
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:
        home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "huggingface"
        return Path(os.environ.get("HF_HUB_CACHE") or Path(home) / "hub").expanduser()


def free_disk(path: Path) -> int | None:
    """Free bytes on the disk that holds `path` (or its nearest existing parent)."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                return int(shutil.disk_usage(candidate).free)
            except OSError:
                return None
    return None


def poppler_version() -> str | None:
    """'22.12.0' from `pdftoppm -v` (it prints to stderr), or None without poppler."""
    executable = shutil.which("pdftoppm")
    if executable is None:
        return None
    try:
        done = subprocess.run([executable, "-v"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    words = (done.stderr or done.stdout).split()
    return words[words.index("version") + 1] if "version" in words[:-1] else "unknown version"


def offline_mode() -> bool:
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in OFFLINE_VARIABLES)


def _listed_models() -> tuple[CachedModel, ...]:
    """The models in the hub cache's folders (models--owner--name: blobs, snapshots), largest
    first, without huggingface_hub."""
    found = []
    for folder in sorted(hf_cache_dir().glob("models--*")):
        blobs = folder / "blobs"
        size = sum(path.stat().st_size for path in blobs.iterdir() if path.is_file()) if blobs.is_dir() else 0
        snapshots = folder / "snapshots"
        revisions = sum(1 for _ in snapshots.iterdir()) if snapshots.is_dir() else 0
        found.append(CachedModel(folder.name.removeprefix("models--").replace("--", "/"), size, revisions))
    return tuple(sorted(found, key=lambda m: -m.size_bytes))


def cached_models() -> tuple[tuple[CachedModel, ...], str | None]:
    """Models in the HF cache, largest first, and the error that stopped the scan, if any."""
    if importlib.util.find_spec("huggingface_hub") is None:
        return _listed_models(), None  # a --server install: the cache's folders, read by hand
    try:
        from huggingface_hub import scan_cache_dir
        from huggingface_hub.errors import CacheNotFound

        try:
            info = scan_cache_dir()
        except CacheNotFound:
            return (), None  # no cache yet: nothing downloaded
    except Exception as exc:
        return (), f"{type(exc).__name__}: {exc}"
    models = [
        CachedModel(repo.repo_id, int(repo.size_on_disk), len(repo.revisions))
        for repo in info.repos
        if repo.repo_type == "model"
    ]
    return tuple(sorted(models, key=lambda m: -m.size_bytes)), None
