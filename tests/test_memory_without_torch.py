"""`exaone doctor` on a --server-only install (no torch, no transformers) plans the model whose
config ships with exaone, from the tensor table shipped beside it, and places it the way
accelerate would (issue #23: it refused to plan at all). The table is checked against the model
transformers builds, and the estimate against accelerate's own placement, on the same hardware."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_installs import without

from exaone_cli.config import DEFAULT_MODEL, LoadOptions
from exaone_cli.memory import Hardware, MemoryPlan, plan_memory
from exaone_cli.memory.hardware import GiB
from exaone_cli.memory.model import load_model_config, meta_model, shipped_model, tensors_of
from exaone_cli.memory.plan import Layout, _plan
from exaone_cli.memory.sizes import quantization_for
from exaone_cli.memory.tensors import shipped_tensors

LOCAL = ["torch", "transformers", "accelerate", "huggingface_hub"]


@pytest.fixture(scope="module")
def built() -> tuple[object, Layout]:
    source = load_model_config(DEFAULT_MODEL)
    model = meta_model(source.config)
    return source, Layout(tensors_of(model), model)


def test_the_shipped_tensor_table_is_the_model_transformers_builds(built: tuple[object, Layout]) -> None:
    """Fails after a transformers upgrade that changes the model class: run scripts/ship_tensors.py."""
    _, layout = built
    assert shipped_tensors(DEFAULT_MODEL) == layout.tensors


@pytest.mark.parametrize(
    "gpus, quantize",
    [
        ((80 * GiB,), "none"),
        ((24 * GiB,), "none"),
        ((24 * GiB,), "8bit"),
        ((24 * GiB,), "4bit"),
        ((12 * GiB,), "8bit"),
        ((12 * GiB,), "4bit"),
        ((48 * GiB, 48 * GiB), "none"),
        ((16 * GiB, 16 * GiB), "4bit"),
        ((), "none"),
    ],
)
def test_the_plan_without_torch_places_the_model_as_accelerate_does(
    built: tuple[object, Layout], gpus: tuple[int, ...], quantize: str
) -> None:
    source, layout = built
    hardware = Hardware(gpus, 40 * GiB)
    load = LoadOptions.from_flags(DEFAULT_MODEL, None, quantize=quantize)
    quant = quantization_for(source.config, quantize)  # type: ignore[attr-defined]
    exact = _plan(source, layout, load, hardware, quant)  # type: ignore[arg-type]
    plain, tensors = shipped_model(DEFAULT_MODEL)
    estimate = _plan(plain, Layout(tensors, None), load, hardware, quantization_for(plain.config, quantize))
    assert estimate.weights_bytes == exact.weights_bytes and estimate.parameters == exact.parameters
    assert estimate.kv_cache == exact.kv_cache

    def shares(plan: MemoryPlan) -> list[tuple[object, ...]]:
        return [(s.device, s.weights_bytes, s.free_bytes, s.decoder_layers, s.vision_blocks) for s in plan.placement]

    assert shares(estimate) == shares(exact)
    for mine, theirs in zip(estimate.placement, exact.placement, strict=True):  # accelerate sizes buffers
        assert abs((mine.budget_bytes or 0) - (theirs.budget_bytes or 0)) < 1024  # in the load dtype: bytes apart
    assert estimate.verdict == exact.verdict


def test_doctor_without_torch_plans_the_shipped_model(tmp_path: Path) -> None:
    result = without(tmp_path, LOCAL, "doctor", "--gpu-memory", "24GiB")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Machine\n") and f"Memory plan: {DEFAULT_MODEL} (config shipped with exaone)" in out
    assert "Verdict: does not fit in memory" in out and "Suggestion: --quantize 4bit" in out
    assert "planned without torch (the local engine is not installed)" in " ".join(out.split())
    as_json = without(tmp_path, LOCAL, "doctor", "--gpu-memory", "80GiB", "--json")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert body["verdict"]["kind"] == "gpu" and body["weights_bytes"] == 67_627_975_296  # 33B in bfloat16


def test_doctor_without_torch_names_what_it_cannot_plan(tmp_path: Path) -> None:
    folder = tmp_path / "EXAONE-4.5-33B-AWQ"
    folder.mkdir()
    result = without(tmp_path, LOCAL, "doctor", "--model", str(folder))
    assert result.returncode == 3 and f"Error: {folder}: not a model folder (no config.json)" in result.stderr
    shipped = Path(__file__).resolve().parents[1] / "exaone_cli/model_configs/LGAI-EXAONE--EXAONE-4.5-33B/config.json"
    (folder / "config.json").write_text(shipped.read_text())  # a real checkpoint's folder: not shipped, so
    result = without(tmp_path, LOCAL, "doctor", "--model", str(folder))
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines()[-2:] == [
        f"Error: the local engine, which the memory plan of {folder} needs, is not installed (torch, transformers,"
        " accelerate and huggingface_hub missing)",
        "Hint: pip install '.[local]' in exaone's folder (see the README's Install); without it, doctor plans only"
        " the models whose config ships with exaone",
    ]
    assert result.stdout.startswith("Machine\n")  # the machine report still comes


def test_the_plan_with_torch_says_nothing_of_an_estimate() -> None:
    plan = plan_memory(LoadOptions.from_flags(DEFAULT_MODEL, None), Hardware((80 * GiB,), 40 * GiB))
    assert plan.verdict.kind == "gpu" and not any("without torch" in note for note in plan.notes)


def test_without_torch_the_gpus_are_the_ones_nvidia_smi_lists(tmp_path: Path) -> None:
    """nvidia-smi cannot run here (no GPU): a stand-in prints what nvidia-smi prints for this query
    on an H100 (`--query-gpu=index,name,memory.total,memory.free --format=csv,noheader,nounits`)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    smi = tools / "nvidia-smi"
    smi.write_text('#!/bin/sh\necho "$*" > "$(dirname "$0")/asked"\necho "0, NVIDIA H100 80GB HBM3, 81559, 80620"\n')
    smi.chmod(0o755)
    result = without(tmp_path, LOCAL, "doctor", "--json", path=f"{tools}:{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["machine"]["gpus"] == [
        {"index": 0, "name": "NVIDIA H100 80GB HBM3", "total_bytes": 81559 * 2**20, "free_bytes": 80620 * 2**20}
    ]
    assert body["verdict"]["kind"] == "gpu" and body["hardware"]["gpus"] == [80620 * 2**20]
    assert "--query-gpu=index,name,memory.total,memory.free" in (tools / "asked").read_text()


def test_the_machine_report_of_a_server_install_says_what_it_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No torch: the CUDA row says so (not "CPU-only torch"), and the models already in the Hub
    cache are listed from its folders (not "scan failed: ModuleNotFoundError")."""
    model = tmp_path / "hf" / "hub" / "models--LGAI-EXAONE--EXAONE-4.5-33B"
    (model / "snapshots" / "abc123").mkdir(parents=True)
    (model / "blobs").mkdir()
    (model / "blobs" / "0f1e").write_bytes(b"\0" * 3 * 2**20)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    result = without(tmp_path, LOCAL, "doctor")
    assert result.returncode == 0, result.stderr
    rows = dict(line.split(None, 1) if " " in line else (line, "") for line in result.stdout.splitlines())
    assert "CUDA             no torch (a --server install)" in result.stdout
    assert "Cached models    LGAI-EXAONE/EXAONE-4.5-33B (3.0 MiB)" in result.stdout, rows
    assert "scan failed" not in result.stdout
