"""The community side of the store: guild settings, questions, nudges, backfills.

The same :class:`~knowledge.db.Database` as :class:`~knowledge.store.KnowledgeStore`,
kept apart so the knowledge base proper stays readable. All SQL here too.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from knowledge.cleaning import clean_for_storage
from knowledge.db import Connection, Database, chunks, iso, marks, parse_time
from knowledge.models import (
    DEFAULT_ESCALATION_HOURS,
    AcceptedAnswer,
    BackfillState,
    CommunityFigures,
    DueEscalation,
    EntryRef,
    Escalation,
    EscalationState,
    GuildSettings,
    MeTooNotice,
    MeTooResult,
    MeTooTally,
    MeTooVote,
    Nudge,
    QuestionHistory,
    QuestionRecord,
)
from knowledge.schedule import canonical_zone
from knowledge.shards import Shards, and_served


def _nudge(row: Sequence[object]) -> Nudge:
    return Nudge(
        thread_id=int(row[0]),  # type: ignore[call-overload]
        guild_id=int(row[1]),  # type: ignore[call-overload]
        asker_id=int(row[2]),  # type: ignore[call-overload]
        due_at=datetime.fromisoformat(str(row[3])),
        state=str(row[4]),
        candidate_id=None if row[5] is None else int(row[5]),  # type: ignore[call-overload]
    )


_NUDGE_COLUMNS = "thread_id, guild_id, asker_id, due_at, state, candidate_id"

ESCALATION_WINDOW = timedelta(days=7)
"""A post that became due longer ago than this is never escalated: after a long
outage (or on the first run over an old history) the staff channel is not flooded."""

_ESCALATION_COLUMNS = (
    "thread_id, guild_id, asker_id, channel_id, message_id, state, escalated_at, closed_at"
)


def _escalation(row: Sequence[object]) -> Escalation:
    return Escalation(
        thread_id=int(row[0]),  # type: ignore[call-overload]
        guild_id=int(row[1]),  # type: ignore[call-overload]
        asker_id=int(row[2]),  # type: ignore[call-overload]
        channel_id=None if row[3] is None else int(row[3]),  # type: ignore[call-overload]
        message_id=None if row[4] is None else int(row[4]),  # type: ignore[call-overload]
        state=EscalationState(str(row[5])),
        escalated_at=datetime.fromisoformat(str(row[6])),
        closed_at=parse_time(row[7]),
    )


def _ids(text: object) -> tuple[int, ...]:
    return tuple(int(x) for x in json.loads(str(text)))


def _ids_json(ids: Iterable[int]) -> str:
    return json.dumps([str(x) for x in ids])


def _roles_json(roles: Sequence[int] | None) -> str | None:
    return None if roles is None else _ids_json(dict.fromkeys(roles))


def _question(row: Sequence[object]) -> QuestionRecord:
    return QuestionRecord(
        thread_id=int(row[0]),  # type: ignore[call-overload]
        forum_id=int(row[1]),  # type: ignore[call-overload]
        asker_id=int(row[2]),  # type: ignore[call-overload]
        title=str(row[3]),
        asked_at=datetime.fromisoformat(str(row[4])),
        first_reply_at=parse_time(row[5]),
        first_reply_roles=None if row[6] is None else _ids(row[6]),
        solved_at=parse_time(row[7]),
        solved_via=None if row[8] is None else str(row[8]),
        duplicate_of=None if row[9] is None else int(row[9]),  # type: ignore[call-overload]
        deleted=row[10] is not None,
    )


_QUESTION_COLUMNS = (
    "thread_id, forum_id, asker_id, title, asked_at, first_reply_at, first_reply_roles, "
    "solved_at, solved_via, duplicate_of, deleted_at"
)

# A post's history read from its messages fills only what the live record lacks:
# what the bot saw as it happened is never overwritten, and reading the same
# history twice changes nothing. A thread stored for another server is left alone.
_MERGE_HISTORY = """
INSERT INTO questions (thread_id, guild_id, forum_id, asker_id, asked_at, title,
                       first_reply_at, first_reply_roles, solved_at, solved_via)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?,
        CASE WHEN CAST(? AS TEXT) IS NULL THEN NULL ELSE 'history' END)
