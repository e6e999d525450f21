"""What members read about credit: short, both languages, member text escaped, no pings."""

from __future__ import annotations

from datetime import UTC, datetime

from cogs import credit_render
from cogs.i18n import MESSAGES
from knowledge.credit import (
    CreditDigest,
    CreditKind,
    CreditLine,
    CreditPrefs,
    CreditSettings,
    HelperScore,
)

URL = "https://discord.com/channels/1/2/3"


def digest(*lines: CreditLine) -> CreditDigest:
    return CreditDigest(user_id=9, guild_id=1, lines=lines, events=())


def test_a_credit_message_escapes_titles_and_server_names_in_both_languages():
    hostile = CreditLine(CreditKind.ACCEPTED, 1, 5, "[click](https://evil) @everyone", URL, 1)
    reused = CreditLine(CreditKind.REUSED, 1, 6, "CSV **export**", URL, 3)
    en = credit_render.digest_message(digest(hostile, reused), "Flow*desk*", "en")
    assert en.splitlines()[0] == "🎉 Your answers in **Flow\\*desk\\*** helped:"
    assert "@everyone" not in en and "](https://evil)" not in en
    assert "helped 3 more members in the last 30 days" in en
    assert "CSV \\*\\*export\\*\\*" in en
    ja = credit_render.digest_message(digest(reused), "Flowdesk", "ja")
    assert "この30日間でさらに3人の役に立ちました" in ja
    assert "`/senpai credit`" in ja


def test_a_long_credit_message_names_five_entries_and_counts_the_rest():
    lines = [CreditLine(CreditKind.ACCEPTED, 1, n, f"Post {n}", URL, 1) for n in range(8)]
    text = credit_render.digest_message(digest(*lines), "Flowdesk", "en")
    assert "Post 4" in text and "Post 5" not in text
    assert "…and 3 more." in text


def test_the_board_uses_mentions_that_discord_shows_as_names():
    board = [HelperScore(10, "Ben", 2, 1), HelperScore(11, "Chika", 1, 0)]
    text = credit_render.board_message(board, "month", "en")
    assert text.splitlines()[:3] == [
        "**Members whose answers helped most (this month)**",
        "1. <@10>: answers chosen as the solution: 2 · later posts solved: 1",
        "2. <@11>: answers chosen as the solution: 1 · later posts solved: 0",
    ]
    empty = credit_render.board_message([], "all", "ja")
    assert "全期間" in empty and "ありません" in empty


def test_the_thanks_post_names_the_month_in_each_language():
    may = datetime(2026, 5, 1, tzinfo=UTC)
    board = [HelperScore(10, "Ben", 2, 1)]
    assert "helpers of May 2026!" in credit_render.thanks_message(board, may, "en")
    assert "2026年5月に回答してくれた" in credit_render.thanks_message(board, may, "ja")


def test_settings_and_choices_read_plainly():
    settings = CreditSettings(1, thanks_channel=5, role_id=7, role_after=3)
    assert credit_render.settings_text(settings, "en", saved=True) == (
        "Saved.\nMonthly thanks channel: <#5>\nAutomatic role: <@&7> after 3 accepted answers"
    )
    assert "未設定" in credit_render.settings_text(CreditSettings(1), "ja")
    waiting = credit_render.settings_text(CreditSettings(1, role_id=7), "en")
    assert waiting.endswith("Automatic role: <@&7>, off until `role_after` is more than 0")
    text = credit_render.prefs_text(CreditPrefs(9, notices=False), "ja")
    assert "通知：**オフ**" in text and "掲載：**オン**" in text


def test_every_credit_text_exists_in_both_languages():
    keys = [k for k in MESSAGES if k.startswith("credit.") or k == "button.credit_off"]
    assert len(keys) > 20
    assert all(MESSAGES[k].get("en") and MESSAGES[k].get("ja") for k in keys)
