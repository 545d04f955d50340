"""Which optional parts of exaone are installed, asked before any work and without importing them.

The README's Install section is the source of the hints: `pip install ".[local]"` from the clone
brings the local engine (torch, torchvision, transformers, accelerate; transformers brings
huggingface_hub), `".[local,quant]"` adds bitsandbytes for --quantize, `".[local,extract]"` adds
llguidance; a plain `pip install .` is the --server-only install.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from importlib import metadata

from ..errors import EngineError

LOCAL_PACKAGES = ("torch", "transformers", "accelerate", "huggingface_hub")
LOCAL_INSTALL = "pip install '.[local]' in exaone's folder (see the README's Install)"
LOCAL_HINT = f"{LOCAL_INSTALL}, or pass --server URL"
QUANT_HINT = "pip install '.[local,quant]' in exaone's folder (see the README's Install), or drop --quantize"
EXTRACT_HINT = "pip install '.[local,extract]' in exaone's folder (see the README's Install), or pass --server URL"


def missing(packages: Iterable[str]) -> list[str]:
    """The packages of `packages` that cannot be imported here (looked up, not imported)."""
    gone = []
    for name in packages:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a parent package missing, or a half-removed module
            found = False
        if not found:
            gone.append(name)
    return gone


def require_local_engine(quantize: str = "none", what: str = "the local engine", hint: str = LOCAL_HINT) -> None:
    """Before anything local is loaded: EngineError (exit 3) naming every missing package of the
    local engine, then bitsandbytes when --quantize asks for it (before the seconds of loading)."""
    gone = missing(LOCAL_PACKAGES)
    if gone:
        raise EngineError(f"{what} is not installed ({_listed(gone)} missing)", hint=hint)
    if quantize != "none" and missing(["bitsandbytes"]):
        raise EngineError(f"--quantize {quantize} needs bitsandbytes, which is not installed", hint=QUANT_HINT)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def matching_torchvision(torch_version: str) -> str | None:
    """The torchvision release line built for a torch version: 0.(N+15) for torch 2.N (torch 2.0
    came with torchvision 0.15, 2.14 with 0.29; PyTorch's own compatibility table). None for a
    version this rule does not cover."""
    found = re.match(r"2\.(\d+)", torch_version)
    return f"0.{int(found.group(1)) + 15}" if found else None


def torch_pair_problem(torch_version: str | None, torchvision_version: str | None) -> str | None:
    """What is wrong with an installed torch/torchvision pair, in words, or None when they match
    (or either is missing, or a version is one the rule does not cover). A torchvision built for
    another torch fails to import its compiled operators, and transformers then reports only
    "Could not import module 'Exaone4_5_ForConditionalGeneration'"."""
    if not torch_version or not torchvision_version:
        return None
    wanted = matching_torchvision(torch_version)
    line = re.match(r"0\.\d+", torchvision_version)
    if wanted is None or line is None or line.group(0) == wanted:
        return None
    return f"torchvision {torchvision_version} does not match torch {torch_version} (it needs torchvision {wanted})"


def torch_pair_hint(torch_version: str) -> str:
    wanted = matching_torchvision(torch_version) or "built for your torch"
    return (
        f"pip install 'torchvision=={wanted}.*' from the index torch came from "
        "(e.g. --index-url https://download.pytorch.org/whl/cpu), or reinstall both together"
    )


def installed_torch_pair_problem() -> tuple[str, str] | None:
    """The installed torch/torchvision mismatch as (message, hint), from the packages' metadata
    (nothing is imported), or None."""
    versions = [_version(name) for name in ("torch", "torchvision")]
    problem = torch_pair_problem(*versions)
    return (problem, torch_pair_hint(str(versions[0]))) if problem else None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def explain_import_failure(exc: Exception, what: str) -> EngineError | None:
    """An EngineError naming a torch/torchvision mismatch as the cause of `exc` (an import or
    load that failed), or None when the pair matches."""
    pair = installed_torch_pair_problem()
    if pair is None:
        return None
    return EngineError(f"{what} cannot load: {pair[0]}", hint=pair[1])
