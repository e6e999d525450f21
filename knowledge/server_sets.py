"""Which entries each server holds, in memory, and exact dense search within one server.

The vector index knows ids and vectors only. A question may see only its own
server's entries in its allowed scopes; reading those ids from the store for
every question costs a query over the server's rows, and restricting a FAISS
search to them scans the whole base (a flat index) or a boosted share of it.
:class:`ServerSets` keeps, per (server, scope), the sorted ids and their threads
as numpy arrays, kept up to date by :class:`knowledge.live_index.LiveIndex` from
the same change log its vectors catch up from (and filled from the store when
the index is loaded or rebuilt). :class:`ServerVectors` scores a server's own
vectors exactly: copied once from the index into one contiguous matrix per
(server, scope), cached within a row budget, and dropped when the change log
touches that group.

The store stays the truth: the candidates a search returns are fetched with the
question's filters applied in SQL, so a set that lags behind can only cost a
candidate, never show another server's entry.

Everything here is synchronous; callers on the event loop use ``asyncio.to_thread``.
Arrays are never changed in place (each update makes new ones), so a search
reading a group's arrays while the change log is applied sees one consistent
version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from index.vectors import VectorIndex
from knowledge.store import EntryPlace

__all__ = ["DENSE_CACHE_ROWS", "SERVER_EXACT_MAX", "ServerSets", "ServerVectors"]

SERVER_EXACT_MAX = 65_536
"""Servers (allowed scopes) of up to this many entries are searched exactly from
their own vectors; larger ones go to the vector index with their ids as a filter."""

DENSE_CACHE_ROWS = 262_144
"""Vectors kept in the per-server matrices, least recently used dropped first
(384 MB of float32 at 384 dimensions; the index itself holds 1.5 GB at 1M flat)."""

_EMPTY_IDS = np.zeros(0, dtype=np.int64)

Hits = list[tuple[int, float]]


@dataclass(frozen=True, slots=True)
class Group:
    """The entries of one server in one scope: sorted ids, their threads, and a
    generation that changes whenever the change log touches one of them."""

    ids: np.ndarray
    threads: np.ndarray
    generation: int


def _without(group: Group, gone: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = ~np.isin(group.ids, gone, assume_unique=True)
    return group.ids[keep], group.threads[keep]


def _with(
    ids: np.ndarray, threads: np.ndarray, new_ids: np.ndarray, new_threads: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Insert sorted ``new_ids`` (none of them in ``ids``) keeping ``ids`` sorted."""
    at = np.searchsorted(ids, new_ids)
    return np.insert(ids, at, new_ids), np.insert(threads, at, new_threads)


