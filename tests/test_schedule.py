"""Scheduled reports, pure part: time zones, the period a report covers, when the next is due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from knowledge.schedule import (
    COMMON_TIME_ZONES,
    ReportPeriod,
    Rhythm,
    UnknownTimeZone,
    canonical_zone,
    last_complete_period,
    next_due,
    period_after,
    period_start,
    time_zone,
    zone_or_utc,
    zone_suggestions,
)

TOKYO = ZoneInfo("Asia/Tokyo")
NEW_YORK = ZoneInfo("America/New_York")
PARIS = ZoneInfo("Europe/Paris")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- time zones ---------------------------------------------------------------------


def test_a_zone_name_is_spelled_as_the_iana_database_spells_it():
    assert canonical_zone("Asia/Tokyo") == "Asia/Tokyo"
    assert canonical_zone("  asia/TOKYO ") == "Asia/Tokyo"
    assert canonical_zone("utc") == "UTC"
    assert time_zone("europe/paris") == PARIS


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "Tokyo", "../etc/passwd", "JST+9"])
def test_an_unknown_zone_is_refused_with_its_name_and_an_example(name: str):
    with pytest.raises(UnknownTimeZone) as raised:
        time_zone(name)
    assert raised.value.name == name
    assert "Asia/Tokyo" in str(raised.value)


def test_a_stored_zone_this_host_does_not_know_falls_back_to_utc(caplog):
    assert zone_or_utc("Mars/Olympus_Mons") == ZoneInfo("UTC")
    assert "Mars/Olympus_Mons" in caplog.text
    assert zone_or_utc("Asia/Tokyo") == TOKYO


def test_the_autocomplete_offers_common_zones_first_then_any_matching_name():
    assert zone_suggestions("") == list(COMMON_TIME_ZONES)
    assert zone_suggestions("tok")[0] == "Asia/Tokyo"
    europe = zone_suggestions("europe/")
    assert europe[:3] == ["Europe/London", "Europe/Paris", "Europe/Berlin"]
    assert len(europe) == 25 and "Europe/Amsterdam" in europe
    assert zone_suggestions("no such place") == []
    assert all(time_zone(name) for name in COMMON_TIME_ZONES)


# -- periods ------------------------------------------------------------------------


def test_weeks_run_monday_to_sunday_and_months_are_calendar_months():
    assert period_start(Rhythm.WEEKLY, date(2026, 12, 6)) == date(2026, 11, 30)  # a Sunday
    assert period_start(Rhythm.WEEKLY, date(2026, 11, 30)) == date(2026, 11, 30)  # a Monday
    assert period_start(Rhythm.MONTHLY, date(2026, 12, 31)) == date(2026, 12, 1)
    firsts = [date(2024, month, 1) for month in range(1, 13)]
    assert [period_after(Rhythm.MONTHLY, d) for d in firsts] == [*firsts[1:], date(2025, 1, 1)]
    assert period_after(Rhythm.WEEKLY, date(2026, 12, 28)) == date(2027, 1, 4)


def test_the_week_is_the_servers_own_not_utcs():
    # Sunday 23:59 in Tokyo is still the week of Nov 30; a minute later it has ended.
    sunday_night = utc(2026, 12, 6, 14, 59)
    monday_morning = utc(2026, 12, 6, 15, 0)
    assert next_due(Rhythm.WEEKLY, sunday_night, TOKYO) == monday_morning
    assert last_complete_period(Rhythm.WEEKLY, sunday_night, TOKYO) == ReportPeriod(
        date(2026, 11, 23), date(2026, 11, 30)
    )
    assert last_complete_period(Rhythm.WEEKLY, monday_morning, TOKYO) == ReportPeriod(
        date(2026, 11, 30), date(2026, 12, 7)
    )
    assert next_due(Rhythm.WEEKLY, monday_morning, TOKYO) == utc(2026, 12, 13, 15, 0)
    # In UTC the same instant is still Sunday.
    assert last_complete_period(Rhythm.WEEKLY, monday_morning, UTC).until == date(2026, 11, 30)


def test_a_week_with_a_daylight_saving_change_ends_at_local_midnight():
    # New York springs forward on Sunday 8 March 2026: that week is 167 hours long.
    wednesday = utc(2026, 3, 4, 12, 0)
    due = next_due(Rhythm.WEEKLY, wednesday, NEW_YORK)
    assert due == utc(2026, 3, 9, 4, 0)  # Monday 00:00 EDT
    assert due.astimezone(NEW_YORK).hour == 0
    start = datetime(2026, 3, 2, tzinfo=NEW_YORK)
    assert due - start == timedelta(hours=167)
    # The next week starts at 00:00 EDT and ends at 00:00 EDT again (168 hours).
    assert next_due(Rhythm.WEEKLY, due, NEW_YORK) == due + timedelta(hours=168)


def test_a_month_with_a_daylight_saving_change_ends_at_local_midnight():
    # Paris falls back on 25 October 2026: the month ends at 00:00 CET, 23:00 UTC.
    due = next_due(Rhythm.MONTHLY, utc(2026, 10, 10), PARIS)
    assert due == utc(2026, 10, 31, 23, 0)
    assert last_complete_period(Rhythm.MONTHLY, due, PARIS) == ReportPeriod(
        date(2026, 10, 1), date(2026, 11, 1)
    )


@pytest.mark.parametrize(
    ("now", "period", "due"),
    [
        (utc(2026, 1, 31, 23, 59), (date(2025, 12, 1), date(2026, 1, 1)), utc(2026, 2, 1)),
        (utc(2028, 2, 29, 12), (date(2028, 1, 1), date(2028, 2, 1)), utc(2028, 3, 1)),
        (utc(2026, 3, 1), (date(2026, 2, 1), date(2026, 3, 1)), utc(2026, 4, 1)),
        (utc(2026, 12, 31, 23), (date(2026, 11, 1), date(2026, 12, 1)), utc(2027, 1, 1)),
    ],
)
def test_month_ends(now: datetime, period: tuple[date, date], due: datetime):
    assert last_complete_period(Rhythm.MONTHLY, now, UTC) == ReportPeriod(*period)
    assert next_due(Rhythm.MONTHLY, now, UTC) == due


def test_after_an_outage_the_latest_complete_period_is_the_one_reported():
    # Due on 1 June; the bot comes back on 20 August: July is reported, not June.
    back = utc(2026, 8, 20, 8)
    assert last_complete_period(Rhythm.MONTHLY, back, UTC) == ReportPeriod(
        date(2026, 7, 1), date(2026, 8, 1)
    )
    assert next_due(Rhythm.MONTHLY, back, UTC) == utc(2026, 9, 1)
