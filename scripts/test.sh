#!/usr/bin/env bash
# Set up, then run the whole test suite (including the tests that load the real model).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy knowledge index
.venv/bin/python -m pytest -q "$@"
