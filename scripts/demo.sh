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
GUILD=915077679022095685
echo
echo '$ senpai ask "Excelから書き出した顧客リストをインポートしたら、日本語の社名が文字化けしました。"'
.venv/bin/senpai ask --guild "$GUILD" "Excelから書き出した顧客リストをインポートしたら、日本語の社名が文字化けしました。"
echo
echo '$ senpai ask "We switched our identity provider to Okta and now sign-in fails with an audience error"'
.venv/bin/senpai ask --guild "$GUILD" "We switched our identity provider to Okta and now sign-in fails with an audience error"
echo
echo '$ senpai ask "Can we change a pipeline currency from USD to EUR?"   (nothing similar: silence)'
.venv/bin/senpai ask --guild "$GUILD" "Can we change a pipeline currency from USD to EUR?"
