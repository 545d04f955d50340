"""Write the tensor table shipped beside each config in exaone_cli/model_configs (tensors.json):
every tensor of the model built on the meta device from that config, so `exaone doctor` can plan
the shipped model on an install without torch (exaone_cli/memory/tensors.py).

    python scripts/ship_tensors.py

Run it after a transformers upgrade changes the model class; tests/test_memory_without_torch.py
fails until the table matches the meta model again.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from exaone_cli.memory.model import load_model_config, meta_model, tensors_of
from exaone_cli.memory.tensors import TABLE, write_table

CONFIGS = Path(__file__).resolve().parent.parent / "exaone_cli" / "model_configs"


def main() -> None:
    for folder in sorted(path for path in CONFIGS.iterdir() if (path / "config.json").is_file()):
        model = folder.name.replace("--", "/")
        tensors = tensors_of(meta_model(load_model_config(model).config))
        made_by = f"scripts/ship_tensors.py with transformers {metadata.version('transformers')}"
        write_table(folder / TABLE, tensors, made_by)
        print(f"{folder / TABLE}: {len(tensors)} tensors")


if __name__ == "__main__":
    main()
