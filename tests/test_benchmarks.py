"""The GPU benchmark must keep working before anyone runs it on a GPU: CI runs it scaled down on
the CPU (same code paths: the shipped config's architecture, bf16 build, 4-bit from_pretrained)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_benchmark_smoke_runs_on_the_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks/gpu/decode_prefill.py"), "--smoke", "--steps", "2", "--batches", "1,2",
         "--four-bit-layers", "1", "--json", str(out)],
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
    assert "decode batch 1" in proc.stdout
