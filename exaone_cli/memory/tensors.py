"""Every tensor of the model with its shape, what kind of module holds it and the block that
placement keeps whole: what the memory plan sizes and places.

They come from the model built on the meta device (torch and transformers: memory/model.py) or,
for the checkpoints whose config ships with exaone, from a table shipped beside that config
(`tensors.json`, written by scripts/ship_tensors.py from the meta model, and checked against it by
the suite), so a --server-only install without torch can still plan the shipped model.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

TensorKind = Literal["linear", "param", "buffer"]
BlockKind = Literal["decoder", "vision"]
TABLE = "tensors.json"


@dataclass(frozen=True)
class Tensor:
    """One parameter or buffer, as the model holds it (tied weights once)."""

    name: str  # "model.language_model.layers.0.mlp.up_proj.weight"
    shape: tuple[int, ...]
    kind: TensorKind  # "linear": a parameter of a torch.nn.Linear (quantization stores its weight)
    element_bytes: int = 0  # a buffer's own element size; parameters take the load dtype's
    block: str | None = None  # the no-split block holding it ("model.language_model.layers.0")
    block_kind: BlockKind | None = None

    @property
    def module(self) -> str:
        return self.name.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        return self.name.rpartition(".")[2]

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


def shipped_tensors(model: str) -> tuple[Tensor, ...] | None:
    """The table shipped with exaone for hub id `model`, or None."""
    table = resources.files("exaone_cli") / "model_configs" / model.replace("/", "--") / TABLE
    if not table.is_file():
        return None
    return tuple(_tensor(row) for row in json.loads(table.read_text(encoding="utf-8"))["tensors"])


def write_table(path: Path, tensors: tuple[Tensor, ...], made_by: str) -> None:
    """The table as scripts/ship_tensors.py writes it: one tensor a line, readable in a diff."""
    rows = [json.dumps(_row(tensor), ensure_ascii=False) for tensor in tensors]
    body = ",\n    ".join(rows)
    path.write_text(f'{{\n  "made_by": {json.dumps(made_by)},\n  "tensors": [\n    {body}\n  ]\n}}\n', encoding="utf-8")


def _row(tensor: Tensor) -> list[Any]:
    depth = len(tensor.block.split(".")) if tensor.block else 0
    return [tensor.name, list(tensor.shape), tensor.kind, tensor.element_bytes, depth, tensor.block_kind]


def _tensor(row: list[Any]) -> Tensor:
    name, shape, kind, element_bytes, depth, block_kind = row
    block = ".".join(name.split(".")[:depth]) if depth else None
    return Tensor(name, tuple(shape), kind, element_bytes, block, block_kind)
