"""`exaone doctor`: the machine report, and a memory plan that matches what really loads.

The 33B plans come from the config shipped in the package (offline, meta device, no weights);
the tiny checkpoint's plans are checked against the model transformers and bitsandbytes really
load on this CPU: bytes per tensor, quantization statistics included, and where accelerate puts
each layer.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from exaone_cli.cli import app
from exaone_cli.config import UNQUANTIZED_MODULES, LoadOptions
from exaone_cli.vision import visual_tokens

MODEL = "LGAI-EXAONE/EXAONE-4.5-33B"
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def doctor(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["doctor", *args], env={**OFFLINE, **(env or {})})
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@cache
def plan(*args: str) -> dict[str, Any]:
    """doctor --json for the 33B model (each distinct plan computed once per test run)."""
    code, stdout, stderr = doctor("--model", MODEL, "--json", *args)
    assert code == 0, stderr
    body: dict[str, Any] = json.loads(stdout)
    return body


@pytest.fixture(scope="module")
def shipped_parameters() -> int:
    """Parameters of the 33B model, counted here: the real model class built on the meta device
    from the shipped config, without exaone's planner."""
    import torch
    from transformers import AutoConfig, Exaone4_5_ForConditionalGeneration

    folder = resources.files("exaone_cli") / "model_configs" / MODEL.replace("/", "--")
    config = AutoConfig.from_pretrained(str(folder))
    with torch.device("meta"):
        model = Exaone4_5_ForConditionalGeneration(config)
    return sum(p.numel() for p in model.parameters())


def test_shipped_config_is_the_33b_model(shipped_parameters: int) -> None:
    assert 33.6e9 < shipped_parameters < 34.0e9  # EXAONE.md: about 33.8 B, 1.3 B of them vision


def test_bf16_weights_are_two_bytes_per_parameter(shipped_parameters: int) -> None:
    body = plan("--gpu-memory", "80GiB")
    assert body["dtype"] == "bfloat16" and body["config_source"] == "package"
    assert abs(body["weights_bytes"] / (2 * shipped_parameters) - 1) < 0.03
    assert body["parameters"] == shipped_parameters


def test_quantized_weights_shrink_but_keep_lm_head_and_vision_in_16_bit() -> None:
    bf16 = plan("--gpu-memory", "80GiB")["weights_bytes"]
    q8, q4 = plan("--gpu-memory", "80GiB", "--quantize", "8bit"), plan("--gpu-memory", "80GiB", "--quantize", "4bit")
    assert 0.50 < q8["weights_bytes"] / bf16 < 0.60
    assert 0.25 < q4["weights_bytes"] / bf16 < 0.40
    kept = q4["kept_unquantized"]
    assert set(kept) == set(UNQUANTIZED_MODULES)
    assert kept["lm_head"] == 153_600 * 5120  # the output head, in bf16
    assert 1.2e9 < sum(kept.values()) - kept["lm_head"] < 1.35e9  # the vision tower's linears
    assert q4["quantization"]["bits"] == 4 and q8["quantization"]["bits"] == 8


def test_kv_cache_per_token_and_per_page() -> None:
    kv = plan("--gpu-memory", "80GiB")["kv_cache"]
    assert kv["bytes_per_token"] == 64 * 2 * 8 * 128 * 2  # 256 KiB while the context is short
    tokens = visual_tokens(1654, 2339).tokens + 1000
    assert kv["page_tokens"] == tokens
    # 16 global layers hold every token; 48 sliding-window layers at most 4096.
    assert kv["bytes_per_page"] == 4096 * (16 * tokens + 48 * min(tokens, 4096))
    assert "A4" in kv["page_assumption"] and "1,000 output tokens" in kv["page_assumption"]


