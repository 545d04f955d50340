"""The checkpoint's config (local folder, shipped with the package, or the hub) and the model
built from it on the meta device: every tensor's shape, no weights."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

from ..engines.checkpoint import DOWNLOAD_HINT, EXAONE_MODEL_TYPE, looks_like_path
from ..engines.installed import LOCAL_INSTALL, require_local_engine
from ..errors import EngineError
from .tensors import BlockKind, Tensor, TensorKind, shipped_tensors

ConfigSource = Literal["package", "folder", "hub"]


@dataclass(frozen=True)
class ModelConfig:
    """A transformers config of an EXAONE 4.5 checkpoint, and where it was read from."""

    name: str
    source: ConfigSource
    config: Any
    has_weights: bool = True


def load_model_config(model: str, revision: str | None = None) -> ModelConfig:
    """A local folder's config.json; the config shipped in exaone_cli/model_configs for known hub
    ids (works offline); otherwise the HF cache or the hub."""
    if looks_like_path(model):
        return _folder_config(Path(model).expanduser())
    packaged = resources.files("exaone_cli") / "model_configs" / model.replace("/", "--") / "config.json"
    if packaged.is_file():
        return ModelConfig(model, "package", _config_from_dict(json.loads(packaged.read_text(encoding="utf-8"))))
    from transformers import AutoConfig

    from ..engines import hub

    hub.prepare(model, revision, _ignore)  # no route to the Hub: one line in seconds, as ocr and ask
    try:
        config = AutoConfig.from_pretrained(model, revision=revision)
    except (OSError, ValueError) as exc:
        raise EngineError(
            f"could not read the config of {model!r}: {_first_line(exc)}",
            hint="check the hub id and the network (or HF_HUB_OFFLINE), or pass a local folder with --model DIR",
        ) from exc
    _check_model_type(getattr(config, "model_type", None), model)
    return ModelConfig(model, "hub", config)


def _ignore(_: str) -> None:
    """The cached copy is used quietly: doctor reads only its config."""


def _folder_config(folder: Path) -> ModelConfig:
    data = _folder_data(folder)
    has_weights = any(any(folder.glob(pattern)) for pattern in ("*.safetensors", "*.bin"))
    return ModelConfig(str(folder), "folder", _config_from_dict(data), has_weights)


def _folder_data(folder: Path) -> dict[str, Any]:
    """A checkpoint folder's config.json, checked to be EXAONE 4.5's (EngineError otherwise)."""
    config_path = folder / "config.json"
    if folder.is_file():
        raise EngineError(
            f"{folder}: a file, not a checkpoint folder", hint="pass the folder that holds config.json and the weights"
        )
    if not folder.is_dir():
        raise EngineError(f"{folder}: no such model folder", hint=DOWNLOAD_HINT)
    if not config_path.is_file():
        raise EngineError(f"{folder}: not a model folder (no config.json)", hint=DOWNLOAD_HINT)
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EngineError(f"{config_path}: unreadable config ({exc})", hint=DOWNLOAD_HINT) from exc
    _check_model_type(data.get("model_type") if isinstance(data, dict) else None, str(folder))
    return dict(data)


def _check_model_type(model_type: object, where: str) -> None:
    if model_type != EXAONE_MODEL_TYPE:
        raise EngineError(
            f"{where}: not an EXAONE 4.5 checkpoint (model_type {model_type!r})",
            hint=f"exaone plans models of type {EXAONE_MODEL_TYPE!r}",
        )


def _config_from_dict(data: dict[str, Any]) -> Any:
    from transformers import AutoConfig

    data = dict(data)
    return AutoConfig.for_model(data.pop("model_type"), **data)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def shipped_model(model: str) -> tuple[ModelConfig, tuple[Tensor, ...]]:
    """Without torch and transformers: the config and tensor table shipped with exaone for hub id
    `model`, or the local engine's "not installed" error (nothing else can be planned then)."""
    tensors = None if looks_like_path(model) else shipped_tensors(model)
    if tensors is None:
        if looks_like_path(model):
            _folder_data(Path(model).expanduser())  # a wrong folder is said as such, first
        require_local_engine(
            what=f"the local engine, which the memory plan of {model} needs,",
            hint=f"{LOCAL_INSTALL}; without it, doctor plans only the models whose config ships with exaone",
        )
        raise AssertionError("unreachable: the local engine is installed")  # plan_memory asked first
    packaged = resources.files("exaone_cli") / "model_configs" / model.replace("/", "--") / "config.json"
    config = _plain_config(json.loads(packaged.read_text(encoding="utf-8")))
    return ModelConfig(model, "package", config), tensors


def _plain_config(data: dict[str, Any]) -> Any:
    """A config.json as attributes (config.text_config.head_dim), what the plan reads of a
    transformers config, for a plan without transformers."""
    return json.loads(json.dumps(data), object_hook=lambda values: SimpleNamespace(**values))


_META_MODELS: dict[str, Any] = {}


def meta_model(config: Any) -> Any:
    """The model on the meta device, in float32 (sizes are then computed for any dtype); built once
    per config because building the 33B model takes seconds."""
    key = config.to_json_string()
    if key not in _META_MODELS:
        import torch
        from transformers import AutoModelForImageTextToText

        # torch's meta device rather than accelerate's init_empty_weights, which unties tied weights.
        with torch.device("meta"):
            _META_MODELS[key] = AutoModelForImageTextToText.from_config(copy.deepcopy(config), dtype=torch.float32)
    return _META_MODELS[key]


def tensors_of(model: Any) -> tuple[Tensor, ...]:
    """Every tensor of a (meta) model, in its module order, tied weights once, each with the
    no-split block that holds it (a decoder layer, a vision block: placement keeps those whole)."""
    import torch

    no_split = set(getattr(model, "_no_split_modules", None) or [])
    blocks: dict[str, BlockKind] = {
        name: "vision" if "Vision" in type(module).__name__ else "decoder"
        for name, module in model.named_modules()
        if type(module).__name__ in no_split
    }
    found: list[Tensor] = []
    seen: set[int] = set()
    for module_name, module in model.named_modules():
        parts = module_name.split(".")
        block = next((p for p in (".".join(parts[:end]) for end in range(len(parts), 0, -1)) if p in blocks), None)
        linear = type(module) is torch.nn.Linear
        prefix = f"{module_name}." if module_name else ""
        for name, tensor in module.named_parameters(recurse=False):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                kind: TensorKind = "linear" if linear else "param"
                found.append(Tensor(prefix + name, tuple(tensor.shape), kind, 0, block, blocks.get(block or "")))
        for name, tensor in module.named_buffers(recurse=False):
            size = tensor.element_size()
            found.append(Tensor(prefix + name, tuple(tensor.shape), "buffer", size, block, blocks.get(block or "")))
    return tuple(found)
