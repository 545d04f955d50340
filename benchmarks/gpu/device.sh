#!/usr/bin/env bash
# The GPU benchmark on a machine with a GPU and no network (such as the workplace's device
# machine, whose image has torch but an older transformers and no bitsandbytes).
#
#   bash benchmarks/gpu/device.sh fetch        # here, with network: wheels into .whl/ (~57 MB)
#   bash benchmarks/gpu/device.sh run OUTDIR   # there, from the repository root, .whl/ carried
#
# `run` installs the wheels into /tmp/site, prints the GPU, then runs the benchmark's main stages
# (bf16, pages, nf4; < 8 min on an H100) and, in what is left of LIMIT seconds (default 540), the
# static-cache/torch.compile stage. Output and JSON go to OUTDIR (gpu.log, gpu.json, compile.json).
set -uo pipefail
cd "$(dirname "$0")/../.."

case "${1:-}" in
fetch)
    python=${PYTHON:-.venv/bin/python}
    versions=$("$python" -c 'import transformers, bitsandbytes; print(transformers.__version__, bitsandbytes.__version__)')
    read -r transformers bitsandbytes <<<"$versions"
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >>.git/info/exclude
    "$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_24_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl "transformers==$transformers" "bitsandbytes==$bitsandbytes"
    ls -l .whl
    ;;
run)
    out=${2:?usage: device.sh run OUTDIR}
    limit=${LIMIT:-540}
    start=$(date +%s)
    mkdir -p "$out"
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit
    export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.log"
    python3 -c 'import torch, transformers, bitsandbytes; print(torch.__version__, transformers.__version__, bitsandbytes.__version__)' | tee -a "$out/gpu.log"
    timeout $((limit - 60)) python3 benchmarks/gpu/decode_prefill.py --json "$out/gpu.json" 2>&1 | tee -a "$out/gpu.log"
    left=$((limit - ($(date +%s) - start) - 10))
    if [ "$left" -gt 60 ]; then
        timeout "$left" python3 benchmarks/gpu/decode_prefill.py --stages compile --json "$out/compile.json" 2>&1 | tee -a "$out/gpu.log"
    else
        echo "no time left for the compile stage ($left s)" | tee -a "$out/gpu.log"
    fi
    ;;
*)
    sed -n '2,10p' "$0"
    exit 2
    ;;
esac
