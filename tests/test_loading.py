"""Loading the model the way each machine can: 8-/4-bit (bitsandbytes on the CPU), offload to
CPU and disk, and the errors users meet on the way."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_exaone
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.config import LoadOptions, parse_max_memory
from exaone_cli.engines.local import LocalEngine
from exaone_cli.errors import UsageError

QUESTION = ["What is shown?", "--no-think", "--temperature", "0", "--max-new-tokens", "6", "--json"]


def ask(tiny_model: Path, image: Path, *args: str) -> tuple[int, dict | None, str]:
    result = CliRunner().invoke(app, ["ask", str(image), *QUESTION, "--model", str(tiny_model), *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None, result.stderr


@pytest.mark.parametrize(("quantize", "layer_class"), [("8bit", "Linear8bitLt"), ("4bit", "Linear4bit")])
def test_quantized_tiny_model_answers_on_the_cpu(
    tiny_model: Path, receipt_png: Path, quantize: str, layer_class: str
) -> None:
    code, body, stderr = ask(tiny_model, receipt_png, "--quantize", quantize)
    assert body is not None and body["tokens"]["completion"] > 0
    # The random 4-bit model may generate only tokens that decode to nothing: an empty answer,
    # which is a warning with its reason and exit code 1 (issue #12 item 3).
    assert code == (1 if body["note"] else 0), stderr
    cut = body["finish_reason"] in ("length", "repetition")  # a cut answer: a note too (issue #16)
    assert (body["note"] is not None) == (not body["answer"].strip() or cut)
    assert "inputs will be cast" not in stderr  # bitsandbytes' per-call warning stays quiet
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model), quantize=quantize))
    text_layer = engine.model.model.language_model.layers[0]
    assert type(text_layer.mlp.up_proj).__name__ == layer_class
    # lm_head and the vision tower stay unquantized.
    assert type(engine.model.lm_head).__name__ == "Linear"
    assert type(engine.model.model.visual.blocks[0].mlp.up_proj).__name__ == "Linear"


def test_small_max_memory_offloads_to_disk_and_still_answers(
    tiny_model: Path, receipt_png: Path, tmp_path: Path
) -> None:
    offload = tmp_path / "offload"
    full = ask(tiny_model, receipt_png)
    code, body, stderr = ask(tiny_model, receipt_png, "--max-memory", "cpu=2MiB", "--offload-folder", str(offload))
    assert body is not None and full[1] is not None
    assert code == (1 if body["note"] else 0), stderr  # the random model's answer may be cut: exit 1 and a note
    assert body["raw"] == full[1]["raw"]  # same answer, just slower
    engine = LocalEngine.load(
        LoadOptions(model=str(tiny_model), max_memory=(("cpu", 2 * 2**20),), offload_folder=str(offload))
    )
    # Split between memory and disk (safetensors weights are read from the checkpoint itself).
    assert {"cpu", "disk"} <= set(engine.model.hf_device_map.values())


def test_already_quantized_checkpoint_refuses_quantize(tiny_model: Path, receipt_png: Path, tmp_path: Path) -> None:
    fp8 = tmp_path / "fp8"
    shutil.copytree(tiny_model, fp8)
    config = json.loads((fp8 / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "fp8", "weight_block_size": [128, 128]}
    (fp8 / "config.json").write_text(json.dumps(config))
    code, _, stderr = ask(fp8, receipt_png, "--quantize", "4bit")
    assert code == 2
    assert "already quantized (fp8)" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--quantize", "3bit"), ("--dtype", "int8"), ("--device-map", "gpu"), ("--max-memory", "0=lots")],
)
def test_bad_loading_options_are_usage_errors_before_loading(
    receipt_png: Path, tmp_path: Path, flag: str, value: str
) -> None:
    result = CliRunner().invoke(app, ["ask", str(receipt_png), "q", "--model", str(tmp_path / "none"), flag, value])
    assert result.exit_code == 2, result.stderr
    assert result.stderr.count("Error:") == 1


def test_offline_without_the_model_in_the_cache_is_a_clear_error(receipt_png: Path, tmp_path: Path) -> None:
    # A real process: huggingface_hub reads HF_HUB_OFFLINE when it is imported.
    proc = run_exaone(
        "ask", str(receipt_png), "질문", "--model", "LGAI-EXAONE/EXAONE-4.5-33B",
        env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-cache")},
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    assert "not in the local Hugging Face cache and offline mode is on" in proc.stderr
    assert "hf download LGAI-EXAONE/EXAONE-4.5-33B" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_max_memory_parsing() -> None:
    assert parse_max_memory("0=20GiB, 1=20GiB ,cpu=64GB") == {"0": 20 * 2**30, "1": 20 * 2**30, "cpu": 64 * 10**9}
    assert parse_max_memory("cuda:0=1.5GiB") == {"0": int(1.5 * 2**30)}
    with pytest.raises(UsageError):
        parse_max_memory("gpu0=20GiB")


def test_quantize_without_bitsandbytes_is_a_clear_error(
    tiny_model: Path, receipt_png: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # as if it were not installed
    code, _, stderr = ask(tiny_model, receipt_png, "--quantize", "4bit")
    assert code == 3
    assert "--quantize 4bit needs bitsandbytes" in stderr and "pip install" in stderr
    assert "Traceback" not in stderr


# ---- no route to the Hub -------------------------------------------------------------------------


def closed_endpoint() -> str:
    """An HF_ENDPOINT where nothing listens: a port taken from the OS and given back."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def hub_cache_with(tiny_model: Path, home: Path, repo_id: str) -> None:
    """The tiny checkpoint laid out as huggingface_hub caches a download of `repo_id`."""
    repo = home / "hub" / f"models--{repo_id.replace('/', '--')}"
    commit = "0" * 40
    shutil.copytree(tiny_model, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)


