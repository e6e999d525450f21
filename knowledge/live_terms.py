"""The term index a process serves large knowledge bases' lexical lookups from.

:class:`index.term_index.TermIndex` (tantivy) is derived from the store like the
vector index: it is stamped with the store revision it reflects, caught up from
the store's change log whenever the store has moved on (this process wrote, or
another process sharing the database did), and rebuilt from the store when it
is missing, of another database, or older than the change log remembers.

It serves the lexical lookups (ranked term search, the server's document
frequencies, identifier tokens such as error codes, and the count of the
server's allowed entries) once the knowledge base holds :data:`SERVE_FROM`
entries. Below, SQLite's FTS5 stays the path: it costs a few milliseconds there,
and it is what the shipped confidence gates were fitted on. Processes sharing a
data directory serialise their writes to it with a file lock and pick up each
other's commits.

Forgetting: a deleted entry leaves lookups at once (the catch-up deletes its
document), but tantivy keeps a deleted document's terms in its segment files
until the segment is merged, and offers no way to force that. So after a forget
the index is *scrubbed*: rebuilt from a snapshot of the store, outside the lock
that lookups take (they keep being answered by the current index, which the
catch-up keeps free of forgotten entries), then swapped in and caught up under
it. The need for a scrub is recorded in :data:`SCRUB_FILE` in the data directory
(the store revision of the latest forget) before the forget returns, and removed
only once an index built from a later snapshot is in place: forgets in a row share
one scrub, a process that stops before scrubbing leaves the file for the next
start (or for another process sharing the directory, at its next catch-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import queue
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

from index.term_index import TermDocument, TermIndex, read_meta
from knowledge import lexical
from knowledge.db import PRIVATE_FILE_MODE, make_private_dir
from knowledge.store import KnowledgeStore, TermRow

log = logging.getLogger(__name__)

SERVE_FROM = 50_000
"""Entries from which lexical lookups go to the term index instead of FTS5."""

TERMS_DIR = "terms"
SCRUB_FILE = "terms.scrub"
"""Beside :data:`TERMS_DIR`: the store revision of the latest forget whose terms may
still be in the index's files (present while a scrub is due)."""
_LOCK_FILE = ".terms.lock"
_BATCH = 4096
_SCRUB_BATCH = 1024
"""Rows per store read of a scrub: its reads share the store's reader connection with
the questions, which wait for the read in progress (measured by bench/forget_cost.py)."""
_MAX_CODES = 256


def _document(row: TermRow) -> TermDocument:
    return TermDocument(
        row.id,
        row.guild_id,
        row.scope,
        row.thread_id,
        tuple(row.title_terms.split()),
        tuple(row.body_terms.split()),
        tuple(lexical.substring_needles(row.text, limit=_MAX_CODES)),
    )


class BuildAbandoned(Exception):
    """A term index build ended early: its writer thread rolled back what it wrote."""


def _put(
    batches: queue.Queue[list[TermDocument] | None],
    item: list[TermDocument] | None,
    stopped: threading.Event,
) -> None:
    """Hand ``item`` to the writer thread, unless it has stopped (it raised)."""
    while not stopped.is_set():
        try:
            batches.put(item, timeout=0.1)
            return
        except queue.Full:
            continue


def _convert_and_put(
    batches: queue.Queue[list[TermDocument] | None],
    rows: Sequence[TermRow],
    stopped: threading.Event,
) -> None:
    _put(batches, [_document(r) for r in rows], stopped)


def _aside(directory: Path, kind: str) -> Path:
    """A directory beside ``directory`` for a build being written (``new``) or an index
    being replaced (``old``), named after this process so that one left behind by a
    process that stopped half-way can be told from one still in use."""
    return directory.with_name(f"{directory.name}.{kind}-{os.getpid()}-{uuid.uuid4().hex}")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _remove_leftovers(directory: Path) -> int:
    """Remove the build and replaced-index directories beside ``directory`` whose process
    is gone (killed mid-build, or the machine stopped: each can be as large as the index).
    Directories of live processes, this one included, are left alone. Returns how many
    were removed."""
    removed = 0
    for kind in ("new", "old"):
        for path in directory.parent.glob(f"{directory.name}.{kind}-*"):
            pid_text = path.name.rsplit(f".{kind}-", 1)[1].split("-", 1)[0]
            # Without a process id (an older Senpai's name) it is a leftover too.
            pid = int(pid_text) if pid_text.isdigit() and len(pid_text) <= 9 else None
            if pid is not None and (pid == os.getpid() or _process_alive(pid)):
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
    return removed


