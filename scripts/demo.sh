#!/usr/bin/env bash
# Set up, then run Senpai on the embedded defaults (SQLite + local FAISS, the
# packaged model, offline): import the sample community export and ask it a
# question, in a throwaway data directory.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
export SENPAI_DATA_DIR=${SENPAI_DATA_DIR:-$(mktemp -d)}
.venv/bin/senpai import samples/community
.venv/bin/senpai ask "SSOを有効にしたらログインできなくなりました"
.venv/bin/senpai ask "Our CSV import shows garbled Japanese characters"