class ServerSets:
    """Per (server, scope): the ids of its entries. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[tuple[int, str], Group] = {}
        # Every id, sorted, with the group it is in (for removals: the store no
        # longer knows where a deleted entry was).
        self._all = _EMPTY_IDS
        self._where: np.ndarray = np.zeros(0, dtype=np.int32)
        self._keys: list[tuple[int, str]] = []
        self._codes: dict[tuple[int, str], int] = {}
        self._generation = 0

    def __len__(self) -> int:
        return len(self._all)

    def _code(self, key: tuple[int, str]) -> int:
        code = self._codes.get(key)
        if code is None:
            code = self._codes[key] = len(self._keys)
            self._keys.append(key)
        return code

    def reset(self, places: Iterable[EntryPlace]) -> None:
        """Replace everything with ``places`` (every stored entry)."""
        fill = self.filler()
        fill.add(list(places))
        fill.finish()

    def filler(self) -> _Filler:
        """Replace everything with batches of places (every stored entry, in id order:
        see :meth:`KnowledgeStore.entry_places`), added then finished."""
        return _Filler(self)

    def _replace(
        self, ids: np.ndarray, codes: np.ndarray, threads: np.ndarray, keys: list[tuple[int, str]]
    ) -> None:
        order = np.argsort(ids, kind="stable")
        ids, codes, threads = ids[order], codes[order], threads[order]
        with self._lock:
            self._keys = keys
            self._codes = {k: n for n, k in enumerate(keys)}
            self._groups = {}
            self._all, self._where = ids, codes
            self._generation += 1
            by_group = np.argsort(codes, kind="stable")  # ids stay sorted within a group
            bounds = np.flatnonzero(np.diff(codes[by_group])) + 1
            for chunk in np.split(by_group, bounds) if len(by_group) else []:
                key = keys[int(codes[chunk[0]])]
                self._groups[key] = Group(ids[chunk], threads[chunk], self._generation)

    def apply(self, places: Sequence[EntryPlace], removed: Iterable[int]) -> None:
        """Changed entries (``places``: where they are now) and removed ones."""
        moved = np.unique(
            np.fromiter((*(p.id for p in places), *(int(i) for i in removed)), dtype=np.int64)
        )
        if not len(moved):
            return
        with self._lock:
            self._generation += 1
            generation = self._generation
            pos = np.searchsorted(self._all, moved)
            known = pos < len(self._all)
            known[known] = self._all[pos[known]] == moved[known]
            pos = pos[known]
            touched = {self._keys[int(c)] for c in np.unique(self._where[pos])}
            keep = np.ones(len(self._all), dtype=bool)
            keep[pos] = False
            all_ids, where = self._all[keep], self._where[keep]
            for key in touched:
                ids, threads = _without(self._groups[key], moved)
                self._groups[key] = Group(ids, threads, generation)
            by_key: dict[tuple[int, str], list[EntryPlace]] = {}
            for place in sorted({p.id: p for p in places}.values(), key=lambda p: p.id):
                by_key.setdefault((place.guild_id, place.scope), []).append(place)
            for key, group_places in by_key.items():
                new_ids = np.fromiter((p.id for p in group_places), dtype=np.int64)
                new_threads = np.fromiter((p.thread_id for p in group_places), dtype=np.int64)
                old = self._groups.get(key, Group(_EMPTY_IDS, _EMPTY_IDS, generation))
                ids, threads = _with(old.ids, old.threads, new_ids, new_threads)
                self._groups[key] = Group(ids, threads, generation)
                code = self._code(key)
                at = np.searchsorted(all_ids, new_ids)
                all_ids = np.insert(all_ids, at, new_ids)
                where = np.insert(where, at, np.full(len(new_ids), code, dtype=np.int32))
            for key in touched:
                if not len(self._groups[key].ids):
                    del self._groups[key]
            self._all, self._where = all_ids, where

    def groups(self, guild_id: int, scopes: Iterable[str]) -> list[tuple[tuple[int, str], Group]]:
        """The server's groups in ``scopes`` (those holding entries), in scope order."""
        with self._lock:
            keys = [(guild_id, s) for s in sorted(set(scopes))]
            return [(k, self._groups[k]) for k in keys if k in self._groups]

    def count(self, guild_id: int, scopes: Iterable[str]) -> int:
        """Entries of the server in ``scopes``."""
        return sum(len(g.ids) for _, g in self.groups(guild_id, scopes))

    def ids(
        self, guild_id: int, scopes: Iterable[str], exclude_thread_id: int | None = None
    ) -> np.ndarray:
        """The ids of the server's entries in ``scopes``, but the thread's, sorted."""
        found = self.groups(guild_id, scopes)
        if not found:
            return _EMPTY_IDS
        parts = []
        for _, group in found:
            ids = group.ids
            if exclude_thread_id is not None:
                ids = ids[group.threads != exclude_thread_id]
            parts.append(ids)
        return np.sort(np.concatenate(parts)) if len(parts) > 1 else parts[0]


class _Filler:
    """Batches of places turned into arrays as they come (no list of every entry)."""

    def __init__(self, sets: ServerSets) -> None:
        self._sets = sets
        self._ids: list[np.ndarray] = []
        self._codes: list[np.ndarray] = []
        self._threads: list[np.ndarray] = []
        self._keys: list[tuple[int, str]] = []
        self._known: dict[tuple[int, str], int] = {}

    def _code(self, key: tuple[int, str]) -> int:
        code = self._known.get(key)
        if code is None:
            code = self._known[key] = len(self._keys)
            self._keys.append(key)
        return code

    def add(self, places: Sequence[EntryPlace]) -> None:
        n = len(places)
        self._ids.append(np.fromiter((p.id for p in places), dtype=np.int64, count=n))
        self._threads.append(np.fromiter((p.thread_id for p in places), dtype=np.int64, count=n))
        self._codes.append(
            np.fromiter((self._code((p.guild_id, p.scope)) for p in places), np.int32, count=n)
        )

    def finish(self) -> None:
        def joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
            return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

        self._sets._replace(
            joined(self._ids, np.int64),
            joined(self._codes, np.int32),
            joined(self._threads, np.int64),
            self._keys,
        )


