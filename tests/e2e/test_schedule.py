"""Scheduled community reports and the server's time zone, end to end.

The real bot on unpatched discord.py against LocalDiscord; time moves with the test
clock (``senpai.clock.now``), the bot polls every 0.2 s. A report is posted once when
the clock passes the end of the week (or month) in the server's zone, not again after
a restart, pings nobody, and a deleted channel is skipped with a log line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from knowledge.schedule import ReportState
from localdiscord import Channel, Message, Overwrite, Permissions, ScenarioError
from tests.e2e.conftest import Community, Senpai
from tests.e2e.test_flows import UNRELATED
from tests.e2e.test_report import PNG_MAGIC, report_message, shown_text
from tests.e2e.test_scenarios import eventually, wait_quiet

CHART = "senpai-report.png"


async def admin(
    community: Community, command: str, options: dict[str, object], locale: str | None = None
) -> str:
    """A /senpai-admin subcommand run by the server owner; returns its private answer."""
    server = community.server
    run = await server.run_slash(
        server.owner(community.guild), community.help, command, options, locale=locale
    )
    response = await run.wait_for_response()
    assert response.ephemeral
    return response.content or ""


async def mods_channel(community: Community, senpai: Senpai, name: str = "mods") -> Channel:
    """A moderators-only text channel the bot can post in."""
    channel = community.server.add_text_channel(
        community.guild, name, private=True, allow=[community.mod_role]
    )
    assert await eventually(lambda: _known(senpai, channel.id))
    return channel


async def _known(senpai: Senpai, channel_id: int) -> bool:
    return senpai.bot.get_channel(channel_id) is not None


async def _gone(senpai: Senpai, channel_id: int) -> bool:
    return senpai.bot.get_channel(channel_id) is None


def assert_pings_nobody(message: Message) -> None:
    assert message.allowed_mentions is not None
    assert message.allowed_mentions.get("parse") == []
    assert not message.allowed_mentions.get("users") and not message.allowed_mentions.get("roles")
    assert not message.pinged_user_ids and not message.pinged_role_ids
    assert not message.mention_everyone


async def test_a_weekly_report_is_posted_once_when_the_week_ends_and_not_again_after_a_restart(
    community: Community, senpai: Senpai
):
    server = community.server
    mods = await mods_channel(community, senpai)
    await server.open_post(community.dan, community.help, *UNRELATED)

    answer = await admin(community, "senpai-admin schedule", {"rhythm": "weekly", "channel": mods})
    schedule = await senpai.kb.report_schedule(community.guild.id)
    assert schedule is not None and schedule.channel_id == mods.id
    due = schedule.next_due
    assert due.weekday() == 0 and (due.hour, due.minute) == (0, 0)  # Monday 00:00 UTC
    assert answer.startswith("Schedule saved.")
    assert "posted weekly (Monday–Sunday) in #mods" in answer
    assert f"Next report: {due:%Y-%m-%d} 00:00 (UTC)" in answer
    last_day = due - timedelta(days=1)
    assert f"covering {due - timedelta(days=7):%Y-%m-%d} – {last_day:%Y-%m-%d}." in answer

    senpai.clock.now = due - timedelta(minutes=1)
    await wait_quiet()
    assert server.bot_messages(mods) == []  # the week has not ended

    senpai.clock.now = due + timedelta(minutes=1)
    posted = await server.wait_for_bot_message(mods)
    text = shown_text(posted)
    week = f"{due - timedelta(days=7):%Y-%m-%d} – {due:%Y-%m-%d} (UTC)"
    assert f"Community report {week}" in text
    assert "Questions asked: 1  (previous: 0)" in text
    assert UNRELATED[0] in text  # the unanswered post, listed
    (chart,) = [a for a in posted.attachments if a.filename == CHART]
    assert chart.data.startswith(PNG_MAGIC)
    assert_pings_nobody(posted)
    assert await eventually(lambda: _recorded(senpai, community, ReportState.POSTED))
    (record,) = await senpai.kb.scheduled_report_records(community.guild.id)
    assert record.message_id == posted.id

    await senpai.restart()
    senpai.clock.now += timedelta(hours=1)
    await wait_quiet()
    assert [m.id for m in server.bot_messages(mods)] == [posted.id]  # once per period

    senpai.clock.now = due + timedelta(days=7, minutes=1)  # the next week ends
    await server.wait_for(lambda: len(server.bot_messages(mods)) == 2 or None)
    second = server.bot_messages(mods)[1]
    assert f"Community report {due:%Y-%m-%d} – " in shown_text(second)
    assert_pings_nobody(second)
    server.assert_clean()


async def test_a_monthly_report_in_japanese_follows_the_servers_time_zone(
    community: Community, senpai: Senpai
):
    server = community.server
    mods = await mods_channel(community, senpai)
    await server.open_post(community.dan, community.help, *UNRELATED)
    saved = await admin(
        community, "senpai-admin setup", {"language": "ja", "time_zone": "asia/tokyo"}
    )
    assert "タイムゾーン（レポート）: Asia/Tokyo" in saved

    answer = await admin(
        community, "senpai-admin schedule", {"rhythm": "monthly", "channel": mods}, locale="ja"
    )
    assert answer.startswith("定期レポートを設定しました。")
    assert "毎月（暦月）、#mods に投稿します" in answer and "（Asia/Tokyo）" in answer
    schedule = await senpai.kb.report_schedule(community.guild.id)
    assert schedule is not None
    due = schedule.next_due
    assert due.hour == 15 and (due + timedelta(hours=9)).day == 1  # the 1st, 00:00 in Tokyo

    senpai.clock.now = due + timedelta(seconds=30)
    posted = await server.wait_for_bot_message(mods)
    text = shown_text(posted)
    assert "コミュニティレポート" in text and "（Asia/Tokyo）" in text
    assert "質問数: 1" in text
    assert any(a.filename == CHART for a in posted.attachments)
    assert_pings_nobody(posted)
    server.assert_clean()


async def test_a_deleted_channel_is_skipped_with_a_log_line_and_the_schedule_moves_on(
    community: Community, senpai: Senpai, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="cogs.schedule")
    server = community.server
    mods = await mods_channel(community, senpai)
    await admin(community, "senpai-admin schedule", {"rhythm": "weekly", "channel": mods})
    schedule = await senpai.kb.report_schedule(community.guild.id)
    assert schedule is not None

    server.world.delete_channel(mods)
    assert await eventually(lambda: _gone(senpai, mods.id))
    senpai.clock.now = schedule.next_due + timedelta(minutes=1)
    assert await eventually(lambda: _recorded(senpai, community, ReportState.SKIPPED))
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert skipped == [
        f"guild {community.guild.id}: weekly report for "
        f"{schedule.next_due.date() - timedelta(days=7)} to {schedule.next_due.date()} "
        f"skipped: channel {mods.id}: it is gone or Senpai may not post there"
    ]
    moved = await senpai.kb.report_schedule(community.guild.id)
    assert moved is not None and moved.next_due == schedule.next_due + timedelta(days=7)
    assert server.bot_messages(mods) == []
    server.assert_clean()


async def _recorded(senpai: Senpai, community: Community, state: ReportState) -> bool:
    records = await senpai.kb.scheduled_report_records(community.guild.id)
    return [r.state for r in records] == [state]


async def test_the_schedule_is_shown_changed_and_turned_off_and_bad_input_says_why(
    community: Community, senpai: Senpai
):
    assert (await admin(community, "senpai-admin schedule", {})).startswith("No scheduled report")
    answer = await admin(community, "senpai-admin schedule", {"rhythm": "weekly"})
    assert answer == "Choose the text channel the report is posted in (channel)."
    mods = await mods_channel(community, senpai)
    answer = await admin(community, "senpai-admin schedule", {"channel": mods})
    assert answer == "Choose how often to post the report: weekly or monthly (rhythm)."
    assert await senpai.kb.report_schedule(community.guild.id) is None  # nothing saved

    no_send = Overwrite(
        id=community.server.bot_user.id, type=1, deny=int(Permissions.SEND_MESSAGES)
    )
    closed = community.server.add_text_channel(community.guild, "closed", overwrites=[no_send])
    assert await eventually(lambda: _known(senpai, closed.id))
    answer = await admin(
        community, "senpai-admin schedule", {"rhythm": "weekly", "channel": closed}
    )
    assert answer.startswith("Senpai cannot post in #closed")

    await admin(community, "senpai-admin schedule", {"rhythm": "weekly", "channel": mods})
    answer = await admin(community, "senpai-admin schedule", {"rhythm": "monthly"})
    assert "posted monthly (calendar month) in #mods" in answer  # the channel is kept
    shown = await admin(community, "senpai-admin schedule", {}, locale="ja")
    assert "毎月（暦月）、#mods に投稿します" in shown

    assert await admin(community, "senpai-admin schedule", {"rhythm": "off"}) == (
        "Scheduled reports are off."
    )
    assert await senpai.kb.report_schedule(community.guild.id) is None
    community.server.assert_clean()


async def test_an_unknown_time_zone_is_refused_in_both_languages_and_nothing_changes(
    community: Community, senpai: Senpai
):
    options = {"time_zone": "Mars/Base", "language": "ja"}
    english = await admin(community, "senpai-admin setup", options)
    assert english.startswith("Unknown time zone “Mars/Base”: use an IANA name")
    japanese = await admin(community, "senpai-admin setup", options, locale="ja")
    assert japanese.startswith("「Mars/Base」というタイムゾーンはありません。")
    settings = await senpai.services.community.settings(community.guild.id)
    assert settings.time_zone == "UTC" and settings.language == "auto"
    community.server.assert_clean()


async def test_the_time_zone_option_suggests_common_zones(community: Community, senpai: Senpai):
    server = community.server
    run = await server.run_autocomplete(
        server.owner(community.guild),
        community.help,
        "senpai-admin setup",
        {"time_zone": "tok"},
        "time_zone",
    )
    choices = await server.wait_for(lambda: run.autocomplete_choices)
    assert choices[0] == {"name": "Asia/Tokyo", "value": "Asia/Tokyo"}
    server.assert_clean()


async def test_only_admins_can_schedule_reports(community: Community, senpai: Senpai):
    with pytest.raises(ScenarioError, match="default_member_permissions"):
        await community.server.run_slash(community.dan, community.help, "senpai-admin schedule")
    community.server.assert_clean()


async def test_the_admin_report_counts_days_in_the_servers_time_zone(
    community: Community, senpai: Senpai
):
    await admin(community, "senpai-admin setup", {"time_zone": "Asia/Tokyo"})
    senpai.clock.now = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)  # Monday 7 Dec, 05:00 in Tokyo
    shown = await report_message(community, {"period": "7d"}, None)
    assert "Community report 2026-12-01 – 2026-12-08 (Asia/Tokyo)" in shown_text(shown)
    shown = await report_message(community, {"period": "month"}, "ja")
    assert "コミュニティレポート 2026-11-01 – 2026-12-01（Asia/Tokyo）" in shown_text(shown)
    community.server.assert_clean()