def test_4bit_on_a_24gib_gpu_needs_the_whole_gpu() -> None:
    body = plan("--quantize", "4bit", "--gpu-memory", "24GiB")
    # transformers fills 90% of a lone GPU, and 90% of that with bitsandbytes: 19.4 GiB, so two
    # decoder layers land on the CPU; giving it the whole GPU with --max-memory makes it fit.
    assert body["verdict"]["kind"] == "offload"
    cpu = next(share for share in body["placement"] if share["device"] == "cpu")
    assert 0 < cpu["decoder_layers"] <= 4
    assert body["suggestion"]["flags"] == "--quantize 4bit --max-memory 0=24GiB"
    fixed = plan("--quantize", "4bit", "--gpu-memory", "24GiB", "--max-memory", "0=24GiB")
    assert fixed["verdict"]["kind"] == "gpu"
    assert "fits on one 24 GiB GPU" in fixed["verdict"]["message"]
    assert fixed["suggestion"] is None


def test_bf16_on_a_24gib_gpu_does_not_fit_and_suggests_4bit() -> None:
    body = plan("--gpu-memory", "24GiB")
    assert body["verdict"]["kind"] != "gpu"
    assert body["suggestion"]["flags"].startswith("--quantize 4bit")
    assert "fits on one 24 GiB GPU" in body["suggestion"]["message"]


def test_two_gpus_share_the_layers() -> None:
    body = plan("--gpu-memory", "48GiB,48GiB")
    assert body["verdict"]["kind"] == "gpu"
    gpus = [share for share in body["placement"] if share["device"] in ("0", "1")]
    assert [share["device"] for share in gpus] == ["0", "1"]
    assert all(share["decoder_layers"] > 20 for share in gpus)
    assert sum(share["decoder_layers"] for share in gpus) == 64
    assert sum(share["weights_bytes"] for share in gpus) == body["weights_bytes"]


def test_whole_model_on_a_missing_gpu_does_not_fit() -> None:
    body = plan("--gpu-memory", "80GiB", "--device-map", "cuda:1")
    assert body["verdict"]["kind"] == "no_fit" and "no GPU 1" in body["verdict"]["message"]


def loaded_bytes(model: Any) -> int:
    """What a loaded model really holds: parameters, buffers, and bitsandbytes' statistics
    (8-bit row scales; 4-bit absmax, nested absmax and code tables), which get_memory_footprint skips."""
    total = 0
    for module in model.modules():
        for tensor in [*module.parameters(recurse=False), *module.buffers(recurse=False)]:
            total += tensor.numel() * tensor.element_size()
            state = getattr(tensor, "quant_state", None)
            for extra in (state, getattr(state, "state2", None)):
                if extra is not None:
                    total += sum(t.numel() * t.element_size() for t in (extra.absmax, extra.code))
            total += 4 if state is not None and state.offset is not None else 0
        scales = getattr(getattr(module, "weight", None), "SCB", None)
        total += scales.numel() * scales.element_size() if scales is not None else 0
    return total


@pytest.mark.parametrize(
    ("quantize", "dtype"), [("none", "auto"), ("none", "bfloat16"), ("8bit", "auto"), ("4bit", "auto")]
)
def test_tiny_plan_matches_the_loaded_model(tiny_model: Path, quantize: str, dtype: str) -> None:
    import torch
    from transformers import AutoModelForImageTextToText, BitsAndBytesConfig

    code, stdout, stderr = doctor("--model", str(tiny_model), "--quantize", quantize, "--dtype", dtype, "--json")
    assert code == 0, stderr
    body = json.loads(stdout)
    skip = list(UNQUANTIZED_MODULES)
    load: dict[str, Any] = {"dtype": "auto" if dtype == "auto" else torch.bfloat16}
    if quantize != "none":  # as the local engine loads it: 16-bit compute dtype
        load["dtype"] = torch.bfloat16
        load["quantization_config"] = (
            BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=skip)
            if quantize == "8bit"
            else BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=torch.bfloat16,
                llm_int8_skip_modules=skip,
            )
        )
    model = AutoModelForImageTextToText.from_pretrained(tiny_model, **load)
    assert body["dtype"] == str(model.dtype).removeprefix("torch.")
    assert abs(body["weights_bytes"] / model.get_memory_footprint() - 1) < (0.10 if quantize != "none" else 0.02)
    assert abs(body["weights_bytes"] / loaded_bytes(model) - 1) < 0.001


