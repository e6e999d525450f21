"""Credit for helpers: who helped, telling them, thanking them, a role for the most giving.

What counts, in one place (the README's "Credit for helpers" says the same):

* an *accepted answer*: a captured entry solved in the period; every author of its
  answer except the asker gets one (the same count as the report's top helpers);
* a *reuse*: a later post solved in the period by a suggestion's "solved it" on an
  entry; every author of that entry's answer except its asker (and except the member
  who pressed "solved it") gets one per later post;
* members who turned ``listed`` off are left out of every board and thanks post, and
  get no automatic role; forgotten members' entries and feedback are gone, so they
  stop counting everywhere.

Authors are told by direct message (:meth:`CreditStore.claim_digests`): at most one
message per member per :data:`DM_GAP`, the first credit at once, later ones gathered
into the next message. Every credit is claimed in SQLite before it is sent, so a
restart neither repeats nor (unless it stops mid-send) loses one.

Values and pure functions first, then :class:`CreditStore` (all the SQL). Times are
UTC; calendar months are UTC months.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from knowledge.db import Database, chunks, iso, marks, parse_time
from knowledge.errors import KnowledgeError
from knowledge.models import AcceptedAnswer

DM_GAP = timedelta(days=1)
"""At most one credit message per member in this time."""

NOTICE_WINDOW = timedelta(days=7)
"""A credit older than this is never announced (imports and backfills of old posts,
or a long outage, send nothing)."""

REUSE_WINDOW = timedelta(days=30)
"""A credit message counts the later posts an answer solved in this time."""

BOARD_SIZE = 10
"""Members listed on a board or in a thanks post."""

MAX_ROLE_AFTER = 1000

BOARD_PERIODS = ("7d", "30d", "month", "all")
"""``7d`` and ``30d``: the days up to now; ``month``: this calendar month so far;
``all``: since the beginning."""

BEGINNING = datetime(2015, 1, 1, tzinfo=UTC)  # before Discord had forums or Senpai
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


class CreditError(KnowledgeError):
    """A credit setting or request that cannot be taken as given."""


class CreditKind(StrEnum):
    ACCEPTED = "accepted"
    REUSED = "reused"


class NoticeState(StrEnum):
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    OFF = "off"


class ThanksState(StrEnum):
    POSTING = "posting"
    POSTED = "posted"
    EMPTY = "empty"
    SKIPPED = "skipped"


class RoleState(StrEnum):
    GRANTED = "granted"
    HAD = "had"


@dataclass(frozen=True, slots=True)
class CreditPrefs:
    """A member's choices, in every server: told by direct message, listed on boards."""

    user_id: int
    notices: bool = True
    listed: bool = True


@dataclass(frozen=True, slots=True)
class CreditSettings:
    """A server's choices: the monthly thanks channel (chosen at ``thanks_since``) and
    the role granted after ``role_after`` accepted answers (0 = never)."""

    guild_id: int
    thanks_channel: int | None = None
    thanks_since: datetime | None = None
    role_id: int | None = None
    role_after: int = 0

    @property
    def grants_role(self) -> bool:
        return self.role_id is not None and self.role_after > 0


@dataclass(frozen=True, slots=True)
class Reuse:
    """A later post solved by an earlier entry: the entry's answer authors (asker and
    the member who pressed "solved it" left out)."""

    entry_id: int
    thread_id: int
    at: datetime
    authors: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class HelperScore:
    """One member on a board: accepted answers and later posts their answers solved."""

    user_id: int
    name: str
    accepted: int
    reused: int

    @property
    def total(self) -> int:
        return self.accepted + self.reused


@dataclass(frozen=True, slots=True)
class CreditEvent:
    """One credit a helper has not been told about yet."""

    kind: CreditKind
    guild_id: int
    entry_id: int
    thread_id: int
    user_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class CreditLine:
    """One line of a credit message: an entry, and how many members it helped."""

    kind: CreditKind
    guild_id: int
    entry_id: int
    title: str
    jump_url: str
    count: int
    """ACCEPTED: posts where this answer was chosen; REUSED: later posts this entry
    solved in the last :data:`REUSE_WINDOW`."""


