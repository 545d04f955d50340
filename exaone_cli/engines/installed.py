"""Which optional parts of exaone are installed, asked before any work and without importing them.

The README's Install section is the source of the hints: `pip install ".[local]"` from the clone
brings the local engine (torch, torchvision, transformers, accelerate; transformers brings
huggingface_hub), `".[local,quant]"` adds bitsandbytes for --quantize, `".[local,extract]"` adds
llguidance; a plain `pip install .` is the --server-only install.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

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