def test_unreachable_hub_fails_fast_with_one_line(receipt_png: Path, tmp_path: Path) -> None:
    endpoint = closed_endpoint()
    env = {"HF_ENDPOINT": endpoint, "HF_HOME": str(tmp_path / "empty-cache"), "HF_HUB_OFFLINE": ""}
    # The timeout guards the test; without the up-front check this took minutes of retries.
    proc = run_exaone("ask", str(receipt_png), "합계는?", "--model", "LGAI-EXAONE/EXAONE-4.5-33B", env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr  # no retry chatter from huggingface_hub
    hub = f"the Hugging Face Hub at {endpoint} cannot be reached"
    assert lines[0].startswith(f"Error: LGAI-EXAONE/EXAONE-4.5-33B: {hub}")
    assert "not in the local cache" in lines[0]
    for way_out in ("HF_HUB_OFFLINE=1", "--model PATH", "--server URL"):
        assert way_out in lines[1]


def test_doctor_with_an_unreachable_hub_fails_fast_with_one_line(tmp_path: Path) -> None:
    endpoint = closed_endpoint()
    env = {"HF_ENDPOINT": endpoint, "HF_HOME": str(tmp_path / "empty-cache"), "HF_HUB_OFFLINE": ""}
    # The timeout guards the test; without the up-front check doctor retried for half a minute.
    proc = run_exaone("doctor", "--model", "someone/none", env=env, timeout=120)
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr  # no retry chatter from huggingface_hub
    assert lines[0].startswith(f"Error: someone/none: the Hugging Face Hub at {endpoint} cannot be reached")
    assert "Retrying" not in proc.stderr and "--model PATH" in lines[1]


def test_unreachable_hub_loads_the_cached_copy(tiny_model: Path, receipt_png: Path, tmp_path: Path) -> None:
    home = tmp_path / "hf-home"
    hub_cache_with(tiny_model, home, "test-org/exaone-tiny")
    env = {"HF_ENDPOINT": closed_endpoint(), "HF_HOME": str(home), "HF_HUB_OFFLINE": ""}
    proc = run_exaone(
        "ask", str(receipt_png), "What is shown?", "--model", "test-org/exaone-tiny", "--no-think",
        "--max-new-tokens", "4", "--temperature", "0", "--json", env=env, timeout=120,
    )  # fmt: skip
    body = json.loads(proc.stdout)
    # The random tiny model's 4-token answer may be empty or cut: exit code 1 with its note, still an answer.
    assert proc.returncode == (1 if body["note"] else 0), proc.stderr
    assert body["model"] == "test-org/exaone-tiny" and body["tokens"]["completion"] > 0
    assert "Error:" not in proc.stderr
    assert "cannot be reached" in proc.stderr and "using the cached copy of test-org/exaone-tiny" in proc.stderr
    assert "Retrying" not in proc.stderr


def test_offline_without_the_model_says_so_before_torch_is_imported(receipt_png: Path, tmp_path: Path) -> None:
    # Issue #23: the "not in the cache" error took 6-20 s with HF_HUB_OFFLINE=1: torch came first.
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "exaone_cli", "ocr", str(receipt_png),
         "--model", "LGAI-EXAONE/EXAONE-4.5-33B"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-cache"), "EXAONE_NO_CACHE": "1"},
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "not in the local Hugging Face cache and offline mode is on" in proc.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "huggingface_hub" in imported and not imported & {"torch", "transformers"}