@dataclass(frozen=True, slots=True)
class CreditDigest:
    """What one member is told in one direct message (already claimed)."""

    user_id: int
    guild_id: int
    lines: tuple[CreditLine, ...]
    events: tuple[CreditEvent, ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class ThanksDue:
    """A server's thanks post for the calendar month [start, end), not posted yet."""

    guild_id: int
    channel_id: int
    month: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """A member who reached the server's number of accepted answers for its role."""

    guild_id: int
    user_id: int
    role_id: int
    accepted: int


# -- pure functions --------------------------------------------------------------------


def tally(
    accepted: Iterable[AcceptedAnswer],
    reuses: Iterable[Reuse],
    hidden: Iterable[int] = (),
    limit: int | None = BOARD_SIZE,
) -> list[HelperScore]:
    """Members by how much their answers helped: accepted answers plus later posts
    solved by them, most first (ties: more accepted, then the lower id); members in
    ``hidden`` (``listed`` off) left out. The latest name seen is kept."""
    left_out = set(hidden)
    names: dict[int, str] = {}
    counts: dict[int, list[int]] = {}
    for answer in accepted:
        for user_id, name in answer.authors:
            names[user_id] = name
            counts.setdefault(user_id, [0, 0])[0] += 1
    for reuse in reuses:
        for user_id, name in reuse.authors:
            names.setdefault(user_id, name)
            counts.setdefault(user_id, [0, 0])[1] += 1
    board = [
        HelperScore(user_id, names[user_id], a, r)
        for user_id, (a, r) in counts.items()
        if user_id not in left_out
    ]
    board.sort(key=lambda h: (-h.total, -h.accepted, h.user_id))
    return board if limit is None else board[:limit]


def board_period(period: str, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of a board period (:data:`BOARD_PERIODS`) ending now: ``end`` is
    open (Discord's timestamps may run a little ahead of ``now``)."""
    now = now.astimezone(UTC)
    end = FOREVER  # "up to now" includes whatever is recorded, whatever the clocks' skew
    if period == "7d":
        return now - timedelta(days=7), end
    if period == "30d":
        return now - timedelta(days=30), end
    if period == "month":
        return month_start(now), end
    if period == "all":
        return BEGINNING, end
    raise CreditError(f"unknown period {period!r}: choose one of {', '.join(BOARD_PERIODS)}")


def month_start(moment: datetime) -> datetime:
    """Midnight UTC on the first day of ``moment``'s calendar month."""
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def previous_month(now: datetime) -> tuple[datetime, datetime, str]:
    """The calendar month before ``now``'s: [start, end) and its 'YYYY-MM' label."""
    end = month_start(now)
    start = month_start(end - timedelta(days=1))
    return start, end, f"{start.year:04d}-{start.month:02d}"


def thanks_due(settings: CreditSettings, now: datetime) -> ThanksDue | None:
    """The thanks post a server should have for the month that ended last, if it chose
    its channel before that month ended (a channel chosen today thanks no past month)."""
    if settings.thanks_channel is None or settings.thanks_since is None:
        return None
    start, end, label = previous_month(now)
    if settings.thanks_since >= end:
        return None
    return ThanksDue(settings.guild_id, settings.thanks_channel, label, start, end)


def role_grants(
    settings: CreditSettings,
    accepted: Iterable[AcceptedAnswer],
    decided: Iterable[int],
    hidden: Iterable[int] = (),
) -> list[RoleGrant]:
    """Members with at least ``settings.role_after`` accepted answers who were never
    given (nor found holding) the role, listed members only. Lowest id first."""
    if not settings.grants_role:
        return []
    assert settings.role_id is not None
    skip = set(decided) | set(hidden)
    counts: dict[int, int] = {}
    for answer in accepted:
        for user_id, _ in answer.authors:
            counts[user_id] = counts.get(user_id, 0) + 1
    return [
        RoleGrant(settings.guild_id, user_id, settings.role_id, n)
        for user_id, n in sorted(counts.items())
        if n >= settings.role_after and user_id not in skip
    ]


# -- the store -------------------------------------------------------------------------

_ACCEPTED_EVENTS = """
SELECT DISTINCT e.guild_id, e.id, e.thread_id, p.author_id, e.solved_at
FROM entries e JOIN answer_parts p ON p.entry_id = e.id
LEFT JOIN credit_notices n
       ON n.kind = 'accepted' AND n.thread_id = e.thread_id AND n.user_id = p.author_id
WHERE e.solved_at >= ? AND e.created_at >= ? AND p.author_id != e.asker_id
  AND n.thread_id IS NULL
"""

_REUSED_EVENTS = """
SELECT DISTINCT f.guild_id, f.entry_id, f.thread_id, p.author_id, f.created_at
FROM feedback f JOIN entries e ON e.id = f.entry_id
JOIN answer_parts p ON p.entry_id = e.id
LEFT JOIN credit_notices n
       ON n.kind = 'reused' AND n.thread_id = f.thread_id AND n.user_id = p.author_id
WHERE f.kind = 'solved_by_suggestion' AND f.created_at >= ?
  AND p.author_id != e.asker_id AND p.author_id != f.user_id AND f.guild_id = e.guild_id
  AND n.thread_id IS NULL
"""


class CreditStore:
    """The SQL of credit for helpers, over the knowledge store's database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- settings and choices --------------------------------------------------------

    async def settings(self, guild_id: int) -> CreditSettings:
        async with self._db.reader.execute(
            "SELECT thanks_channel, thanks_since, role_id, role_after FROM credit_settings "
            "WHERE guild_id = ?",
            (guild_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return CreditSettings(guild_id)
        return CreditSettings(
            guild_id=guild_id,
            thanks_channel=None if row[0] is None else int(row[0]),
            thanks_since=parse_time(row[1]),
            role_id=None if row[2] is None else int(row[2]),
            role_after=int(row[3]),
        )

    async def all_settings(self) -> list[CreditSettings]:
        """Every server that chose a thanks channel or a role."""
        async with self._db.reader.execute(
            "SELECT guild_id FROM credit_settings "
            "WHERE thanks_channel IS NOT NULL OR role_id IS NOT NULL ORDER BY guild_id"
        ) as cur:
            ids = [int(r[0]) for r in await cur.fetchall()]
        return [await self.settings(guild_id) for guild_id in ids]

    async def save_settings(self, settings: CreditSettings) -> None:
        if not 0 <= settings.role_after <= MAX_ROLE_AFTER:
            raise CreditError(f"the number of answers must be between 0 and {MAX_ROLE_AFTER}")
        since = None if settings.thanks_since is None else iso(settings.thanks_since)
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO credit_settings (guild_id, thanks_channel, thanks_since, role_id, "
                "role_after, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET thanks_channel = excluded.thanks_channel, "
                "thanks_since = excluded.thanks_since, role_id = excluded.role_id, "
                "role_after = excluded.role_after, updated_at = excluded.updated_at",
                (
                    settings.guild_id,
                    settings.thanks_channel,
                    since,
                    settings.role_id,
                    settings.role_after,
                    self._db.now(),
                ),
            )

    async def prefs(self, user_id: int) -> CreditPrefs:
        async with self._db.reader.execute(
            "SELECT notices, listed FROM credit_prefs WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return CreditPrefs(user_id)
        return CreditPrefs(user_id, bool(row[0]), bool(row[1]))

    async def save_prefs(self, prefs: CreditPrefs) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO credit_prefs (user_id, notices, listed, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "notices = excluded.notices, listed = excluded.listed, "
                "updated_at = excluded.updated_at",
                (prefs.user_id, int(prefs.notices), int(prefs.listed), self._db.now()),
            )

    async def unlisted(self, user_ids: Iterable[int]) -> set[int]:
        """Those of ``user_ids`` who asked not to be listed."""
        return await self._with_flag_off("listed", user_ids)

    async def _with_flag_off(self, column: str, user_ids: Iterable[int]) -> set[int]:
        wanted = sorted(set(user_ids))
        found: set[int] = set()
        for chunk in chunks(wanted):
            async with self._db.reader.execute(
                f"SELECT user_id FROM credit_prefs WHERE {column} = 0 "
                f"AND user_id IN ({marks(len(chunk))})",
                chunk,
            ) as cur:
                found.update(int(r[0]) for r in await cur.fetchall())
        return found

    # -- counting --------------------------------------------------------------------

    async def reuses(self, guild_id: int, start: datetime, end: datetime) -> list[Reuse]:
        """The server's later posts solved in [start, end) by a suggestion's "solved it"
        on an earlier entry, with that entry's answer authors."""
        async with self._db.reader.execute(
            "SELECT f.entry_id, f.thread_id, MIN(f.created_at), p.author_id, "
            "MAX(p.author_name) FROM feedback f JOIN entries e ON e.id = f.entry_id "
            "JOIN answer_parts p ON p.entry_id = e.id "
            "WHERE f.guild_id = ? AND e.guild_id = f.guild_id "
            "AND f.kind = 'solved_by_suggestion' AND f.created_at >= ? AND f.created_at < ? "
            "AND p.author_id != e.asker_id AND p.author_id != f.user_id "
            "GROUP BY f.entry_id, f.thread_id, p.author_id ORDER BY f.entry_id, f.thread_id",
            (guild_id, iso(start), iso(end)),
        ) as cur:
            rows = list(await cur.fetchall())
        grouped: dict[tuple[int, int], tuple[datetime, dict[int, str]]] = {}
        for entry_id, thread_id, at, author_id, name in rows:
            key = (int(entry_id), int(thread_id))
            _, authors = grouped.setdefault(key, (datetime.fromisoformat(str(at)), {}))
            authors.setdefault(int(author_id), str(name))
        return [
            Reuse(entry_id, thread_id, at, tuple(authors.items()))
            for (entry_id, thread_id), (at, authors) in grouped.items()
        ]

    async def reuse_counts(
        self, entry_ids: Sequence[int], start: datetime, end: datetime
    ) -> dict[int, int]:
        """How many later posts each entry solved in [start, end)."""
        counts: dict[int, int] = {}
        for chunk in chunks(sorted(set(entry_ids))):
            async with self._db.reader.execute(
                "SELECT entry_id, COUNT(DISTINCT thread_id) FROM feedback "
                "WHERE kind = 'solved_by_suggestion' AND created_at >= ? AND created_at < ? "
                f"AND entry_id IN ({marks(len(chunk))}) GROUP BY entry_id",
                (iso(start), iso(end), *chunk),
            ) as cur:
                counts.update({int(r[0]): int(r[1]) for r in await cur.fetchall()})
        return counts

    # -- notices ---------------------------------------------------------------------

    async def pending_events(self, now: datetime) -> list[CreditEvent]:
        """Credits from the last :data:`NOTICE_WINDOW` nobody was told about yet, oldest
        first."""
        since = iso(now - NOTICE_WINDOW)
        events: list[CreditEvent] = []
        for kind, sql, params in (
            (CreditKind.ACCEPTED, _ACCEPTED_EVENTS, (since, since)),
            (CreditKind.REUSED, _REUSED_EVENTS, (since,)),
        ):
            async with self._db.reader.execute(sql, params) as cur:
                events += [
                    CreditEvent(
                        kind,
                        guild_id=int(r[0]),
                        entry_id=int(r[1]),
                        thread_id=int(r[2]),
                        user_id=int(r[3]),
                        at=datetime.fromisoformat(str(r[4])),
                    )
                    for r in await cur.fetchall()
                ]
        events.sort(key=lambda e: (e.at, e.kind.value, e.thread_id, e.user_id))
        return events

    async def claim(
        self, user_id: int, events: Sequence[CreditEvent], state: NoticeState
    ) -> list[CreditEvent]:
        """Record ``events`` of one member as handled, before telling them. A message
        (``SENDING``) is claimed only when none went to the member in the last
        :data:`DM_GAP`; then nothing is claimed and the events wait. Returns the events
        this call claimed (another process may have claimed some first)."""
        now = self._db.clock()
        claimed: list[CreditEvent] = []
        async with self._db.transaction() as db:
            if state is NoticeState.SENDING:
                async with db.execute(
                    "SELECT MAX(claimed_at) FROM credit_notices "
                    "WHERE user_id = ? AND state != 'off'",
                    (user_id,),
                ) as cur:
                    row = await cur.fetchone()
                last = parse_time(row[0]) if row else None
                if last is not None and now - last < DM_GAP:
                    return []
            for event in events:
                async with db.execute(
                    "INSERT INTO credit_notices (kind, thread_id, user_id, guild_id, entry_id, "
                    "happened_at, state, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (kind, thread_id, user_id) DO NOTHING",
                    (
                        event.kind.value,
                        event.thread_id,
                        user_id,
                        event.guild_id,
                        event.entry_id,
                        iso(event.at),
                        state.value,
                        iso(now),
                    ),
                ) as cur:
                    if cur.rowcount > 0:
                        claimed.append(event)
        return claimed

    async def mark(self, user_id: int, events: Sequence[CreditEvent], state: NoticeState) -> None:
        """How a claimed message went: sent, or failed (closed direct messages)."""
        async with self._db.transaction() as db:
            await db.executemany(
                "UPDATE credit_notices SET state = ? "
                "WHERE kind = ? AND thread_id = ? AND user_id = ?",
                [(state.value, e.kind.value, e.thread_id, user_id) for e in events],
            )

    async def notices(self, user_id: int) -> list[tuple[CreditKind, int, NoticeState]]:
        """(kind, post, state) of every credit recorded for a member, oldest first."""
        async with self._db.reader.execute(
            "SELECT kind, thread_id, state FROM credit_notices WHERE user_id = ? "
            "ORDER BY claimed_at, kind, thread_id",
            (user_id,),
        ) as cur:
            rows = list(await cur.fetchall())
        return [(CreditKind(str(r[0])), int(r[1]), NoticeState(str(r[2]))) for r in rows]

    # -- thanks ----------------------------------------------------------------------

    async def claim_thanks(self, due: ThanksDue, state: ThanksState) -> bool:
        """Take the month's thanks post (before posting it): once per server and month,
        across restarts and processes. True if this call claimed it."""
        async with (
            self._db.transaction() as db,
            db.execute(
                "INSERT INTO credit_thanks (guild_id, month, channel_id, state, claimed_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, month) DO NOTHING",
                (due.guild_id, due.month, due.channel_id, state.value, self._db.now()),
            ) as cur,
        ):
            return cur.rowcount > 0

    async def thanks_done(self, due: ThanksDue, state: ThanksState, message_id: int | None) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE credit_thanks SET state = ?, message_id = ? "
                "WHERE guild_id = ? AND month = ?",
                (state.value, message_id, due.guild_id, due.month),
            )

    async def thanks_state(self, guild_id: int, month: str) -> ThanksState | None:
        async with self._db.reader.execute(
            "SELECT state FROM credit_thanks WHERE guild_id = ? AND month = ?", (guild_id, month)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else ThanksState(str(row[0]))

    # -- roles -----------------------------------------------------------------------

    async def role_decided(self, guild_id: int, role_id: int) -> set[int]:
        """Members the role was granted to, or found holding it."""
        async with self._db.reader.execute(
            "SELECT user_id FROM credit_roles WHERE guild_id = ? AND role_id = ?",
            (guild_id, role_id),
        ) as cur:
            return {int(r[0]) for r in await cur.fetchall()}

    async def record_role(self, grant: RoleGrant, state: RoleState) -> bool:
        """Record a grant (or that the member already held the role). True if new."""
        async with (
            self._db.transaction() as db,
            db.execute(
                "INSERT INTO credit_roles (guild_id, user_id, role_id, state, at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, user_id, role_id) DO NOTHING",
                (grant.guild_id, grant.user_id, grant.role_id, state.value, self._db.now()),
            ) as cur,
        ):
            return cur.rowcount > 0

    async def role_state(self, guild_id: int, user_id: int, role_id: int) -> RoleState | None:
        async with self._db.reader.execute(
            "SELECT state FROM credit_roles WHERE guild_id = ? AND user_id = ? AND role_id = ?",
            (guild_id, user_id, role_id),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else RoleState(str(row[0]))

    # -- removal ---------------------------------------------------------------------

    async def forget_user(self, user_id: int, thread_ids: Sequence[int]) -> None:
        """The member's choices, credits and role grants, and the credits others got
        for posts of theirs (``thread_ids``: posts they asked or answered)."""
        async with self._db.transaction() as db:
            for table in ("credit_prefs", "credit_notices", "credit_roles"):
                await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            await db.execute(
                "DELETE FROM credit_notices WHERE thread_id IN "
                "(SELECT thread_id FROM questions WHERE asker_id = ?)",
                (user_id,),
            )
            for chunk in chunks(list(thread_ids)):
                await db.execute(
                    f"DELETE FROM credit_notices WHERE thread_id IN ({marks(len(chunk))})", chunk
                )

    async def forget_guild(self, guild_id: int) -> None:
        """Everything credit keeps for a server."""
        async with self._db.transaction() as db:
            for table in ("credit_settings", "credit_notices", "credit_thanks", "credit_roles"):
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