@contextlib.contextmanager
def _locked(parent: Path) -> Iterator[None]:
    """Hold the data directory's term-index lock (blocking; for worker threads)."""
    make_private_dir(parent)
    handle = os.open(parent / _LOCK_FILE, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)


class LiveTermIndex:
    """One process's term index over a store, and the revision it reflects."""

    def __init__(
        self, store: KnowledgeStore, directory: Path, *, serve_from: int = SERVE_FROM
    ) -> None:
        self.store = store
        self.directory = directory
        self.serve_from = serve_from
        self._index: TermIndex | None = None
        self._applied = 0
        self.lock = asyncio.Lock()
        self._scrub_task: asyncio.Task[None] | None = None
        self.scrubs = 0
        """Scrubs (rebuilds after forgets) this process has swapped in."""

    @property
    def ready(self) -> bool:
        return self._index is not None

    @property
    def applied_revision(self) -> int:
        return self._applied

    def serves(self) -> bool:
        """Whether lookups should use this index (loaded, and the base is large enough)."""
        index = self._index
        return index is not None and len(index) >= self.serve_from

    def _fingerprint(self, revision: int) -> str:
        return f"{self.store.store_id}:{revision}"

    # -- load, rebuild, catch up ---------------------------------------------------

    async def load(self) -> None:
        """Open the saved index and catch it up, or rebuild it from the store."""
        async with self.lock:
            index = await asyncio.to_thread(self._open)
            if index is None:
                await self._rebuild_locked()
                return
            self._index = index
            self._applied = int(index.meta.fingerprint.partition(":")[2])
            await self._catch_up_locked()  # starts a scrub a stopped process left due

    def _open(self) -> TermIndex | None:
        with _locked(self.directory.parent):
            removed = _remove_leftovers(self.directory)
            if removed:
                log.info("removed %d term index directories left by stopped processes", removed)
            meta = read_meta(self.directory)
            store_id, _, revision = (meta.fingerprint if meta else "").partition(":")
            if meta is None or store_id != self.store.store_id or not revision.isdigit():
                return None
            return TermIndex.open(self.directory)

    async def rebuild(self) -> int:
        """Write a new index of every stored entry and serve it (lookups are answered
        by the current one meanwhile). Returns its entries."""
        return await self._rebuild_aside()

    async def _rebuild_locked(self) -> int:
        """Rebuild with the lock held from start to end (load, or an unusable index)."""
        started = time.monotonic()
        snapshot = await self.store.revision()
        # Its own directory: processes sharing the data directory may rebuild at once.
        fresh_dir = self._fresh_dir()
        try:
            total = await self._build(fresh_dir, snapshot)
            await self._serve_fresh(fresh_dir, snapshot)
        finally:
            await asyncio.to_thread(shutil.rmtree, fresh_dir, True)
        log.info("rebuilt the term index: %d entries in %.1f s", total, time.monotonic() - started)
        return total

    async def _rebuild_aside(self) -> int:
        """Rebuild without holding the lock while the new index is written (lookups
        and catch-ups go on with the current one), then swap it in under the lock."""
        started = time.monotonic()
        snapshot = await self.store.revision()
        fresh_dir = self._fresh_dir()
        try:
            total = await self._build(fresh_dir, snapshot, batch=_SCRUB_BATCH)
            async with self.lock:
                await self._serve_fresh(fresh_dir, snapshot)
        finally:
            await asyncio.to_thread(shutil.rmtree, fresh_dir, True)
        log.info("rebuilt the term index: %d entries in %.1f s", total, time.monotonic() - started)
        return total

    def _fresh_dir(self) -> Path:
        return _aside(self.directory, "new")

    async def _build(self, fresh_dir: Path, snapshot: int, *, batch: int = _BATCH) -> int:
        """Write every stored entry into a new index in ``fresh_dir``, stamped ``snapshot``
        (entries written after it may be in it too: the catch-up from there re-applies them)."""
        fresh = await asyncio.to_thread(TermIndex.create, fresh_dir, self._fingerprint(0))
        # Store reads (here) and indexing (a worker thread, one writer, one commit)
        # overlap; the queue bounds what waits in memory.
        batches: queue.Queue[list[TermDocument] | None] = queue.Queue(maxsize=4)
        # Set, without awaiting anything, when the build ends early (an error, or the
        # task cancelled, as at shutdown): the writer then rolls back and ends by
        # itself. Handing it an end marker instead needs a worker thread, which a loop
        # shutting down no longer gives, and the writer would wait for it forever
        # (and the loop's shutdown for the writer).
        # The producer's task is watched too, should it end without reaching either.
        abandoned = threading.Event()
        producer = asyncio.current_task()

        def pending() -> Iterator[list[TermDocument]]:
            while True:
                try:
                    batch = batches.get(timeout=0.1)
                except queue.Empty:
                    if abandoned.is_set() or (producer is not None and producer.done()):
                        raise BuildAbandoned from None
                    continue
                if batch is None:
                    return
                yield batch

        stopped = threading.Event()

        def write() -> int:
            try:
                return fresh.bulk_add(pending(), self._fingerprint(snapshot))
            finally:
                stopped.set()

        writer = asyncio.ensure_future(asyncio.to_thread(write))
        try:
            after = 0
            while not stopped.is_set():
                rows = await self.store.term_documents(after=after, limit=batch)
                if not rows:
                    break
                # Segmenting (substring needles) in the worker too: the event loop
                # stays free for the questions while a scrub runs beside them.
                await asyncio.to_thread(_convert_and_put, batches, rows, stopped)
                after = rows[-1].id
            await asyncio.to_thread(_put, batches, None, stopped)
        except BaseException:
            abandoned.set()
            # The writer thread finishes before its directory goes (it stops within
            # a tenth of a second); a second cancellation leaves it to stop alone.
            with contextlib.suppress(BuildAbandoned):
                await writer
            raise
        return await writer

    async def _serve_fresh(self, fresh_dir: Path, snapshot: int) -> None:
        """With the lock held: serve the index built in ``fresh_dir`` from ``snapshot``,
        caught up, and drop the scrub mark if it asked for nothing newer."""
        self._index = await asyncio.to_thread(self._swap, fresh_dir)
        self._applied = snapshot
        await asyncio.to_thread(self._clear_scrub, snapshot)
        await self._catch_up_locked()

    def _swap(self, fresh_dir: Path) -> TermIndex:
        """Move the new index into place (the old files go) and open it there."""
        with _locked(self.directory.parent):
            old = _aside(self.directory, "old")
            if self.directory.exists():
                os.replace(self.directory, old)
            os.replace(fresh_dir, self.directory)
            shutil.rmtree(old, ignore_errors=True)
            index = TermIndex.open(self.directory)
        if index is None:
            raise RuntimeError(f"the term index just written to {self.directory} cannot be read")
        return index

    async def current(self) -> TermIndex | None:
        """The index, caught up with the store first if it has moved on; ``None`` when
        it should not serve (not loaded, or the base is small)."""
        if self._index is None:
            return None
        if await self.store.revision() != self._applied:
            async with self.lock:
                await self._catch_up_locked()
        return self._index if self.serves() else None

    async def catch_up(self) -> None:
        """Apply every store change since the applied revision."""
        async with self.lock:
            await self._catch_up_locked()

    async def _catch_up_locked(self) -> None:
        for _ in range(3):  # another process may swap in a new build meanwhile
            if await self._catch_up_once():
                break
        else:
            log.info("term index directory kept changing (or vanished): rebuilding it")
            await self._rebuild_locked()
        if not self.scrub_running and await asyncio.to_thread(self.scrub_due):
            self._start_scrub()  # another process forgot (and left the scrub to us)

    async def _catch_up_once(self) -> bool:
        """One catch-up; False when the directory holds another build than the one
        the changes were read for (then nothing was written)."""
        index = self._index
        if index is None:
            return True
        on_disk = await asyncio.to_thread(self._reload_if_newer, index)
        if on_disk is not None:
            revision = int(on_disk.meta.fingerprint.partition(":")[2])
            if on_disk.meta.build != index.meta.build:
                # Another process's build: it reflects its own revision, not ours.
                index = self._index = on_disk
                self._applied = revision
            else:
                self._applied = max(self._applied, revision)
        if self._applied < await self.store.pruned_through():
            # Removals older than the change log remembers may be missing.
            log.info("term index older than the change log: rebuilding it")
            await self._rebuild_locked()
            return True
        changes = await self.store.changes_since(self._applied)
        if changes.revision == self._applied:
            return True
        rows = await self.store.term_documents(ids=changes.changed) if changes.changed else []
        present = {r.id for r in rows}
        removed = sorted(set(changes.removed) | (set(changes.changed) - present))
        applied = await asyncio.to_thread(
            self._apply_locked,
            index,
            [_document(r) for r in rows],
            removed,
            self._fingerprint(changes.revision),
        )
        if applied:
            self._applied = changes.revision
        return applied

    def _reload_if_newer(self, index: TermIndex) -> TermIndex | None:
        """Pick up what another process committed to the directory, if anything."""
        with _locked(self.directory.parent):
            meta = read_meta(self.directory)
            if meta is None or meta == index.meta:
                return None
            if meta.build != index.meta.build:
                return TermIndex.open(self.directory)
            index.reload()
            return index

    def _apply_locked(
        self,
        index: TermIndex,
        docs: Sequence[TermDocument],
        removed: Sequence[int],
        fingerprint: str,
    ) -> bool:
        with _locked(self.directory.parent):
            meta = read_meta(self.directory)
            if meta is None or meta.build != index.meta.build:
                return False  # a newer build was swapped in: never write to a removed one
            index.apply(docs, removed, fingerprint)
            return True

    # -- forgetting ------------------------------------------------------------------

    async def purge(self) -> None:
        """After a forget: mark a scrub due (before returning) and start it in the
        background. Forgotten entries have left lookups already (the catch-up); the
        scrub rewrites the files so their terms leave the disk too."""
        if self._index is None and await asyncio.to_thread(read_meta, self.directory) is None:
            return  # no term index in this data directory: nothing on disk to scrub
        revision = await self.store.revision()
        await asyncio.to_thread(self._mark_scrub, revision)
        self._start_scrub()

    @property
    def scrub_running(self) -> bool:
        return self._scrub_task is not None and not self._scrub_task.done()

    def scrub_due(self) -> bool:
        """Whether a forget's terms may still be in the files (blocking; small read)."""
        return self._scrub_mark() is not None

    async def scrubbed(self) -> None:
        """Wait until no scrub is running (tests, benchmarks, a command that must finish)."""
        while (task := self._scrub_task) is not None and not task.done():
            await asyncio.wait({task})

    async def close(self) -> None:
        """Stop a running scrub; its mark stays, so the next start carries it out."""
        task = self._scrub_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _start_scrub(self) -> None:
        if self._index is None or self.scrub_running:
            return  # a running scrub looks at the mark again when it ends
        self._scrub_task = asyncio.get_running_loop().create_task(self._scrub())

    async def _scrub(self) -> None:
        """Rebuild aside until the mark asks for nothing newer than the last build."""
        try:
            while self._index is not None:
                due = await asyncio.to_thread(self._scrub_mark)
                if due is None:
                    return
                log.info("scrubbing the term index after a forget (revision %d)", due)
                await self._rebuild_aside()
                self.scrubs += 1
        except (OSError, ValueError, RuntimeError, sqlite3.Error) as error:
            # The mark stays: the next forget, catch-up or start tries again.
            log.warning("term index scrub failed, will retry later: %s", error)

    def _scrub_path(self) -> Path:
        return self.directory.with_name(SCRUB_FILE)

    def _scrub_mark(self) -> int | None:
        try:
            text = self._scrub_path().read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return 0  # unreadable: scrub anyway (a build clears it)
        return int(text) if text.isdigit() else 0

    def _mark_scrub(self, revision: int) -> None:
        """Record that a build from ``revision`` or later is due (kept at the highest)."""
        with _locked(self.directory.parent):
            due = max(revision, self._scrub_mark() or 0)
            path = self._scrub_path()
            tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex}")
            handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
            with os.fdopen(handle, "w", encoding="ascii") as out:
                out.write(str(due))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)

    def _clear_scrub(self, snapshot: int) -> None:
        """A build from ``snapshot`` is served: the mark goes unless a later forget set it."""
        with _locked(self.directory.parent):
            due = self._scrub_mark()
            if due is not None and due <= snapshot:
                self._scrub_path().unlink(missing_ok=True)
