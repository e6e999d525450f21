"""Scheduled community reports, and the server's time zone they are counted in.

The pure part says which period a report covers and when the next one is due; the
store part (:class:`ScheduleStore`, all its SQL) keeps each server's schedule and a
record of every period claimed. :class:`~knowledge.engine.KnowledgeBase` is the door:
the cogs call its ``*_scheduled_report*`` use cases, never this store.

How a schedule behaves (the README's "Scheduled reports and time zone" says the same):

* periods are calendar days in the server's time zone (an IANA name, ``UTC`` by
  default): a week runs from Monday 00:00 to the next Monday 00:00, a month from the
  1st 00:00 to the next 1st 00:00; a daylight-saving change inside a period makes it
  an hour longer or shorter, never shifts its days;
* a period's report is due the moment the period ends, and is posted by the next
  poll of the bot (a minute by default);
* after an outage that spans several period ends, only the most recent complete
  period is posted, once: the missed ones are not posted one after another (a burst
  of stale reports helps nobody; ``/senpai-admin report`` covers any past period);
* a period is claimed before its report is posted, in the same transaction that
  moves ``next_due`` on: two processes, or a restart, never post it twice. A process
  that dies between the claim and the post loses that one report (at most once,
  like the staff list of unanswered posts);
* when the channel is gone or Senpai may not post there, the period is recorded as
  skipped (with a log line) and the schedule moves on to the next period.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from knowledge.db import Database, iso
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

DEFAULT_TIME_ZONE = "UTC"

COMMON_TIME_ZONES = (
    "UTC",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
)
"""Offered first when an admin picks a time zone (any IANA name is accepted)."""


class Rhythm(StrEnum):
    """How often a scheduled report is posted."""

    WEEKLY = "weekly"
    MONTHLY = "monthly"


class ReportState(StrEnum):
    """What became of a claimed period's report."""

    CLAIMED = "claimed"
    POSTED = "posted"
    SKIPPED = "skipped"


class UnknownTimeZone(KnowledgeError):
    """A time zone name that is not in the IANA database."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"unknown time zone {name!r}: use an IANA name such as Asia/Tokyo, Europe/Paris or UTC"
        )
        self.name = name


# -- time zones ---------------------------------------------------------------------


@functools.cache
def _known_zones() -> dict[str, str]:
    """Every IANA name this host knows, by its case-folded spelling."""
    return {name.casefold(): name for name in available_timezones()}


def canonical_zone(name: str) -> str:
    """The IANA name ``name`` means, spelled as the database spells it ("asia/tokyo"
    gives "Asia/Tokyo"). Raises :class:`UnknownTimeZone`."""
    wanted = name.strip()
    found = _known_zones().get(wanted.casefold())
    if found is None:
        raise UnknownTimeZone(name)
    return found


def time_zone(name: str) -> ZoneInfo:
    """The zone of an IANA name. Raises :class:`UnknownTimeZone`."""
    try:
        return ZoneInfo(canonical_zone(name))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise UnknownTimeZone(name) from error


def zone_or_utc(name: str) -> ZoneInfo:
    """The zone of a stored name; UTC (with a warning) if this host does not know it."""
    try:
        return time_zone(name)
    except UnknownTimeZone:
        log.warning("unknown stored time zone %r: using UTC", name)
        return ZoneInfo(DEFAULT_TIME_ZONE)


def zone_suggestions(typed: str, limit: int = 25) -> list[str]:
    """Zone names for an autocomplete: the common ones matching ``typed`` first, then
    any other IANA name containing it, at most ``limit``."""
    needle = typed.strip().casefold()
    common = [z for z in COMMON_TIME_ZONES if needle in z.casefold()]
    if not needle:
        return common[:limit]
    others = sorted(
        name for key, name in _known_zones().items() if needle in key and name not in common
    )
    return [*common, *others][:limit]


# -- periods ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportPeriod:
    """The calendar days [since, until) a scheduled report covers."""

    since: date
    until: date


def period_start(rhythm: Rhythm, day: date) -> date:
    """The first day of the week (Monday) or month holding ``day``."""
    if rhythm is Rhythm.WEEKLY:
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def period_after(rhythm: Rhythm, start: date) -> date:
    """The first day of the period after the one starting on ``start``."""
    if rhythm is Rhythm.WEEKLY:
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """00:00 of ``day`` in ``zone``, as an aware datetime."""
    return datetime.combine(day, time(0), tzinfo=zone)


def last_complete_period(rhythm: Rhythm, now: datetime, zone: tzinfo) -> ReportPeriod:
    """The most recent week or month that had ended by ``now`` in ``zone``."""
    until = period_start(rhythm, now.astimezone(zone).date())
    return ReportPeriod(period_start(rhythm, until - timedelta(days=1)), until)


def next_due(rhythm: Rhythm, now: datetime, zone: tzinfo) -> datetime:
    """When the period running at ``now`` in ``zone`` ends (its report is due), in UTC."""
    end = period_after(rhythm, period_start(rhythm, now.astimezone(zone).date()))
    return local_midnight(end, zone).astimezone(UTC)


# -- stored values ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportSchedule:
    """A server's scheduled report: where it goes, how often, when the next is due."""

    guild_id: int
    channel_id: int
    rhythm: Rhythm
    next_due: datetime


