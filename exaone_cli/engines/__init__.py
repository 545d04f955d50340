"""Engines turn prompts into generated text: local transformers now, remote servers later.

`open_engine` is the only place that chooses one, so commands never import torch themselves.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from ..config import LoadOptions
from ..errors import EngineError
from .base import Engine, Generation, Prompt
from .remote import RemoteOptions

__all__ = ["Engine", "Generation", "Prompt", "RemoteOptions", "check_constrained_decoding", "open_engine"]

MISSING_GRAMMAR_HINT = "pip install 'exaone-cli[extract]' (or llguidance), or use --server"


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
    from .checkpoint import resolve_model

    resolve_model(load.model)
    from .local import LocalEngine

    return LocalEngine.load(load)
