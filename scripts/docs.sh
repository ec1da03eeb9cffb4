#!/usr/bin/env bash
# Build the documentation site (Sphinx: pydata-sphinx-theme, numpydoc API
# reference, sphinx-gallery examples run at build time) into docs/_build/html,
# with warnings as errors. Set-up as for the tests (scripts/setup.sh: the
# project-local .venv with the dev extra, which includes the docs tools).
#
# Usage: bash scripts/docs.sh [--quick]
#   --quick: the slow examples run with small settings (what CI builds).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="$(bash scripts/setup.sh dev | tail -n 1)"
if [ "${1:-}" = "--quick" ]; then
  export SKLEARN_VAE_DOCS_QUICK=1
fi
rm -rf docs/_build docs/auto_examples docs/api
export MPLBACKEND=Agg
"$PY" -m sphinx -W --keep-going -b html -q docs docs/_build/html
echo "built: docs/_build/html/contents.html" >&2