@dataclass(frozen=True, slots=True)
class ScheduledReport:
    """One period's report, claimed by this process: it alone posts it."""

    guild_id: int
    channel_id: int
    rhythm: Rhythm
    period: ReportPeriod
    zone: ZoneInfo


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """A period a scheduled report was claimed for, and what became of it."""

    guild_id: int
    rhythm: Rhythm
    period: ReportPeriod
    channel_id: int
    message_id: int | None
    state: ReportState
    claimed_at: datetime
    done_at: datetime | None


_SCHEDULE_COLUMNS = "guild_id, channel_id, rhythm, next_due"


def _schedule(row: Sequence[object]) -> ReportSchedule:
    return ReportSchedule(
        guild_id=int(row[0]),  # type: ignore[call-overload]
        channel_id=int(row[1]),  # type: ignore[call-overload]
        rhythm=Rhythm(str(row[2])),
        next_due=datetime.fromisoformat(str(row[3])),
    )


class ScheduleStore:
    """Report schedules and the record of reports posted, over the knowledge base's file."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def schedule(self, guild_id: int) -> ReportSchedule | None:
        async with self._db.reader.execute(
            f"SELECT {_SCHEDULE_COLUMNS} FROM report_schedules WHERE guild_id = ?", (guild_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _schedule(row)

    async def set_schedule(self, schedule: ReportSchedule) -> None:
        """Create or replace the server's schedule."""
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO report_schedules (guild_id, channel_id, rhythm, next_due, "
                "updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id) DO UPDATE SET "
                "channel_id = excluded.channel_id, rhythm = excluded.rhythm, "
                "next_due = excluded.next_due, updated_at = excluded.updated_at",
                (
                    schedule.guild_id,
                    schedule.channel_id,
                    schedule.rhythm.value,
                    iso(schedule.next_due),
                    self._db.now(),
                ),
            )

    async def clear_schedule(self, guild_id: int) -> bool:
        """Stop the server's scheduled reports (the record of past ones stays). True if
        there was a schedule."""
        async with (
            self._db.transaction() as db,
            db.execute("DELETE FROM report_schedules WHERE guild_id = ?", (guild_id,)) as cur,
        ):
            return cur.rowcount > 0

    async def due(self, now: datetime, limit: int = 50) -> list[ReportSchedule]:
        """Schedules whose next report was due at or before ``now``, oldest first."""
        async with self._db.reader.execute(
            f"SELECT {_SCHEDULE_COLUMNS} FROM report_schedules WHERE next_due <= ? "
            "ORDER BY next_due, guild_id LIMIT ?",
            (iso(now), limit),
        ) as cur:
            return [_schedule(r) for r in await cur.fetchall()]

    async def claim(
        self, schedule: ReportSchedule, period: ReportPeriod, following: datetime
    ) -> bool:
        """Move the schedule on to ``following`` and claim ``period``'s report, in one
        transaction. True only for the one caller that is to post it: False when another
        process moved the schedule first, the schedule changed since it was read, or
        the period was claimed already (after a time zone change, say)."""
        async with self._db.transaction() as db:
            async with db.execute(
                "UPDATE report_schedules SET next_due = ?, updated_at = ? "
                "WHERE guild_id = ? AND next_due = ? AND rhythm = ? AND channel_id = ?",
                (
                    iso(following),
                    self._db.now(),
                    schedule.guild_id,
                    iso(schedule.next_due),
                    schedule.rhythm.value,
                    schedule.channel_id,
                ),
            ) as cur:
                if cur.rowcount <= 0:
                    return False
            async with db.execute(
                "INSERT INTO scheduled_reports (guild_id, period_start, period_end, rhythm, "
                "channel_id, state, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id, period_start, period_end) DO NOTHING",
                (
                    schedule.guild_id,
                    period.since.isoformat(),
                    period.until.isoformat(),
                    schedule.rhythm.value,
                    schedule.channel_id,
                    ReportState.CLAIMED.value,
                    self._db.now(),
                ),
            ) as cur:
                return cur.rowcount > 0

    async def finish(self, claim: ScheduledReport, message_id: int | None) -> None:
        """The claimed report was posted as ``message_id``, or skipped (``None``)."""
        state = ReportState.SKIPPED if message_id is None else ReportState.POSTED
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE scheduled_reports SET state = ?, message_id = ?, done_at = ? "
                "WHERE guild_id = ? AND period_start = ? AND period_end = ?",
                (
                    state.value,
                    message_id,
                    self._db.now(),
                    claim.guild_id,
                    claim.period.since.isoformat(),
                    claim.period.until.isoformat(),
                ),
            )

    async def records(self, guild_id: int) -> list[ReportRecord]:
        """The periods claimed for the server, oldest first."""
        async with self._db.reader.execute(
            "SELECT guild_id, rhythm, period_start, period_end, channel_id, message_id, state, "
            "claimed_at, done_at FROM scheduled_reports WHERE guild_id = ? "
            "ORDER BY period_start, period_end",
            (guild_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            ReportRecord(
                guild_id=int(r[0]),
                rhythm=Rhythm(str(r[1])),
                period=ReportPeriod(date.fromisoformat(str(r[2])), date.fromisoformat(str(r[3]))),
                channel_id=int(r[4]),
                message_id=None if r[5] is None else int(r[5]),
                state=ReportState(str(r[6])),
                claimed_at=datetime.fromisoformat(str(r[7])),
                done_at=None if r[8] is None else datetime.fromisoformat(str(r[8])),
            )
            for r in rows
        ]
