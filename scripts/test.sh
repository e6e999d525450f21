#!/usr/bin/env bash
# Set up, then run the whole test suite (including the tests that load the real model).
# The store-level suites also run against a throw-away PostgreSQL started here
# (scripts/postgres.sh) and stopped on exit; set SENPAI_TEST_DATABASE_URL to use
# a server of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy knowledge index
if [ -z "${SENPAI_TEST_DATABASE_URL:-}" ]; then
  # shellcheck source=scripts/postgres.sh
  source scripts/postgres.sh
  start_throwaway_postgres
fi
.venv/bin/python -m pytest -q "$@"
