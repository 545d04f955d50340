#!/usr/bin/env bash
# The README's install lines, each in a fresh virtual environment, each followed by a command a
# user would run next. Called by scripts/test.sh (CI); on its own: bash scripts/install_check.sh
#   1. pip install .                    -> exaone ocr/ask --server against a stand-in server; no torch
#   2. pip install ".[local]"           -> exaone ask --model (the tiny checkpoint)
#   3. pip install ".[local,quant]"     -> exaone ask --quantize 8bit (into venv 2: it adds bitsandbytes)
#   4. pip install ".[local,extract]"   -> exaone extract with the local engine (into venv 2: llguidance)
#   5. pip install ".[local,hwp]"       -> exaone ocr on an HWPX document, no model (into venv 2: rhwp)
# torch is installed first with the tested pins, as the README's CPU-build step does; CI cannot reach
# PyTorch's CPU index (download.pytorch.org/whl/cpu), so that URL itself is not tested here.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TORCH_PINS=${TORCH_PINS:-"torch==2.14.1 torchvision==0.29.1"}
HELPER=${HELPER_PYTHON:-.venv/bin/python}  # builds the tiny checkpoint (needs tokenizers, transformers)
WORK=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fresh_venv() {  # fresh_venv DIR: a new virtual environment with an up-to-date pip
  "$PYTHON" -m venv "$1"
  "$1/bin/python" -m pip install -q --upgrade pip
}

echo "== install check 1: pip install .  (--server only)"
fresh_venv "$WORK/server"
"$WORK/server/bin/pip" install -q .
if "$WORK/server/bin/python" -c "import torch" 2>/dev/null; then
  echo "the --server-only install pulled torch" >&2; exit 1
fi
"$WORK/server/bin/python" tests/fake_openai.py > "$WORK/server.url" &
server_pid=$!
for _ in $(seq 50); do [ -s "$WORK/server.url" ] && break; sleep 0.1; done
url=$(cat "$WORK/server.url")
"$WORK/server/bin/exaone" ocr examples/receipt.png --server "$url" --jsonl -q > "$WORK/server.jsonl"
grep -q '"page": 1' "$WORK/server.jsonl"
"$WORK/server/bin/exaone" ask examples/receipt.png "합계는?" --server "$url" --json | grep -q '"answer"'
kill "$server_pid"; server_pid=""

# The random tiny model rarely ends an answer in 4 tokens: its documented outcomes are an answer
# that stopped (exit 0) or one cut at the token limit (JSON with finish_reason "length", exit 1).
answered() {
  local out code=0
  out=$("$@") || code=$?
  grep -q '"answer"' <<<"$out" || { echo "no JSON answer from: $*" >&2; return 1; }
  if [ "$code" = 0 ] || { [ "$code" = 1 ] && grep -q '"finish_reason": "length"' <<<"$out"; }; then return 0; fi
  echo "exit code $code from: $*" >&2; return 1
}

echo "== install check 2: pip install \".[local]\""
fresh_venv "$WORK/local"
# shellcheck disable=SC2086
"$WORK/local/bin/pip" install -q $TORCH_PINS
"$WORK/local/bin/pip" install -q ".[local]"
"$HELPER" tests/tiny_checkpoint.py "$WORK/tiny" > /dev/null
answered "$WORK/local/bin/exaone" ask examples/receipt.png "합계는?" --model "$WORK/tiny" --no-think --max-new-tokens 4 --json

echo "== install check 3: pip install \".[local,quant]\""
"$WORK/local/bin/pip" install -q ".[local,quant]"
answered "$WORK/local/bin/exaone" ask examples/receipt.png "합계는?" --model "$WORK/tiny" --no-think --max-new-tokens 4 --json \
  --quantize 8bit
echo "== install check 4: pip install \".[local,extract]\""
"$WORK/local/bin/pip" install -q ".[local,extract]"
"$WORK/local/bin/exaone" extract examples/receipt.png --fields "합계금액:integer" --model "$WORK/tiny" --max-new-tokens 64 \
  --max-pixels 50176 -q --json | grep -q '"valid"'
echo "== install check 5: pip install \".[local,hwp]\""
"$WORK/local/bin/pip" install -q ".[local,hwp]"
"$WORK/local/bin/exaone" ocr exaone_cli/pages/hwp_probe.hwpx --text-layer prefer -q | grep -q "한글 글꼴 확인"
echo "== install checks passed in ${SECONDS} s"
