"""The community side of the store: guild settings, questions, nudges, backfills.

The same :class:`~knowledge.db.Database` as :class:`~knowledge.store.KnowledgeStore`,
kept apart so the knowledge base proper stays readable. All SQL here too.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from datetime import datetime

from knowledge.db import Database, chunks, iso, marks, parse_time
from knowledge.models import BackfillState, CommunityFigures, GuildSettings, Nudge


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


class CommunityStore:
    """Per-guild state the Discord plugin keeps, over the knowledge store's file."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- settings ------------------------------------------------------------------

    async def settings(self, guild_id: int) -> GuildSettings:
        async with self._db.reader.execute(
            "SELECT watched_forums, helper_roles, solved_tag, threshold, language, "
            "nudge_hours, archive_on_solve FROM guild_settings WHERE guild_id = ?",
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
        )

    async def save_settings(self, settings: GuildSettings) -> None:
        if settings.language not in {"auto", "ja", "en"}:
            raise ValueError("language must be auto, ja or en")
        if settings.threshold is not None and not 0.0 <= settings.threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if settings.nudge_hours < 0:
            raise ValueError("nudge delay cannot be negative")
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO guild_settings (guild_id, watched_forums, helper_roles, "
                "solved_tag, threshold, language, nudge_hours, archive_on_solve, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    settings.guild_id,
                    json.dumps([str(x) for x in settings.watched_forums]),
                    json.dumps([str(x) for x in settings.helper_roles]),
                    settings.solved_tag,
                    settings.threshold,
                    settings.language,
                    settings.nudge_hours,
                    int(settings.archive_on_solve),
                    self._db.now(),
                ),
            )

    # -- questions -----------------------------------------------------------------

    async def record_question(
        self, *, thread_id: int, guild_id: int, forum_id: int, asker_id: int, asked_at: datetime
    ) -> None:
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO questions (thread_id, guild_id, forum_id, asker_id, "
                "asked_at) VALUES (?, ?, ?, ?, ?)",
                (thread_id, guild_id, forum_id, asker_id, iso(asked_at)),
            )

    async def record_reply(self, thread_id: int, at: datetime) -> None:
        """A reply from someone other than the asker: the first one dates the answer."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE questions SET first_reply_at = ? "
                "WHERE thread_id = ? AND first_reply_at IS NULL",
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
                "INSERT OR IGNORE INTO nudges (thread_id, guild_id, asker_id, due_at, "
                "candidate_id) VALUES (?, ?, ?, ?, ?)",
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

    async def due_nudges(self, now: datetime | None = None, limit: int = 50) -> list[Nudge]:
        async with self._db.reader.execute(
            f"SELECT {_NUDGE_COLUMNS} FROM nudges "
            "WHERE state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?",
            (iso(now or self._db.clock()), limit),
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
                "INSERT OR REPLACE INTO backfill_state (forum_id, guild_id, before, finished, "
                "seen, captured, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        """Drop the member's questions and nudges (the knowledge base forgets the rest)."""
        async with self._db.transaction() as db:
            async with db.execute("DELETE FROM questions WHERE asker_id = ?", (user_id,)) as cur:
                questions = max(cur.rowcount, 0)
            await db.execute("DELETE FROM nudges WHERE asker_id = ?", (user_id,))
        return questions

    async def forget_threads(self, thread_ids: Sequence[int]) -> None:
        async with self._db.transaction() as db:
            await db.executemany(
                "DELETE FROM nudges WHERE thread_id = ?", [(t,) for t in thread_ids]
            )

    async def forget_guild(self, guild_id: int) -> int:
        """Drop a server's question history, nudges, settings, backfill state and
        departure record. Returns the question rows removed."""
        async with self._db.transaction() as db:
            async with db.execute("DELETE FROM questions WHERE guild_id = ?", (guild_id,)) as cur:
                questions = max(cur.rowcount, 0)
            for table in ("nudges", "guild_settings", "backfill_state", "guild_departures"):
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
                sql = "INSERT OR IGNORE INTO capture_opt_outs (user_id, created_at) VALUES (?, ?)"
                params: tuple[object, ...] = (user_id, self._db.now())
            else:
                sql, params = "DELETE FROM capture_opt_outs WHERE user_id = ?", (user_id,)
            async with db.execute(sql, params) as cur:
                return cur.rowcount > 0

    async def record_departure(self, guild_id: int, at: datetime) -> None:
        """The bot left a server (kept from the first departure until it comes back)."""
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO guild_departures (guild_id, left_at) VALUES (?, ?)",
                (guild_id, iso(at)),
            )

    async def cancel_departure(self, guild_id: int) -> None:
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM guild_departures WHERE guild_id = ?", (guild_id,))

    async def departures_before(self, cutoff: datetime) -> list[int]:
        """Servers the bot left before ``cutoff``."""
        async with self._db.reader.execute(
            "SELECT guild_id FROM guild_departures WHERE left_at <= ? ORDER BY guild_id",
            (iso(cutoff),),
        ) as cur:
            return [int(r[0]) for r in await cur.fetchall()]
