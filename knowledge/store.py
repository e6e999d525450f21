"""The knowledge store: one SQLite file (WAL), the source of truth.

All SQL of the knowledge base lives here. Methods return dataclasses from
:mod:`knowledge.models`, never rows or cursors. Writes go through one
connection, serialised by a lock, each in an explicit ``BEGIN IMMEDIATE``
transaction; reads use a second connection, so a long read never waits for
a write (WAL lets readers and the writer run side by side).

Every change to ``entries`` takes the next value of the store's *revision*
counter; a removed entry leaves a tombstone with the revision of its
removal. The vector index remembers the revision it reflects, so it can be
brought up to date (or found stale) after a crash.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from knowledge import lexical
from knowledge.cleaning import to_index_text
from knowledge.db import (
    CHUNK,
    Clock,
    Connection,
    Database,
    chunks,
    iso,
    marks,
    open_database,
    utcnow,
)
from knowledge.models import (
    AnswerPart,
    Entry,
    EntryDraft,
    Feedback,
    FeedbackKind,
    RemovedContent,
    Retraction,
    Stats,
)
from knowledge.shards import Shards, and_served

log = logging.getLogger(__name__)

_ENTRY_COLUMNS = (
    "id, guild_id, forum_id, thread_id, title, question, asker_id, asker_name, tags, "
    "asked_at, solved_at, jump_url, language, scope, hits"
)


class StoreError(RuntimeError):
    """A knowledge store operation could not be carried out."""


@dataclass(frozen=True, slots=True)
class IndexDocument:
    """What the vector index needs of one entry."""

    id: int
    title: str
    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class Changes:
    """Entries changed or removed after a given revision."""

    revision: int
    changed: tuple[int, ...]
    removed: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TermRow:
    """What the derived term index needs of one entry: the segmented title and body
    (space-separated terms, as the ranked full-text table holds them)."""

    id: int
    guild_id: int
    scope: str
    thread_id: int
    title_terms: str
    body_terms: str
    text: str
    """The title and body as the substring index holds them (for identifier tokens)."""


def lexical_fields(title: str, question: str, answer: str) -> tuple[str, str]:
    """The (title, body) text that full-text search indexes for an entry."""
    return to_index_text(title), to_index_text(f"{question}\n{answer}", max_chars=6000)


class KnowledgeStore:
    """Async access to the knowledge base file. Use :meth:`open`, then :meth:`close`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._reader = db.reader
        self._store_id = ""

    # -- lifecycle -----------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: Path,
        *,
        clock: Clock = utcnow,
        readonly: bool = False,
        database_url: str | None = None,
    ) -> KnowledgeStore:
        """Open (creating or migrating unless ``readonly``) the knowledge base at ``path``,
        or in the PostgreSQL database at ``database_url`` when one is given."""
        db = await open_database(path, url=database_url, clock=clock, readonly=readonly)
        try:
            return await cls.attach(db)
        except BaseException:
            await db.close()
            raise

    @classmethod
    async def attach(cls, db: Database) -> KnowledgeStore:
        """The knowledge store over an already open database."""
        store = cls(db)
        store._store_id = await store._ensure_store_id()
        return store

    @property
    def path(self) -> Path:
        return self.db.path

    async def close(self) -> None:
        await self.db.close()

    async def _ensure_store_id(self) -> str:
        if not self.db.readonly:
            async with self.db.transaction() as db:
                await db.execute(
                    "INSERT INTO kb_meta (key, value) VALUES ('store_id', ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (uuid.uuid4().hex,),
                )
                await db.execute(
                    "INSERT INTO kb_meta (key, value) VALUES ('revision', '0') "
                    "ON CONFLICT (key) DO NOTHING"
                )
        async with self._reader.execute("SELECT value FROM kb_meta WHERE key = 'store_id'") as cur:
            row = await cur.fetchone()
        return "" if row is None else str(row[0])

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """One write transaction on the underlying database."""
        return self.db.transaction()

    async def purge_deleted(self) -> None:
        """After a forget: deleted text must not survive in the files (see Database)."""
        await self.db.purge_deleted(("entries_fts", "entries_terms"))

    # -- revision / fingerprint ----------------------------------------------------

    @property
    def store_id(self) -> str:
        """A random id given to this database when it was created."""
        return self._store_id

    async def revision(self) -> int:
        async with self._reader.execute("SELECT value FROM kb_meta WHERE key = 'revision'") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    async def _bump(db: Connection) -> int:
        async with db.execute(
            "UPDATE kb_meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'revision' "
            "RETURNING value"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def changes_since(self, revision: int) -> Changes:
        """Entries changed or removed after ``revision`` (for catching an index up)."""
        current = await self.revision()
        async with self._reader.execute(
            "SELECT id FROM entries WHERE revision > ? ORDER BY id", (revision,)
        ) as cur:
            changed = tuple(int(r[0]) for r in await cur.fetchall())
        async with self._reader.execute(
            "SELECT entry_id FROM tombstones WHERE revision > ? ORDER BY entry_id", (revision,)
        ) as cur:
            removed = tuple(int(r[0]) for r in await cur.fetchall())
        return Changes(current, changed, removed)

    async def prune_tombstones(self, up_to_revision: int) -> None:
        """Forget removals that a saved index already reflects.

        Another process's index may still be behind: the highest pruned revision
        is kept, so an index older than it reconciles its ids with the store's
        instead of trusting the change log (see ``LiveIndex.catch_up``).
        """
        async with self.transaction() as db:
            await db.execute("DELETE FROM tombstones WHERE revision <= ?", (up_to_revision,))
            await db.execute(
                "INSERT INTO kb_meta (key, value) VALUES ('pruned_through', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = CASE "
                "WHEN CAST(excluded.value AS INTEGER) > CAST(kb_meta.value AS INTEGER) "
                "THEN excluded.value ELSE kb_meta.value END",
                (str(up_to_revision),),
            )

    async def pruned_through(self) -> int:
        """The highest revision whose tombstones were pruned (0 when none were)."""
        async with self._reader.execute(
            "SELECT value FROM kb_meta WHERE key = 'pruned_through'"
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def entry_ids(self) -> list[int]:
        """Every stored entry's id."""
        async with self._reader.execute("SELECT id FROM entries ORDER BY id") as cur:
            return [int(r[0]) for r in await cur.fetchall()]

    # -- entries: writes -----------------------------------------------------------

    async def upsert_entry(self, draft: EntryDraft) -> tuple[Entry, bool]:
        """Store a solved thread; re-capturing a thread updates it. Returns (entry, created)."""
        if not draft.answer_parts:
            raise StoreError("an entry needs at least one answer message")
        now = self.db.now()
        async with self.transaction() as db:
            revision = await self._bump(db)
            async with db.execute(
                "SELECT id, guild_id FROM entries WHERE thread_id = ?", (draft.thread_id,)
            ) as cur:
                row = await cur.fetchone()
            values = (
                draft.guild_id,
                draft.forum_id,
                draft.title,
                draft.question,
                draft.question_message_id,
                draft.asker_id,
                draft.asker_name,
                json.dumps(list(draft.tags), ensure_ascii=False),
                iso(draft.asked_at),
                iso(draft.solved_at),
                draft.jump_url,
                draft.language,
                draft.scope,
                revision,
                now,
            )
            if row is None:
                async with db.execute(
                    "INSERT INTO entries (guild_id, forum_id, title, question, "
                    "question_message_id, asker_id, asker_name, tags, asked_at, solved_at, "
                    "jump_url, language, scope, revision, updated_at, thread_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (*values, draft.thread_id, now),
                ) as cur:
                    inserted = await cur.fetchone()
                assert inserted is not None
                entry_id, created = int(inserted[0]), True
            else:
                entry_id, created = int(row[0]), False
                await db.execute(
                    "UPDATE entries SET guild_id = ?, forum_id = ?, title = ?, question = ?, "
                    "question_message_id = ?, asker_id = ?, asker_name = ?, tags = ?, "
                    "asked_at = ?, solved_at = ?, jump_url = ?, language = ?, scope = ?, "
                    "revision = ?, updated_at = ? WHERE id = ?",
                    (*values, entry_id),
                )
                await db.execute("DELETE FROM answer_parts WHERE entry_id = ?", (entry_id,))
            await db.execute("DELETE FROM tombstones WHERE entry_id = ?", (entry_id,))
            await db.executemany(
                "INSERT INTO answer_parts (entry_id, position, message_id, author_id, "
                "author_name, content) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (entry_id, pos, p.message_id, p.author_id, p.author_name, p.content)
                    for pos, p in enumerate(draft.answer_parts)
                ],
            )
            await self._write_fts(
                db,
                entry_id,
                draft.title,
                draft.question,
                draft.answer_parts,
                was_in=None if row is None else int(row[1]),
            )
        entry = await self.get_entry(entry_id)
        assert entry is not None
        return entry, created

    async def _write_fts(
        self,
        db: Connection,
        entry_id: int,
        title: str,
        question: str,
        parts: Sequence[AnswerPart],
        *,
        was_in: int | None = None,
    ) -> None:
        """(Re)index an entry's text; ``was_in`` is the server the entry belonged to
        before this write, when a re-capture moves it (its own server otherwise)."""
        fts_title, fts_body = lexical_fields(title, question, "\n\n".join(p.content for p in parts))
        if self.db.lexical is not None:
            await self.db.lexical.write(db, entry_id, fts_title, fts_body)
            return
        async with db.execute(
            "SELECT e.guild_id, t.title || ' ' || t.body FROM entries e "
            "LEFT JOIN entries_terms t ON t.rowid = e.id WHERE e.id = ?",
            (entry_id,),
        ) as cur:
            row = await cur.fetchone()
        for table in ("entries_fts", "entries_terms"):
            await db.execute(f"DELETE FROM {table} WHERE rowid = ?", (entry_id,))
        await db.execute(
            "INSERT INTO entries_fts (rowid, title, body) VALUES (?, ?, ?)",
            (entry_id, fts_title, fts_body),
        )
        term_title, term_body = lexical.document(fts_title), lexical.document(fts_body)
        await db.execute(
            "INSERT INTO entries_terms (rowid, title, body) VALUES (?, ?, ?)",
            (entry_id, term_title, term_body),
        )
        if row is not None:  # the servers' document frequencies follow the edit
            guild_id = int(row[0])
            before = guild_id if was_in is None else was_in
            changes: Counter[tuple[int, str]] = Counter()
            for term in set(str(row[1]).split()) if row[1] is not None else ():
                changes[(before, term)] -= 1
            for term in set(term_title.split()) | set(term_body.split()):
                changes[(guild_id, term)] += 1
            await _count_terms(db, changes)

    async def _delete_entries(
        self, db: Connection, entry_ids: Sequence[int], *, retract: bool = True
    ) -> int:
        """Delete entries inside an open transaction, leaving tombstones. Returns feedback lost.

        With ``retract``, every post where Senpai showed one of them (a suggestion, or
        the note that it solved the post) is queued so the bot takes it out there too.
        """
        if not entry_ids:
            return 0
        revision = await self._bump(db)
        feedback = 0
        now = self.db.now()
        for chunk in chunks(entry_ids):
            placeholders = marks(len(chunk))
            if retract:
                await db.execute(
                    "INSERT INTO retractions "
                    "(guild_id, channel_id, entry_id, entry_thread_id, created_at) "
                    "SELECT s.guild_id, s.thread_id, e.id, e.thread_id, ? FROM shown s "
                    f"JOIN entries e ON e.id = s.entry_id WHERE s.entry_id IN ({placeholders}) "
                    "UNION SELECT f.guild_id, f.thread_id, e.id, e.thread_id, ? FROM feedback f "
                    "JOIN entries e ON e.id = f.entry_id "
                    f"WHERE f.kind = 'solved_by_suggestion' AND f.entry_id IN ({placeholders}) "
                    "ON CONFLICT (channel_id, entry_id) DO NOTHING",
                    (now, *chunk, now, *chunk),
                )
                # The staff channels whose escalation messages listed them as leads.
                await db.execute(
                    "INSERT INTO retractions "
                    "(guild_id, channel_id, entry_id, entry_thread_id, created_at) "
                    "SELECT DISTINCT x.guild_id, x.channel_id, l.entry_id, l.entry_thread_id, ? "
                    "FROM escalation_leads l JOIN escalations x ON x.thread_id = l.thread_id "
                    f"WHERE x.channel_id IS NOT NULL AND l.entry_id IN ({placeholders}) "
                    "ON CONFLICT (channel_id, entry_id) DO NOTHING",
                    (now, *chunk),
                )
            async with db.execute(
                f"SELECT COUNT(*) FROM feedback WHERE entry_id IN ({placeholders})", chunk
            ) as cur:
                row = await cur.fetchone()
            feedback += int(row[0]) if row else 0
            if self.db.lexical is not None:
                await self.db.lexical.delete(db, chunk)
            else:  # the servers' document frequencies lose these entries' terms
                changes: Counter[tuple[int, str]] = Counter()
                async with db.execute(
                    "SELECT e.guild_id, t.title || ' ' || t.body FROM entries_terms t "
                    f"JOIN entries e ON e.id = t.rowid WHERE t.rowid IN ({placeholders})",
                    chunk,
                ) as cur:
                    for guild_id, text in await cur.fetchall():
                        for term in set(str(text).split()):
                            changes[(int(guild_id), term)] -= 1
                await _count_terms(db, changes)
            await db.execute(f"DELETE FROM entries WHERE id IN ({placeholders})", chunk)
            if self.db.lexical is None:
                await db.execute(f"DELETE FROM entries_fts WHERE rowid IN ({placeholders})", chunk)
                await db.execute(
                    f"DELETE FROM entries_terms WHERE rowid IN ({placeholders})", chunk
                )
            await db.executemany(
                "INSERT INTO tombstones (entry_id, revision) VALUES (?, ?) "
                "ON CONFLICT (entry_id) DO UPDATE SET revision = excluded.revision",
                [(entry_id, revision) for entry_id in chunk],
            )
        return feedback

    async def delete_thread(self, thread_id: int) -> Entry | None:
        """Remove the entry captured from ``thread_id``; return what was removed."""
        entry = await self.get_entry_by_thread(thread_id)
        if entry is None:
            return None
        async with self.transaction() as db:
            await self._delete_entries(db, [entry.id])
        return entry

    async def remove_message(self, message_id: int) -> tuple[list[Entry], list[Entry]]:
        """A message was deleted in Discord: drop it from every entry.

        An entry whose question (starter message) or whole answer disappears is
        removed; one that loses a part of a multi-message answer is updated.
        Returns (updated entries, removed entries).
        """
        async with self._reader.execute(
            "SELECT id FROM entries WHERE question_message_id = ? OR thread_id = ? "
            "UNION SELECT entry_id FROM answer_parts WHERE message_id = ?",
            (message_id, message_id, message_id),
        ) as cur:
            ids = [int(r[0]) for r in await cur.fetchall()]
        before = await self.get_entries(ids)
        removed: list[Entry] = []
        updated_ids: list[int] = []
        async with self.transaction() as db:
            # A deleted new post takes its text out of what was shown for it.
            await db.execute("DELETE FROM shown WHERE thread_id = ?", (message_id,))
            for entry_id, entry in before.items():
                remaining = [p for p in entry.answer_parts if p.message_id != message_id]
                is_question = message_id == entry.thread_id or await self._is_question_message(
                    db, entry_id, message_id
                )
                if is_question or not remaining:
                    await self._delete_entries(db, [entry_id])
                    removed.append(entry)
                    continue
                revision = await self._bump(db)
                await db.execute(
                    "DELETE FROM answer_parts WHERE entry_id = ? AND message_id = ?",
                    (entry_id, message_id),
                )
                await db.execute(
                    "UPDATE entries SET revision = ?, updated_at = ? WHERE id = ?",
                    (revision, self.db.now(), entry_id),
                )
                await self._write_fts(db, entry_id, entry.title, entry.question, remaining)
                updated_ids.append(entry_id)
        updated = await self.get_entries(updated_ids)
        return [updated[i] for i in updated_ids if i in updated], removed

    @staticmethod
    async def _is_question_message(db: Connection, entry_id: int, message_id: int) -> bool:
        async with db.execute(
            "SELECT 1 FROM entries WHERE id = ? AND question_message_id = ?",
            (entry_id, message_id),
        ) as cur:
            return await cur.fetchone() is not None

    async def edit_message(self, message_id: int, content: str) -> list[Entry]:
        """A captured message was edited: store its new (already cleaned) text."""
        async with self._reader.execute(
            "SELECT id FROM entries WHERE question_message_id = ? "
            "UNION SELECT entry_id FROM answer_parts WHERE message_id = ?",
            (message_id, message_id),
        ) as cur:
            ids = [int(r[0]) for r in await cur.fetchall()]
        if not ids:
            return []
        async with self.transaction() as db:
            for entry_id in ids:
                revision = await self._bump(db)
                await db.execute(
                    "UPDATE entries SET question = ? WHERE id = ? AND question_message_id = ?",
                    (content, entry_id, message_id),
                )
                await db.execute(
                    "UPDATE answer_parts SET content = ? WHERE entry_id = ? AND message_id = ?",
                    (content, entry_id, message_id),
                )
                await db.execute(
                    "UPDATE entries SET revision = ?, updated_at = ? WHERE id = ?",
                    (revision, self.db.now(), entry_id),
                )
                async with db.execute(
                    "SELECT title, question FROM entries WHERE id = ?", (entry_id,)
                ) as cur:
                    row = await cur.fetchone()
                assert row is not None
                parts = await self._answer_parts(db, [entry_id])
                await self._write_fts(db, entry_id, row[0], row[1], parts.get(entry_id, ()))
        entries = await self.get_entries(ids)
        return [entries[i] for i in ids if i in entries]

    async def forget_user(self, user_id: int) -> RemovedContent:
        """Remove everything a member asked or answered, and their feedback."""
        async with self._reader.execute(
            "SELECT id, thread_id FROM entries WHERE asker_id = ? "
            "UNION SELECT e.id, e.thread_id FROM entries e "
            "JOIN answer_parts a ON a.entry_id = e.id WHERE a.author_id = ?",
            (user_id, user_id),
        ) as cur:
            rows = [(int(r[0]), int(r[1])) for r in await cur.fetchall()]
        rows.sort()
        async with self.transaction() as db:
            lost = await self._delete_entries(db, [r[0] for r in rows])
            async with db.execute("DELETE FROM feedback WHERE user_id = ?", (user_id,)) as cur:
                own = cur.rowcount
            await db.execute("DELETE FROM shown WHERE asker_id = ?", (user_id,))
        return RemovedContent(
            entry_ids=tuple(r[0] for r in rows),
            thread_ids=tuple(r[1] for r in rows),
            feedback_count=lost + max(own, 0),
        )

    async def delete_guild(self, guild_id: int) -> RemovedContent:
        """Remove every entry of a guild (the bot was removed from it, or an admin asked)."""
        async with self._reader.execute(
            "SELECT id, thread_id FROM entries WHERE guild_id = ? ORDER BY id", (guild_id,)
        ) as cur:
            rows = [(int(r[0]), int(r[1])) for r in await cur.fetchall()]
        async with self.transaction() as db:
            # Nothing to retract: the bot is leaving the server, or everything of it goes.
            lost = await self._delete_entries(db, [r[0] for r in rows], retract=False)
            await db.execute("DELETE FROM shown WHERE guild_id = ?", (guild_id,))
            await db.execute("DELETE FROM retractions WHERE guild_id = ?", (guild_id,))
        return RemovedContent(
            entry_ids=tuple(r[0] for r in rows),
            thread_ids=tuple(r[1] for r in rows),
            feedback_count=lost,
        )

    async def due_retractions(
        self, limit: int = 20, *, shards: Shards | None = None
    ) -> list[Retraction]:
        """Removed entries still to be taken out of the posts that showed them, oldest
        first (of the servers ``shards`` serves; all if None)."""
        served, served_params = and_served(shards, "guild_id")
        async with self._reader.execute(
            "SELECT id, guild_id, channel_id, entry_id, entry_thread_id FROM retractions "
            # Not the servers Senpai left: it cannot edit there (their rows go with them).
            "WHERE guild_id NOT IN (SELECT guild_id FROM guild_departures)"
            f"{served} ORDER BY id LIMIT ?",
            (*served_params, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [Retraction(*(int(v) for v in row)) for row in rows]

    async def finish_retraction(self, retraction: Retraction) -> None:
        """The post (or staff channel) no longer shows the entry, or cannot be changed
        any more."""
        async with self.transaction() as db:
            await db.execute("DELETE FROM retractions WHERE id = ?", (retraction.id,))
            # Its staff messages no longer list the entry either (or cannot any more).
            await db.execute(
                "DELETE FROM escalation_leads WHERE entry_id = ? AND thread_id IN "
                "(SELECT thread_id FROM escalations WHERE channel_id = ?)",
                (retraction.entry_id, retraction.channel_id),
            )

    # -- feedback ------------------------------------------------------------------

    async def record_feedback(self, feedback: Feedback) -> bool:
        """Record a verdict once per (entry, thread, user, kind). Returns False if known.

        A "solved by suggestion" verdict also counts a hit for the entry.
        """
        async with self.transaction() as db:
            async with db.execute(
                "INSERT INTO feedback (entry_id, guild_id, thread_id, user_id, kind, created_at) "
                "SELECT id, CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS BIGINT), "
                "CAST(? AS TEXT), CAST(? AS TEXT) FROM entries WHERE id = ? AND guild_id = ? "
                "ON CONFLICT (entry_id, thread_id, user_id, kind) DO NOTHING",
                (
                    feedback.guild_id,
                    feedback.thread_id,
                    feedback.user_id,
                    feedback.kind.value,
                    iso(feedback.created_at),
                    feedback.entry_id,
                    feedback.guild_id,
                ),
            ) as cur:
                inserted = cur.rowcount > 0
            if inserted and feedback.kind is FeedbackKind.SOLVED_BY_SUGGESTION:
                await db.execute(
                    "UPDATE entries SET hits = hits + 1 WHERE id = ?", (feedback.entry_id,)
                )
        return inserted

    async def record_shown(
        self,
        *,
        guild_id: int,
        thread_id: int,
        asker_id: int,
        question: str,
        shown: Sequence[tuple[int, float, float | None]],
    ) -> None:
        """What was suggested in a post: (entry id, fused score, confidence) by position."""
        now = self.db.now()
        async with self.transaction() as db:
            await db.executemany(
                "INSERT INTO shown (thread_id, entry_id, guild_id, asker_id, position, "
                "score, confidence, question, shown_at) "
                "SELECT CAST(? AS BIGINT), id, CAST(? AS BIGINT), CAST(? AS BIGINT), "
                "CAST(? AS INTEGER), CAST(? AS DOUBLE PRECISION), CAST(? AS DOUBLE PRECISION), "
                "CAST(? AS TEXT), CAST(? AS TEXT) FROM entries WHERE id = ? AND guild_id = ? "
                "ON CONFLICT (thread_id, entry_id) DO UPDATE SET guild_id = excluded.guild_id, "
                "asker_id = excluded.asker_id, position = excluded.position, "
                "score = excluded.score, confidence = excluded.confidence, "
                "question = excluded.question, shown_at = excluded.shown_at",
                [
                    (thread_id, guild_id, asker_id, pos, score, conf, question, now, eid, guild_id)
                    for pos, (eid, score, conf) in enumerate(shown, start=1)
                ],
            )

    async def verdicts(
        self, guild_id: int, entry_ids: Sequence[int]
    ) -> list[tuple[int, int, str, bool]]:
        """(entry id, question post id, question text, positive) for every member verdict
        on these entries where they were shown in this guild."""
        out: list[tuple[int, int, str, bool]] = []
        for chunk in chunks(list(entry_ids)):
            async with self._reader.execute(
                "SELECT s.entry_id, s.thread_id, s.question, "
                "MAX(CASE WHEN f.kind != 'not_relevant' THEN 1 ELSE 0 END) AS positive "
                "FROM shown s "
                "JOIN feedback f ON f.entry_id = s.entry_id AND f.thread_id = s.thread_id "
                f"WHERE s.guild_id = ? AND s.entry_id IN ({marks(len(chunk))}) "
                "GROUP BY s.entry_id, s.thread_id",
                (guild_id, *chunk),
            ) as cur:
                out += [(int(r[0]), int(r[1]), str(r[2]), bool(r[3])) for r in await cur.fetchall()]
        return out

    async def first_outcomes(self, guild_id: int) -> list[tuple[float, bool]]:
        """(confidence, or score without a confidence model; right) for every first
        suggestion in this guild that a member gave a verdict on."""
        async with self._reader.execute(
            "SELECT COALESCE(s.confidence, s.score), "
            "MAX(CASE WHEN f.kind != 'not_relevant' THEN 1 ELSE 0 END) FROM shown s "
            "JOIN feedback f ON f.entry_id = s.entry_id AND f.thread_id = s.thread_id "
            "WHERE s.guild_id = ? AND s.position = 1 GROUP BY s.thread_id, s.entry_id",
            (guild_id,),
        ) as cur:
            return [(float(r[0]), bool(r[1])) for r in await cur.fetchall()]

    async def feedback_for(self, entry_id: int) -> list[Feedback]:
        async with self._reader.execute(
            "SELECT entry_id, guild_id, thread_id, user_id, kind, created_at FROM feedback "
            "WHERE entry_id = ? ORDER BY id",
            (entry_id,),
        ) as cur:
            rows = list(await cur.fetchall())
        return [
            Feedback(
                entry_id=int(r[0]),
                guild_id=int(r[1]),
                thread_id=int(r[2]),
                user_id=int(r[3]),
                kind=FeedbackKind(r[4]),
                created_at=datetime.fromisoformat(r[5]),
            )
            for r in rows
        ]

    # -- entries: reads ------------------------------------------------------------

    async def count(self, guild_id: int | None = None, scopes: Iterable[str] | None = None) -> int:
        if self.db.lexical is not None and guild_id is not None and scopes is not None:
            return await self.db.lexical.count(self._reader, guild_id, scopes)
        where, params = _filters(guild_id, scopes, None)
        async with self._reader.execute(f"SELECT COUNT(*) FROM entries e {where}", params) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def allowed_ids(
        self, guild_id: int, scopes: Iterable[str], exclude_thread_id: int | None = None
    ) -> list[int]:
        where, params = _filters(guild_id, scopes, exclude_thread_id)
        async with self._reader.execute(f"SELECT e.id FROM entries e {where}", params) as cur:
            return [int(r[0]) for r in await cur.fetchall()]

    async def guild_ids(self) -> list[int]:
        async with self._reader.execute(
            "SELECT DISTINCT guild_id FROM entries ORDER BY guild_id"
        ) as cur:
            return [int(r[0]) for r in await cur.fetchall()]

    async def get_entry(self, entry_id: int) -> Entry | None:
        return (await self.get_entries([entry_id])).get(entry_id)

    async def get_entry_by_thread(self, thread_id: int) -> Entry | None:
        async with self._reader.execute(
            "SELECT id FROM entries WHERE thread_id = ?", (thread_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else await self.get_entry(int(row[0]))

    async def get_entries(
        self,
        ids: Sequence[int],
        *,
        guild_id: int | None = None,
        scopes: Iterable[str] | None = None,
        exclude_thread_id: int | None = None,
    ) -> dict[int, Entry]:
        """Entries by id; the filters are applied in SQL and can never be skipped."""
        scopes = None if scopes is None else tuple(scopes)
        result: dict[int, Entry] = {}
        for chunk in chunks(list(dict.fromkeys(ids))):
            where, params = _filters(guild_id, scopes, exclude_thread_id)
            where += (" AND " if where else "WHERE ") + f"e.id IN ({marks(len(chunk))})"
            async with self._reader.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM entries e {where}", (*params, *chunk)
            ) as cur:
                rows = list(await cur.fetchall())
            parts = await self._answer_parts(self._reader, [int(r[0]) for r in rows])
            for row in rows:
                entry = _entry(row, parts.get(int(row[0]), ()))
                result[entry.id] = entry
        return result

    @staticmethod
    async def _answer_parts(
        db: Connection, ids: Sequence[int]
    ) -> dict[int, tuple[AnswerPart, ...]]:
        parts: dict[int, list[AnswerPart]] = {}
        for chunk in chunks(ids):
            async with db.execute(
                "SELECT entry_id, message_id, author_id, author_name, content FROM answer_parts "
                f"WHERE entry_id IN ({marks(len(chunk))}) ORDER BY entry_id, position",
                chunk,
            ) as cur:
                for r in await cur.fetchall():
                    parts.setdefault(int(r[0]), []).append(
                        AnswerPart(int(r[1]), int(r[2]), str(r[3]), str(r[4]))
                    )
        return {k: tuple(v) for k, v in parts.items()}

    async def iter_documents(
        self, *, batch_size: int = 256, ids: Sequence[int] | None = None
    ) -> AsyncIterator[list[IndexDocument]]:
        """Every entry's indexable text, in id order, batch by batch."""
        if ids is not None:
            for start in range(0, len(ids), batch_size):
                entries = await self.get_entries(ids[start : start + batch_size])
                yield [IndexDocument(e.id, e.title, e.question, e.answer) for e in entries.values()]
            return
        last = 0
        while True:
            async with self._reader.execute(
                "SELECT id, title, question FROM entries WHERE id > ? ORDER BY id LIMIT ?",
                (last, batch_size),
            ) as cur:
                rows = list(await cur.fetchall())
            if not rows:
                return
            parts = await self._answer_parts(self._reader, [int(r[0]) for r in rows])
            yield [
                IndexDocument(
                    int(r[0]),
                    str(r[1]),
                    str(r[2]),
                    "\n\n".join(p.content for p in parts.get(int(r[0]), ())),
                )
                for r in rows
            ]
            last = int(rows[-1][0])

    # -- lexical search ------------------------------------------------------------

    async def _ranked(
        self,
        table: str,
        match: str,
        filters: tuple[str, tuple[object, ...]],
        limit: int,
    ) -> list[tuple[int, float]]:
        where, params = filters
        where = where.replace("WHERE", "AND", 1)
        try:
            async with self._reader.execute(
                f"SELECT f.rowid, bm25({table}, 2.0, 1.0) AS rank FROM {table} f "
                f"JOIN entries e ON e.id = f.rowid WHERE {table} MATCH ? {where} "
                "ORDER BY rank LIMIT ?",
                (match, *params, limit),
            ) as cur:
                rows = list(await cur.fetchall())
        except aiosqlite.OperationalError as error:
            log.warning("full-text query rejected by %s: %s", table, error)
            return []
        return [(int(r[0]), -float(r[1])) for r in rows]

    async def term_search(
        self,
        query_terms: Sequence[str],
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
        limit: int = 30,
    ) -> list[tuple[int, float]]:
        """Ranked match of segmented terms within the allowed entries:
        (entry id, bm25 with larger = better), best first."""
        if not query_terms:
            return []
        if self.db.lexical is not None:
            return await self.db.lexical.term_search(
                self._reader,
                query_terms,
                guild_id=guild_id,
                scopes=scopes,
                exclude_thread_id=exclude_thread_id,
                limit=limit,
            )
        filters = _filters(guild_id, scopes, exclude_thread_id)
        return await self._ranked(
            "entries_terms", lexical.match_expression(query_terms), filters, limit
        )

    async def substring_search(
        self,
        needles: Sequence[str],
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
        limit: int = 30,
    ) -> list[tuple[int, float]]:
        """Entries containing any of the needles as a substring, within the allowed
        entries. Needles of 3+ characters use the trigram index; shorter ones, which
        trigrams cannot match, fall back to ``LIKE`` (a scan of the guild's entries)."""
        long = [n for n in needles if len(n) >= 3]
        short = [n for n in needles if 0 < len(n) < 3]
        if self.db.lexical is not None:
            return await self.db.lexical.substring_search(
                self._reader,
                needles,
                guild_id=guild_id,
                scopes=scopes,
                exclude_thread_id=exclude_thread_id,
                limit=limit,
            )
        filters = _filters(guild_id, scopes, exclude_thread_id)
        results: dict[int, float] = {}
        if long:
            for entry_id, score in await self._ranked(
                "entries_fts", lexical.match_expression(long), filters, limit
            ):
                results[entry_id] = score
        if short:
            where, params = filters
            where = where.replace("WHERE", "AND", 1)
            hits = " + ".join(["((f.title || ' ' || f.body) LIKE ? ESCAPE '\\')"] * len(short))
            patterns = [
                "%" + n.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                for n in short
            ]
            # Driven from the server's entries (its index), each looked up by rowid:
            # the scan costs the server's size, not the whole base's.
            async with self._reader.execute(
                f"SELECT f.rowid, ({hits}) AS n FROM entries e "
                f"JOIN entries_fts f ON f.rowid = e.id WHERE n > 0 {where} "
                "ORDER BY n DESC, f.rowid LIMIT ?",
                (*patterns, *params, limit),
            ) as cur:
                for r in await cur.fetchall():
                    results.setdefault(int(r[0]), float(r[1]))
        return sorted(results.items(), key=lambda item: -item[1])[:limit]

    async def term_frequencies(
        self, guild_id: int, terms: Iterable[str]
    ) -> tuple[dict[str, int], int]:
        """({term: entries of the server holding it}, entries of the server), for the
        terms any of its entries holds: the statistics a question's term weights come
        from, the server's own, whatever other servers hold."""
        unique = list(dict.fromkeys(terms))
        if self.db.lexical is not None:
            return await self.db.lexical.term_frequencies(self._reader, guild_id, unique)
        freqs: dict[str, int] = {}
        for start in range(0, len(unique), CHUNK):
            chunk = unique[start : start + CHUNK]
            async with self._reader.execute(
                "SELECT term, documents FROM term_frequencies "
                f"WHERE guild_id = ? AND term IN ({marks(len(chunk))})",
                (guild_id, *chunk),
            ) as cur:
                for term, documents in await cur.fetchall():
                    freqs[str(term)] = int(documents)
        return freqs, await self.count(guild_id)

    async def term_sets(self, ids: Sequence[int]) -> dict[int, set[str]]:
        """The segmented terms of entries, as the ranked full-text index holds them."""
        if self.db.lexical is not None:
            return await self.db.lexical.term_sets(self._reader, ids)
        sets: dict[int, set[str]] = {}
        for chunk in chunks(list(ids)):
            async with self._reader.execute(
                "SELECT rowid, title || ' ' || body FROM entries_terms "
                f"WHERE rowid IN ({marks(len(chunk))})",
                chunk,
            ) as cur:
                for r in await cur.fetchall():
                    sets[int(r[0])] = set(str(r[1]).split())
        return sets

    async def term_documents(
        self, *, after: int = 0, limit: int = 2048, ids: Sequence[int] | None = None
    ) -> list[TermRow]:
        """Entries' segmented terms with their guild, scope and thread, for the derived
        term index: the entries ``ids`` (those still stored), or the next ``limit``
        entries with an id above ``after``, in id order."""
        if self.db.lexical is not None:
            found = await self.db.lexical.term_documents(
                self._reader, after=after, limit=limit, ids=ids
            )
            return [TermRow(*row) for row in found]
        sql = (
            "SELECT e.id, e.guild_id, e.scope, e.thread_id, t.title, t.body, "
            "f.title || ' ' || f.body FROM entries e "
            "JOIN entries_terms t ON t.rowid = e.id JOIN entries_fts f ON f.rowid = e.id "
        )
        rows: list[Any] = []
        if ids is None:
            async with self._reader.execute(
                sql + "WHERE e.id > ? ORDER BY e.id LIMIT ?", (after, limit)
            ) as cur:
                rows = list(await cur.fetchall())
        else:
            for chunk in chunks(list(ids)):
                async with self._reader.execute(
                    sql + f"WHERE e.id IN ({marks(len(chunk))}) ORDER BY e.id", chunk
                ) as cur:
                    rows += list(await cur.fetchall())
        return [
            TermRow(int(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4]), str(r[5]), str(r[6]))
            for r in rows
        ]

    # -- stats ---------------------------------------------------------------------

    async def stats(self, guild_id: int | None = None) -> Stats:
        where, params = _filters(guild_id, None, None)

        async def grouped(column: str) -> dict[str, int]:
            async with self._reader.execute(
                f"SELECT {column}, COUNT(*) FROM entries e {where} GROUP BY {column}", params
            ) as cur:
                return {str(k): int(v) for k, v in await cur.fetchall()}

        async def scalar(sql: str) -> int:
            async with self._reader.execute(sql, params) as cur:
                row = await cur.fetchone()
            return int(row[0] or 0) if row else 0

        fb_where = "WHERE guild_id = ?" if guild_id is not None else ""
        async with self._reader.execute(
            f"SELECT kind, COUNT(*) FROM feedback {fb_where} GROUP BY kind", params
        ) as cur:
            feedback = {str(k): int(v) for k, v in await cur.fetchall()}
        async with self._reader.execute(
            "SELECT a.author_id, MAX(a.author_name), COUNT(DISTINCT a.entry_id) AS n "
            f"FROM answer_parts a JOIN entries e ON e.id = a.entry_id {where} "
            "GROUP BY a.author_id ORDER BY n DESC, a.author_id LIMIT 5",
            params,
        ) as cur:
            top = tuple((int(r[0]), str(r[1]), int(r[2])) for r in await cur.fetchall())
        return Stats(
            entries=await scalar(f"SELECT COUNT(*) FROM entries e {where}"),
            guilds=await scalar(f"SELECT COUNT(DISTINCT guild_id) FROM entries e {where}"),
            by_language=await grouped("language"),
            by_scope=await grouped("scope"),
            answerers=await scalar(
                "SELECT COUNT(DISTINCT a.author_id) FROM answer_parts a "
                f"JOIN entries e ON e.id = a.entry_id {where}"
            ),
            total_hits=await scalar(f"SELECT SUM(hits) FROM entries e {where}"),
            feedback=feedback,
            top_answerers=top,
        )

    # -- where entries live (for the vector index's per-server id sets) -----------

    async def entry_places(
        self, *, after: int = 0, limit: int = 65_536, ids: Sequence[int] | None = None
    ) -> list[EntryPlace]:
        """Entries' server, scope and thread: the entries ``ids`` (those still stored),
        or the next ``limit`` entries with an id above ``after``, in id order."""
        sql = "SELECT id, guild_id, scope, thread_id FROM entries "
        rows: list[Any] = []
        if ids is None:
            async with self._reader.execute(
                sql + "WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ) as cur:
                rows = list(await cur.fetchall())
        else:
            for chunk in chunks(list(ids)):
                async with self._reader.execute(
                    sql + f"WHERE id IN ({marks(len(chunk))}) ORDER BY id", chunk
                ) as cur:
                    rows += list(await cur.fetchall())
        return [EntryPlace(int(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]


@dataclass(frozen=True, slots=True)
class EntryPlace:
    """Where an entry lives: its server, its scope and its thread."""

    id: int
    guild_id: int
    scope: str
    thread_id: int


async def _count_terms(db: Connection, changes: Mapping[tuple[int, str], int]) -> None:
    """Add ``changes`` ({(server, term): entries gained or lost}) to the servers'
    document frequencies; a term leaves with the server's last entry holding it."""
    rows = [(guild_id, term, n) for (guild_id, term), n in changes.items() if n]
    if not rows:
        return
    await db.executemany(
        "INSERT INTO term_frequencies (guild_id, term, documents) VALUES (?, ?, ?) "
        "ON CONFLICT (guild_id, term) DO UPDATE SET documents = documents + excluded.documents",
        rows,
    )
    await db.executemany(
        "DELETE FROM term_frequencies WHERE guild_id = ? AND term = ? AND documents <= 0",
        [(guild_id, term) for guild_id, term, n in rows if n < 0],
    )


def _filters(
    guild_id: int | None, scopes: Iterable[str] | None, exclude_thread_id: int | None
) -> tuple[str, tuple[object, ...]]:
    clauses: list[str] = []
    params: list[object] = []
    if guild_id is not None:
        clauses.append("e.guild_id = ?")
        params.append(guild_id)
    if scopes is not None:
        scope_list = sorted(set(scopes))
        if not scope_list:
            clauses.append("1 = 0")
        else:
            clauses.append(f"e.scope IN ({marks(len(scope_list))})")
            params.extend(scope_list)
    if exclude_thread_id is not None:
        clauses.append("e.thread_id != ?")
        params.append(exclude_thread_id)
    return ("WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)


def _entry(row: Sequence[Any], parts: tuple[AnswerPart, ...]) -> Entry:
    return Entry(
        id=int(row[0]),
        guild_id=int(row[1]),
        forum_id=int(row[2]),
        thread_id=int(row[3]),
        title=str(row[4]),
        question=str(row[5]),
        asker_id=int(row[6]),
        asker_name=str(row[7]),
        tags=tuple(json.loads(str(row[8]))),
        asked_at=datetime.fromisoformat(str(row[9])),
        solved_at=datetime.fromisoformat(str(row[10])),
        jump_url=str(row[11]),
        language=str(row[12]),
        scope=str(row[13]),
        hits=int(row[14]),
        answer_parts=parts,
    )
