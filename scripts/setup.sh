#!/usr/bin/env bash
# Set up sklearn-vae on a fresh machine: torch first (CPU build when there is
# no CUDA, so no GPU packages are pulled), then the package with its extras.
# Usage: bash scripts/setup.sh [extras]   (default extras: dev)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
PY="${PYTHON:-python3}"

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    echo "[setup] CUDA found: installing torch from PyPI"
    "$PY" -m pip install -q "torch>=2.1"
  else
    # A local CPU wheel (pip's find-links) if there is one, else the CPU index.
    cpu_wheel=""
    for d in ${PIP_FIND_LINKS:-} /opt/wheels; do
      [ -d "$d" ] || continue
      cpu_wheel=$(ls "$d"/torch-*+cpu-*.whl 2>/dev/null | head -n 1 || true)
      [ -n "$cpu_wheel" ] && break
    done
    if [ -n "$cpu_wheel" ]; then
      echo "[setup] no CUDA: installing the CPU build of torch ($cpu_wheel)"
      "$PY" -m pip install -q "$cpu_wheel"
    else
      echo "[setup] no CUDA: installing the CPU build of torch"
      "$PY" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu
    fi
  fi
fi
"$PY" -m pip install -q -e ".[${extras}]"
