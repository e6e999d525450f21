"""What members read about their data: capture refusals, backfill skips, forget-me
and the privacy choice, in English and Japanese."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cogs import render
from cogs.i18n import MESSAGES
from knowledge.models import RemovedContent

KNOWLEDGE = Path(__file__).resolve().parent.parent / "knowledge"
_RAISED = re.compile(r'CaptureError\(\s*"([a-z_]+)"')


def raised_codes() -> set[str]:
    return {code for path in KNOWLEDGE.glob("*.py") for code in _RAISED.findall(path.read_text())}


def test_every_capture_error_the_core_raises_has_a_message_for_members():
    codes = raised_codes()
    assert {"opted_out", "conflict", "scope", "no_answer"} <= codes
    for code in codes:
        assert f"capture.{code}" in MESSAGES, code


def test_a_backfill_summary_counts_the_posts_it_did_not_save_by_reason():
    skipped = {"opted_out": 2, "empty_answer": 1, "no_question": 1, "scope": 1}
    assert render.backfill_done(9, 4, skipped, "en") == (
        "Backfill finished: 9 posts read, 4 solved threads captured.\n"
        "Not saved: 2 (a member opted out), 1 (saved from a private forum), "
        "2 (no usable question or answer)."
    )
    assert render.backfill_done(9, 4, {"conflict": 1}, "ja").endswith(
        "保存しなかった投稿：1件（別のサーバーで保存済み）。"
    )
    assert "\n" not in render.backfill_done(3, 3, {}, "en")


@pytest.mark.parametrize(
    ("opted_out", "changed", "lang", "start"),
    [
        (True, True, "en", "Saved. Senpai will not keep your future questions or answers"),
        (True, False, "en", "That was already your choice. Senpai will not keep"),
        (False, None, "en", "When a post you asked or answered is marked solved"),
        (True, True, "ja", "設定しました。Senpai は今後"),
        (False, None, "ja", "あなたが質問・回答した投稿が解決済みになると"),
    ],
)
def test_the_privacy_choice_says_what_it_means(opted_out, changed, lang, start):
    text = render.privacy_choice(opted_out, changed, lang)
    assert text.startswith(start)
    if opted_out and lang == "en":
        assert "What is already stored stays until you use /senpai forget-me." in text


def test_forget_me_reports_what_went_and_how_to_stop_what_comes():
    removed = RemovedContent(entry_ids=(1, 2), thread_ids=(5, 6), feedback_count=3, questions=4)
    text = render.forgotten_member(removed, opted_out=False, lang="en")
    assert text.startswith("Deleted: 2 solved threads, 3 feedback records and 4 question records")
    assert text.endswith("/senpai privacy stops that.")
    assert "/senpai privacy" not in render.forgotten_member(removed, opted_out=True, lang="en")
    assert "解決済みスレッド 2件" in render.forgotten_member(removed, opted_out=True, lang="ja")
