"""The knowledge engine: the use cases the cogs and the CLI call.

``KnowledgeBase`` ties the store (SQLite, the truth) to the vector index (FAISS,
derived). Every mutation goes store first, then index, under one lock, so the
index always reflects a known store revision; the index on disk records that
revision and is caught up from the store's change log when it is loaded, or
rebuilt when it cannot be trusted (another model, another database, damage).

CPU-heavy work (encoding, FAISS) runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from index.encoder import Encoder
from index.vectors import (
    APPROXIMATE_FROM,
    IndexMismatch,
    VectorIndex,
    choose_kind,
    read_meta,
)
from knowledge import lexical
from knowledge.cleaning import clean_for_storage, detect_language, to_index_text
from knowledge.community import CommunityStore
from knowledge.db import Clock, utcnow
from knowledge.models import (
    AnswerPart,
    Entry,
    EntryDraft,
    Feedback,
    FeedbackKind,
    Query,
    RemovedContent,
    Stats,
    Suggestion,
    Thread,
)
from knowledge.ranking import Candidate, rank
from knowledge.solution_inference import infer_solution
from knowledge.store import IndexDocument, KnowledgeStore

log = logging.getLogger(__name__)

DB_FILE = "senpai.db"
INDEX_DIR = "index"


class KnowledgeError(Exception):
    """Base of the engine's own errors; the message is meant for people."""


