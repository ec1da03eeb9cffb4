#!/usr/bin/env bash
# Main job: set up (scripts/setup.sh: a project-local .venv), then run the demo
# on a dataset bundled with scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(bash scripts/setup.sh dev | tail -n 1)"
exec "$PY" -m sklearn_vae demo "$@"
