#!/usr/bin/env bash
# Set up sklearn-vae in a project-local virtual environment (.venv): torch first
# (the CPU build when there is no CUDA, so no GPU packages are pulled), then the
# package with its extras. Idempotent: a second run that finds the environment
# set up for the same pyproject.toml and extras returns at once.
#
# Usage: bash scripts/setup.sh [extras]   (default extras: dev)
# Environment:
#   PYTHON            interpreter that creates the environment (default: python3)
#   SKLEARN_VAE_VENV  where the environment lives (default: .venv in the project);
#                     "none" installs into $PYTHON itself instead (e.g. inside a
#                     conda or CI environment you manage)
# Prints nothing on stdout but the path of the environment's python (last line).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev}"
BASE="${PYTHON:-python3}"
VENV="${SKLEARN_VAE_VENV:-.venv}"

log() { echo "[setup] $*" >&2; }

if [ "$VENV" = "none" ]; then
  PY="$BASE"
else
  PY="$VENV/bin/python"
  if [ ! -x "$PY" ]; then
    log "creating the virtual environment $VENV (with $BASE)"
    if ! "$BASE" -m venv "$VENV" >&2; then
      rm -rf "$VENV"
      log "could not create a virtual environment with $BASE."
      log "On Debian/Ubuntu: sudo apt install python3-venv; or set PYTHON to another"
      log "interpreter, or SKLEARN_VAE_VENV=none to install into $BASE itself."
      exit 1
    fi
  fi
fi

# Skip everything when this environment was already set up for the same
# pyproject.toml and extras, and the package still imports.
stamp_file="$("$PY" -c 'import sys; print(sys.prefix)')/.sklearn-vae-setup"
stamp="$(cat pyproject.toml | cksum | cut -d' ' -f1)-${extras}-$(pwd)"
if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ] \
    && "$PY" -c "import sklearn_vae, torch" >/dev/null 2>&1; then
  echo "$PY"
  exit 0
fi

if ! "$PY" -c "import torch" >/dev/null 2>&1; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    log "CUDA found: installing torch from PyPI"
    "$PY" -m pip install -q "torch>=2.1" >&2
  else
    # A local CPU wheel (pip's find-links) if there is one, else the CPU index.
    cpu_wheel=""
    for d in ${PIP_FIND_LINKS:-} /opt/wheels; do
      [ -d "$d" ] || continue
      cpu_wheel=$(ls "$d"/torch-*+cpu-*.whl 2>/dev/null | head -n 1 || true)
      [ -n "$cpu_wheel" ] && break
    done
    if [ -n "$cpu_wheel" ]; then
      log "no CUDA: installing the CPU build of torch ($cpu_wheel)"
      "$PY" -m pip install -q "$cpu_wheel" >&2
    else
      log "no CUDA: installing the CPU build of torch"
      "$PY" -m pip install -q torch --index-url https://download.pytorch.org/whl/cpu >&2
    fi
  fi
fi
log "installing sklearn-vae[${extras}] into $("$PY" -c 'import sys; print(sys.prefix)')"
"$PY" -m pip install -q -e ".[${extras}]" >&2
echo "$stamp" > "$stamp_file"
echo "$PY"