@pytest.mark.parametrize(("quantize", "ram"), [("none", 3 * 2**20), ("4bit", 2**20)])
def test_tiny_placement_matches_where_layers_really_go(tiny_model: Path, quantize: str, ram: int) -> None:
    from exaone_cli.engines.local import LocalEngine

    limit = f"cpu={ram // 2**20}MiB"
    code, stdout, stderr = doctor("--model", str(tiny_model), "--quantize", quantize, "--max-memory", limit, "--json")
    assert code == 0, stderr
    planned = {share["device"]: share["decoder_layers"] for share in json.loads(stdout)["placement"]}
    engine = LocalEngine.load(LoadOptions(model=str(tiny_model), quantize=quantize, max_memory=(("cpu", ram),)))
    device_map = engine.model.hf_device_map
    real: dict[str, int] = {}
    for index in range(len(engine.model.model.language_model.layers)):
        name = f"model.language_model.layers.{index}"
        device = next(str(device_map[p]) for p in (name, "model.language_model.layers", "model.language_model", "")
                      if p in device_map)  # fmt: skip
        real[device] = real.get(device, 0) + 1
    assert {device: count for device, count in planned.items() if count} == real
    assert set(real) == {"cpu", "disk"}


def test_machine_report_on_the_terminal_and_in_json(tiny_model: Path) -> None:
    torch_version = metadata.version("torch")
    code, stdout, stderr = doctor("--model", str(tiny_model), env={"COLUMNS": "160"})
    assert code == 0, stderr
    for word in ("Python", torch_version, "RAM", "poppler", "Offline mode", "Verdict:", "KV cache"):
        assert word in stdout
    code, stdout, _ = doctor("--model", str(tiny_model), "--json")
    machine = json.loads(stdout)["machine"]
    assert machine["versions"]["torch"] == torch_version
    assert machine["ram_total_bytes"] >= machine["ram_available_bytes"] > 0
    assert machine["offline"] is True  # HF_HUB_OFFLINE=1 in these runs
    assert {"python", "cuda", "gpus", "hf_cache", "hf_cache_free_bytes", "poppler", "cached_models"} <= set(machine)


def test_prequantized_checkpoint_is_planned_from_its_config(tmp_path: Path, shipped_parameters: int) -> None:
    folder = resources.files("exaone_cli") / "model_configs" / MODEL.replace("/", "--")
    config = json.loads((folder / "config.json").read_text())
    config["quantization_config"] = {"quant_method": "fp8", "weight_block_size": [128, 128]}
    (tmp_path / "config.json").write_text(json.dumps(config))
    code, stdout, stderr = doctor("--model", str(tmp_path), "--json")
    assert code == 0, stderr
    body = json.loads(stdout)
    assert body["quantization"]["prequantized"] and body["quantization"]["bits"] == 8
    assert 0.5 < body["weights_bytes"] / (2 * shipped_parameters) < 0.6
    assert any("no weights" in note for note in body["notes"])
    code, _, stderr = doctor("--model", str(tmp_path), "--quantize", "4bit")
    assert code == 2 and "already quantized" in stderr


