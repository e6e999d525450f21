"""Scheduled reports and the time zone setting through the knowledge base, on a real
SQLite file: kept across reopening, claimed once even by two processes, forgotten
with the server."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase
from knowledge.models import GuildSettings
from knowledge.schedule import ReportPeriod, ReportState, Rhythm, UnknownTimeZone
from tests.builders import Clock

pytestmark = pytest.mark.usefixtures("on_each_database")

GUILD, OTHER, CHANNEL = 1, 2, 50
T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


async def open_kb(path: Path, clock: Clock) -> KnowledgeBase:
    return await KnowledgeBase.open(path, HashingEncoder(), clock=clock)


@pytest.fixture
async def kb(tmp_path: Path, clock: Clock):
    kb = await open_kb(tmp_path, clock)
    yield kb
    await kb.close()


async def test_the_time_zone_setting_defaults_to_utc_is_canonical_and_refuses_unknown_names(kb):
    assert (await kb.community.settings(GUILD)).time_zone == "UTC"
    await kb.community.save_settings(GuildSettings(GUILD, time_zone="asia/tokyo"))
    assert (await kb.community.settings(GUILD)).time_zone == "Asia/Tokyo"
    with pytest.raises(UnknownTimeZone):
        await kb.community.save_settings(GuildSettings(GUILD, time_zone="Tokyo", language="ja"))
    kept = await kb.community.settings(GUILD)
    assert kept.time_zone == "Asia/Tokyo" and kept.language == "auto"  # nothing changed
    assert str(await kb.guild_zone(GUILD)) == "Asia/Tokyo"


async def test_a_schedule_is_due_when_the_week_ends_in_the_servers_zone_and_survives_reopening(
    tmp_path: Path, clock: Clock
):
    kb = await open_kb(tmp_path, clock)
    await kb.community.save_settings(GuildSettings(GUILD, time_zone="Asia/Tokyo"))
    schedule = await kb.schedule_reports(GUILD, Rhythm.WEEKLY, CHANNEL)
    assert schedule.next_due == datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # Mon 00:00 JST
    await kb.close()

    kb = await open_kb(tmp_path, clock)
    try:
        assert await kb.report_schedule(GUILD) == schedule
        clock.now = schedule.next_due - timedelta(seconds=1)
        assert await kb.due_scheduled_reports() == []
        clock.now = schedule.next_due
        assert await kb.due_scheduled_reports() == [schedule]
    finally:
        await kb.close()


async def test_a_due_period_is_claimed_once_and_the_schedule_moves_on(kb, clock):
    schedule = await kb.schedule_reports(GUILD, Rhythm.WEEKLY, CHANNEL)
    clock.now = schedule.next_due + timedelta(minutes=1)
    (due,) = await kb.due_scheduled_reports()
    claim = await kb.claim_scheduled_report(due)
    assert claim is not None
    assert claim.period == ReportPeriod(date(2026, 11, 30), date(2026, 12, 7))
    assert await kb.claim_scheduled_report(due) is None  # the same due schedule again
    assert await kb.due_scheduled_reports() == []
    moved = await kb.report_schedule(GUILD)
    assert moved is not None and moved.next_due == datetime(2026, 12, 14, tzinfo=UTC)

    (record,) = await kb.scheduled_report_records(GUILD)
    assert record.state is ReportState.CLAIMED and record.message_id is None
    await kb.scheduled_report_done(claim, 777)
    (record,) = await kb.scheduled_report_records(GUILD)
    assert (record.state, record.message_id, record.channel_id) == (
        ReportState.POSTED,
        777,
        CHANNEL,
    )
    assert record.done_at == clock.now


async def test_a_skipped_report_is_recorded_and_the_next_period_comes_as_usual(kb, clock):
    schedule = await kb.schedule_reports(GUILD, Rhythm.WEEKLY, CHANNEL)
    clock.now = schedule.next_due
    claim = await kb.claim_scheduled_report(schedule)
    assert claim is not None
    await kb.scheduled_report_done(claim, None)
    clock.now += timedelta(days=7)
    (due,) = await kb.due_scheduled_reports()
    second = await kb.claim_scheduled_report(due)
    assert second is not None and second.period.since == date(2026, 12, 7)
    states = [r.state for r in await kb.scheduled_report_records(GUILD)]
    assert states == [ReportState.SKIPPED, ReportState.CLAIMED]


async def test_after_an_outage_only_the_latest_period_is_claimed_once(kb, clock):
    await kb.schedule_reports(GUILD, Rhythm.WEEKLY, CHANNEL)
    clock.now = datetime(2026, 12, 30, 9, 0, tzinfo=UTC)  # three week ends later
    (due,) = await kb.due_scheduled_reports()
    claim = await kb.claim_scheduled_report(due)
    assert claim is not None
    assert claim.period == ReportPeriod(date(2026, 12, 21), date(2026, 12, 28))
    assert await kb.due_scheduled_reports() == []
    assert len(await kb.scheduled_report_records(GUILD)) == 1


async def test_two_processes_claim_a_period_once(tmp_path: Path, clock: Clock):
    first = await open_kb(tmp_path, clock)
    second = await open_kb(tmp_path, clock)  # its own connections to the same file
    try:
        schedule = await first.schedule_reports(GUILD, Rhythm.MONTHLY, CHANNEL)
        clock.now = schedule.next_due + timedelta(seconds=30)
        (seen_by_first,) = await first.due_scheduled_reports()
        (seen_by_second,) = await second.due_scheduled_reports()
        claims = await asyncio.gather(
            first.claim_scheduled_report(seen_by_first),
            second.claim_scheduled_report(seen_by_second),
        )
        assert sum(c is not None for c in claims) == 1
        (record,) = await second.scheduled_report_records(GUILD)
        assert record.period == ReportPeriod(date(2026, 12, 1), date(2027, 1, 1))
    finally:
        await second.close()
        await first.close()


async def test_a_period_claimed_already_is_not_claimed_again_after_a_schedule_change(kb, clock):
    schedule = await kb.schedule_reports(GUILD, Rhythm.WEEKLY, CHANNEL)
    clock.now = schedule.next_due
    assert await kb.claim_scheduled_report(schedule) is not None
    # The admin sets the same schedule again within the week: the next due date is the
    # end of the running week, not the week already reported.
    again = await kb.schedule_reports(GUILD, Rhythm.WEEKLY, CHANNEL + 1)
    assert again.next_due == datetime(2026, 12, 14, tzinfo=UTC)
    # A stale view of the old schedule claims nothing.
    assert await kb.claim_scheduled_report(schedule) is None


async def test_a_time_zone_change_moves_the_next_report(kb, clock):
    before = await kb.schedule_reports(GUILD, Rhythm.MONTHLY, CHANNEL)
    assert before.next_due == datetime(2027, 1, 1, tzinfo=UTC)
    await kb.community.save_settings(GuildSettings(GUILD, time_zone="Asia/Tokyo"))
    after = await kb.reschedule_reports(GUILD)
    assert after is not None and after.next_due == datetime(2026, 12, 31, 15, tzinfo=UTC)
    assert after.channel_id == CHANNEL and after.rhythm is Rhythm.MONTHLY
    assert await kb.reschedule_reports(OTHER) is None


async def test_stopping_keeps_the_record_and_forgetting_the_server_removes_everything(kb, clock):
    for guild in (GUILD, OTHER):
        schedule = await kb.schedule_reports(guild, Rhythm.WEEKLY, CHANNEL)
        clock.now = schedule.next_due
        claim = await kb.claim_scheduled_report(schedule)
        assert claim is not None
        await kb.scheduled_report_done(claim, 900 + guild)
    assert await kb.stop_scheduled_reports(GUILD)
    assert not await kb.stop_scheduled_reports(GUILD)
    assert await kb.report_schedule(GUILD) is None
    assert len(await kb.scheduled_report_records(GUILD)) == 1

    await kb.forget_guild(GUILD)
    assert await kb.scheduled_report_records(GUILD) == []
    assert await kb.report_schedule(OTHER) is not None  # another server is untouched
    assert len(await kb.scheduled_report_records(OTHER)) == 1
    await kb.forget_guild(OTHER)
    assert await kb.report_schedule(OTHER) is None
    assert await kb.scheduled_report_records(OTHER) == []
