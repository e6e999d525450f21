"""The vector index a process serves from, kept equal to a known store revision.

The store is the truth; this index is derived. Every store write bumps the
store's revision, and :class:`LiveIndex` remembers the revision it reflects.
Whenever the store has moved on (this process wrote, or another process
sharing the database did), :meth:`LiveIndex.catch_up` applies the change log
since that revision. A saved index is stamped with the revision it really
contains, so it can be caught up when loaded, or rebuilt when it cannot be
trusted (another model, another database, damage). Saves and loads of the
index directory are serialised across processes by a file lock.

Beside the vectors it keeps which entries each server holds
(:class:`knowledge.server_sets.ServerSets`), filled from the store when loaded
or rebuilt and caught up from the same change log, so that a question's dense
search reads neither the store nor the whole base (:meth:`LiveIndex.server_search`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.encoder import Encoder
from index.kinds import choose_kind
from index.storage import IndexMismatch, read_meta
from index.vectors import VectorIndex
from knowledge.cleaning import to_index_text
from knowledge.db import PRIVATE_FILE_MODE, make_private_dir
from knowledge.errors import IndexNotReady, RebuildInProgress
from knowledge.server_sets import ServerSets, ServerVectors
from knowledge.store import IndexDocument, KnowledgeStore

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"


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


@contextlib.contextmanager
def _directory_lock(directory: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold an advisory lock on ``directory`` (blocking; for worker threads)."""
    make_private_dir(directory)
    handle = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(handle)  # closing releases the lock


