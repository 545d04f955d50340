#!/usr/bin/env bash
# One command for the whole check on a fresh machine: installs what it needs into .venv, installs
# exaone itself (non-editable, as users get it), then lint, types and the test suite.
#   bash scripts/test.sh            # everything
#   bash scripts/test.sh -k ask     # extra arguments go to pytest (and skip the install checks)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# torch 2.14.1 / torchvision 0.29.1 are the pair this project is tested with (torchvision must
# match torch; the processor needs it).
TORCH_PINS=${TORCH_PINS:-"torch==2.14.1 torchvision==0.29.1"}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=""
  command -v pdftoppm >/dev/null || missing="$missing poppler-utils"
  [ -d /usr/share/fonts/truetype/nanum ] || missing="$missing fonts-nanum"
  # HWP/HWPX: rhwp renders Korean text with Noto CJK (Nanum alone renders it blank) and needs the
  # system FreeType (its wheel's own is too old: FT_Palette_Data_Get).
  [ -d /usr/share/fonts/opentype/noto ] || missing="$missing fonts-noto-cjk"
  ldconfig -p 2>/dev/null | grep -q libfreetype.so.6 || missing="$missing libfreetype6"
  command -v jq >/dev/null || missing="$missing jq"  # the manual's examples and the README's jq filters (tests)
  if [ -n "$missing" ]; then
    echo "== apt-get install$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PYTHON" -m venv .venv
fi
PY=.venv/bin/python
echo "== installing dependencies"
$PY -m pip install -q --upgrade pip
# shellcheck disable=SC2086
$PY -m pip install -q $TORCH_PINS
$PY -m pip install -q ".[local,quant,dev,extract,mcp,hwp,docs]"
# Reinstall exaone itself every run so the tests see this tree as a wheel would ship it.
$PY -m pip install -q --no-deps --force-reinstall --no-build-isolation .

echo "== ruff"
$PY -m ruff check --output-format concise exaone_cli tests
$PY -m ruff format --check exaone_cli tests
echo "== mypy"
$PY -m mypy
echo "== lint-imports (the layers in pyproject.toml)"
.venv/bin/lint-imports
echo "== mkdocs build --strict (the manual: a broken link, a page missing from nav, a failing hook)"
NO_MKDOCS_2_WARNING=1 $PY -m mkdocs build --strict --quiet --site-dir "$(mktemp -d)"
# The README's install lines, each in a fresh venv with a smoke command (a few minutes: skipped when
# extra arguments pick tests, unless INSTALL_CHECK=1; INSTALL_CHECK=0 skips them always).
if [ "${INSTALL_CHECK:-}" != 0 ] && { [ $# -eq 0 ] || [ "${INSTALL_CHECK:-}" = 1 ]; }; then
  TORCH_PINS="$TORCH_PINS" HELPER_PYTHON="$PY" bash scripts/install_check.sh
fi
echo "== pytest"
# Run from tests/ so `import exaone_cli` resolves to the installed package, not the source tree.
# Two workers (pytest-xdist), one for each core of a CI runner: about half the wall time of one.
# --dist loadfile keeps each test file on one worker, in order, so a module's fixtures (a
# `transformers serve`, the manual's examples' shared page store) are made once. `-n 0` among the
# extra arguments runs the tests in this process, one after another (for --pdb, say).
cd tests
../$PY -m pytest -p no:cacheprovider -n 2 --dist loadfile "$@"
