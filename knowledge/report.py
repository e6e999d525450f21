"""The community manager's report: figures for a period beside the previous one.

Pure computation over what :class:`~knowledge.community.CommunityStore` returns;
no SQL, no Discord. :meth:`knowledge.engine.KnowledgeBase.report` fetches the rows
and calls :func:`build_report`; :mod:`knowledge.report_format` renders the result
(text, JSON, CSV, chart).

How each figure is counted (the README's "Community figures" says the same):

* a period is [start, end): from midnight of ``since`` to midnight of ``until`` in
  the report's time zone; the previous period is as many calendar days just before;
* a question counts in the period it was *asked* in, and what happened to it counts
  up to the end of that period (``end``), never after;
* answered: a reply from someone other than the asker (not a bot) before ``end``;
* solved: marked solved (by anyone, by a suggestion's "solved it", or found solved
  in the post's history) before ``end``;
* times: median and 90th percentile (nearest rank) over the questions that have them;
* unanswered: asked in the period, neither replied to nor solved before ``end``, and
  still present (deleted posts drop out of the list, but still count as asked);
* recurring problems: questions solved by the same earlier entry (a suggestion's
  "solved it"), counted in this period and in the previous one;
* top helpers: authors of the accepted answers of entries solved in the period (an
  asker's own answer credits nobody), one count per entry;
* staff or members: among answered questions, whose first reply came from a member
  holding a staff role; replies whose roles were not recorded are "unknown";
* invitations: members invited by direct message to a post Senpai could not answer
  (sent in the period), and how many of them then replied in the post.

Forgotten members' questions are deleted, so they stop counting, in every period.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from knowledge.errors import KnowledgeError
from knowledge.models import AcceptedAnswer, EntryRef, QuestionRecord

TOP_HELPERS = 10
TOP_RECURRING = 10


class ReportError(KnowledgeError):
    """A report that cannot be made as asked (an empty or reversed period)."""


@dataclass(frozen=True, slots=True)
class Period:
    """[start, end) as aware datetimes, with the calendar days it was asked for."""

    since: date
    until: date
    start: datetime
    end: datetime

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end


def periods_for(since: date, until: date, zone: tzinfo = UTC) -> tuple[Period, Period]:
    """The period [since, until) in ``zone`` and the previous one of as many days."""
    if until <= since:
        raise ReportError(f"the period is empty: until ({until}) must be after since ({since})")
    days = until - since
    return _period(since, until, zone), _period(since - days, since, zone)


def _period(since: date, until: date, zone: tzinfo) -> Period:
    return Period(since, until, _midnight(since, zone), _midnight(until, zone))


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of
    the values at or below it (``None`` for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def median(values: Sequence[float]) -> float | None:
    """The median (the mean of the two middle values for an even count)."""
    return statistics.median(values) if values else None


@dataclass(frozen=True, slots=True)
class OpenQuestion:
    """An unanswered post, with its link."""

    thread_id: int
    title: str
    asked_at: datetime
    jump_url: str


@dataclass(frozen=True, slots=True)
class Helper:
    """A member whose answers were accepted: how many entries in the period."""

    user_id: int
    name: str
    answers: int


@dataclass(frozen=True, slots=True)
class Recurring:
    """Questions solved by the same earlier entry: this period's count and the previous."""

    entry: EntryRef
    count: int
    previous: int

    @property
    def grows(self) -> bool:
        return self.count > self.previous


@dataclass(frozen=True, slots=True)
class Figures:
    """One period's figures."""

    questions: int
    answered: int
    solved: int
    solved_by_suggestion: int
    first_reply_median_seconds: float | None
    first_reply_p90_seconds: float | None
    solve_median_seconds: float | None
    solve_p90_seconds: float | None
    unanswered: tuple[OpenQuestion, ...]
    top_helpers: tuple[Helper, ...]
    answered_by_staff: int | None
    """``None`` when no staff role is named."""
    answered_by_members: int | None
    answered_by_unknown: int
    """Answered questions whose first replier's roles were not recorded."""
    invitations_sent: int = 0
    """Members invited by direct message to posts Senpai could not answer."""
    invitations_answered: int = 0
    """Of those, the invitations after which the invited member replied in the post."""

    @property
    def solved_rate(self) -> float | None:
        return None if self.questions == 0 else self.solved / self.questions

    @property
    def staff_share(self) -> float | None:
        """Share of answered questions (of those whose first replier is known) whose
        first reply came from staff."""
        if self.answered_by_staff is None or self.answered_by_members is None:
            return None
        known = self.answered_by_staff + self.answered_by_members
        return None if known == 0 else self.answered_by_staff / known


@dataclass(frozen=True, slots=True)
class Week:
    """One week (Monday to Sunday in the report's zone, clipped to the period)."""

    monday: date
    questions: int
    solved: int
    first_reply_median_seconds: float | None


@dataclass(frozen=True, slots=True)
class Report:
    """The report of one server for a period, beside the previous period."""

    guild_id: int
    zone: str
    period: Period
    previous_period: Period
    staff_roles: tuple[int, ...]
    current: Figures
    previous: Figures
    recurring: tuple[Recurring, ...]
    weeks: tuple[Week, ...]


def jump_url(guild_id: int, thread_id: int) -> str:
    """The link to a forum post."""
    return f"https://discord.com/channels/{guild_id}/{thread_id}"


