#!/usr/bin/env bash
# Set up, then run Senpai's main job on the embedded defaults, offline and
# without a Discord token: `senpai demo` starts a local Discord, the real bot
# and a short scripted community, and prints the conversation as it happens.
# Usage: bash scripts/demo.sh [en|ja]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
.venv/bin/senpai demo --lang "${1:-en}"
