#!/usr/bin/env bash
# Main job: set up, then run the demo on a dataset bundled with scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
exec "${PYTHON:-python3}" -m sklearn_vae demo "$@"
