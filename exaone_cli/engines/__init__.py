"""Engines turn prompts into generated text: local transformers now, remote servers later.

`open_engine` is the only place that chooses one, so commands never import torch themselves.
"""

from __future__ import annotations

from ..config import LoadOptions
from .base import Engine, Generation, Prompt

__all__ = ["Engine", "Generation", "Prompt", "open_engine"]


def open_engine(load: LoadOptions) -> Engine:
    """Load the local engine (imports torch and transformers only here, after the checkpoint
    folder has been checked)."""
    from .checkpoint import resolve_model

    resolve_model(load.model)
    from .local import LocalEngine

    return LocalEngine.load(load)
