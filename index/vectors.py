"""The vector index: FAISS vectors keyed by the store's row ids.

The index knows ids and vectors only; the database knows the content. Ids are
explicit int64 values (the store's row ids, or Discord snowflakes), never
positions. Similarity is cosine, computed as the inner product of
L2-normalised vectors.

How the vectors are stored and searched is the index's *kind*
(:mod:`index.kinds`): exact ``flat`` while the knowledge base is small,
``ivf-sq8`` from :data:`index.kinds.APPROXIMATE_FROM` entries (see
:func:`index.kinds.choose_kind`). Searches restricted to few ids
(``allowed_ids``) are answered exactly on an approximate index as well, by
scoring those ids' stored vectors directly.

SQLite is the source of truth and this index is derived from it: whenever a
saved index does not match what the caller expects (model, dimension, database
fingerprint) or cannot be read, :meth:`VectorIndex.load` raises
:class:`index.storage.IndexMismatch` and the caller rebuilds it from the
database. The files and their checks are in :mod:`index.storage`.

Everything here is synchronous and CPU-bound: callers on the event loop use
``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.kinds import FLAT, KINDS, IndexKind, RawIndex, SearchRequest, ivf_lists
from index.storage import INDEX_FILE, META_FILE, IndexCorrupt, IndexMeta, read_index, write_index

__all__ = ["EXACT_FILTER_MAX", "VectorIndex"]

log = logging.getLogger(__name__)

EXACT_FILTER_MAX = 4096
"""A search restricted to at most this many ids scores them exactly, whatever the kind."""

_TRAIN_SAMPLE_MIN = 20_000
_ADD_CHUNK = 65_536


def _as_ids(ids: Sequence[int] | np.ndarray) -> np.ndarray:
    """Validate ``ids`` as a 1-D array of non-negative int64 values."""
    try:
        arr = np.asarray(ids)
        if arr.size == 0:
            return np.zeros(0, dtype=np.int64)
        if arr.dtype.kind == "O" and all(isinstance(v, int) for v in arr.flat):
            # numpy falls back to objects for Python ints beyond 64 bits.
            raise ValueError("ids must fit in a signed 64-bit integer")
        if arr.dtype.kind not in "iu":
            # Floats would silently round large ids such as Discord snowflakes.
            raise ValueError(f"ids must be integers, got dtype {arr.dtype}")
        if arr.dtype.kind == "u" and int(arr.max()) > np.iinfo(np.int64).max:
            raise ValueError("ids must fit in a signed 64-bit integer")
        arr = arr.astype(np.int64, copy=False)
    except OverflowError as exc:
        raise ValueError("ids must fit in a signed 64-bit integer") from exc
    if arr.ndim != 1:
        raise ValueError(f"ids must be one-dimensional, got shape {arr.shape}")
    if int(arr.min()) < 0:
        raise ValueError("ids must be non-negative")
    return np.ascontiguousarray(arr)


def _as_vectors(vectors: np.ndarray, dim: int) -> np.ndarray:
    """Validate ``vectors`` as finite floats of shape ``(n, dim)``; return float32, C order."""
    arr = np.asarray(vectors)
    if arr.dtype.kind != "f":
        raise ValueError(f"vectors must be floating point, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ValueError(f"vectors must have shape (n, {dim}), got {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError("vectors contain NaN or infinite values")
    return arr


def _training_sample(vectors: np.ndarray, seed: int) -> np.ndarray:
    """A random sample of ``vectors`` large enough to train an IVF index on all of them."""
    n = len(vectors)
    size = min(n, max(_TRAIN_SAMPLE_MIN, 64 * ivf_lists(n)))
    if size == n:
        return vectors
    rows = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    return vectors[rows]


@contextlib.contextmanager
def _single_faiss_thread() -> Iterator[None]:
    """Run FAISS on the calling thread only, then restore its thread count.

    The OpenMP thread count is a per-thread setting, so other threads (a
    rebuild's) keep theirs. A single query gains nothing from a thread team,
    and pays for it: ``IndexIDMap`` translates the result ids in a parallel
    loop whose barrier waits for every thread of the team, and on a small,
    busy machine (2 cores, the encoder or another process running) a waiting
    thread is descheduled for a whole time slice: measured 8 ms per search
    instead of 0.1 ms by bench/speed.py.
    """
    previous = faiss.omp_get_max_threads()
    if previous == 1:
        yield
        return
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


class VectorIndex:
    """FAISS vectors keyed by int64 ids, searched by inner product.

    Thread-safe: one lock guards the FAISS index and the id set, so searches
    and upserts may come from several threads (e.g. ``asyncio.to_thread``).
    ``kinds`` maps kind names to :class:`index.kinds.IndexKind` (by default
    the product's, :data:`index.kinds.KINDS`); the benchmark passes more.
    """

    def __init__(
        self,
        dim: int,
        *,
        kind: str = "flat",
        effort: int | None = None,
        kinds: Mapping[str, IndexKind] = KINDS,
    ) -> None:
        """Create an empty index of ``kind`` for vectors of ``dim`` components.

        ``effort`` sets how hard an approximate search looks (see
        :attr:`effort`). A kind that needs training is trained by the first
        :meth:`add`, or by :meth:`train`.
        """
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        if kind not in kinds:
            known = ", ".join(sorted(kinds))
            raise ValueError(f"unknown index kind {kind!r}; known kinds: {known}")
        self._kind = kinds[kind]
        self._kinds = kinds
        self._index: RawIndex | None = None if self._kind.needs_training else self._kind.new(dim)
        self._dim = dim
        self._ids: set[int] = set()
        self._effort: int | None = None
        self.effort = effort
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        """Show the kind, width and size."""
        return f"{type(self).__name__}(dim={self._dim}, kind={self.kind!r}, count={len(self)})"

    @property
    def dim(self) -> int:
        """Width of the vectors."""
        return self._dim

    @property
    def kind(self) -> str:
        """The index kind's name, e.g. ``"flat"``."""
        return self._kind.name

    @property
    def exact(self) -> bool:
        """Whether searches are exact (``flat``)."""
        return self._kind.exact

    @property
    def is_trained(self) -> bool:
        """Whether vectors can be added without training first (false for a new IVF index)."""
        return self._index is not None

    @property
    def nlist(self) -> int | None:
        """Inverted lists of a trained IVF index, else ``None``."""
        return None if self._index is None else self._kind.lists(self._index)

    @property
    def effort(self) -> int | None:
        """How hard an approximate search looks, e.g. an IVF index's lists visited (nprobe).

        ``None`` for exact or untrained indexes; setting ``None`` restores the
        kind's default.
        """
        if self._index is None:
            return None
        default = self._kind.default_effort(self._index)
        if default is None or self._effort is None:
            return default
        return self._effort

    @effort.setter
    def effort(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("effort must be positive")
        self._effort = value

    def __len__(self) -> int:
        """Number of vectors in the index."""
        return len(self._ids)

    def __contains__(self, row_id: object) -> bool:
        """``row_id in index``, see :meth:`contains`."""
        return isinstance(row_id, int | np.integer) and self.contains(int(row_id))

    def contains(self, row_id: int) -> bool:
        """Whether ``row_id`` has a vector in the index."""
        with self._lock:
            return int(row_id) in self._ids

    def ids(self) -> np.ndarray:
        """A copy of all ids (int64), in storage order."""
        with self._lock:
            return self._stored_ids()

    def _stored_ids(self) -> np.ndarray:
        if self._index is None:
            return np.zeros(0, dtype=np.int64)
        return self._kind.stored_ids(self._index)

    def train(self, sample: np.ndarray, *, expected: int | None = None) -> None:
        """Train the index on ``sample`` (an IVF index's lists and quantiser).

        ``expected`` is the number of vectors the index will hold (by default
        the sample size). Does nothing for kinds without training. Raises
        :class:`RuntimeError` if the index already holds vectors.
        """
        vec_arr = _as_vectors(sample, self._dim)
        if not self._kind.needs_training:
            return
        with self._lock:
            if self._ids:
                raise RuntimeError(f"cannot retrain an {self.kind} index that holds vectors")
            self._index = self._kind.new(self._dim, vec_arr, expected or 0)

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids``.

        ``vectors`` has shape ``(len(ids), dim)``; it is converted to
        contiguous float32. Ids must be distinct within one call. An untrained
        index (IVF) is first trained on these vectors.
        """
        id_arr = _as_ids(ids)
        vec_arr = _as_vectors(vectors, self._dim)
        if len(id_arr) != len(vec_arr):
            raise ValueError(f"{len(id_arr)} ids for {len(vec_arr)} vectors")
        if len(np.unique(id_arr)) != len(id_arr):
            raise ValueError("ids must be distinct within one add() call")
        if not len(id_arr):
            return
        new_ids = id_arr.tolist()
        with self._lock:
            if self._index is None:
                self.train(vec_arr)
            assert self._index is not None
            replaced = [i for i in new_ids if i in self._ids]
            if replaced:
                self._kind.remove(self._index, np.asarray(replaced, dtype=np.int64))
            for start in range(0, len(id_arr), _ADD_CHUNK):
                stop = start + _ADD_CHUNK
                self._index.add_with_ids(vec_arr[start:stop], id_arr[start:stop])
            self._ids.update(new_ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Remove the vectors of ``ids``; unknown ids are ignored. Return how many went."""
        wanted = set(_as_ids(ids).tolist())
        with self._lock:
            present = wanted & self._ids
            if not present or self._index is None:
                return 0
            self._kind.remove(self._index, np.fromiter(present, dtype=np.int64))
            self._ids -= present
            return len(present)

    def _reconstruct(self, id_arr: np.ndarray) -> np.ndarray:
        if self._index is None or not len(id_arr):
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.asarray(self._index.reconstruct_batch(id_arr), dtype=np.float32)

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` as float32 ``(len(ids), dim)``, in the order given.

        Quantised kinds give back the decoded (approximate) vectors. Raises
        :class:`KeyError` if any id is not in the index.
        """
        id_arr = _as_ids(ids)
        with self._lock:
            missing = [i for i in id_arr.tolist() if i not in self._ids]
            if missing:
                raise KeyError(f"{len(missing)} ids not in the index, e.g. {missing[:5]}")
            return self._reconstruct(id_arr)

    def search(
        self,
        query: np.ndarray,
        k: int,
        *,
        allowed_ids: Sequence[int] | np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """The ``k`` ids most similar to ``query``, best first, as ``(id, score)``.

        ``query`` has shape ``(dim,)`` or ``(1, dim)``. Fewer than ``k`` pairs
        come back when the index (or ``allowed_ids``) holds fewer vectors.
        ``allowed_ids``, when given, restricts the search to those ids (e.g. to
        the entries a member may see); ids not in the index are ignored.
        """
        if k < 0:
            raise ValueError(f"k must not be negative, got {k}")
        arr = np.asarray(query)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.shape != (1, self._dim):
            raise ValueError(f"query must have shape ({self._dim},) or (1, {self._dim})")
        q_arr = _as_vectors(arr, self._dim)
        allowed = None if allowed_ids is None else np.unique(_as_ids(allowed_ids))
        with self._lock:
            limit = min(k, len(self._ids), len(self._ids) if allowed is None else len(allowed))
            if self._index is None or limit == 0:
                return []
            if allowed is not None and not self.exact and len(allowed) <= EXACT_FILTER_MAX:
                return self._search_exactly(q_arr[0], limit, allowed)
            params = self._kind.search_parameters(self._index, self._request(limit, allowed))
            with _single_faiss_thread():
                scores, found = self._index.search(q_arr, limit, params=params)
        return [(int(i), float(s)) for i, s in zip(found[0], scores[0], strict=True) if i >= 0]

    def _request(self, k: int, allowed: np.ndarray | None) -> SearchRequest:
        """The search for ``k`` neighbours among ``allowed`` (all if ``None``)."""
        live = len(self._ids)
        if allowed is None:
            return SearchRequest(k=k, effort=self._effort, live=live)
        # IndexIDMap translates the selector to its internal positions, so the
        # selector holds external ids. IDSelectorBatch hashes them.
        return SearchRequest(
            k=k,
            effort=self._effort,
            boost=max(1, math.ceil(live / max(1, len(allowed)))),
            selector=faiss.IDSelectorBatch(allowed),
            live=live,
        )

    def _search_exactly(
        self, query: np.ndarray, k: int, allowed: np.ndarray
    ) -> list[tuple[int, float]]:
        """Score the stored vectors of the allowed ids directly (few ids: cheaper than a search)."""
        present = np.fromiter((i for i in allowed.tolist() if i in self._ids), dtype=np.int64)
        if not len(present):
            return []
        row = self._reconstruct(present) @ query
        k = min(k, len(present))
        top = np.argpartition(-row, k - 1)[:k] if k < len(row) else np.arange(len(row))
        top = top[np.argsort(-row[top], kind="stable")]
        return [(int(present[i]), float(row[i])) for i in top]

    @classmethod
    def build(
        cls,
        ids: Sequence[int] | np.ndarray,
        vectors: np.ndarray,
        *,
        kind: str = "flat",
        seed: int = 0,
        **options: Any,
    ) -> VectorIndex:
        """A new index of ``kind`` holding ``vectors`` under ``ids``, built in bulk.

        A kind that needs training is trained first on a random sample
        (``seed``) of at least 20 000 vectors (or all), 64 per inverted list.
        ``options`` go to the constructor (``effort``, ``kinds``).
        """
        shape = np.shape(vectors)
        if len(shape) != 2:
            raise ValueError(f"vectors must have shape (n, dim), got {shape}")
        vec_arr = _as_vectors(vectors, shape[1])
        index = cls(shape[1], kind=kind, **options)
        if index._kind.needs_training and len(vec_arr):
            index.train(_training_sample(vec_arr, seed), expected=len(vec_arr))
        index.add(ids, vec_arr)
        return index

    def convert(self, kind: str, *, seed: int = 0) -> VectorIndex:
        """A new index of ``kind`` with the same ids and vectors (this one is left as it is).

        Vectors come from :meth:`vectors`, so converting from a quantised kind
        carries its quantisation error over.
        """
        with self._lock:
            ids = self._stored_ids()
            vectors = self._reconstruct(ids)
        if not len(ids):
            return VectorIndex(self._dim, kind=kind, kinds=self._kinds)
        return VectorIndex.build(ids, vectors, kind=kind, seed=seed, kinds=self._kinds)

    def save(self, directory: Path, *, model: str, fingerprint: str) -> IndexMeta:
        """Write the index and its metadata atomically into ``directory``; return the metadata.

        ``model`` is the encoder's name and ``fingerprint`` describes the
        database state the vectors were computed from; both are checked by
        :meth:`load`. An index that was never trained (hence is empty) is
        saved as an empty flat index.
        """
        directory = Path(directory)
        with self._lock:
            kind = self._kind if self._index is not None else FLAT
            raw = self._index if self._index is not None else FLAT.new(self._dim)
            meta = write_index(
                directory,
                raw,
                model=model,
                fingerprint=fingerprint,
                kind=kind.name,
                count=len(self),
            )
        log.info(
            "saved %s vector index: %d vectors, model %s, in %s",
            meta.kind,
            meta.count,
            model,
            directory,
        )
        return meta

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        expected_model: str,
        expected_dim: int,
        expected_fingerprint: str | None,
        kinds: Mapping[str, IndexKind] = KINDS,
    ) -> VectorIndex:
        """Load the index saved in ``directory`` if it matches what the caller expects.

        ``expected_fingerprint=None`` skips the fingerprint check (the caller
        then reconciles the index with the database itself). Raises
        :class:`IndexMissing`, :class:`IndexCorrupt` or :class:`IndexMismatch`
        with the reason when the index must be rebuilt instead.
        """
        directory = Path(directory)
        raw, meta = read_index(
            directory,
            expected_model=expected_model,
            expected_dim=expected_dim,
            expected_fingerprint=expected_fingerprint,
            kinds=kinds,
        )
        index = cls(meta.dim, kind=meta.kind, kinds=kinds)
        index._adopt(raw, meta, directory)
        log.info(
            "loaded %s vector index: %d vectors, model %s, from %s",
            meta.kind,
            meta.count,
            meta.model,
            directory,
        )
        return index

    def _adopt(self, raw: RawIndex, meta: IndexMeta, directory: Path) -> None:
        """Serve ``raw``, read from ``directory``, once it is what ``meta`` describes."""
        if raw.d != meta.dim or not self._kind.matches(raw):
            raise IndexCorrupt(directory, f"{INDEX_FILE} is not a {meta.kind} index of {meta.dim}")
        self._kind.prepare(raw)
        stored = self._kind.stored_ids(raw)
        if len(stored) and int(stored.min()) < 0:
            raise IndexCorrupt(directory, f"{INDEX_FILE} holds negative ids")
        if len(stored) != meta.count:
            raise IndexCorrupt(
                directory,
                f"{INDEX_FILE} holds {len(stored)} vectors, {META_FILE} says {meta.count}",
            )
        ids = set(stored.tolist())
        if len(ids) != len(stored):
            raise IndexCorrupt(directory, f"{INDEX_FILE} holds the same id twice")
        self._index = raw
        self._ids = ids
