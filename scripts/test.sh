#!/usr/bin/env bash
# Set up (scripts/setup.sh: a project-local .venv), then run the whole test
# suite (doctests and the snippets of README.md and docs/ included).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(bash scripts/setup.sh dev | tail -n 1)"
exec "$PY" -m pytest "$@"