def build_report(
    *,
    guild_id: int,
    zone: tzinfo,
    periods: tuple[Period, Period],
    questions: Iterable[QuestionRecord],
    answers: Iterable[AcceptedAnswer],
    entries: dict[int, EntryRef],
    staff_roles: Collection[int],
    invitations: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0)),
) -> Report:
    """The report from the rows of both periods (questions asked and entries solved in
    [previous.start, current.end)); ``entries`` names the entries that solved them;
    ``invitations`` is (sent, answered) in the current and the previous period."""
    current, previous = periods
    questions = list(questions)
    answers = list(answers)
    staff = frozenset(staff_roles)
    (sent, replied), (sent_before, replied_before) = invitations
    now = dataclasses.replace(
        _figures(guild_id, current, questions, answers, staff),
        invitations_sent=sent,
        invitations_answered=replied,
    )
    before = dataclasses.replace(
        _figures(guild_id, previous, questions, answers, staff),
        invitations_sent=sent_before,
        invitations_answered=replied_before,
    )
    return Report(
        guild_id=guild_id,
        zone=str(getattr(zone, "key", None) or zone.tzname(None) or "UTC"),
        period=current,
        previous_period=previous,
        staff_roles=tuple(sorted(staff)),
        current=now,
        previous=before,
        recurring=_recurring(questions, current, previous, entries),
        weeks=_weeks(questions, current, zone),
    )


def _figures(
    guild_id: int,
    period: Period,
    rows: Sequence[QuestionRecord],
    answers: Sequence[AcceptedAnswer],
    staff: frozenset[int],
) -> Figures:
    asked = [q for q in rows if q.asked_at in period]
    first_reply: list[float] = []
    solve: list[float] = []
    answered = solved = by_suggestion = by_staff = by_members = unknown = 0
    unanswered: list[OpenQuestion] = []
    for q in asked:
        replied = _before(q.first_reply_at, period.end)
        solved_at = _before(q.solved_at, period.end)
        if replied is not None:
            answered += 1
            first_reply.append((replied - q.asked_at).total_seconds())
            if q.first_reply_roles is None:
                unknown += 1
            elif staff.intersection(q.first_reply_roles):
                by_staff += 1
            else:
                by_members += 1
        if solved_at is not None:
            solved += 1
            by_suggestion += q.solved_via == "suggestion"
            solve.append((solved_at - q.asked_at).total_seconds())
        if replied is None and solved_at is None and not q.deleted:
            unanswered.append(
                OpenQuestion(q.thread_id, q.title, q.asked_at, jump_url(guild_id, q.thread_id))
            )
    return Figures(
        questions=len(asked),
        answered=answered,
        solved=solved,
        solved_by_suggestion=by_suggestion,
        first_reply_median_seconds=median(first_reply),
        first_reply_p90_seconds=percentile(first_reply, 0.9),
        solve_median_seconds=median(solve),
        solve_p90_seconds=percentile(solve, 0.9),
        unanswered=tuple(unanswered),
        top_helpers=_helpers(a for a in answers if a.solved_at in period),
        answered_by_staff=by_staff if staff else None,
        answered_by_members=by_members if staff else None,
        answered_by_unknown=unknown,
    )


def _before(moment: datetime | None, end: datetime) -> datetime | None:
    return moment if moment is not None and moment < end else None


def _helpers(answers: Iterable[AcceptedAnswer]) -> tuple[Helper, ...]:
    counts: dict[int, int] = {}
    names: dict[int, tuple[datetime, str]] = {}
    for answer in answers:
        for user_id, name in answer.authors:
            counts[user_id] = counts.get(user_id, 0) + 1
            if user_id not in names or names[user_id][0] <= answer.solved_at:
                names[user_id] = (answer.solved_at, name)  # the latest name they used
    ranked = sorted(counts, key=lambda u: (-counts[u], names[u][1].casefold(), u))
    return tuple(Helper(u, names[u][1], counts[u]) for u in ranked[:TOP_HELPERS])


def _solved_by_entry(rows: Sequence[QuestionRecord], period: Period) -> dict[int, int]:
    counts: dict[int, int] = {}
    for q in rows:
        solved_at = _before(q.solved_at, period.end)
        if q.asked_at in period and solved_at is not None and q.duplicate_of is not None:
            counts[q.duplicate_of] = counts.get(q.duplicate_of, 0) + 1
    return counts


def _recurring(
    rows: Sequence[QuestionRecord],
    current: Period,
    previous: Period,
    entries: dict[int, EntryRef],
) -> tuple[Recurring, ...]:
    now = _solved_by_entry(rows, current)
    before = _solved_by_entry(rows, previous)
    groups = [
        Recurring(entries[e], now.get(e, 0), before.get(e, 0))
        for e in set(now) | set(before)
        if e in entries  # an entry removed since (deleted, forgotten) names nothing
    ]
    groups.sort(key=lambda g: (-g.count, -g.previous, g.entry.id))
    return tuple(groups[:TOP_RECURRING])


def _weeks(rows: Sequence[QuestionRecord], period: Period, zone: tzinfo) -> tuple[Week, ...]:
    first = period.since - timedelta(days=period.since.weekday())
    mondays: list[date] = []
    day = first
    while day < period.until:
        mondays.append(day)
        day += timedelta(days=7)
    weeks: list[Week] = []
    for monday in mondays:
        start = max(_midnight(monday, zone), period.start)
        end = min(_midnight(monday + timedelta(days=7), zone), period.end)
        asked = [q for q in rows if start <= q.asked_at < end]
        replies = [
            (q.first_reply_at - q.asked_at).total_seconds()
            for q in asked
            if q.first_reply_at is not None and q.first_reply_at < period.end
        ]
        solved = sum(q.solved_at is not None and q.solved_at < period.end for q in asked)
        weeks.append(Week(monday, len(asked), solved, median(replies)))
    return tuple(weeks)