class CaptureError(KnowledgeError):
    """A thread cannot be captured as asked (no question, no valid answer...).

    ``code`` names the reason for callers that word it themselves (localised):
    no_question, no_answer, is_question, bot_answer, empty_answer, not_in_post.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class IndexNotReady(KnowledgeError):
    """The vector index must be rebuilt before suggestions can be made."""


class RebuildInProgress(KnowledgeError):
    """A rebuild is already running."""


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """How suggestions are retrieved and when the engine stays silent.

    ``score = dense_weight * cosine + (1 - dense_weight) * lexical overlap``;
    nothing scoring under ``threshold`` is ever shown. When the question has a
    title, the cosine is ``(1 - title_weight) * cos(full text) + title_weight *
    cos(title)``: one search with the blended query vector, since both are inner
    products with the same entry vector.
    """

    threshold: float = 0.5
    dense_weight: float = 0.9
    title_weight: float = 0.5
    candidates: int = 30
    index_answer: bool = False
    approximate_from: int = APPROXIMATE_FROM
    language_dense_weights: tuple[tuple[str, float], ...] = (("ja", 0.6),)

    def dense_weight_for(self, language: str) -> float:
        """The dense weight for a question in ``language``.

        The default encoder (all-MiniLM-L6-v2) was trained on English; in
        Japanese its vectors carry little meaning, so Japanese questions lean on
        the lexical signal (character bigrams) instead.
        """
        return dict(self.language_dense_weights).get(language, self.dense_weight)

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError("dense_weight must be between 0 and 1")
        if not 0.0 <= self.title_weight <= 1.0:
            raise ValueError("title_weight must be between 0 and 1")
        if any(not 0.0 <= w <= 1.0 for _, w in self.language_dense_weights):
            raise ValueError("language dense weights must be between 0 and 1")
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")


@dataclass(frozen=True, slots=True)
class CaptureResult:
    entry_id: int
    thread_id: int
    created: bool


@dataclass(frozen=True, slots=True)
class RebuildProgress:
    """Reported during a rebuild: entries encoded so far, of ``total``."""

    done: int
    total: int
    elapsed: float

    @property
    def fraction(self) -> float:
        return 1.0 if self.total <= 0 else min(1.0, self.done / self.total)

    @property
    def eta(self) -> float | None:
        """Seconds left, estimated from the rate so far."""
        if self.done <= 0 or self.total <= 0:
            return None
        return max(0.0, self.elapsed * (self.total - self.done) / self.done)


@dataclass(frozen=True, slots=True)
class RebuildReport:
    entries: int
    seconds: float


@dataclass(slots=True)
class IndexStatus:
    ready: bool
    entries: int = 0
    reason: str = ""
    dirty: bool = False
    applied_revision: int = 0
    kind: str = ""


ProgressCallback = Callable[[RebuildProgress], None]


def likely_answer(thread: Thread) -> int | None:
    """The reply most likely to have solved a post: the inferred solution, else the
    latest reply by someone other than the asker (never a bot)."""
    solution = infer_solution(thread)
    if solution is not None:
        return solution.answer_ids[-1]
    asker = thread.asker
    for message in reversed(thread.messages):
        if message.id == thread.thread_id or message.author.bot:
            continue
        if asker is None or message.author.id != asker.id:
            return message.id
    return None


class KnowledgeBase:
    """Solved threads in, "someone already faced this" out."""

    def __init__(
        self,
        store: KnowledgeStore,
        encoder: Encoder,
        index_dir: Path,
        config: SearchConfig | None = None,
    ) -> None:
        self.store = store
        self.community = CommunityStore(store.db)
        self.encoder = encoder
        self.index_dir = index_dir
        self.config = config or SearchConfig()
        self._index: VectorIndex | None = None
        self._applied = 0
        self._dirty = False
        self._reason = "not loaded"
        self._write_lock = asyncio.Lock()
        self._rebuilding = False

    # -- lifecycle -----------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        data_dir: Path,
        encoder: Encoder,
        config: SearchConfig | None = None,
        *,
        rebuild_if_needed: bool = True,
        progress: ProgressCallback | None = None,
        clock: Clock = utcnow,
    ) -> KnowledgeBase:
        """Open the knowledge base in ``data_dir`` and load (or catch up) its index.

        When the saved index cannot be used and ``rebuild_if_needed`` is true, it
        is rebuilt from the store before this returns; otherwise the knowledge
        base opens with :attr:`index_ready` false and suggestions raise
        :class:`IndexNotReady` until :meth:`rebuild` runs.
        """
        store = await KnowledgeStore.open(data_dir / DB_FILE, clock=clock)
        kb = cls(store, encoder, data_dir / INDEX_DIR, config)
        try:
            await kb.load_index()
            if not kb.index_ready and rebuild_if_needed:
                await kb.rebuild(progress)
        except BaseException:
            await store.close()
            raise
        return kb

    async def close(self) -> None:
        """Save the index if it changed, then close the store."""
        try:
            await self.flush()
        finally:
            await self.store.close()

    @property
    def index_ready(self) -> bool:
        return self._index is not None

    async def index_status(self) -> IndexStatus:
        index = self._index
        return IndexStatus(
            ready=index is not None,
            entries=len(index) if index is not None else 0,
            reason=self._reason,
            dirty=self._dirty,
            applied_revision=self._applied,
            kind=index.kind if index is not None else "",
        )

    async def load_index(self) -> None:
        """Load the saved index; catch it up with the store, or record why it can't be."""
        dim = await asyncio.to_thread(lambda: self.encoder.dim)
        try:
            meta = await asyncio.to_thread(read_meta, self.index_dir)
            if meta is None and await self.store.count() == 0:
                # A new knowledge base: an empty index is trivially up to date.
                async with self._write_lock:
                    self._index = VectorIndex(dim)
                    self._applied = await self.store.revision()
                    self._reason = ""
                return
            if meta is None:
                raise IndexMismatch(self.index_dir, "no saved index")
            store_id, _, revision = meta.fingerprint.partition(":")
            if store_id != self.store.store_id or not revision.isdigit():
                raise IndexMismatch(self.index_dir, "it was built from another database")
            index = await asyncio.to_thread(
                VectorIndex.load,
                self.index_dir,
                expected_model=self.encoder.name,
                expected_dim=dim,
                expected_fingerprint=meta.fingerprint,
            )
        except IndexMismatch as error:
            self._index = None
            self._reason = str(error)
            log.warning("vector index needs a rebuild: %s", error)
            return
        async with self._write_lock:
            applied = int(revision)
            changes = await self.store.changes_since(applied)
            if changes.changed or changes.removed:
                log.info(
                    "catching the index up: %d changed, %d removed since revision %d",
                    len(changes.changed),
                    len(changes.removed),
                    applied,
                )
                await self._apply(index, changes.changed, changes.removed)
                self._dirty = True
            self._index = index
            self._applied = changes.revision
            self._reason = ""

    async def flush(self) -> bool:
        """Save the index to disk if it changed since the last save. Returns True if saved."""
        async with self._write_lock:
            index = self._index
            if index is None or not self._dirty:
                return False
            fingerprint = f"{self.store.store_id}:{self._applied}"
            await asyncio.to_thread(
                index.save, self.index_dir, model=self.encoder.name, fingerprint=fingerprint
            )
            self._dirty = False
            applied = self._applied
        await self.store.prune_tombstones(applied)
        return True

    # -- encoding ------------------------------------------------------------------

    def _dense_text(self, doc: IndexDocument) -> str:
        text = f"{doc.title}\n{doc.question}"
        if self.config.index_answer:
            text = f"{text}\n{doc.answer}"
        return to_index_text(text)

    async def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return await asyncio.to_thread(self.encoder.encode, list(texts))

    async def _apply(
        self, index: VectorIndex, changed: Sequence[int], removed: Sequence[int]
    ) -> None:
        """Re-encode ``changed`` entries into ``index`` and drop ``removed`` ones."""
        if removed:
            await asyncio.to_thread(index.remove, list(removed))
        present: set[int] = set()
        async for batch in self.store.iter_documents(ids=list(changed)):
            if not batch:
                continue
            vectors = await self._encode([self._dense_text(doc) for doc in batch])
            await asyncio.to_thread(index.add, [doc.id for doc in batch], vectors)
            present.update(doc.id for doc in batch)
        # An entry that is no longer in the store must not stay indexed.
        stale = [doc_id for doc_id in changed if doc_id not in present]
        if stale:
            await asyncio.to_thread(index.remove, stale)

    async def _sync_index(self, changed: Sequence[int], removed: Sequence[int]) -> None:
        """After a store write (with the write lock held): bring the live index along."""
        if self._index is not None:
            await self._apply(self._index, changed, removed)
            self._dirty = True
            self._applied = await self.store.revision()

    # -- capture -------------------------------------------------------------------

    def draft(
        self, thread: Thread, answer_ids: Sequence[int], *, solved_at: datetime | None = None
    ) -> EntryDraft:
        """Validate and clean a thread and its chosen answer into a storable entry."""
        starter = thread.starter
        if starter is None:
            raise CaptureError("no_question", "the post's opening message is missing")
        if not answer_ids:
            raise CaptureError("no_answer", "choose at least one answer message")
        by_id = {m.id: m for m in thread.messages}
        parts: list[AnswerPart] = []
        wanted = list(dict.fromkeys(answer_ids))
        for message in thread.messages:
            if message.id not in wanted:
                continue
            if message.id == starter.id:
                raise CaptureError(
                    "is_question", "the opening message is the question, not its answer"
                )
            if message.author.bot:
                raise CaptureError("bot_answer", "a bot's message cannot be the answer")
            content = clean_for_storage(message.content)
            if not content.strip():
                raise CaptureError("empty_answer", "the answer message has no text")
            parts.append(AnswerPart(message.id, message.author.id, message.author.name, content))
        missing = [mid for mid in wanted if mid not in by_id]
        if missing:
            raise CaptureError("not_in_post", "the answer message is not in this post")
        title = clean_for_storage(thread.title, max_chars=200)
        question = clean_for_storage(starter.content)
        answered = [by_id[p.message_id].created_at for p in parts]
        return EntryDraft(
            guild_id=thread.guild_id,
            forum_id=thread.forum_id,
            thread_id=thread.thread_id,
            title=title,
            question=question,
            question_message_id=starter.id,
            answer_parts=tuple(parts),
            asker_id=starter.author.id,
            asker_name=starter.author.name,
            tags=thread.tags,
            asked_at=starter.created_at,
            solved_at=solved_at or max(answered),
            jump_url=thread.jump_url
            or f"https://discord.com/channels/{thread.guild_id}/{thread.thread_id}",
            language=detect_language(f"{title}\n{question}"),
            scope=thread.scope,
        )

    async def capture(
        self, thread: Thread, answer_ids: Sequence[int], *, solved_at: datetime | None = None
    ) -> CaptureResult:
        """Capture (or re-capture) a solved thread with its chosen answer message(s)."""
        return (await self.capture_many([(thread, answer_ids, solved_at)]))[0]

    async def capture_many(
        self, items: Sequence[tuple[Thread, Sequence[int], datetime | None]]
    ) -> list[CaptureResult]:
        """Capture several threads at once (encodes in batches; for imports)."""
        drafts = [self.draft(t, ids, solved_at=at) for t, ids, at in items]
        results: list[CaptureResult] = []
        async with self._write_lock:
            for draft in drafts:
                entry, created = await self.store.upsert_entry(draft)
                results.append(CaptureResult(entry.id, entry.thread_id, created))
            await self._sync_index([r.entry_id for r in results], [])
        for result in results:
            log.info(
                "captured thread %d as entry %d (%s)",
                result.thread_id,
                result.entry_id,
                "new" if result.created else "updated",
            )
        return results

    async def capture_inferred(self, thread: Thread) -> CaptureResult | None:
        """Capture a thread from history if its messages show it was solved."""
        solution = infer_solution(thread)
        if solution is None:
            return None
        return await self.capture(thread, solution.answer_ids)

    # -- removal and edits ---------------------------------------------------------

    async def remove_thread(self, thread_id: int) -> bool:
        """The thread was deleted or marked unsolved: remove its entry."""
        async with self._write_lock:
            entry = await self.store.delete_thread(thread_id)
            if entry is not None:
                await self._sync_index([], [entry.id])
        return entry is not None

    async def remove_message(self, message_id: int) -> RemovedContent:
        """A message was deleted: entries whose question or whole answer it was go away,
        multi-message answers lose that part."""
        async with self._write_lock:
            updated, removed = await self.store.remove_message(message_id)
            if updated or removed:
                await self._sync_index([e.id for e in updated], [e.id for e in removed])
        return RemovedContent(
            entry_ids=tuple(e.id for e in removed), thread_ids=tuple(e.thread_id for e in removed)
        )

    async def edit_message(self, message_id: int, content: str) -> int:
        """A captured message was edited: store and index its new text. Returns entries hit."""
        cleaned = clean_for_storage(content)
        if not cleaned.strip():
            return (await self.remove_message(message_id)).entries
        async with self._write_lock:
            entries = await self.store.edit_message(message_id, cleaned)
            if entries:
                await self._sync_index([e.id for e in entries], [])
        return len(entries)

    async def forget_member(self, user_id: int) -> RemovedContent:
        """Remove everything a member asked and answered (an entry goes if either side
        goes), their feedback, and their question history and nudges: the one
        "forget a member" use case behind every surface that forgets."""
        async with self._write_lock:
            removed = await self.store.forget_user(user_id)
            await self._sync_index([], removed.entry_ids)
        questions = await self.community.forget_user(user_id)
        await self.community.forget_threads(removed.thread_ids)
        log.info("forgot user %d: %d entries removed", user_id, removed.entries)
        return RemovedContent(
            entry_ids=removed.entry_ids,
            thread_ids=removed.thread_ids,
            feedback_count=removed.feedback_count,
            questions=questions,
        )

    async def forget_guild(self, guild_id: int) -> RemovedContent:
        """Remove every entry of a guild."""
        async with self._write_lock:
            removed = await self.store.delete_guild(guild_id)
            await self._sync_index([], removed.entry_ids)
        return removed

    # -- lookups -------------------------------------------------------------------

    async def entry(self, entry_id: int) -> Entry | None:
        """One stored entry by its id."""
        return await self.store.get_entry(entry_id)

    async def entry_for_thread(self, thread_id: int) -> Entry | None:
        """The entry captured from a thread, if it was captured."""
        return await self.store.get_entry_by_thread(thread_id)

    async def guild_ids(self) -> list[int]:
        """The guilds that have entries."""
        return await self.store.guild_ids()

    # -- feedback ------------------------------------------------------------------

    async def record_feedback(
        self, entry_id: int, *, guild_id: int, thread_id: int, user_id: int, kind: FeedbackKind
    ) -> bool:
        """Record a member's verdict on a suggestion; "solved by suggestion" counts a hit."""
        return await self.store.record_feedback(
            Feedback(entry_id, guild_id, thread_id, user_id, kind, self.store.db.clock())
        )

    # -- suggestions ---------------------------------------------------------------

    async def suggest(self, query: Query) -> list[Suggestion]:
        """The solved threads closest to a new question, best first; empty when unsure.

        Only entries of the query's guild, within its allowed scopes, and never
        the question's own thread: these filters are applied by the store in SQL.
        """
        index = self._index
        if index is None:
            raise IndexNotReady(f"the vector index must be rebuilt first ({self._reason})")
        text = to_index_text(clean_for_storage(query.text))
        if not text.strip() or query.limit < 1:
            return []
        scopes = frozenset(query.allowed_scopes)
        k = self.config.candidates
        query_terms = lexical.terms(text)
        needles = lexical.substring_needles(text)
        compact = "".join(text.split())
        if len(compact) < 3:
            needles = [compact]

        allowed_count = await self.store.count(query.guild_id, scopes)
        if allowed_count == 0:
            return []
        title = to_index_text(clean_for_storage(query.title)) if query.title else ""
        weight = self.config.title_weight if title.strip() else 0.0
        vector_task = asyncio.create_task(self._encode([text, title] if weight else [text]))
        frequencies = await self.store.document_frequencies(query_terms)
        total = max(len(index), allowed_count)
        weights = {t: lexical.idf(total, frequencies.get(t, 0)) for t in set(query_terms)}
        term_hits = await self.store.term_search(
            lexical.selective_terms(query_terms, frequencies, total),
            guild_id=query.guild_id,
            scopes=scopes,
            exclude_thread_id=query.exclude_thread_id,
            limit=k,
        )
        substring_hits = (
            await self.store.substring_search(
                needles,
                guild_id=query.guild_id,
                scopes=scopes,
                exclude_thread_id=query.exclude_thread_id,
                limit=k,
            )
            if needles
            else []
        )
        encoded = await vector_task
        vector = encoded[0] if not weight else (1.0 - weight) * encoded[0] + weight * encoded[1]
        dense_hits = await self._dense_search(index, vector, query, scopes, allowed_count, k)

        candidate_ids = list(
            dict.fromkeys(
                [i for i, _ in dense_hits]
                + [i for i, _ in term_hits]
                + [i for i, _ in substring_hits]
            )
        )
        entries = await self.store.get_entries(
            candidate_ids,
            guild_id=query.guild_id,
            scopes=scopes,
            exclude_thread_id=query.exclude_thread_id,
        )
        if not entries:
            return []
        ids = [i for i in candidate_ids if i in entries]
        dense = dict(dense_hits)
        missing = [i for i in ids if i not in dense and index.contains(i)]
        if missing:
            stored = await asyncio.to_thread(index.vectors, missing)
            dense.update(zip(missing, (stored @ vector).tolist(), strict=True))
        overlap = await self._lexical_scores(query_terms, weights, ids)
        in_terms = {i for i, _ in term_hits}
        in_substrings = {i for i, _ in substring_hits}
        in_dense = {i for i, _ in dense_hits}
        candidates = [
            Candidate(
                entry=entries[i],
                cosine=float(dense.get(i, 0.0)),
                overlap=overlap.get(i, 0.0),
                dense_hit=i in in_dense,
                term_hit=i in in_terms,
                substring_hit=i in in_substrings,
            )
            for i in ids
        ]
        return rank(
            candidates,
            query,
            dense_weight=self.config.dense_weight_for(detect_language(text)),
            threshold=self.config.threshold,
        )

    async def _dense_search(
        self,
        index: VectorIndex,
        vector: np.ndarray,
        query: Query,
        scopes: frozenset[str],
        allowed_count: int,
        k: int,
    ) -> list[tuple[int, float]]:
        """Nearest entries among those the query may see.

        When the allowed entries are a small part of the index (a guild among
        many, a public forum beside large private ones), the search is
        restricted to them by id; otherwise it over-fetches and the store's
        filter drops the rest.
        """
        total = len(index)
        if total == 0:
            return []
        if allowed_count * 2 < total:
            allowed = await self.store.allowed_ids(query.guild_id, scopes, query.exclude_thread_id)
            return await asyncio.to_thread(index.search, vector, k, allowed_ids=allowed)
        fetch = min(total, k + max(k, int(k * total / max(allowed_count, 1))))
        return await asyncio.to_thread(index.search, vector, fetch)

    async def _lexical_scores(
        self, query_terms: Sequence[str], weights: dict[str, float], ids: Sequence[int]
    ) -> dict[int, float]:
        if not query_terms or not ids:
            return {}
        sets = await self.store.term_sets(ids)
        return {
            entry_id: lexical.weighted_overlap(query_terms, sets.get(entry_id, set()), weights)
            for entry_id in ids
        }

    # -- rebuild -------------------------------------------------------------------

    async def rebuild(self, progress: ProgressCallback | None = None) -> RebuildReport:
        """Re-encode every entry into a new index, then swap it in and save it.

        The index kind follows the size (:func:`index.vectors.choose_kind`):
        exact while small, approximate beyond the measured point.

        The live index keeps serving while the new one is built; entries
        captured meanwhile are caught up before the swap. The files on disk are
        replaced atomically at the end, so a crash leaves the previous index.
        """
        if self._rebuilding:
            raise RebuildInProgress("a rebuild is already running")
        self._rebuilding = True
        started = time.monotonic()
        try:
            dim = await asyncio.to_thread(lambda: self.encoder.dim)
            snapshot = await self.store.revision()
            total = await self.store.count()
            fresh = VectorIndex(dim)
            done = 0
            if progress is not None:
                progress(RebuildProgress(0, total, 0.0))
            async for batch in self.store.iter_documents(batch_size=128):
                vectors = await self._encode([self._dense_text(doc) for doc in batch])
                await asyncio.to_thread(fresh.add, [doc.id for doc in batch], vectors)
                done += len(batch)
                if progress is not None:
                    progress(RebuildProgress(done, max(total, done), time.monotonic() - started))
            kind = choose_kind(
                done,
                threshold=self.config.approximate_from,
                current=self._index.kind if self._index else None,
            )
            if kind != fresh.kind:
                # Exact search while small; past a measured size an approximate
                # index (trained on everything just encoded) keeps search fast.
                fresh = await asyncio.to_thread(fresh.convert, kind)
            async with self._write_lock:
                changes = await self.store.changes_since(snapshot)
                await self._apply(fresh, changes.changed, changes.removed)
                self._index = fresh
                self._applied = changes.revision
                self._reason = ""
                self._dirty = True
            await self.flush()
        finally:
            self._rebuilding = False
        seconds = time.monotonic() - started
        log.info("rebuilt the vector index: %d entries in %.1f s", done, seconds)
        return RebuildReport(entries=len(fresh), seconds=seconds)

    # -- stats ---------------------------------------------------------------------

    async def stats(self, guild_id: int | None = None) -> Stats:
        stats = await self.store.stats(guild_id)
        index = self._index
        fresh = index is not None and self._applied == await self.store.revision()
        return Stats(
            entries=stats.entries,
            guilds=stats.guilds,
            by_language=stats.by_language,
            by_scope=stats.by_scope,
            answerers=stats.answerers,
            total_hits=stats.total_hits,
            feedback=stats.feedback,
            top_answerers=stats.top_answerers,
            index_entries=len(index) if index is not None else None,
            index_fresh=fresh,
        )
