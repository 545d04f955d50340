"""Benchmarks that must keep working between the runs that fill the README. The GPU benchmark
runs scaled down on the CPU (same code paths: the shipped config's architecture, bf16 build,
4-bit from_pretrained) before anyone runs it on a GPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_benchmark_smoke_runs_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/gpu/decode_prefill.py"), "--smoke", "--steps", "4", "--batches", "1,2",
         "--page-batches", "1,2", "--four-bit-layers", "2", "--stages", "bf16,pages,compile,nf4", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["smoke"] is True and result["bandwidth_bytes_per_s"] > 0
    for part in ("bf16", "nf4"):
        assert set(result[part]["decode_tokens_per_s"]) == {"1", "2"}
        assert all(rate > 0 for rate in result[part]["decode_tokens_per_s"].values())
        assert all(c > 0 for c in result[part]["ceiling_tokens_per_s"].values())
    assert result["bf16"]["prefill_tokens_per_s"] > 0
    assert result["nf4"]["weight_bytes_estimate"] < result["bf16"]["weight_bytes_per_token"]
    assert result["nf4"]["slices_layers"] == [1, 2]
    for row in result["pages"]["batches"].values():
        assert row["pages_per_hour"] > 0 and row["step_seconds"] > 0 and row["first_token_seconds"] > 0
    # Every candidate of the compile stage really ran (an error would be a dict, not a number).
    assert all(isinstance(value, float) and value > 0 for value in result["compile"].values()), result["compile"]
    assert "target: >= 400 pages/hour" in proc.stdout
    assert "decode batch 1" in proc.stdout


def test_batch_order_benchmark_gives_the_same_pages_with_less_padding(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "order.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/batch_order.py"), "--model", str(tiny_model), "--images", "8",
         "--batch-sizes", "2", "--repeats", "1", "--max-pixels", str(1024 * 28 * 28), "--max-new-tokens", "4",
         "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]  # it exits non-zero if the two orders' texts differ
    rows = {row["order"]: row for row in json.loads(out.read_text())["rows"]}
    assert rows["by size"]["padding_fraction"] < rows["input order"]["padding_fraction"]


def test_text_layer_benchmark_takes_born_digital_pages_from_the_layer_without_torch(
    tiny_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "text_layer.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/text_layer.py"), "--model", str(tiny_model), "--text-pages", "3",
         "--scan-pages", "1", "--repeats", "1", "--max-new-tokens", "2", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {(row["document"], row["mode"]): row for row in json.loads(out.read_text())["rows"]}
    prefer, default = rows[("born-digital", "prefer")], rows[("born-digital", "fallback")]
    assert (prefer["from_text_layer"], prefer["to_model"], prefer["imports_torch"]) == (3, 0, False)
    assert (default["from_text_layer"], default["to_model"]) == (0, 3)
    assert rows[("scan", "prefer")]["to_model"] == 1  # a scan has no layer to take
    assert "wall vs default" in proc.stdout


def test_ocr_throughput_reports_the_ratio_beyond_the_load_floor(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/ocr_throughput.py"), "--model", str(tiny_model), "--pages", "2",
         "--batch-sizes", "2", "--repeats", "1", "--max-new-tokens", "4", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]  # it exits non-zero if any page's text differs
    result = json.loads(out.read_text())
    only = result["pages_only"]
    assert only["import_and_load_seconds"] > 0
    assert [row["run"] for row in only["rows"]] == ["card loop", "exaone -b 2"]
    assert all(row["wall_seconds"] > 0 for row in only["rows"] + result["rows"])
    assert "pages only (model loaded once" in proc.stdout


def test_startup_benchmark_puts_exaone_help_beside_a_bare_typer_app(tmp_path: Path) -> None:
    out = tmp_path / "startup.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/startup.py"), "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = {row["command"]: row for row in json.loads(out.read_text())}
    assert rows["exaone --help"]["ratio_to_bare_typer"] > 0
    assert "bare two-command typer app --help" in rows


def test_chat_vs_ask_benchmark_runs_both_sides(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "chat.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/chat_vs_ask.py"), "--model", str(tiny_model), "--questions", "2",
         "--pages", "4", "--answer-tokens", "2", "--repeats", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["questions"] == 2 and result["chat_s"] > 0 and result["ask_s"] > 0
    assert "one `exaone chat`" in proc.stdout
