"""The knowledge base: the use cases the cogs, the CLI and the demo call.

``KnowledgeBase`` is the one door into the core. It ties the store (SQLite,
the truth) to the live vector index (FAISS, derived): every mutation goes to
the store first, then the index catches up from the store's change log under
one lock, so the index always reflects a known store revision. Capture rules
live in :mod:`knowledge.capture`, retrieval in :mod:`knowledge.retrieval`, the
index's life in :mod:`knowledge.live_index`.

CPU-heavy work (encoding, FAISS) runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo

from index.encoder import Encoder
from knowledge.bridge import Glossary
from knowledge.capture import draft_entry, likely_answer
from knowledge.cleaning import clean_for_storage
from knowledge.community import CommunityStore
from knowledge.credit import (
    BEGINNING,
    BOARD_SIZE,
    FOREVER,
    REUSE_WINDOW,
    CreditDigest,
    CreditEvent,
    CreditKind,
    CreditLine,
    CreditPrefs,
    CreditSettings,
    CreditStore,
    HelperScore,
    NoticeState,
    RoleGrant,
    RoleState,
    ThanksDue,
    ThanksState,
    board_period,
    role_grants,
    tally,
    thanks_due,
)
from knowledge.db import Clock, utcnow
from knowledge.errors import CaptureError, IndexNotReady, KnowledgeError, RebuildInProgress
from knowledge.glossary_store import (
    GlossaryStore,
    GlossaryTerm,
    ImportResult,
    ServerGlossaries,
    export_tsv,
    parse_term,
    parse_tsv,
)
from knowledge.history import question_history
from knowledge.invitations import DAY as INVITE_DAY
from knowledge.invitations import (
    Claim,
    InvitationCounts,
    InvitationStore,
    InviteChoice,
    Invitee,
    InvitePolicy,
    choose_invitees,
    helpers_of,
)
from knowledge.learning import Calibration, calibrate
from knowledge.live_index import (
    IndexStatus,
    LiveIndex,
    ProgressCallback,
    RebuildProgress,
    RebuildReport,
)
from knowledge.live_terms import TERMS_DIR, LiveTermIndex
from knowledge.models import (
    PUBLIC_SCOPE,
    Entry,
    EntryDraft,
    Feedback,
    FeedbackKind,
    Query,
    RemovedContent,
    Retraction,
    Stats,
    Suggestion,
    Thread,
)
from knowledge.ranking import QuestionShape, Scored
from knowledge.report import Report, ReportError, build_report, periods_for
from knowledge.retrieval import Answer, Retriever, SearchConfig
from knowledge.schedule import (
    ReportRecord,
    ReportSchedule,
    Rhythm,
    ScheduledReport,
    ScheduleStore,
    last_complete_period,
    next_due,
    zone_or_utc,
)
from knowledge.shards import Shards
from knowledge.solution_inference import infer_solution
from knowledge.store import KnowledgeStore

# The public face of the core: the knowledge base, and the values and errors of
# its use cases, importable from one module.
__all__ = [
    "DB_FILE",
    "INDEX_DIR",
    "Answer",
    "Calibration",
    "CaptureError",
    "CaptureResult",
    "IndexNotReady",
    "IndexStatus",
    "KnowledgeBase",
    "KnowledgeError",
    "ProgressCallback",
    "RebuildInProgress",
    "RebuildProgress",
    "RebuildReport",
    "Report",
    "ReportError",
    "SearchConfig",
    "likely_answer",
]

log = logging.getLogger(__name__)

DB_FILE = "senpai.db"
INDEX_DIR = "index"

CLOSEST_FLOOR = 0.35
"""The lowest fused score :meth:`KnowledgeBase.closest_solved` lists: below the
suggestion threshold, since helpers judge the leads themselves."""

CaptureItem = tuple[Thread, Sequence[int], datetime | None]


@dataclass(frozen=True, slots=True)
class CaptureResult:
    entry_id: int
    thread_id: int
    created: bool
    widened: bool = False
    """A private entry was made visible more widely, as asked (``widen_scope``)."""


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
        self.config = config or SearchConfig()
        self.live = LiveIndex(
            store,
            encoder,
            index_dir,
            index_answer=self.config.index_answer,
            approximate_from=self.config.approximate_from,
        )
        self.terms = LiveTermIndex(store, index_dir.with_name(TERMS_DIR))
        self.retriever = Retriever(store, encoder, self.config, terms=self.terms, dense=self.live)
        self._calibrations: dict[int, Calibration] = {}
        self.retriever.glossaries = self.glossary_for

    def configure(self, config: SearchConfig) -> None:
        """Retrieve and rank with ``config`` from now on (benchmarks compare settings;
        what the index holds does not change, so no rebuild)."""
        self.config = config
        self.retriever.config = config
        self._calibrations.clear()

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
        readonly: bool = False,
        database_url: str | None = None,
    ) -> KnowledgeBase:
        """Open the knowledge base in ``data_dir`` and load (or catch up) its index.

        With ``database_url`` (``postgresql://...``) the store is that PostgreSQL
        database, shared with other processes, and ``data_dir`` holds only this
        process's derived vector index.

        When the saved index cannot be used and ``rebuild_if_needed`` is true, it
        is rebuilt from the store before this returns; otherwise the knowledge
        base opens with :attr:`index_ready` false and suggestions raise
        :class:`~knowledge.errors.IndexNotReady` until :meth:`rebuild` runs.
        ``readonly`` opens the database without writing to it (nothing is saved).
        """
        store = await KnowledgeStore.open(
            data_dir / DB_FILE, clock=clock, readonly=readonly, database_url=database_url
        )
        kb = cls(store, encoder, data_dir / INDEX_DIR, config)
        try:
            await kb.live.load()
            if not kb.index_ready and rebuild_if_needed and not readonly:
                await kb.rebuild(progress)
            # The derived term index serves large bases' lexical lookups on either
            # engine (PostgreSQL's SQL BM25 scores every posting of the question's
            # terms in the server; SQLite's FTS5 every matching row of the base).
            if not readonly:
                await kb.terms.load()
        except BaseException:
            await store.close()
            raise
        return kb

    async def close(self) -> None:
        """Save the index if it changed, then close the store."""
        try:
            await self.terms.close()  # a scrub left undone runs at the next start
            if not self.store.db.readonly:
                await self.flush()
        finally:
            await self.store.close()

    @property
    def index_ready(self) -> bool:
        return self.live.ready

    async def index_status(self) -> IndexStatus:
        return self.live.status()

    async def flush(self) -> bool:
        """Save the index to disk if it changed since the last save. Returns True if saved."""
        return await self.live.flush()

    async def rebuild(self, progress: ProgressCallback | None = None) -> RebuildReport:
        """Re-encode every entry into a new index (see :meth:`LiveIndex.rebuild`)."""
        return await self.live.rebuild(progress)

    async def _catch_up(self) -> None:
        """After a store write (with the index lock held): bring the live index along."""
        await self.live.catch_up()

    # -- capture -------------------------------------------------------------------

    def draft(
        self, thread: Thread, answer_ids: Sequence[int], *, solved_at: datetime | None = None
    ) -> EntryDraft:
        """Validate and clean a thread and its chosen answer into a storable entry."""
        return draft_entry(thread, answer_ids, solved_at=solved_at)

    async def capture(
        self,
        thread: Thread,
        answer_ids: Sequence[int],
        *,
        solved_at: datetime | None = None,
        widen_scope: bool = False,
    ) -> CaptureResult:
        """Capture (or re-capture) a solved thread with its chosen answer message(s)."""
        items = [(thread, answer_ids, solved_at)]
        return (await self.capture_many(items, widen_scope=widen_scope))[0]

    async def capture_many(
        self, items: Sequence[CaptureItem], *, widen_scope: bool = False
    ) -> list[CaptureResult]:
        """Capture several threads at once (encodes in batches; for imports).

        Raises :class:`~knowledge.errors.CaptureError` before writing anything if
        one thread cannot be captured: a member who opted out, a thread stored
        for another server (``conflict``), or a private entry that would become
        visible more widely without ``widen_scope`` (``scope``).
        """
        drafts = [self.draft(t, ids, solved_at=at) for t, ids, at in items]
        opted_out = await self.community.opted_out(
            {d.asker_id for d in drafts} | {p.author_id for d in drafts for p in d.answer_parts}
        )
        drafts = [_without_opted_out(d, opted_out) for d in drafts]
        results: list[CaptureResult] = []
        async with self.live.lock:
            widened = [await self._check_identity(d, widen_scope=widen_scope) for d in drafts]
            for draft, widens in zip(drafts, widened, strict=True):
                entry, created = await self.store.upsert_entry(draft)
                results.append(CaptureResult(entry.id, entry.thread_id, created, widens))
            await self._catch_up()
        for result in results:
            log.info(
                "captured thread %d as entry %d (%s)",
                result.thread_id,
                result.entry_id,
                "new" if result.created else "updated",
            )
        return results

    async def _check_identity(self, draft: EntryDraft, *, widen_scope: bool) -> bool:
        """Refuse a capture that would move an entry or widen it unasked; True if it widens."""
        existing = await self.store.get_entry_by_thread(draft.thread_id)
        if existing is None:
            return False
        if existing.guild_id != draft.guild_id:
            raise CaptureError(
                "conflict",
                f"thread {draft.thread_id} is already stored for server {existing.guild_id}, "
                f"not {draft.guild_id}; it was left as it is",
            )
        widens = existing.scope != PUBLIC_SCOPE and draft.scope != existing.scope
        if widens and not widen_scope:
            raise CaptureError(
                "scope",
                f"thread {draft.thread_id} is stored as private ({existing.scope}); capturing it "
                f"as {draft.scope} would show it more widely (ask for that explicitly)",
            )
        if widens:
            log.warning(
                "thread %d widened from %s to %s on request",
                draft.thread_id,
                existing.scope,
                draft.scope,
            )
        return widens

    async def capture_inferred(self, thread: Thread) -> CaptureResult | None:
        """Capture a thread from history if its messages show it was solved."""
        solution = infer_solution(thread)
        if solution is None:
            return None
        return await self.capture(thread, solution.answer_ids)

    # -- question history ------------------------------------------------------------

    async def record_history(self, threads: Sequence[Thread]) -> int:
        """Record the question history of posts read whole (an import, a backfill),
        solved or not: asked, first reply, and solved when the thread's messages show
        an answer (:func:`~knowledge.solution_inference.infer_solution`). Only what is
        not known yet is filled in; live records are never overwritten. Nothing of a
        post whose asker opted out of capture is kept, as on the live path. Returns the
        posts recorded."""
        histories = []
        for thread in threads:
            solution = infer_solution(thread)
            history = question_history(thread, solution.answer_ids if solution else ())
            if history is not None:
                histories.append(history)
        opted_out = await self.community.opted_out(h.asker_id for h in histories)
        histories = [h for h in histories if h.asker_id not in opted_out]
        await self.community.record_histories(histories)
        return len(histories)

    async def post_deleted(self, thread_id: int) -> bool:
        """A forum post was deleted: its entry goes, its nudge too, and its question
        drops out of the unanswered list (it still counts as asked). Returns True if
        an entry was removed."""
        removed = await self.remove_thread(thread_id)
        await self.community.forget_threads([thread_id])
        await self.community.record_deleted(thread_id, self.store.db.clock())
        return removed

    async def report(
        self,
        guild_id: int,
        since: date,
        until: date,
        *,
        zone: tzinfo = UTC,
        staff_roles: Collection[int] | None = None,
    ) -> Report:
        """The community manager's report for [since, until) in ``zone``, beside the
        previous period of as many days (:mod:`knowledge.report` says how each figure
        is counted). ``staff_roles`` defaults to the roles the server's admins named.
        Raises :class:`~knowledge.report.ReportError` for an empty period."""
        current, previous = periods_for(since, until, zone)
        if staff_roles is None:
            staff_roles = (await self.community.settings(guild_id)).staff_roles
        questions = await self.community.questions_asked(guild_id, previous.start, current.end)
        answers = await self.community.accepted_answers(guild_id, previous.start, current.end)
        entries = await self.community.entry_refs(
            q.duplicate_of for q in questions if q.duplicate_of is not None
        )
        invited = [
            await self.invitations.counts(guild_id, period.start, period.end)
            for period in (current, previous)
        ]
        return build_report(
            guild_id=guild_id,
            zone=zone,
            periods=(current, previous),
            questions=questions,
            answers=answers,
            entries=entries,
            staff_roles=staff_roles,
            invitations=(
                (invited[0].sent, invited[0].replied),
                (invited[1].sent, invited[1].replied),
            ),
        )

    async def report_guild_ids(self) -> list[int]:
        """The guilds with entries or question history."""
        return sorted(
            set(await self.store.guild_ids()) | set(await self.community.guilds_with_questions())
        )

    # -- removal and edits ---------------------------------------------------------

    async def remove_thread(self, thread_id: int) -> bool:
        """The thread was deleted or marked unsolved: remove its entry."""
        async with self.live.lock:
            entry = await self.store.delete_thread(thread_id)
            await self._catch_up()
        return entry is not None

    async def remove_message(self, message_id: int) -> RemovedContent:
        """A message was deleted: entries whose question or whole answer it was go away,
        multi-message answers lose that part."""
        async with self.live.lock:
            _, removed = await self.store.remove_message(message_id)
            await self._catch_up()
        return RemovedContent(
            entry_ids=tuple(e.id for e in removed), thread_ids=tuple(e.thread_id for e in removed)
        )

    async def edit_message(self, message_id: int, content: str) -> int:
        """A captured message was edited: store and index its new text. Returns entries hit."""
        cleaned = clean_for_storage(content)
        if not cleaned.strip():
            return (await self.remove_message(message_id)).entries
        async with self.live.lock:
            entries = await self.store.edit_message(message_id, cleaned)
            await self._catch_up()
        return len(entries)

    async def forget_member(self, user_id: int) -> RemovedContent:
        """Remove everything a member asked and answered (an entry goes if either side
        goes), their feedback, and their question history and nudges: the one
        "forget a member" use case behind every surface that forgets. The deleted
        text is purged from the database files too."""

        async def history(removed: RemovedContent) -> int:
            await self.community.forget_threads(removed.thread_ids)
            await self._credit.forget_user(user_id, removed.thread_ids)  # before its questions
            await self.invitations.forget_user(user_id)
            await self.glossary.forget_user(user_id)  # the terms stay, not who added them
            return await self.community.forget_user(user_id)

        removed = await self._forget(self.store.forget_user(user_id), history)
        log.info("forgot user %d: %d entries removed", user_id, removed.entries)
        return removed

    async def forget_guild(self, guild_id: int) -> RemovedContent:
        """Remove everything Senpai holds for a server: entries, feedback, question
        history, nudges, settings and backfill state; purged from the files."""

        async def history(_: RemovedContent) -> int:
            await self._credit.forget_guild(guild_id)
            await self.invitations.forget_guild(guild_id)
            await self.glossary.forget_guild(guild_id)
            return await self.community.forget_guild(guild_id)

        removed = await self._forget(self.store.delete_guild(guild_id), history)
        log.info("forgot guild %d: %d entries removed", guild_id, removed.entries)
        return removed

    async def _forget(
        self,
        entries: Awaitable[RemovedContent],
        history: Callable[[RemovedContent], Awaitable[int]],
    ) -> RemovedContent:
        """Remove entries (index caught up), then the community rows, then purge the files."""
        async with self.live.lock:
            removed = await entries
            await self._catch_up()
        questions = await history(removed)
        await self.store.purge_deleted()
        if removed.entries:
            await self.terms.purge()
        return dataclasses.replace(removed, questions=questions)

    # -- consent and retention -----------------------------------------------------

    async def set_opt_out(self, user_id: int, opted_out: bool) -> bool:
        """Stop (or resume) capturing a member's messages. Returns True if it changed."""
        return await self.community.set_opt_out(user_id, opted_out)

    async def is_opted_out(self, user_id: int) -> bool:
        return bool(await self.community.opted_out({user_id}))

    async def guild_left(self, guild_id: int) -> None:
        """The bot was removed from a server: its data goes after the grace period."""
        await self.community.record_departure(guild_id, self.store.db.clock())

    async def guild_joined(self, guild_id: int) -> None:
        """The bot is (back) in a server: nothing of it is scheduled for deletion."""
        await self.community.cancel_departure(guild_id)

    async def purge_departed_guilds(
        self, grace: timedelta, *, shards: Shards | None = None
    ) -> list[int]:
        """Forget every server the bot left more than ``grace`` ago (only those a process
        running ``shards`` serves; all if None). Returns their ids."""
        cutoff = self.store.db.clock() - grace
        due = await self.community.departures_before(cutoff, shards=shards)
        for guild_id in due:
            await self.forget_guild(guild_id)
        return due

    async def due_retractions(
        self, limit: int = 20, *, shards: Shards | None = None
    ) -> list[Retraction]:
        """Removed entries still shown in posts (suggestions, "solved by" notes): what
        the bot must take out of its messages there, oldest first; only the servers
        ``shards`` serves when given."""
        return await self.store.due_retractions(limit, shards=shards)

    async def finish_retraction(self, retraction: Retraction) -> None:
        """The post no longer shows the removed entry (or can no longer be changed)."""
        await self.store.finish_retraction(retraction)

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
        """Record a member's verdict on a suggestion; "solved by suggestion" counts a hit.

        Verdicts teach the engine: the entry is demoted (or confirmed) for later
        questions close to this post's, and the server's threshold is calibrated
        from its verdicts on first suggestions (:mod:`knowledge.learning`).
        """
        recorded = await self.store.record_feedback(
            Feedback(entry_id, guild_id, thread_id, user_id, kind, self.store.db.clock())
        )
        self._calibrations.pop(guild_id, None)
        return recorded

    async def record_shown(
        self, query: Query, suggestions: Sequence[Suggestion], *, asker_id: int
    ) -> None:
        """Suggestions were posted in the new post ``query.exclude_thread_id``: remember
        what was shown (and the question, masked) so verdicts on it can teach the engine."""
        if query.exclude_thread_id is None or not suggestions:
            return
        await self.store.record_shown(
            guild_id=query.guild_id,
            thread_id=query.exclude_thread_id,
            asker_id=asker_id,
            question=clean_for_storage(query.text),
            shown=[(s.entry.id, s.score, s.confidence) for s in suggestions],
        )

    async def calibration(self, guild_id: int) -> Calibration:
        """The server's confidence threshold, calibrated from its members' verdicts once
        there are enough of them (bounded around the profile's own)."""
        known = self._calibrations.get(guild_id)
        if known is not None:
            return known
        confidence = self.config.confidence
        base = confidence.threshold if confidence is not None else self.config.threshold
        result = calibrate(base, await self.store.first_outcomes(guild_id))
        self._calibrations[guild_id] = result
        return result

    # -- suggestions ---------------------------------------------------------------

    async def suggest(self, query: Query) -> list[Suggestion]:
        """The solved threads closest to a new question, best first; empty when unsure.

        Only entries of the query's guild, within its allowed scopes, and never
        the question's own thread: these filters are applied by the store in SQL.
        When another process changed the store, the index catches up first.
        """
        return (await self.answer(query)).suggestions

    async def answer(self, query: Query) -> Answer:
        """:meth:`suggest`'s suggestions with every candidate they were chosen from
        (``Answer.ranked``, as :meth:`candidates` gives them): a post on which Senpai
        stays silent is then matched to helpers (:meth:`invitees`) without a second
        search."""
        index = await self.live.current()
        if query.threshold is None:
            calibrated = await self.calibration(query.guild_id)
            if calibrated.calibrated:
                query = dataclasses.replace(query, threshold=calibrated.threshold)
        return await self.retriever.answer(index, query)

    async def candidates(self, query: Query) -> tuple[list[Scored], QuestionShape]:
        """Every visible candidate for ``query`` with its fused score, best first, before
        any threshold or confidence gate, and the question's shape: what the
        confidence model sees (for calibration and benchmarks)."""
        index = await self.live.current()
        found = await self.retriever.answer(index, query)
        return found.ranked, found.shape

    async def closest_solved(
        self, query: Query, *, floor: float = CLOSEST_FLOOR
    ) -> list[tuple[Entry, float]]:
        """Up to ``query.limit`` solved threads closest to ``query`` with their scores,
        best first, with a low floor and no confidence gate: leads for helpers (the
        staff list of unanswered posts), not suggestions shown to the asker.
        Raises :class:`~knowledge.errors.IndexNotReady` while the index is rebuilt."""
        found, _ = await self.candidates(query)
        return [(s.candidate.entry, s.score) for s in found if s.score >= floor][: query.limit]

    # -- stats ---------------------------------------------------------------------

    async def stats(self, guild_id: int | None = None) -> Stats:
        stats = await self.store.stats(guild_id)
        entries = self.live.entries()
        fresh = entries is not None and self.live.applied_revision == await self.store.revision()
        return Stats(
            entries=stats.entries,
            guilds=stats.guilds,
            by_language=stats.by_language,
            by_scope=stats.by_scope,
            answerers=stats.answerers,
            total_hits=stats.total_hits,
            feedback=stats.feedback,
            top_answerers=stats.top_answerers,
            index_entries=entries,
            index_fresh=fresh,
        )

    # -- scheduled reports and time zone -------------------------------------------

    @functools.cached_property
    def schedules(self) -> ScheduleStore:
        """Report schedules and the record of reports posted (:mod:`knowledge.schedule`)."""
        return ScheduleStore(self.store.db)

    async def guild_zone(self, guild_id: int) -> ZoneInfo:
        """The time zone the server's reports are counted in (its ``time_zone`` setting)."""
        return zone_or_utc((await self.community.settings(guild_id)).time_zone)

    async def schedule_reports(
        self, guild_id: int, rhythm: Rhythm, channel_id: int
    ) -> ReportSchedule:
        """Post the community report to ``channel_id`` every week or month from now on
        (replacing any schedule the server had); the first is due when the current
        week or month ends in the server's time zone."""
        zone = await self.guild_zone(guild_id)
        schedule = ReportSchedule(
            guild_id, channel_id, rhythm, next_due(rhythm, self.store.db.clock(), zone)
        )
        await self.schedules.set_schedule(schedule)
        log.info("guild %d: %s report scheduled in channel %d", guild_id, rhythm.value, channel_id)
        return schedule

    async def stop_scheduled_reports(self, guild_id: int) -> bool:
        """No more scheduled reports for the server. True if it had a schedule."""
        stopped = await self.schedules.clear_schedule(guild_id)
        if stopped:
            log.info("guild %d: scheduled reports stopped", guild_id)
        return stopped

    async def report_schedule(self, guild_id: int) -> ReportSchedule | None:
        """The server's report schedule, if it has one."""
        return await self.schedules.schedule(guild_id)

    async def reschedule_reports(self, guild_id: int) -> ReportSchedule | None:
        """The server's time zone changed: its next report is due when the current
        period ends in the new zone."""
        schedule = await self.schedules.schedule(guild_id)
        if schedule is None:
            return None
        return await self.schedule_reports(guild_id, schedule.rhythm, schedule.channel_id)

    async def due_scheduled_reports(self) -> list[ReportSchedule]:
        """Schedules whose next report is due by the core's clock."""
        return await self.schedules.due(self.store.db.clock())

    async def claim_scheduled_report(self, schedule: ReportSchedule) -> ScheduledReport | None:
        """Claim the report of the most recent complete period of a due schedule and move
        the schedule on to the end of the current period. ``None`` when this process is
        not to post (another claimed it, or the schedule changed meanwhile). After an
        outage only the latest period is claimed, once (:mod:`knowledge.schedule`)."""
        zone = await self.guild_zone(schedule.guild_id)
        now = self.store.db.clock()
        period = last_complete_period(schedule.rhythm, now, zone)
        following = next_due(schedule.rhythm, now, zone)
        if not await self.schedules.claim(schedule, period, following):
            return None
        return ScheduledReport(
            schedule.guild_id, schedule.channel_id, schedule.rhythm, period, zone
        )

    async def scheduled_report_done(self, claim: ScheduledReport, message_id: int | None) -> None:
        """The claimed report was posted as ``message_id``, or skipped (``None``)."""
        await self.schedules.finish(claim, message_id)

    async def scheduled_report_records(self, guild_id: int) -> list[ReportRecord]:
        """The periods the server's scheduled reports were claimed for, oldest first."""
        return await self.schedules.records(guild_id)

    # -- credit for helpers ----------------------------------------------------------

    @property
    def _credit(self) -> CreditStore:
        return CreditStore(self.store.db)

    async def helpers_board(
        self, guild_id: int, period: str, *, limit: int = BOARD_SIZE
    ) -> list[HelperScore]:
        """The members whose answers helped most over a board period ending now
        (:data:`~knowledge.credit.BOARD_PERIODS`), members who are not ``listed`` left
        out (:mod:`knowledge.credit` says how it is counted). Raises
        :class:`~knowledge.credit.CreditError` for an unknown period."""
        start, end = board_period(period, self.store.db.clock())
        return await self.helpers_between(guild_id, start, end, limit=limit)

    async def helpers_between(
        self, guild_id: int, start: datetime, end: datetime, *, limit: int = BOARD_SIZE
    ) -> list[HelperScore]:
        """The board for [start, end) (the monthly thanks post's)."""
        accepted = await self.community.accepted_answers(guild_id, start, end)
        reuses = await self._credit.reuses(guild_id, start, end)
        authors = {u for a in accepted for u, _ in a.authors} | {
            u for r in reuses for u, _ in r.authors
        }
        hidden = await self._credit.unlisted(authors)
        return tally(accepted, reuses, hidden, limit)

    async def credit_prefs(self, user_id: int) -> CreditPrefs:
        """A member's credit choices: direct-message notices, being listed."""
        return await self._credit.prefs(user_id)

    async def set_credit_prefs(
        self, user_id: int, *, notices: bool | None = None, listed: bool | None = None
    ) -> CreditPrefs:
        """Change what was given of a member's credit choices; returns them all."""
        prefs = await self._credit.prefs(user_id)
        if notices is not None:
            prefs = dataclasses.replace(prefs, notices=notices)
        if listed is not None:
            prefs = dataclasses.replace(prefs, listed=listed)
        await self._credit.save_prefs(prefs)
        log.info("credit choices of user %d: notices=%s listed=%s", user_id, *_flags(prefs))
        return prefs

    async def credit_settings(self, guild_id: int) -> CreditSettings:
        """A server's thanks channel and automatic role."""
        return await self._credit.settings(guild_id)

    async def save_credit_settings(self, settings: CreditSettings) -> CreditSettings:
        """Save a server's credit settings. A newly chosen thanks channel dates from now
        (no month that ended before is thanked). Raises
        :class:`~knowledge.credit.CreditError` for a bad number of answers."""
        before = await self._credit.settings(settings.guild_id)
        if settings.thanks_channel is None:
            settings = dataclasses.replace(settings, thanks_since=None)
        elif settings.thanks_channel != before.thanks_channel or before.thanks_since is None:
            settings = dataclasses.replace(settings, thanks_since=self.store.db.clock())
        else:
            settings = dataclasses.replace(settings, thanks_since=before.thanks_since)
        await self._credit.save_settings(settings)
        return settings

    async def credit_digests(self) -> AsyncIterator[CreditDigest]:
        """The credit messages to send now, one per member, each claimed just before it
        is yielded (see :mod:`knowledge.credit`): send it before asking for the next, so
        a crash loses at most the message being sent. Members with notices off have
        their credits recorded as not sent; members told less than a day ago wait.
        Report each with :meth:`credit_digest_done`."""
        now = self.store.db.clock()
        by_user: dict[int, list[CreditEvent]] = {}
        for event in await self._credit.pending_events(now):
            by_user.setdefault(event.user_id, []).append(event)
        for user_id, events in by_user.items():
            if not (await self._credit.prefs(user_id)).notices:
                await self._credit.claim(user_id, events, NoticeState.OFF)
                continue
            claimed = await self._credit.claim(user_id, events, NoticeState.SENDING)
            if claimed:
                yield await self._digest(user_id, claimed, now)

    async def _digest(
        self, user_id: int, events: Sequence[CreditEvent], now: datetime
    ) -> CreditDigest:
        refs = await self.community.entry_refs(e.entry_id for e in events)
        reused = [e.entry_id for e in events if e.kind is CreditKind.REUSED]
        recent = await self._credit.reuse_counts(reused, now - REUSE_WINDOW, FOREVER)
        lines: dict[tuple[CreditKind, int], CreditLine] = {}
        for event in events:
            ref = refs.get(event.entry_id)
            if ref is None:
                continue
            key = (event.kind, event.entry_id)
            if event.kind is CreditKind.REUSED:
                count = max(recent.get(event.entry_id, 0), 1)
            else:
                count = lines[key].count + 1 if key in lines else 1
            lines[key] = CreditLine(
                event.kind, event.guild_id, ref.id, ref.title, ref.jump_url, count
            )
        ordered = sorted(lines.values(), key=lambda line: (line.kind.value, line.entry_id))
        return CreditDigest(user_id, events[0].guild_id, tuple(ordered), tuple(events))

    async def credit_notices(self, user_id: int) -> list[tuple[CreditKind, int, NoticeState]]:
        """(kind, post id, state) of every credit recorded for a member, oldest first:
        what they were told, or why not."""
        return await self._credit.notices(user_id)

    async def credit_digest_done(self, digest: CreditDigest, *, sent: bool) -> None:
        """A credit message was delivered, or could not be (closed direct messages): it
        is not tried again either way."""
        state = NoticeState.SENT if sent else NoticeState.FAILED
        await self._credit.mark(digest.user_id, digest.events, state)

    async def due_thanks(self) -> list[ThanksDue]:
        """The monthly thanks posts due now and not claimed yet."""
        now = self.store.db.clock()
        due: list[ThanksDue] = []
        for settings in await self._credit.all_settings():
            wanted = thanks_due(settings, now)
            if wanted and await self._credit.thanks_state(wanted.guild_id, wanted.month) is None:
                due.append(wanted)
        return due

    async def claim_thanks(self, due: ThanksDue, state: ThanksState) -> bool:
        """Take a month's thanks post before posting it (``POSTING``), or close it as
        ``EMPTY`` / ``SKIPPED``: once per server and month. True if this call did."""
        return await self._credit.claim_thanks(due, state)

    async def thanks_done(
        self, due: ThanksDue, state: ThanksState, message_id: int | None = None
    ) -> None:
        """How a claimed thanks post went."""
        await self._credit.thanks_done(due, state, message_id)

    async def thanks_state(self, guild_id: int, month: str) -> ThanksState | None:
        """Whether a month's thanks post was claimed, and how it went."""
        return await self._credit.thanks_state(guild_id, month)

    async def due_role_grants(self) -> list[RoleGrant]:
        """Members who reached their server's number of accepted answers (all time) for
        its automatic role and were never given it, nor found holding it."""
        grants: list[RoleGrant] = []
        for settings in await self._credit.all_settings():
            if not settings.grants_role:
                continue
            assert settings.role_id is not None
            accepted = await self.community.accepted_answers(settings.guild_id, BEGINNING, FOREVER)
            decided = await self._credit.role_decided(settings.guild_id, settings.role_id)
            hidden = await self._credit.unlisted(u for a in accepted for u, _ in a.authors)
            grants += role_grants(settings, accepted, decided, hidden)
        return grants

    async def record_role(self, grant: RoleGrant, state: RoleState) -> bool:
        """Record that Senpai granted the role (or found the member holding it)."""
        recorded = await self._credit.record_role(grant, state)
        log.info(
            "role %d of guild %d %s for user %d",
            grant.role_id,
            grant.guild_id,
            state.value,
            grant.user_id,
        )
        return recorded

    async def role_state(self, guild_id: int, user_id: int, role_id: int) -> RoleState | None:
        """Whether Senpai granted (or found) a member's role."""
        return await self._credit.role_state(guild_id, user_id, role_id)

    # -- invitations: someone who solved it before ---------------------------------

    @functools.cached_property
    def invitations(self) -> InvitationStore:
        """Opt-ins and invitations (:mod:`knowledge.invitations`), over the same database."""
        return InvitationStore(self.store.db)

    async def set_invites(self, user_id: int, guild_id: int, on: bool, lang: str) -> InviteChoice:
        """Opt a member in (``lang``: the language of their invitations) or out of being
        invited to new posts like ones they solved, in one server. A member who opted
        out of capture cannot opt in: they are never invited."""
        if on and await self.is_opted_out(user_id):
            return InviteChoice.OPTED_OUT
        changed = await self.invitations.set_opt_in(user_id, guild_id, on, lang)
        if changed:
            log.info(
                "member %d %s invitations in guild %d",
                user_id,
                "allowed" if on else "stopped",
                guild_id,
            )
        if on:
            return InviteChoice.ON if changed else InviteChoice.UNCHANGED_ON
        return InviteChoice.OFF if changed else InviteChoice.UNCHANGED_OFF

    async def invites_enabled(self, user_id: int, guild_id: int) -> bool:
        """Whether the member may be invited in the server (opted in, capture allowed)."""
        return await self.invitations.is_opted_in(
            user_id, guild_id
        ) and not await self.is_opted_out(user_id)

    async def invitees(
        self,
        query: Query,
        *,
        asker_id: int,
        repliers: Collection[int] = (),
        policy: InvitePolicy,
        ranked: Sequence[Scored] | None = None,
    ) -> list[Invitee]:
        """Members who may be invited to the new post ``query.exclude_thread_id``, on
        which Senpai stayed silent, best first (see :func:`choose_invitees`): helpers
        of solved threads the post may see scoring at least the profile's
        ``invite_floor``. Empty at once when nobody in the server opted in.
        ``ranked``: the post's candidates from :meth:`answer`, if the caller has them
        (otherwise they are searched for again).
        Raises :class:`~knowledge.errors.IndexNotReady` while the index is rebuilt."""
        if query.exclude_thread_id is None or not await self.invitations.has_opt_ins(
            query.guild_id
        ):
            return []
        found = ranked if ranked is not None else (await self.candidates(query))[0]
        floor = self.config.invite_floor
        close = [(s.candidate.entry, s.score) for s in found if s.score >= floor]
        helpers = {user for entry, _ in close for user in helpers_of(entry)}
        if not helpers:
            return []
        opted_in = await self.invitations.opted_in(query.guild_id, helpers)
        excluded = (
            {asker_id}
            | set(repliers)
            | await self.invitations.invited_to(query.exclude_thread_id)
            | await self.community.opted_out(opted_in)
        )
        since = self.store.db.clock() - INVITE_DAY
        return choose_invitees(
            close,
            floor=floor,
            opted_in=opted_in,
            excluded=excluded,
            sent_today=await self.invitations.sent_since(opted_in, since),
            policy=policy,
        )

    async def claim_invitation(
        self,
        invitee: Invitee,
        *,
        thread_id: int,
        guild_id: int,
        asker_id: int,
        policy: InvitePolicy,
    ) -> Claim:
        """Record the invitation before its direct message is sent, if the caps still
        allow it (checked again in the same transaction as the row)."""
        return await self.invitations.claim(
            thread_id=thread_id,
            guild_id=guild_id,
            asker_id=asker_id,
            user_id=invitee.user_id,
            earlier_thread_id=invitee.earlier.thread_id,
            policy=policy,
        )

    async def invitation_delivered(self, thread_id: int, user_id: int, ok: bool) -> None:
        """The invitation's direct message was sent (``ok``), or Discord refused it."""
        await self.invitations.delivered(thread_id, user_id, ok)

    async def record_invitee_reply(self, thread_id: int, user_id: int, at: datetime) -> bool:
        """A member wrote in a post: True if they were invited to it and this is their
        first reply there (counted for the report)."""
        return await self.invitations.record_reply(thread_id, user_id, at)

    async def invitation_counts(
        self, guild_id: int, since: datetime, until: datetime
    ) -> InvitationCounts:
        """Invitations sent in ``[since, until)`` in the server, and how many invited
        members then replied in the post (for the community report)."""
        return await self.invitations.counts(guild_id, since, until)

    # -- each server's own glossary terms --------------------------------------------

    @functools.cached_property
    def glossary(self) -> GlossaryStore:
        """The servers' own Japanese/English terms (:mod:`knowledge.glossary_store`)."""
        return GlossaryStore(self.store.db)

    @functools.cached_property
    def _server_glossaries(self) -> ServerGlossaries:
        return ServerGlossaries(self.glossary, lambda: self.config.glossary)

    async def glossary_for(self, guild_id: int) -> Glossary | None:
        """The bridge for a question in ``guild_id``: the profile's glossary extended by
        the server's own terms (cached; rebuilt when they change, in any process)."""
        return await self._server_glossaries.for_guild(guild_id)

    async def glossary_terms(self, guild_id: int) -> list[GlossaryTerm]:
        """The server's own terms, by Japanese term."""
        return await self.glossary.terms(guild_id)

    async def add_glossary_term(
        self, guild_id: int, japanese: str, english: str, *, added_by: int | None
    ) -> ImportResult:
        """Add (or change the English of) one term; ``english``: synonyms separated by
        ``|``. Raises :class:`~knowledge.glossary_store.GlossaryInputError` with the
        reason (bad term, the server's limit reached)."""
        term = parse_term(japanese, english)
        result = await self.glossary.save(guild_id, [term], added_by)
        log.info("guild %d: glossary term saved by %s", guild_id, added_by)
        return result

    async def remove_glossary_term(self, guild_id: int, japanese: str) -> bool:
        """Remove one of the server's terms. Returns False if it had no such term."""
        removed = await self.glossary.remove(guild_id, japanese)
        if removed:
            log.info("guild %d: a glossary term removed", guild_id)
        return removed

    async def import_glossary(
        self, guild_id: int, text: str, *, added_by: int | None
    ) -> ImportResult:
        """Add or replace the terms of a "Japanese<TAB>English" file, all or nothing:
        raises :class:`~knowledge.glossary_store.GlossaryImportError` naming every bad
        line (number and reason), or
        :class:`~knowledge.glossary_store.GlossaryInputError` over the server's limit."""
        result = await self.glossary.save(guild_id, parse_tsv(text), added_by)
        log.info(
            "guild %d: glossary import by %s: %d added, %d updated, %d unchanged",
            guild_id,
            added_by,
            result.added,
            result.updated,
            result.unchanged,
        )
        return result

    async def export_glossary(self, guild_id: int) -> str:
        """The server's terms as a file :meth:`import_glossary` reads back."""
        return export_tsv(await self.glossary.terms(guild_id))


def _without_opted_out(draft: EntryDraft, opted_out: set[int]) -> EntryDraft:
    """The draft without answer parts of members who opted out; refused if nothing is left."""
    if draft.asker_id in opted_out:
        raise CaptureError("opted_out", "the asker asked Senpai not to keep their messages")
    parts = tuple(p for p in draft.answer_parts if p.author_id not in opted_out)
    if not parts:
        raise CaptureError(
            "opted_out", "the answer's author asked Senpai not to keep their messages"
        )
    if len(parts) == len(draft.answer_parts):
        return draft
    return dataclasses.replace(draft, answer_parts=parts)


def _flags(prefs: CreditPrefs) -> tuple[str, str]:
    return ("on" if prefs.notices else "off"), ("on" if prefs.listed else "off")
