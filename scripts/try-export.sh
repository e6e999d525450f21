#!/usr/bin/env bash
# Set up, then import the sample community export (DiscordChatExporter format)
# into a throwaway knowledge base and ask it questions in Japanese and English.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1
export SENPAI_DATA_DIR=${SENPAI_DATA_DIR:-$(mktemp -d)}
GUILD=915077679022095685
.venv/bin/senpai import samples/community
ask() {
  echo
  echo "\$ senpai ask \"$1\""
  .venv/bin/senpai ask --guild "$GUILD" "$1"
}
ask "Excelから書き出した顧客リストをインポートしたら、日本語の社名が文字化けしました。"
ask "We switched our identity provider to Okta and now sign-in fails with an audience error"
ask "Can we change a pipeline currency from USD to EUR?"