ON CONFLICT (thread_id) DO UPDATE SET
    title = CASE WHEN questions.title = '' THEN excluded.title ELSE questions.title END,
    first_reply_roles = CASE
        WHEN questions.first_reply_at IS NULL
          OR (questions.first_reply_roles IS NULL
              AND questions.first_reply_at = excluded.first_reply_at)
        THEN excluded.first_reply_roles
        ELSE questions.first_reply_roles END,
    first_reply_at = COALESCE(questions.first_reply_at, excluded.first_reply_at),
    solved_via = CASE WHEN questions.solved_at IS NULL THEN excluded.solved_via
                      ELSE questions.solved_via END,
    solved_at = COALESCE(questions.solved_at, excluded.solved_at)
WHERE questions.guild_id = excluded.guild_id
"""


class CommunityStore:
    """Per-guild state the Discord plugin keeps, over the knowledge store's file."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- settings ------------------------------------------------------------------

    async def settings(self, guild_id: int) -> GuildSettings:
        async with self._db.reader.execute(
            "SELECT watched_forums, helper_roles, solved_tag, threshold, language, "
            "nudge_hours, archive_on_solve, staff_channel, escalation_hours, me_too_on_posts, "
            "staff_roles, time_zone FROM guild_settings WHERE guild_id = ?",
            (guild_id,),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return GuildSettings(guild_id)
        return GuildSettings(
            guild_id=guild_id,
            watched_forums=tuple(int(x) for x in json.loads(row[0])),
            helper_roles=tuple(int(x) for x in json.loads(row[1])),
            solved_tag=row[2],
            threshold=None if row[3] is None else float(row[3]),
            language=str(row[4]),
            nudge_hours=float(row[5]),
            archive_on_solve=bool(row[6]),
            staff_channel=None if row[7] is None else int(row[7]),
            escalation_hours=float(row[8]),
            me_too_on_posts=bool(row[9]),
            staff_roles=_ids(row[10]),
            time_zone=str(row[11]),
        )

    async def save_settings(self, settings: GuildSettings) -> None:
        if settings.language not in {"auto", "ja", "en"}:
            raise ValueError("language must be auto, ja or en")
        if settings.threshold is not None and not 0.0 <= settings.threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if settings.nudge_hours < 0:
            raise ValueError("nudge delay cannot be negative")
        if settings.escalation_hours < 0:
            raise ValueError("escalation delay cannot be negative")
        zone = canonical_zone(settings.time_zone)  # UnknownTimeZone if not IANA
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO guild_settings (guild_id, watched_forums, helper_roles, "
                "solved_tag, threshold, language, nudge_hours, archive_on_solve, staff_channel, "
                "escalation_hours, me_too_on_posts, staff_roles, time_zone, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET watched_forums = excluded.watched_forums, "
                "helper_roles = excluded.helper_roles, solved_tag = excluded.solved_tag, "
                "threshold = excluded.threshold, language = excluded.language, "
                "nudge_hours = excluded.nudge_hours, archive_on_solve = excluded.archive_on_solve, "
                "staff_channel = excluded.staff_channel, "
                "escalation_hours = excluded.escalation_hours, "
                "me_too_on_posts = excluded.me_too_on_posts, staff_roles = excluded.staff_roles, "
                "time_zone = excluded.time_zone, updated_at = excluded.updated_at",
                (
                    settings.guild_id,
                    json.dumps([str(x) for x in settings.watched_forums]),
                    json.dumps([str(x) for x in settings.helper_roles]),
                    settings.solved_tag,
                    settings.threshold,
                    settings.language,
                    settings.nudge_hours,
                    int(settings.archive_on_solve),
                    settings.staff_channel,
                    settings.escalation_hours,
                    int(settings.me_too_on_posts),
                    _ids_json(settings.staff_roles),
                    zone,
                    self._db.now(),
                ),
            )

    # -- questions -----------------------------------------------------------------

    async def record_question(
        self,
        *,
        thread_id: int,
        guild_id: int,
        forum_id: int,
        asker_id: int,
        asked_at: datetime,
        title: str = "",
    ) -> None:
        """A new post was opened. Its ``title`` is masked here before it is stored
        (the report lists unanswered posts by title)."""
        title = clean_for_storage(title, max_chars=200) if title else ""
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO questions (thread_id, guild_id, forum_id, asker_id, "
                "asked_at, title) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
                (thread_id, guild_id, forum_id, asker_id, iso(asked_at), title),
            )

    async def record_reply(
        self, thread_id: int, at: datetime, *, roles: Sequence[int] | None = None
    ) -> None:
        """A reply from someone other than the asker: the first one dates the answer.
        ``roles``: the replier's role ids (staff or member), when known."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE questions SET first_reply_at = ?, first_reply_roles = ? "
                "WHERE thread_id = ? AND first_reply_at IS NULL",
                (iso(at), _roles_json(roles), thread_id),
            )

    async def record_histories(self, histories: Sequence[QuestionHistory]) -> None:
        """Record posts' question history read from their messages, filling only what
        is not known yet (see ``_MERGE_HISTORY``): recording the same history again
        changes nothing."""
        async with self._db.transaction() as db:
            for h in histories:
                await db.execute(
                    _MERGE_HISTORY,
                    (
                        h.thread_id,
                        h.guild_id,
                        h.forum_id,
                        h.asker_id,
                        iso(h.asked_at),
                        h.title,
                        None if h.first_reply_at is None else iso(h.first_reply_at),
                        None if h.first_reply_at is None else _roles_json(h.first_reply_roles),
                        None if h.solved_at is None else iso(h.solved_at),
                        None if h.solved_at is None else iso(h.solved_at),
                    ),
                )

    async def record_deleted(self, thread_id: int, at: datetime) -> None:
        """The post was deleted: it stays counted as asked, but is no longer listed."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE questions SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL",
                (iso(at), thread_id),
            )

    async def record_suggested(self, thread_id: int) -> None:
        async with self._db.transaction() as db:
            await db.execute("UPDATE questions SET suggested = 1 WHERE thread_id = ?", (thread_id,))

    async def record_solved(
        self, thread_id: int, at: datetime, *, via: str, duplicate_of: int | None = None
    ) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE questions SET solved_at = ?, solved_via = ?, duplicate_of = ? "
                "WHERE thread_id = ?",
                (iso(at), via, duplicate_of, thread_id),
            )
            await db.execute("UPDATE nudges SET state = 'done' WHERE thread_id = ?", (thread_id,))

    async def record_unsolved(self, thread_id: int) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE questions SET solved_at = NULL, solved_via = NULL, duplicate_of = NULL "
                "WHERE thread_id = ?",
                (thread_id,),
            )

    async def is_solved(self, thread_id: int) -> bool:
        async with self._db.reader.execute(
            "SELECT solved_at IS NOT NULL FROM questions WHERE thread_id = ?", (thread_id,)
        ) as cur:
            row = await cur.fetchone()
        return bool(row and row[0])

    async def figures(self, guild_id: int, *, since: datetime) -> CommunityFigures:
        """Questions, answers, solved rate and times over the period, plus the entries
        that solved later questions most often (problems that keep coming back)."""
        async with self._db.reader.execute(
            "SELECT asked_at, first_reply_at, solved_at, solved_via FROM questions "
            "WHERE guild_id = ? AND asked_at >= ?",
            (guild_id, iso(since)),
        ) as cur:
            rows = list(await cur.fetchall())
        first_reply: list[float] = []
        solve: list[float] = []
        answered = solved = by_suggestion = 0
        for asked, replied, solved_at, via in rows:
            asked_dt = datetime.fromisoformat(asked)
            if replied:
                answered += 1
                delta = datetime.fromisoformat(replied) - asked_dt
                first_reply.append(delta.total_seconds() / 60)
            if solved_at:
                solved += 1
                by_suggestion += via == "suggestion"
                solve.append((datetime.fromisoformat(solved_at) - asked_dt).total_seconds() / 3600)
        async with self._db.reader.execute(
            "SELECT id, title, hits FROM entries WHERE guild_id = ? AND hits > 0 "
            "ORDER BY hits DESC, id LIMIT 5",
            (guild_id,),
        ) as cur:
            recurring = tuple((int(r[0]), str(r[1]), int(r[2])) for r in await cur.fetchall())
        return CommunityFigures(
            questions=len(rows),
            answered=answered,
            solved=solved,
            solved_by_suggestion=by_suggestion,
            median_first_reply_minutes=statistics.median(first_reply) if first_reply else None,
            median_solve_hours=statistics.median(solve) if solve else None,
            recurring=recurring,
        )

    async def question(self, thread_id: int) -> QuestionRecord | None:
        """One post's stored question history."""
        async with self._db.reader.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions WHERE thread_id = ?", (thread_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _question(row)

    async def questions_asked(
        self, guild_id: int, start: datetime, end: datetime
    ) -> list[QuestionRecord]:
        """The server's posts asked in [start, end), oldest first."""
        async with self._db.reader.execute(
            f"SELECT {_QUESTION_COLUMNS} FROM questions "
            "WHERE guild_id = ? AND asked_at >= ? AND asked_at < ? ORDER BY asked_at, thread_id",
            (guild_id, iso(start), iso(end)),
        ) as cur:
            return [_question(r) for r in await cur.fetchall()]

    async def accepted_answers(
        self, guild_id: int, start: datetime, end: datetime
    ) -> list[AcceptedAnswer]:
        """The server's captured entries solved in [start, end), with the authors of
        their accepted answers (parts written by the asker left out)."""
        async with self._db.reader.execute(
            "SELECT e.id, e.solved_at, p.author_id, p.author_name FROM entries e "
            "JOIN answer_parts p ON p.entry_id = e.id "
            "WHERE e.guild_id = ? AND e.solved_at >= ? AND e.solved_at < ? "
            "AND p.author_id != e.asker_id ORDER BY e.id, p.position",
            (guild_id, iso(start), iso(end)),
        ) as cur:
            rows = await cur.fetchall()
        grouped: dict[int, tuple[datetime, dict[int, str]]] = {}
        for entry_id, solved_at, author_id, author_name in rows:
            _, authors = grouped.setdefault(int(entry_id), (datetime.fromisoformat(solved_at), {}))
            authors.setdefault(int(author_id), str(author_name))
        return [
            AcceptedAnswer(entry_id, solved_at, tuple(authors.items()))
            for entry_id, (solved_at, authors) in grouped.items()
        ]

    async def entry_refs(self, entry_ids: Iterable[int]) -> dict[int, EntryRef]:
        """Title, link and hits of the entries of ``entry_ids`` that still exist."""
        wanted = sorted(set(entry_ids))
        found: dict[int, EntryRef] = {}
        for chunk in chunks(wanted):
            async with self._db.reader.execute(
                f"SELECT id, title, jump_url, hits FROM entries WHERE id IN ({marks(len(chunk))})",
                chunk,
            ) as cur:
                for row in await cur.fetchall():
                    found[int(row[0])] = EntryRef(
                        int(row[0]), str(row[1]), str(row[2]), int(row[3])
                    )
        return found

    async def guilds_with_questions(self) -> list[int]:
        """The servers with question history."""
        async with self._db.reader.execute(
            "SELECT DISTINCT guild_id FROM questions ORDER BY guild_id"
        ) as cur:
            return [int(r[0]) for r in await cur.fetchall()]

    # -- nudges --------------------------------------------------------------------

    async def schedule_nudge(
        self,
        *,
        thread_id: int,
        guild_id: int,
        asker_id: int,
        due_at: datetime,
        candidate_id: int | None,
    ) -> bool:
        """Schedule the post's one nudge; a post is never nudged twice. True if scheduled."""
        async with self._db.transaction() as db:
            async with db.execute(
                "INSERT INTO nudges (thread_id, guild_id, asker_id, due_at, "
                "candidate_id) VALUES (?, ?, ?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
                (thread_id, guild_id, asker_id, iso(due_at), candidate_id),
            ) as cur:
                inserted = cur.rowcount > 0
            if not inserted:
                # Keep the candidate current while the nudge is still pending.
                await db.execute(
                    "UPDATE nudges SET candidate_id = ? WHERE thread_id = ? AND state = 'pending'",
                    (candidate_id, thread_id),
                )
        return inserted

    async def due_nudges(
        self, now: datetime | None = None, limit: int = 50, *, shards: Shards | None = None
    ) -> list[Nudge]:
        """Pending nudges due by ``now``, of the servers ``shards`` serves (all if None)."""
        served, served_params = and_served(shards, "guild_id")
        async with self._db.reader.execute(
            f"SELECT {_NUDGE_COLUMNS} FROM nudges "
            f"WHERE state = 'pending' AND due_at <= ?{served} ORDER BY due_at LIMIT ?",
            (iso(now or self._db.clock()), *served_params, limit),
        ) as cur:
            rows = list(await cur.fetchall())
        return [_nudge(r) for r in rows]

    async def set_nudge_state(self, thread_id: int, state: str) -> None:
        async with self._db.transaction() as db:
            await db.execute("UPDATE nudges SET state = ? WHERE thread_id = ?", (state, thread_id))

    async def nudge(self, thread_id: int) -> Nudge | None:
        async with self._db.reader.execute(
            f"SELECT {_NUDGE_COLUMNS} FROM nudges WHERE thread_id = ?",
            (thread_id,),
        ) as cur:
            r = await cur.fetchone()
        if r is None:
            return None
        return _nudge(r)

    # -- backfill ------------------------------------------------------------------

    async def backfill_state(self, forum_id: int) -> BackfillState | None:
        async with self._db.reader.execute(
            "SELECT forum_id, guild_id, before, finished, seen, captured FROM backfill_state "
            "WHERE forum_id = ?",
            (forum_id,),
        ) as cur:
            r = await cur.fetchone()
        if r is None:
            return None
        return BackfillState(
            int(r[0]), int(r[1]), parse_time(r[2]), bool(r[3]), int(r[4]), int(r[5])
        )

    async def save_backfill_state(self, state: BackfillState) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO backfill_state (forum_id, guild_id, before, finished, "
                "seen, captured, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (forum_id) DO UPDATE SET guild_id = excluded.guild_id, "
                "before = excluded.before, finished = excluded.finished, seen = excluded.seen, "
                "captured = excluded.captured, updated_at = excluded.updated_at",
                (
                    state.forum_id,
                    state.guild_id,
                    None if state.before is None else iso(state.before),
                    int(state.finished),
                    state.seen,
                    state.captured,
                    self._db.now(),
                ),
            )

    # -- removal -------------------------------------------------------------------

    async def forget_user(self, user_id: int) -> int:
        """Drop the member's questions and nudges, their "me too" votes, and the votes,
        notices and escalations of their posts (the knowledge base forgets the rest)."""
        async with self._db.transaction() as db:
            await self._forget_me_too_of(db, user_id)
            async with db.execute("DELETE FROM questions WHERE asker_id = ?", (user_id,)) as cur:
                questions = max(cur.rowcount, 0)
            await db.execute("DELETE FROM nudges WHERE asker_id = ?", (user_id,))
        return questions

    async def forget_threads(self, thread_ids: Sequence[int]) -> None:
        """Posts deleted (or forgotten): their nudges and "me too" votes go; a staff
        message listing one of them is marked for closing."""
        params = [(t,) for t in thread_ids]
        async with self._db.transaction() as db:
            await db.executemany("DELETE FROM nudges WHERE thread_id = ?", params)
            await db.executemany("DELETE FROM me_too WHERE thread_id = ?", params)
            await db.executemany(
                "UPDATE escalations SET post_deleted = 1 WHERE thread_id = ?", params
            )

    async def forget_guild(self, guild_id: int) -> int:
        """Drop a server's question history, nudges, settings, backfill state,
        departure record, and report schedule with its record of reports posted.
        Returns the question rows removed."""
        async with self._db.transaction() as db:
            async with db.execute("DELETE FROM questions WHERE guild_id = ?", (guild_id,)) as cur:
                questions = max(cur.rowcount, 0)
            for table in (
                "nudges",
                "guild_settings",
                "backfill_state",
                "guild_departures",
                "escalations",
                "escalation_leads",
                "me_too",
                "me_too_notices",
                "report_schedules",
                "scheduled_reports",
            ):
                await db.execute(f"DELETE FROM {table} WHERE guild_id = ?", (guild_id,))
        return questions

    # -- consent and retention -----------------------------------------------------

    async def opted_out(self, user_ids: Iterable[int]) -> set[int]:
        """Those of ``user_ids`` who asked not to be captured."""
        wanted = sorted(set(user_ids))
        found: set[int] = set()
        for chunk in chunks(wanted):
            async with self._db.reader.execute(
                f"SELECT user_id FROM capture_opt_outs WHERE user_id IN ({marks(len(chunk))})",
                chunk,
            ) as cur:
                found.update(int(r[0]) for r in await cur.fetchall())
        return found

    async def set_opt_out(self, user_id: int, opted_out: bool) -> bool:
        """Record (or withdraw) a member's opt-out. Returns True if it changed."""
        async with self._db.transaction() as db:
            if opted_out:
                sql = (
                    "INSERT INTO capture_opt_outs (user_id, created_at) VALUES (?, ?) "
                    "ON CONFLICT (user_id) DO NOTHING"
                )
                params: tuple[object, ...] = (user_id, self._db.now())
            else:
                sql, params = "DELETE FROM capture_opt_outs WHERE user_id = ?", (user_id,)
            async with db.execute(sql, params) as cur:
                return cur.rowcount > 0

    async def record_departure(self, guild_id: int, at: datetime) -> None:
        """The bot left a server (kept from the first departure until it comes back)."""
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO guild_departures (guild_id, left_at) VALUES (?, ?) "
                "ON CONFLICT (guild_id) DO NOTHING",
                (guild_id, iso(at)),
            )

    async def cancel_departure(self, guild_id: int) -> None:
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,))

    async def departures_before(
        self, cutoff: datetime, *, shards: Shards | None = None
    ) -> list[int]:
        """Servers the bot left before ``cutoff`` (of those ``shards`` serves; all if None)."""
        served, served_params = and_served(shards, "guild_id")
        async with self._db.reader.execute(
            f"SELECT guild_id FROM guild_departures WHERE left_at <= ?{served} ORDER BY guild_id",
            (iso(cutoff), *served_params),
        ) as cur:
            return [int(r[0]) for r in await cur.fetchall()]

    # -- escalation and "me too" ---------------------------------------------------

    async def due_escalations(
        self, now: datetime, limit: int = 50, *, shards: Shards | None = None
    ) -> list[DueEscalation]:
        """Posts with no reply from anyone but the asker, unsolved, asked at least the
        guild's escalation delay before ``now`` (and not more than
        :data:`ESCALATION_WINDOW` past it), never considered before. Oldest first.
        Only servers ``shards`` serves (all if None)."""
        window_days = ESCALATION_WINDOW.total_seconds() / 86400
        served, served_params = and_served(shards, "q.guild_id")
        async with self._db.reader.execute(
            "SELECT q.thread_id, q.guild_id, q.forum_id, q.asker_id, q.asked_at, "
            "s.staff_channel FROM questions q "
            "LEFT JOIN guild_settings s ON s.guild_id = q.guild_id "
            "LEFT JOIN escalations e ON e.thread_id = q.thread_id "
            "WHERE e.thread_id IS NULL AND q.first_reply_at IS NULL AND q.solved_at IS NULL "
            "AND COALESCE(s.escalation_hours, ?) > 0 "
            "AND julianday(q.asked_at) + COALESCE(s.escalation_hours, ?) / 24.0 "
            "BETWEEN julianday(?) - ? AND julianday(?)"
            f"{served} ORDER BY q.asked_at LIMIT ?",
            (
                DEFAULT_ESCALATION_HOURS,
                DEFAULT_ESCALATION_HOURS,
                iso(now),
                window_days,
                iso(now),
                *served_params,
                limit,
            ),
        ) as cur:
            rows = list(await cur.fetchall())
        return [
            DueEscalation(
                thread_id=int(r[0]),
                guild_id=int(r[1]),
                forum_id=int(r[2]),
                asker_id=int(r[3]),
                asked_at=datetime.fromisoformat(str(r[4])),
                staff_channel=None if r[5] is None else int(r[5]),
            )
            for r in rows
        ]

    async def claim_escalation(self, due: DueEscalation, *, skipped: bool = False) -> bool:
        """Take the post off the due list before its staff message is sent, so that it is
        never listed twice (not even across a restart). True if this call claimed it."""
        state = EscalationState.SKIPPED if skipped else EscalationState.OPEN
        async with (
            self._db.transaction() as db,
            db.execute(
                "INSERT INTO escalations (thread_id, guild_id, asker_id, state, "
                "escalated_at, closed_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (thread_id) DO NOTHING",
                (
                    due.thread_id,
                    due.guild_id,
                    due.asker_id,
                    state.value,
                    self._db.now(),
                    self._db.now() if skipped else None,
                ),
            ) as cur,
        ):
            return cur.rowcount > 0

    async def set_escalation_message(
        self,
        thread_id: int,
        channel_id: int,
        message_id: int,
        leads: Sequence[tuple[int, int]] = (),
    ) -> None:
        """The staff message listing the post was sent, with ``leads``: the
        ``(entry id, entry thread id)`` of the close solved threads it lists (recorded
        so that a lead that leaves the knowledge base is taken out of it)."""
        async with self._db.transaction() as db:
            async with db.execute(
                "UPDATE escalations SET channel_id = ?, message_id = ? WHERE thread_id = ? "
                "RETURNING guild_id",
                (channel_id, message_id, thread_id),
            ) as cur:
                row = await cur.fetchone()
            if row is None or not leads:
                return
            await db.executemany(
                "INSERT INTO escalation_leads (thread_id, guild_id, entry_id, entry_thread_id) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (thread_id, entry_id) DO NOTHING",
                [(thread_id, int(row[0]), entry, entry_thread) for entry, entry_thread in leads],
            )

    async def lead_messages(self, channel_id: int, entry_id: int) -> list[int]:
        """The staff messages in ``channel_id`` that list ``entry_id`` as a lead."""
        async with self._db.reader.execute(
            "SELECT x.message_id FROM escalation_leads l "
            "JOIN escalations x ON x.thread_id = l.thread_id "
            "WHERE l.entry_id = ? AND x.channel_id = ? AND x.message_id IS NOT NULL "
            "ORDER BY x.message_id",
            (entry_id, channel_id),
        ) as cur:
            return [int(r[0]) for r in await cur.fetchall()]

    async def escalations_to_close(
        self, limit: int = 50, *, shards: Shards | None = None
    ) -> list[tuple[Escalation, EscalationState]]:
        """Listed posts that have left the list since, each with why: solved, answered
        by someone other than the asker, or deleted. Only servers ``shards`` serves."""
        columns = ", ".join(f"e.{c.strip()}" for c in _ESCALATION_COLUMNS.split(","))
        served, served_params = and_served(shards, "e.guild_id")
        async with self._db.reader.execute(
            f"SELECT {columns}, CASE "
            "WHEN e.post_deleted <> 0 OR q.thread_id IS NULL THEN 'deleted' "
            "WHEN q.solved_at IS NOT NULL THEN 'solved' ELSE 'answered' END "
            "FROM escalations e LEFT JOIN questions q ON q.thread_id = e.thread_id "
            "WHERE e.state = 'open' AND (e.post_deleted <> 0 OR q.thread_id IS NULL "
            "OR q.solved_at IS NOT NULL OR q.first_reply_at IS NOT NULL)"
            f"{served} ORDER BY e.escalated_at LIMIT ?",
            (*served_params, limit),
        ) as cur:
            rows = list(await cur.fetchall())
        return [(_escalation(r), EscalationState(str(r[8]))) for r in rows]

    async def close_escalation(self, thread_id: int, state: EscalationState) -> None:
        """The post left the staff's list (its message was updated, or could not be)."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE escalations SET state = ?, closed_at = ? WHERE thread_id = ?",
                (state.value, self._db.now(), thread_id),
            )

    async def escalation(self, thread_id: int) -> Escalation | None:
        async with self._db.reader.execute(
            f"SELECT {_ESCALATION_COLUMNS} FROM escalations WHERE thread_id = ?", (thread_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else _escalation(row)

    async def escalations(
        self, guild_id: int, since: datetime, until: datetime
    ) -> list[Escalation]:
        """The guild's posts considered for escalation in ``[since, until)``, oldest first
        (for reports: count those not ``SKIPPED`` for "went unanswered")."""
        async with self._db.reader.execute(
            f"SELECT {_ESCALATION_COLUMNS} FROM escalations "
            "WHERE guild_id = ? AND escalated_at >= ? AND escalated_at < ? "
            "ORDER BY escalated_at, thread_id",
            (guild_id, iso(since), iso(until)),
        ) as cur:
            return [_escalation(r) for r in await cur.fetchall()]

    async def add_me_too(
        self, *, thread_id: int, guild_id: int, asker_id: int | None, user_id: int
    ) -> MeTooResult:
        """A member says they have the same problem as post ``thread_id``: one vote per
        member; the asker cannot vote on their own post, nobody on a solved one."""
        async with self._db.transaction() as db:
            async with db.execute(
                "SELECT asker_id, solved_at IS NOT NULL FROM questions WHERE thread_id = ?",
                (thread_id,),
            ) as cur:
                question = await cur.fetchone()
            if question is not None and asker_id is None:
                asker_id = int(question[0])
            if user_id == asker_id:
                vote = MeTooVote.OWN_POST
            elif question is not None and question[1]:
                vote = MeTooVote.SOLVED
            else:
                async with db.execute(
                    "INSERT INTO me_too (thread_id, user_id, guild_id, at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (thread_id, user_id) DO NOTHING",
                    (thread_id, user_id, guild_id, self._db.now()),
                ) as cur:
                    vote = MeTooVote.COUNTED if cur.rowcount > 0 else MeTooVote.ALREADY
            async with db.execute(
                "SELECT COUNT(*) FROM me_too WHERE thread_id = ?", (thread_id,)
            ) as cur:
                row = await cur.fetchone()
        return MeTooResult(vote, int(row[0]) if row else 0)

    async def me_too_count(self, thread_id: int) -> int:
        async with self._db.reader.execute(
            "SELECT COUNT(*) FROM me_too WHERE thread_id = ?", (thread_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def due_me_too_notices(
        self, limit: int = 50, *, shards: Shards | None = None
    ) -> list[MeTooNotice]:
        """Solved posts with "me too" votes whose voters were not told yet (of the
        servers ``shards`` serves; all if None)."""
        served, served_params = and_served(shards, "q.guild_id")
        async with self._db.reader.execute(
            "SELECT q.thread_id, q.guild_id, COUNT(m.user_id) FROM questions q "
            "JOIN me_too m ON m.thread_id = q.thread_id "
            "LEFT JOIN me_too_notices n ON n.thread_id = q.thread_id "
            f"WHERE q.solved_at IS NOT NULL AND n.thread_id IS NULL{served} "
            "GROUP BY q.thread_id, q.guild_id ORDER BY q.solved_at LIMIT ?",
            (*served_params, limit),
        ) as cur:
            rows = list(await cur.fetchall())
        return [MeTooNotice(int(r[0]), int(r[1]), int(r[2])) for r in rows]

    async def claim_me_too_notice(self, notice: MeTooNotice) -> bool:
        """Mark the post's voters as told (before telling them: once, even across a
        restart). True if this call claimed it."""
        async with (
            self._db.transaction() as db,
            db.execute(
                "INSERT INTO me_too_notices (thread_id, guild_id, notified_at) "
                "VALUES (?, ?, ?) ON CONFLICT (thread_id) DO NOTHING",
                (notice.thread_id, notice.guild_id, self._db.now()),
            ) as cur,
        ):
            return cur.rowcount > 0

    async def me_too_tallies(
        self, guild_id: int, since: datetime, until: datetime, limit: int = 10
    ) -> list[MeTooTally]:
        """The guild's posts most members said "me too" to, by votes cast in
        ``[since, until)``: problems that many share (recurring problems in reports)."""
        async with self._db.reader.execute(
            "SELECT m.thread_id, COUNT(*), "
            "EXISTS (SELECT 1 FROM questions q WHERE q.thread_id = m.thread_id "
            "AND q.solved_at IS NOT NULL) "
            "FROM me_too m WHERE m.guild_id = ? AND m.at >= ? AND m.at < ? "
            "GROUP BY m.thread_id ORDER BY COUNT(*) DESC, m.thread_id LIMIT ?",
            (guild_id, iso(since), iso(until), limit),
        ) as cur:
            rows = list(await cur.fetchall())
        return [MeTooTally(int(r[0]), guild_id, int(r[1]), bool(r[2])) for r in rows]

    @staticmethod
    async def _forget_me_too_of(db: Connection, user_id: int) -> None:
        """Inside a transaction: the member's votes, and the votes, notices and
        escalations of the posts they asked."""
        await db.execute("DELETE FROM me_too WHERE user_id = ?", (user_id,))
        for table in ("me_too", "me_too_notices", "escalations"):
            await db.execute(
                f"DELETE FROM {table} WHERE thread_id IN "
                "(SELECT thread_id FROM questions WHERE asker_id = ?)",
                (user_id,),
            )
        await db.execute("DELETE FROM escalations WHERE asker_id = ?", (user_id,))

    # -- several processes ---------------------------------------------------------

    async def claim_nudge(self, thread_id: int) -> bool:
        """Take the post's pending nudge before sending it, so that it is sent once even
        when two processes (or a poll and a thank-you) reach it together. True if this
        call claimed it."""
        async with (
            self._db.transaction() as db,
            db.execute(
                "UPDATE nudges SET state = 'sent' WHERE thread_id = ? AND state = 'pending'",
                (thread_id,),
            ) as cur,
        ):
            return cur.rowcount > 0
