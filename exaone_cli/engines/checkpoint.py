"""Is this an EXAONE 4.5 checkpoint? Answered from files alone, before torch is imported, so a
wrong --model fails in a fraction of a second instead of after a heavy import."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import EngineError

EXAONE_MODEL_TYPE = "exaone4_5"
_WEIGHT_PATTERNS = ("*.safetensors", "*.bin", "*.safetensors.index.json", "*.bin.index.json")
DOWNLOAD_HINT = "download it with `hf download LGAI-EXAONE/EXAONE-4.5-33B --local-dir DIR` and pass --model DIR"


def check_local_checkpoint(folder: Path) -> None:
    """Refuse a folder that is not an EXAONE 4.5 checkpoint before transformers tries it."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise EngineError(f"{folder}: not a model folder (no config.json)", hint=DOWNLOAD_HINT)
    try:
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError) as exc:
        raise EngineError(f"{config_path}: unreadable config ({exc})", hint=DOWNLOAD_HINT) from exc
    if model_type != EXAONE_MODEL_TYPE:
        raise EngineError(
            f"{folder}: not an EXAONE 4.5 checkpoint (model_type {model_type!r})",
            hint=f"exaone runs models of type {EXAONE_MODEL_TYPE!r}; {DOWNLOAD_HINT}",
        )
    if not any(any(folder.glob(pattern)) for pattern in _WEIGHT_PATTERNS):
        raise EngineError(
            f"{folder}: no weights (*.safetensors or *.bin) in the checkpoint folder",
            hint="the download may be incomplete; " + DOWNLOAD_HINT,
        )


def looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).exists() or model.count("/") > 1


def resolve_model(model: str) -> str:
    """A hub id as given, or a checked local folder as a path string."""
    if not looks_like_path(model):
        return model
    folder = Path(model).expanduser()
    if folder.is_file():
        raise EngineError(
            f"{model}: a file, not a checkpoint folder", hint="pass the folder that holds config.json and the weights"
        )
    if not folder.is_dir():
        raise EngineError(f"{model}: no such model folder", hint=DOWNLOAD_HINT)
    check_local_checkpoint(folder)
    return str(folder)