class LiveIndex:
    """One process's vector index over a store, and the revision it reflects."""

    def __init__(
        self,
        store: KnowledgeStore,
        encoder: Encoder,
        directory: Path,
        *,
        index_answer: bool = False,
        approximate_from: int,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.directory = directory
        self.index_answer = index_answer
        self.approximate_from = approximate_from
        self._index: VectorIndex | None = None
        self._applied = 0
        self._dirty = False
        self._reason = "not loaded"
        self.lock = asyncio.Lock()
        self._rebuilding = False
        self.servers = ServerSets()
        self.server_vectors = ServerVectors(self.servers)
        self._servers_filled = False

    # -- state -------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self._index is not None

    @property
    def index(self) -> VectorIndex | None:
        """The index served now (``None`` until loaded or rebuilt); for benchmarks."""
        return self._index

    @property
    def applied_revision(self) -> int:
        return self._applied

    def status(self) -> IndexStatus:
        index = self._index
        return IndexStatus(
            ready=index is not None,
            entries=len(index) if index is not None else 0,
            reason=self._reason,
            dirty=self._dirty,
            applied_revision=self._applied,
            kind=index.kind if index is not None else "",
        )

    def entries(self) -> int | None:
        return len(self._index) if self._index is not None else None

    async def current(self) -> VectorIndex:
        """The index, caught up with the store first if it has moved on (a cheap check)."""
        if self._index is None:
            raise IndexNotReady(f"the vector index must be rebuilt first ({self._reason})")
        if await self.store.revision() != self._applied:
            async with self.lock:
                await self.catch_up()
        assert self._index is not None
        return self._index

    # -- load and save -----------------------------------------------------------

    async def load(self) -> None:
        """Load the saved index; catch it up with the store, or record why it can't be."""
        dim = await asyncio.to_thread(lambda: self.encoder.dim)
        try:
            meta = await asyncio.to_thread(read_meta, self.directory)
            if meta is None and await self.store.count() == 0:
                # A new knowledge base: an empty index is trivially up to date.
                await self._fill_servers()
                async with self.lock:
                    self._index = VectorIndex(dim)
                    self._applied = 0
                    self._reason = ""
                    await self.catch_up()
                return
            if meta is None:
                raise IndexMismatch(self.directory, "no saved index")
            store_id, _, revision = meta.fingerprint.partition(":")
            if store_id != self.store.store_id or not revision.isdigit():
                raise IndexMismatch(self.directory, "it was built from another database")
            index = await asyncio.to_thread(self._load_locked, dim, meta.fingerprint)
        except IndexMismatch as error:
            self._index = None
            self._reason = str(error)
            log.warning("vector index needs a rebuild: %s", error)
            return
        await self._fill_servers()
        async with self.lock:
            self._index = index
            self.server_vectors.clear()
            self._applied = int(revision)
            self._reason = ""
            await self.catch_up()

    def _load_locked(self, dim: int, fingerprint: str) -> VectorIndex:
        with _directory_lock(self.directory, exclusive=False):
            return VectorIndex.load(
                self.directory,
                expected_model=self.encoder.name,
                expected_dim=dim,
                expected_fingerprint=fingerprint,
            )

    async def flush(self) -> bool:
        """Save the index if it changed since the last save. Returns True if saved.

        The saved files are stamped with the revision this index reflects, never
        the store's current one: another process may have written since.
        """
        async with self.lock:
            index = self._index
            if index is None or not self._dirty:
                return False
            fingerprint = f"{self.store.store_id}:{self._applied}"
            await asyncio.to_thread(self._save_locked, index, fingerprint)
            self._dirty = False
            applied = self._applied
        await self.store.prune_tombstones(applied)
        return True

    def _save_locked(self, index: VectorIndex, fingerprint: str) -> None:
        with _directory_lock(self.directory, exclusive=True):
            index.save(self.directory, model=self.encoder.name, fingerprint=fingerprint)

    # -- catching up -------------------------------------------------------------

    async def catch_up(self) -> None:
        """Apply every store change since the applied revision (call with the lock held)."""
        index = self._index
        if index is None:
            return
        changes = await self.store.changes_since(self._applied)
        if self._applied < await self.store.pruned_through():
            # Removals older than what the store still remembers may be missing:
            # compare the ids themselves.
            stale = sorted(set(index.ids().tolist()) - set(await self.store.entry_ids()))
            await asyncio.to_thread(index.remove, stale)
            await asyncio.to_thread(self.servers.apply, [], stale)
            self._dirty = True
        if changes.changed or changes.removed:
            log.info(
                "catching the index up: %d changed, %d removed since revision %d",
                len(changes.changed),
                len(changes.removed),
                self._applied,
            )
            await self._apply(index, changes.changed, changes.removed)
            # After the vectors: a server's cached matrix made meanwhile is dropped.
            places = await self.store.entry_places(ids=changes.changed)
            present = {p.id for p in places}
            gone = [*changes.removed, *(i for i in changes.changed if i not in present)]
            await asyncio.to_thread(self.servers.apply, places, gone)
            self._dirty = True
        self._applied = changes.revision

    def dense_text(self, doc: IndexDocument) -> str:
        text = f"{doc.title}\n{doc.question}"
        if self.index_answer:
            text = f"{text}\n{doc.answer}"
        return to_index_text(text)

    async def encode(self, texts: Sequence[str]) -> np.ndarray:
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
            vectors = await self.encode([self.dense_text(doc) for doc in batch])
            await asyncio.to_thread(index.add, [doc.id for doc in batch], vectors)
            present.update(doc.id for doc in batch)
        # An entry that is no longer in the store must not stay indexed.
        stale = [doc_id for doc_id in changed if doc_id not in present]
        if stale:
            await asyncio.to_thread(index.remove, stale)

    # -- rebuild -----------------------------------------------------------------

    async def rebuild(self, progress: ProgressCallback | None = None) -> RebuildReport:
        """Re-encode every entry into a new index, then swap it in and save it.

        The index kind follows the size (:func:`index.kinds.choose_kind`):
        exact while small, approximate beyond the measured point. The live index
        keeps serving while the new one is built; entries captured meanwhile are
        caught up before the swap. The files on disk are replaced atomically at
        the end, so a crash leaves the previous index.
        """
        if self._rebuilding:
            raise RebuildInProgress("a rebuild is already running")
        self._rebuilding = True
        started = time.monotonic()
        try:
            snapshot = await self.store.revision()
            fresh = await self._encode_everything(started, progress)
            kind = choose_kind(
                len(fresh),
                threshold=self.approximate_from,
                current=self._index.kind if self._index else None,
            )
            if kind != fresh.kind:
                fresh = await asyncio.to_thread(fresh.convert, kind)
            await self._fill_servers()  # the catch-up below brings it to the store's state
            async with self.lock:
                self._index = fresh
                self.server_vectors.clear()
                self._applied = snapshot
                self._reason = ""
                self._dirty = True
                await self.catch_up()
            await self.flush()
        finally:
            self._rebuilding = False
        seconds = time.monotonic() - started
        log.info("rebuilt the vector index: %d entries in %.1f s", len(fresh), seconds)
        return RebuildReport(entries=len(fresh), seconds=seconds)

    async def _encode_everything(
        self, started: float, progress: ProgressCallback | None
    ) -> VectorIndex:
        dim = await asyncio.to_thread(lambda: self.encoder.dim)
        total = await self.store.count()
        fresh = VectorIndex(dim)
        done = 0
        if progress is not None:
            progress(RebuildProgress(0, total, 0.0))
        async for batch in self.store.iter_documents(batch_size=128):
            vectors = await self.encode([self.dense_text(doc) for doc in batch])
            await asyncio.to_thread(fresh.add, [doc.id for doc in batch], vectors)
            done += len(batch)
            if progress is not None:
                progress(RebuildProgress(done, max(total, done), time.monotonic() - started))
        return fresh

    # -- per-server dense search -------------------------------------------------------

    async def _fill_servers(self) -> None:
        """Read where every stored entry lives into :attr:`servers` (at load, rebuild)."""
        fill = self.servers.filler()
        after = 0
        while places := await self.store.entry_places(after=after):
            await asyncio.to_thread(fill.add, places)
            after = places[-1].id
        await asyncio.to_thread(fill.finish)
        self._servers_filled = True

    def server_ids(
        self, guild_id: int, scopes: Iterable[str], exclude_thread_id: int | None = None
    ) -> np.ndarray | None:
        """The ids of the server's entries in ``scopes`` (but the thread's), from memory;
        ``None`` until they are known (then ask the store). Blocking: numpy work."""
        if not self._servers_filled:
            return None
        return self.servers.ids(guild_id, scopes, exclude_thread_id)

    def search_server(
        self,
        index: VectorIndex,
        query: np.ndarray,
        k: int,
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
    ) -> list[tuple[int, float]] | None:
        """The ``k`` entries of the server in ``scopes`` (but the thread's) closest to
        ``query``: scored exactly from its own vectors while it is small enough
        (:meth:`server_search`), else by ``index`` with its ids from memory as the
        filter; ``None`` until the servers' entries are known (then the caller asks
        the store for the ids). Blocking: for a worker thread."""
        hits = self.server_search(
            index, query, k, guild_id=guild_id, scopes=scopes, exclude_thread_id=exclude_thread_id
        )
        if hits is not None:
            return hits
        ids = self.server_ids(guild_id, scopes, exclude_thread_id)
        return None if ids is None else index.search(query, k, allowed_ids=ids)

    def server_search(
        self,
        index: VectorIndex,
        query: np.ndarray,
        k: int,
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
    ) -> list[tuple[int, float]] | None:
        """Exact dense search among the server's own vectors (see
        :class:`~knowledge.server_sets.ServerVectors`); ``None`` when the server is too
        large for that or its entries are not known yet. Blocking: for a worker thread."""
        if not self._servers_filled:
            return None
        return self.server_vectors.search(
            index, query, k, guild_id=guild_id, scopes=scopes, exclude_thread_id=exclude_thread_id
        )
