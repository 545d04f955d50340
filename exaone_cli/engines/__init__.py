"""Engines turn prompts into generated text: local transformers, or an OpenAI-compatible server.
May import config, parse, vision and errors; only local.py (and the processors it loads) imports torch.

`open_engine` is the only place that chooses one, so commands never import torch themselves.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from ..config import LoadOptions
from ..errors import EngineError
from .base import Engine, Generation, Prompt, Turn
from .remote import RemoteOptions

__all__ = [
    "Engine", "Generation", "Prompt", "RemoteOptions", "Turn", "check_constrained_decoding", "describe_engine",
    "describe_source", "open_engine",
]  # fmt: skip

from .installed import EXTRACT_HINT as MISSING_GRAMMAR_HINT
from .installed import explain_import_failure, missing, require_local_engine


def check_constrained_decoding(remote: RemoteOptions | None) -> None:
    """Before a model is loaded for schema-constrained answers: the local engine needs llguidance
    (the `extract` extra); a server constrains decoding itself. Raises EngineError. Looks the
    package up without importing it."""
    if remote is None and importlib.util.find_spec("llguidance") is None:
        raise EngineError("constrained decoding with the local engine needs llguidance", hint=MISSING_GRAMMAR_HINT)


def _ignore(_: str) -> None:
    pass


def open_engine(
    load: LoadOptions, remote: RemoteOptions | None = None, warn: Callable[[str], None] = _ignore
) -> Engine:
    """The remote engine when a server is given (no torch at all), else the local engine
    (torch and transformers are imported only here, after the checkpoint folder was checked)."""
    if remote is not None:
        from .remote import RemoteEngine

        return RemoteEngine.connect(remote, warn)
    from .checkpoint import looks_like_path, resolve_model

    require_local_engine(load.quantize)  # a --server-only install: one line, exit 3, nothing loaded
    resolve_model(load.model)
    if not looks_like_path(load.model):
        from . import hub

        hub.prepare(load.model, load.revision, warn)  # no route to the Hub: fail in seconds, not minutes
    try:
        from .local import LocalEngine
    except Exception as exc:  # transformers: "Could not import module 'AutoProcessor'"
        explained = explain_import_failure(exc, "the local engine")
        if explained is None:
            raise
        raise explained from exc
    return LocalEngine.load(load)


def describe_source(load: LoadOptions, remote: RemoteOptions | None = None) -> str:
    """What will be loaded, and from where, in words: for the loading line people see."""
    if remote is not None:
        return f"the model served at {remote.server}"
    from .checkpoint import looks_like_path

    if looks_like_path(load.model):
        return f"{load.model} (local folder)"
    if missing(["huggingface_hub"]):  # a --server-only install: open_engine says so
        return f"{load.model} from the Hugging Face Hub"
    from . import hub

    return hub.describe(load.model, load.revision)


def describe_engine(engine: object) -> str:
    """What an opened engine says about itself (device and dtype, or the served model), or ""."""
    return str(getattr(engine, "description", "") or "")