@pytest.mark.parametrize(
    ("args", "exit_code"),
    [
        (["--quantize", "3bit"], 2),
        (["--gpu-memory", "banana"], 2),
        (["--gpu-memory", "24GiB", "--max-memory", "1=20GiB"], 2),
        (["--model", "someone/not-in-the-cache"], 3),
    ],
)
def test_bad_input_is_one_error_line(args: list[str], exit_code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    # huggingface_hub reads HF_HUB_OFFLINE once, at import: set it the way a fresh process would.
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    code, stdout, stderr = doctor(*args)
    assert code == exit_code, stderr
    assert stderr.count("Error:") == 1 and stdout == ""


@pytest.mark.parametrize(("value", "shown"), [("24", "24GiB"), ("48,48GiB", "48GiB,48GiB")])
def test_a_gpu_size_without_a_unit_is_refused_not_read_as_bytes(value: str, shown: str) -> None:
    """`--gpu-memory 24` once planned for "one 24 bytes GPU": a size must carry its unit."""
    code, stdout, stderr = doctor("--model", MODEL, "--gpu-memory", value)
    assert code == 2 and stdout == ""
    assert "no unit" in stderr and f"--gpu-memory {shown}" in stderr and "bytes GPU" not in stderr


def test_a_max_memory_size_without_a_unit_is_refused_too() -> None:
    """The same trap in --max-memory (accelerate reads an int as bytes): `0=20` is refused, with 20GiB."""
    code, stdout, stderr = doctor("--model", MODEL, "--gpu-memory", "24GiB", "--max-memory", "0=20,cpu=64GiB")
    assert code == 2 and stdout == ""
    assert "'0=20'" in stderr and "no unit" in stderr and "20GiB" in stderr


def test_a_folder_that_is_not_a_checkpoint_is_an_engine_error(tmp_path: Path) -> None:
    code, _, stderr = doctor("--model", str(tmp_path))
    assert code == 3 and "no config.json" in stderr
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    code, _, stderr = doctor("--model", str(tmp_path))
    assert code == 3 and "not an EXAONE 4.5 checkpoint" in stderr


def test_the_kv_cache_of_one_ask_prompt_is_planned() -> None:
    """`ask --context-tokens` (default 16,384) plus a 4,096-token answer: 16 global layers hold all
    20,480 tokens, 48 sliding-window layers 4,096; that fits beside 4-bit weights on 24 GiB, and a
    context too long for the room left is named in the verdict."""
    fits = plan("--quantize", "4bit", "--gpu-memory", "24GiB", "--max-memory", "0=24GiB")
    kv = fits["kv_cache"]
    assert (kv["context_tokens"], kv["answer_tokens"]) == (16_384, 4096)
    assert kv["bytes_per_context"] == 4096 * (16 * 20_480 + 48 * 4096)
    assert fits["verdict"]["kind"] == "gpu" and "--context-tokens 16,384" in fits["verdict"]["message"]
    tight = plan("--quantize", "4bit", "--gpu-memory", "24GiB", "--max-memory", "0=24GiB", "--context-tokens", "65536")
    assert tight["verdict"]["kind"] == "gpu_tight" and "lower --context-tokens" in tight["verdict"]["message"]


def test_layers_on_disk_are_never_called_a_fit() -> None:
    # Issue #23: "fits with 49 of 64 decoder layers ... on disk (slow)".
    body = plan("--gpu-memory", "24GiB", "--max-memory", "0=20GiB,cpu=8GiB")
    assert any(share["device"] == "disk" and share["decoder_layers"] for share in body["placement"])
    assert body["verdict"]["kind"] == "disk"
    assert "fits" not in body["verdict"]["message"] and "from disk" in body["verdict"]["message"]


def test_a_fit_names_what_else_this_machine_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A "fits" verdict says nothing of the package --quantize needs or of disk for the download
    (a new user got "fits" with bitsandbytes missing and 47.8 GiB free for a 63 GiB download)."""
    from dataclasses import replace

    from exaone_cli.config import DEFAULT_MODEL, LoadOptions
    from exaone_cli.machine import CachedModel, inspect_machine
    from exaone_cli.memory import Hardware, plan_memory
    from exaone_cli.memory.hardware import GiB
    from exaone_cli.memory.plan import machine_notes

    machine = replace(inspect_machine(), hf_cache="/data/hf", hf_cache_free_bytes=47 * GiB, cached_models=())
    lacking = replace(machine, versions={**machine.versions, "bitsandbytes": None})
    plan = plan_memory(LoadOptions.from_flags(DEFAULT_MODEL, None, quantize="4bit"), Hardware((80 * GiB,), 40 * GiB))
    assert plan.verdict.kind == "gpu"
    assert machine_notes(plan, lacking) == (
        "--quantize 4bit needs bitsandbytes, which is not installed here: pip install '.[local,quant]'",
        "the download is about 63.0 GiB, and the Hugging Face cache's disk (/data/hf) has 47.0 GiB free: free "
        "space, or set HF_HOME to a larger disk",
    )
    roomy = replace(machine, hf_cache_free_bytes=500 * GiB, versions={**machine.versions, "bitsandbytes": "0.45.0"})
    assert machine_notes(plan, roomy) == ()
    cached = replace(lacking, cached_models=(CachedModel(DEFAULT_MODEL, 67 * GiB, 1),))
    assert not any("download" in note for note in machine_notes(plan, cached))