@dataclass(frozen=True, slots=True)
class _Matrix:
    index: int
    generation: int
    ids: np.ndarray
    threads: np.ndarray
    vectors: np.ndarray


class ServerVectors:
    """Exact dense search within one server from its own contiguous vectors.

    A (server, scope) group's vectors are copied from the vector index once and
    kept, least recently used first out, within ``budget`` rows; a copy made for
    another generation of the group (the change log touched it) or another
    index (a rebuild swapped it) is made again.
    """

    def __init__(
        self,
        sets: ServerSets,
        *,
        exact_max: int = SERVER_EXACT_MAX,
        budget: int = DENSE_CACHE_ROWS,
    ) -> None:
        self.sets = sets
        self.exact_max = exact_max
        self.budget = budget
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[int, str], _Matrix] = OrderedDict()
        self._rows = 0

    @property
    def cached_rows(self) -> int:
        return self._rows

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._rows = 0

    def search(
        self,
        index: VectorIndex,
        query: np.ndarray,
        k: int,
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
    ) -> Hits | None:
        """The ``k`` entries of the server in ``scopes`` (but the thread's) closest to
        ``query``, best first; ``None`` when the server is too large to score exactly
        here (the caller searches the vector index)."""
        found = self.sets.groups(guild_id, scopes)
        if sum(len(g.ids) for _, g in found) > self.exact_max:
            return None
        q = np.ascontiguousarray(np.asarray(query, dtype=np.float32).reshape(-1))
        ids_parts: list[np.ndarray] = []
        score_parts: list[np.ndarray] = []
        for key, group in found:
            try:
                matrix = self._matrix(index, key, group)
            except KeyError:
                return None  # removed from the index meanwhile: let the index answer
            # Not ``@``: a matrix-vector product goes to BLAS's thread team, whose
            # threads wait for each other on a busy machine (measured 0.7 ms p50 but
            # 100 ms p99 for 10k x 384); einsum runs on this thread only.
            scores = np.einsum("ij,j->i", matrix.vectors, q)
            if exclude_thread_id is not None:
                keep = matrix.threads != exclude_thread_id
                ids_parts.append(matrix.ids[keep])
                score_parts.append(scores[keep])
            else:
                ids_parts.append(matrix.ids)
                score_parts.append(scores)
        if not ids_parts or k < 1:
            return []
        ids = np.concatenate(ids_parts)
        scores = np.concatenate(score_parts)
        k = min(k, len(ids))
        if k == 0:
            return []
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        # Ties broken by id, so the result does not depend on the groups' order.
        top = top[np.lexsort((ids[top], -scores[top]))]
        return [(int(ids[i]), float(scores[i])) for i in top]

    def _matrix(self, index: VectorIndex, key: tuple[int, str], group: Group) -> _Matrix:
        with self._lock:
            cached = self._cache.get(key)
            if (
                cached is not None
                and cached.index == id(index)
                and cached.generation == group.generation
            ):
                self._cache.move_to_end(key)
                return cached
        # Entries captured since the index last caught up are not in it yet.
        present = np.fromiter(
            (index.contains(i) for i in group.ids.tolist()), dtype=bool, count=len(group.ids)
        )
        ids, threads = group.ids[present], group.threads[present]
        vectors = index.vectors(ids) if len(ids) else np.zeros((0, index.dim), np.float32)
        matrix = _Matrix(id(index), group.generation, ids, threads, vectors)
        with self._lock:
            old = self._cache.pop(key, None)
            if old is not None:
                self._rows -= len(old.ids)
            if len(ids) <= self.budget:
                self._cache[key] = matrix
                self._rows += len(ids)
            while self._rows > self.budget and self._cache:
                _, dropped = self._cache.popitem(last=False)
                self._rows -= len(dropped.ids)
        return matrix
