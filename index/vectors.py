"""The vector index: FAISS vectors keyed by the store's row ids.

The index knows ids and vectors only; the database knows the content. Ids are
explicit int64 values (the store's row ids, or Discord snowflakes), never
positions. Similarity is cosine, computed as the inner product of
L2-normalised vectors.

Index kinds (``kind``):

``flat``
    Exact search over float32 vectors (``IndexIDMap2(IndexFlatIP)``). The
    default, and the right choice while the knowledge base is small.
``hnsw-flat``, ``hnsw-sq8``
    A graph (``IndexHNSWFlat`` / ``IndexHNSWSQ``, M=32) over float32 or 8-bit
    scalar-quantised vectors, in an ``IndexIDMap2``. HNSW cannot delete: a
    removed or replaced vector becomes a *tombstone* (its id in the id map is
    set to -1, which every search excludes), and :meth:`VectorIndex.compact`
    rebuilds the graph without them.
``ivf-flat``, ``ivf-sq8``, ``ivf-pq``
    An inverted file (``IndexIVFFlat`` / ``IndexIVFScalarQuantizer`` 8-bit /
    ``IndexIVFPQ``, 8 bits per 8 dimensions) keyed by the external ids themselves, with a hash
    table for reconstruction and real deletion. The coarse quantiser is trained
    on the first vectors added (or on a sample in :meth:`VectorIndex.build` and
    :meth:`VectorIndex.convert`), so an IVF index is best built in bulk.

Approximate kinds trade recall for speed and memory; ``bench/speed.py``
measures the trade and :func:`choose_kind` encodes the result: exact below
:data:`APPROXIMATE_FROM` entries, :data:`APPROXIMATE_KIND` from there on.
Searches restricted to few ids (``allowed_ids``) are answered exactly on an
approximate index as well, by scoring those ids' stored vectors directly.

SQLite is the source of truth and this index is derived from it: whenever a
saved index does not match what the caller expects (model, dimension, database
fingerprint) or cannot be read, :meth:`VectorIndex.load` raises
:class:`IndexMismatch` and the caller rebuilds it with :func:`build_index`.

On disk a saved index is two files in one directory: ``vectors.faiss`` and
``meta.json``. Each is written to a temporary file in the same directory,
flushed to disk and moved into place with ``os.replace``; ``meta.json`` comes
last and records the SHA-256 of ``vectors.faiss``, so a crash between the two
moves, or a damaged file, is detected on load instead of serving wrong
results. One writer per directory is assumed.

Everything here is synchronous and CPU-bound: callers on the event loop use
``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.encoder import Encoder

__all__ = [
    "APPROXIMATE_FROM",
    "APPROXIMATE_KIND",
    "INDEX_FILE",
    "KINDS",
    "META_FILE",
    "IndexCorrupt",
    "IndexMeta",
    "IndexMismatch",
    "IndexMissing",
    "VectorIndex",
    "build_index",
    "choose_kind",
    "read_meta",
]

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.faiss"
META_FILE = "meta.json"
FORMAT_VERSION = 1
"""Version of the on-disk layout; a saved index of another version is rebuilt."""

HNSW_KINDS = frozenset({"hnsw-flat", "hnsw-sq8"})
IVF_KINDS = frozenset({"ivf-flat", "ivf-sq8", "ivf-pq"})
KINDS = frozenset({"flat"}) | HNSW_KINDS | IVF_KINDS
"""Index kinds this module can build."""

TRAINED_KINDS = IVF_KINDS | {"hnsw-sq8"}
"""Kinds that learn from a sample (coarse centroids, quantiser ranges) before the first add."""

APPROXIMATE_FROM = 150_000
"""Entries from which :func:`choose_kind` leaves exact search.

Measured by bench/speed.py on 2 cores: an exact search costs ~0.06 ms per
1000 vectors (6.8 ms p99 at 100k, 69 ms at 1M) and 1.5 KiB each (1.58 GB at
1M); 150k keeps it near 10 ms and 230 MB, while ``ivf-sq8`` answers in
1-4 ms at 1M with 0.95-0.98 recall@10 and a third of the memory.
"""

APPROXIMATE_KIND = "ivf-sq8"
"""The approximate kind :func:`choose_kind` picks (measured by bench/speed.py)."""

HNSW_M = 32
"""Neighbours per node of an HNSW graph (64 on the bottom layer)."""

HNSW_EF_CONSTRUCTION = 40
"""Candidate list size while building an HNSW graph."""

DEFAULT_EF_SEARCH = 64
"""Candidate list size of an HNSW search (at least ``k``)."""

PQ_DIMS_PER_CODE = 8
"""``ivf-pq`` spends one byte per 8 dimensions (48 bytes for 384), see :func:`pq_subquantizers`."""

EXACT_FILTER_MAX = 4096
"""A search restricted to at most this many ids scores them exactly, whatever the kind."""

SINGLE_THREAD_BELOW = 20
"""Searches of fewer queries run FAISS on the calling thread only (see :func:`_faiss_threads`)."""

_EF_SEARCH_MAX = 4096
_TRAIN_SAMPLE_MIN = 20_000
_ADD_CHUNK = 65_536
_TOMBSTONE = -1


def choose_kind(n: int, *, threshold: int = APPROXIMATE_FROM, current: str | None = None) -> str:
    """The index kind for ``n`` entries: ``"flat"`` below ``threshold``, else approximate.

    With the ``current`` kind given, an approximate index is kept down to
    ``threshold / 2`` entries, so a knowledge base hovering around the
    threshold is not converted back and forth.
    """
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")
    if current is not None and current != "flat" and n >= threshold // 2:
        return current if current in KINDS else APPROXIMATE_KIND
    return "flat" if n < threshold else APPROXIMATE_KIND


def pq_subquantizers(dim: int) -> int:
    """Sub-quantisers (bytes per vector) of ``ivf-pq`` for ``dim``: a divisor near ``dim / 8``."""
    target = max(1, dim // PQ_DIMS_PER_CODE)
    return max(m for m in range(1, target + 1) if dim % m == 0)


def ivf_lists(n: int) -> int:
    """Inverted lists of an IVF index trained on ``n`` vectors.

    About ``sqrt(n)`` (a power of two, at most 4096), and never more than
    ``n / 39``, the fewest training points per list FAISS accepts silently.
    """
    if n < 1:
        raise ValueError("an IVF index needs at least one training vector")
    lists = 2 ** round(math.log2(math.sqrt(n)))
    return max(1, min(lists, 4096, n // 39))


def default_nprobe(nlist: int) -> int:
    """Lists an IVF search visits by default: 1/32 of them, at least 8 (all, if fewer)."""
    return min(nlist, max(8, nlist // 32))


_TEMP_SUFFIX = ".tmp"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class IndexMeta:
    """What a saved index was built from, written next to it as ``meta.json``.

    ``fingerprint`` is an opaque string chosen by the caller that describes
    the state of the database the index was built from. ``checksum`` is the
    SHA-256 (hex) of ``vectors.faiss``.
    """

    model: str
    dim: int
    count: int
    fingerprint: str
    kind: str
    created_at: str
    checksum: str

    def to_json(self) -> str:
        """Serialise to a JSON document, with the format version."""
        return json.dumps({"format": FORMAT_VERSION, **asdict(self)}, indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> IndexMeta:
        """Parse :meth:`to_json` output; raise :class:`ValueError` if it is not valid."""
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        if data.get("format") != FORMAT_VERSION:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT_VERSION}")
        expected: dict[str, type] = {
            "model": str,
            "dim": int,
            "count": int,
            "fingerprint": str,
            "kind": str,
            "created_at": str,
            "checksum": str,
        }
        for key, kind in expected.items():
            value = data.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ValueError(f"field {key!r} is missing or not a {kind.__name__}")
        return cls(**{key: data[key] for key in expected})


class IndexMismatch(Exception):
    """A saved index cannot be used as it is and must be rebuilt from the database.

    ``reason`` says what differs (model, dimension, fingerprint, files).
    """

    def __init__(self, directory: Path, reason: str) -> None:
        """Describe why the index in ``directory`` is unusable."""
        super().__init__(
            f"vector index in {directory} cannot be used: {reason}; "
            "it must be rebuilt from the database"
        )
        self.directory = directory
        self.reason = reason


class IndexMissing(IndexMismatch):
    """No saved index (or only part of one) is in the directory, e.g. on first start."""


class IndexCorrupt(IndexMismatch):
    """The saved files are unreadable, truncated or do not belong together."""


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


def _new_faiss_index(dim: int, kind: str, nlist: int = 1, pq_bits: int = 8) -> faiss.Index:
    """A new, empty FAISS index of ``kind`` that keys vectors by external int64 ids.

    IVF kinds come untrained, with ``nlist`` inverted lists; ``ivf-pq`` codes
    use ``pq_bits`` bits per sub-quantiser (8 unless trained on fewer than 256).
    """
    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "flat":
        # Exact inner-product search; IndexIDMap2 adds the id map and reconstruct by id.
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if kind in HNSW_KINDS:
        if kind == "hnsw-flat":
            graph = faiss.IndexHNSWFlat(dim, HNSW_M, ip)
        else:
            graph = faiss.IndexHNSWSQ(dim, faiss.ScalarQuantizer.QT_8bit, HNSW_M, ip)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = DEFAULT_EF_SEARCH
        return faiss.IndexIDMap2(graph)
    if kind in IVF_KINDS:
        quantizer = faiss.IndexFlatIP(dim)
        if kind == "ivf-flat":
            ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, ip)
        elif kind == "ivf-sq8":
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, ip
            )
        else:
            ivf = faiss.IndexIVFPQ(quantizer, dim, nlist, pq_subquantizers(dim), pq_bits, ip)
        ivf.own_fields = True
        quantizer.this.disown()  # the IVF index frees its quantiser
        ivf.nprobe = default_nprobe(nlist)
        return ivf
    raise ValueError(f"unknown index kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")


@contextlib.contextmanager
def _faiss_threads(count: int) -> Iterator[None]:
    """Run FAISS with ``count`` OpenMP threads in the calling thread, then restore.

    The OpenMP thread count is a per-thread setting, so other threads (a
    rebuild's) keep theirs. A single query gains nothing from a thread team,
    and pays for it: ``IndexIDMap`` translates the result ids in a parallel
    loop whose barrier waits for every thread of the team, and on a small,
    busy machine (2 cores, the encoder or another process running) a waiting
    thread is descheduled for a whole time slice: measured 8 ms per search
    instead of 0.1 ms by bench/speed.py.
    """
    previous = faiss.omp_get_max_threads()
    if previous == count:
        yield
        return
    faiss.omp_set_num_threads(count)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _inner(index: faiss.Index) -> faiss.Index:
    """The index inside an ``IndexIDMap2``, downcast to its concrete class."""
    return faiss.downcast_index(index.index)


def _id_map_view(index: faiss.IndexIDMap2) -> np.ndarray:
    """A writable numpy view of the id map of ``index`` (no copy)."""
    size = index.id_map.size()
    if size == 0:
        return np.zeros(0, dtype=np.int64)
    return faiss.rev_swig_ptr(index.id_map.data(), size)


def _check_structure(raw: faiss.Index, kind: str, dim: int) -> bool:
    """Whether the FAISS index read from disk is what ``kind`` builds, for ``dim``."""
    if raw.d != dim or raw.metric_type != faiss.METRIC_INNER_PRODUCT:
        return False
    if kind == "flat":
        return isinstance(raw, faiss.IndexIDMap2) and isinstance(_inner(raw), faiss.IndexFlatIP)
    if kind in HNSW_KINDS:
        expected = faiss.IndexHNSWFlat if kind == "hnsw-flat" else faiss.IndexHNSWSQ
        return isinstance(raw, faiss.IndexIDMap2) and isinstance(_inner(raw), expected)
    expected_ivf = {
        "ivf-flat": faiss.IndexIVFFlat,
        "ivf-sq8": faiss.IndexIVFScalarQuantizer,
        "ivf-pq": faiss.IndexIVFPQ,
    }[kind]
    return isinstance(raw, expected_ivf) and raw.is_trained


class VectorIndex:
    """An in-memory FAISS index of L2-normalised vectors keyed by int64 ids.

    Adding an id that is already present replaces its vector (upsert). Search
    results are ``(id, score)`` pairs, best first, where the score is the
    inner product, i.e. the cosine for normalised vectors (for ``*-sq8`` and
    ``ivf-pq`` kinds, of the quantised vectors).

    All methods are thread-safe: one lock serialises them, which keeps
    readers from observing a half-applied upsert. FAISS releases the GIL while
    it computes, so other Python threads (the event loop) keep running.
    """

    def __init__(
        self,
        dim: int,
        *,
        kind: str = "flat",
        ef_search: int = DEFAULT_EF_SEARCH,
        nprobe: int | None = None,
    ) -> None:
        """Create an empty index for vectors of ``dim`` components.

        ``ef_search`` (HNSW kinds) and ``nprobe`` (IVF kinds; by default
        :func:`default_nprobe` of the number of lists) set the search effort.
        An IVF index is trained by its first :meth:`add`, or by :meth:`train`.
        """
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        if kind not in KINDS:
            known = ", ".join(sorted(KINDS))
            raise ValueError(f"unknown index kind {kind!r}; known kinds: {known}")
        if ef_search < 1 or (nprobe is not None and nprobe < 1):
            raise ValueError("ef_search and nprobe must be positive")
        # A kind that needs training is created by train(), once a sample is known.
        self._index: faiss.Index | None = (
            None if kind in TRAINED_KINDS else _new_faiss_index(dim, kind)
        )
        self._dim = dim
        self._kind = kind
        self._ids: set[int] = set()
        self._dead = 0
        self._ef_search = ef_search
        self._nprobe = nprobe
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        """Show the kind, width and size."""
        return f"{type(self).__name__}(dim={self._dim}, kind={self._kind!r}, count={len(self)})"

    @property
    def dim(self) -> int:
        """Width of the vectors."""
        return self._dim

    @property
    def kind(self) -> str:
        """The index kind, e.g. ``"flat"``."""
        return self._kind

    @property
    def exact(self) -> bool:
        """Whether searches are exact (``flat``)."""
        return self._kind == "flat"

    @property
    def is_trained(self) -> bool:
        """Whether vectors can be added without training first (false for a new IVF or SQ8)."""
        return self._index is not None

    @property
    def dead_count(self) -> int:
        """Tombstones of an HNSW index: removed vectors still in the graph (see :meth:`compact`)."""
        return self._dead

    @property
    def ef_search(self) -> int:
        """HNSW candidate list size (ignored by other kinds)."""
        return self._ef_search

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        if value < 1:
            raise ValueError("ef_search must be positive")
        self._ef_search = int(value)

    @property
    def nlist(self) -> int | None:
        """Inverted lists of a trained IVF index, else ``None``."""
        index = self._index
        return int(index.nlist) if self._kind in IVF_KINDS and index is not None else None

    @property
    def nprobe(self) -> int | None:
        """Lists an IVF search visits (``None`` for other kinds or before training)."""
        nlist = self.nlist
        if nlist is None:
            return None
        return min(nlist, self._nprobe if self._nprobe is not None else default_nprobe(nlist))

    @nprobe.setter
    def nprobe(self, value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError("nprobe must be positive")
        self._nprobe = value

    def __len__(self) -> int:
        """Number of vectors in the index (tombstones excluded)."""
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
        index = self._index
        if index is None:
            return np.zeros(0, dtype=np.int64)
        if self._kind in IVF_KINDS:
            lists = index.invlists
            parts = [
                faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
                for i in range(index.nlist)
                if lists.list_size(i)
            ]
            return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        stored = faiss.vector_to_array(index.id_map)
        return stored[stored >= 0] if self._dead else stored

    def train(self, sample: np.ndarray, *, expected: int | None = None) -> None:
        """Train the index on ``sample``: an IVF index's lists and a quantiser's ranges.

        An IVF index gets :func:`ivf_lists` of ``expected`` lists (the number
        of vectors it will hold; by default the sample size), at most one per
        39 training vectors. Does nothing for kinds without training. Raises
        :class:`RuntimeError` if the index already holds vectors.
        """
        vec_arr = _as_vectors(sample, self._dim)
        if self._kind not in TRAINED_KINDS:
            return
        with self._lock:
            if self._ids:
                raise RuntimeError(f"cannot retrain an {self._kind} index that holds vectors")
            if not len(vec_arr):
                raise ValueError(f"an {self._kind} index needs at least one training vector")
            nlist = 1
            if self._kind in IVF_KINDS:
                target = max(len(vec_arr), expected or 0)
                nlist = max(1, min(ivf_lists(target), len(vec_arr) // 39))
            # A PQ code of b bits needs 2**b training points per sub-quantiser.
            pq_bits = max(1, min(8, int(math.log2(len(vec_arr)))))
            index = _new_faiss_index(self._dim, self._kind, nlist, pq_bits)
            index.train(vec_arr)
            if self._kind in IVF_KINDS:
                # Reconstruction by id and real deletion of arbitrary ids.
                index.set_direct_map_type(faiss.DirectMap.Hashtable)
            self._index = index

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids``.

        ``vectors`` has shape ``(len(ids), dim)``; it is converted to
        contiguous float32. Ids must be distinct within one call. An untrained
        index (IVF, SQ8) is first trained on these vectors.
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
                self._discard(np.asarray(replaced, dtype=np.int64))
            for start in range(0, len(id_arr), _ADD_CHUNK):
                stop = start + _ADD_CHUNK
                self._index.add_with_ids(vec_arr[start:stop], id_arr[start:stop])
            self._ids.update(new_ids)

    def _discard(self, present: np.ndarray) -> None:
        """Take the stored vectors of ``present`` (all in the index) out of the search."""
        index = self._index
        assert index is not None
        if self._kind == "flat":
            index.remove_ids(faiss.IDSelectorBatch(present))
        elif self._kind in IVF_KINDS:
            # The hash-table direct map finds each id's list without a scan.
            index.remove_ids(faiss.IDSelectorArray(present))
        else:
            # HNSW cannot unlink a node: mark it dead in the id map instead.
            view = _id_map_view(index)
            view[np.isin(view, present)] = _TOMBSTONE
            self._dead += len(present)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Remove the vectors of ``ids``; unknown ids are ignored. Return how many went."""
        wanted = set(_as_ids(ids).tolist())
        with self._lock:
            present = wanted & self._ids
            if not present:
                return 0
            self._discard(np.fromiter(present, dtype=np.int64))
            self._ids -= present
            return len(present)

    def compact(self) -> None:
        """Rebuild an HNSW graph without its tombstones (a no-op for other kinds)."""
        with self._lock:
            if self._kind not in HNSW_KINDS or not self._dead:
                return
            ids = self._stored_ids()
            vectors = self._reconstruct(ids)
            fresh = _new_faiss_index(self._dim, self._kind)
            if not fresh.is_trained:
                fresh.train(vectors)
            for start in range(0, len(ids), _ADD_CHUNK):
                stop = start + _ADD_CHUNK
                fresh.add_with_ids(vectors[start:stop], ids[start:stop])
            self._index = fresh
            self._dead = 0

    def _reconstruct(self, id_arr: np.ndarray) -> np.ndarray:
        assert self._index is not None
        if not len(id_arr):
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
        arr = np.asarray(query)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.shape != (1, self._dim):
            raise ValueError(f"query must have shape ({self._dim},) or (1, {self._dim})")
        return self.search_many(arr, k, allowed_ids=allowed_ids)[0]

    def search_many(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allowed_ids: Sequence[int] | np.ndarray | None = None,
    ) -> list[list[tuple[int, float]]]:
        """:meth:`search` for each row of ``queries`` (shape ``(n, dim)``) in one call."""
        if k < 0:
            raise ValueError(f"k must not be negative, got {k}")
        q_arr = _as_vectors(queries, self._dim)
        allowed = None if allowed_ids is None else np.unique(_as_ids(allowed_ids))
        with self._lock:
            index = self._index
            limit = min(k, len(self._ids))
            if allowed is not None:
                limit = min(limit, len(allowed))
            if index is None or limit == 0 or not len(q_arr):
                return [[] for _ in range(len(q_arr))]
            if allowed is not None and not self.exact and len(allowed) <= EXACT_FILTER_MAX:
                return self._search_exactly(q_arr, limit, allowed)
            params = self._search_parameters(limit, allowed)
            if len(q_arr) < SINGLE_THREAD_BELOW:
                with _faiss_threads(1):
                    scores, found = index.search(q_arr, limit, params=params)
            else:
                scores, found = index.search(q_arr, limit, params=params)
        return [
            [(int(i), float(s)) for i, s in zip(id_row, score_row, strict=True) if i >= 0]
            for id_row, score_row in zip(found, scores, strict=True)
        ]

    def _search_parameters(
        self, k: int, allowed: np.ndarray | None
    ) -> faiss.SearchParameters | None:
        """FAISS search parameters: the id filter, and the effort for approximate kinds.

        A filter that keeps a fraction ``f`` of the index makes an approximate
        search meet about ``f`` times fewer eligible vectors, so the effort
        (efSearch, nprobe) is raised by ``1 / f`` to keep recall.
        """
        sel = None
        boost = 1
        if allowed is not None:
            # IndexIDMap translates the selector to its internal positions, so
            # the selector holds external ids. IDSelectorBatch hashes them.
            sel = faiss.IDSelectorBatch(allowed)
            boost = max(1, math.ceil(len(self._ids) / max(1, len(allowed))))
        elif self._dead:
            # Tombstones carry the id -1: keep ids >= 0 only.
            sel = faiss.IDSelectorNot(faiss.IDSelectorRange(-(2**63), 0))
            sel.referenced = sel.sel  # keep the inner selector alive with the outer one
        if self._kind in HNSW_KINDS:
            ef = min(_EF_SEARCH_MAX, max(self._ef_search, k) * boost)
            params = faiss.SearchParametersHNSW(efSearch=max(ef, k))
        elif self._kind in IVF_KINDS:
            nlist = int(self._index.nlist)  # type: ignore[union-attr]
            nprobe = self.nprobe or nlist
            params = faiss.SearchParametersIVF(nprobe=min(nlist, nprobe * boost))
        elif sel is None:
            return None
        else:
            params = faiss.SearchParameters()
        if sel is not None:
            params.sel = sel
            params.referenced = sel  # the parameters must not outlive their selector
        return params

    def _search_exactly(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> list[list[tuple[int, float]]]:
        """Score the stored vectors of the allowed ids directly (few ids: cheaper than a search)."""
        present = np.fromiter((i for i in allowed.tolist() if i in self._ids), dtype=np.int64)
        if not len(present):
            return [[] for _ in range(len(queries))]
        scores = queries @ self._reconstruct(present).T
        k = min(k, len(present))
        results: list[list[tuple[int, float]]] = []
        for row in scores:
            top = np.argpartition(-row, k - 1)[:k] if k < len(row) else np.arange(len(row))
            top = top[np.argsort(-row[top], kind="stable")]
            results.append([(int(present[i]), float(row[i])) for i in top])
        return results

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
        (``seed``) of at least 20 000 vectors (or all), 64 per inverted list. ``options`` go
        to the constructor (``ef_search``, ``nprobe``).
        """
        shape = np.shape(vectors)
        if len(shape) != 2:
            raise ValueError(f"vectors must have shape (n, dim), got {shape}")
        vec_arr = _as_vectors(vectors, shape[1])
        index = cls(shape[1], kind=kind, **options)
        if kind in TRAINED_KINDS and len(vec_arr):
            index.train(_training_sample(vec_arr, seed), expected=len(vec_arr))
        index.add(ids, vec_arr)
        return index

    def convert(self, kind: str, *, seed: int = 0, **options: Any) -> VectorIndex:
        """A new index of ``kind`` with the same ids and vectors (this one is left as it is).

        Vectors come from :meth:`vectors`, so converting from a quantised kind
        carries its quantisation error over.
        """
        with self._lock:
            ids = self._stored_ids()
            vectors = self._reconstruct(ids)
        if not len(ids):
            return VectorIndex(self._dim, kind=kind, **options)
        return VectorIndex.build(ids, vectors, kind=kind, seed=seed, **options)

    def save(self, directory: Path, *, model: str, fingerprint: str) -> IndexMeta:
        """Write the index and its metadata atomically into ``directory``; return the metadata.

        ``model`` is the encoder's name and ``fingerprint`` describes the
        database state the vectors were computed from; both are checked by
        :meth:`load`. Temporary files left by an earlier crash are removed.
        An index that was never trained (hence is empty) is saved as an empty flat index.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp_files(directory)
        with self._lock:
            count = len(self)
            kind = self._kind if self._index is not None else "flat"
            raw = self._index if self._index is not None else _new_faiss_index(self._dim, "flat")
            tmp = _temp_path(directory, INDEX_FILE)
            try:
                faiss.write_index(raw, str(tmp))
                checksum = _file_sha256(tmp, sync=True)
                os.replace(tmp, directory / INDEX_FILE)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        meta = IndexMeta(
            model=model,
            dim=self._dim,
            count=count,
            fingerprint=fingerprint,
            kind=kind,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            checksum=checksum,
        )
        _atomic_write_text(directory / META_FILE, meta.to_json())
        _sync_directory(directory)
        log.info(
            "saved %s vector index: %d vectors, model %s, in %s", kind, count, model, directory
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
    ) -> VectorIndex:
        """Load the index saved in ``directory`` if it matches what the caller expects.

        ``expected_fingerprint=None`` skips the fingerprint check (the caller
        then reconciles the index with the database itself). Raises
        :class:`IndexMissing`, :class:`IndexCorrupt` or :class:`IndexMismatch`
        with the reason when the index must be rebuilt instead.
        """
        directory = Path(directory)
        meta = read_meta(directory)
        index_path = directory / INDEX_FILE
        if meta is None:
            if index_path.exists():
                raise IndexMissing(directory, f"{META_FILE} is missing")
            raise IndexMissing(directory, "no saved index")
        if not index_path.is_file():
            raise IndexMissing(directory, f"{INDEX_FILE} is missing")
        if meta.model != expected_model:
            raise IndexMismatch(
                directory, f"built with model {meta.model!r}, expected {expected_model!r}"
            )
        if meta.dim != expected_dim:
            raise IndexMismatch(
                directory, f"built with dimension {meta.dim}, expected {expected_dim}"
            )
        if expected_fingerprint is not None and meta.fingerprint != expected_fingerprint:
            raise IndexMismatch(
                directory,
                f"built from database state {meta.fingerprint!r}, "
                f"expected {expected_fingerprint!r}",
            )
        if meta.kind not in KINDS:
            raise IndexMismatch(directory, f"unknown index kind {meta.kind!r}")
        try:
            checksum = _file_sha256(index_path)
        except OSError as exc:
            raise IndexCorrupt(directory, f"cannot read {INDEX_FILE}: {exc}") from exc
        if checksum != meta.checksum:
            raise IndexCorrupt(
                directory,
                f"{INDEX_FILE} does not match the checksum in {META_FILE} "
                "(interrupted save or damaged file)",
            )
        try:
            raw = faiss.read_index(str(index_path))
        except RuntimeError as exc:
            raise IndexCorrupt(directory, f"FAISS cannot read {INDEX_FILE}: {exc}") from exc
        if not _check_structure(raw, meta.kind, meta.dim):
            raise IndexCorrupt(directory, f"{INDEX_FILE} is not a {meta.kind} index of {meta.dim}")
        index = cls(meta.dim, kind=meta.kind)
        index._index = raw
        if meta.kind in IVF_KINDS:
            if raw.direct_map.type != faiss.DirectMap.Hashtable:
                raw.set_direct_map_type(faiss.DirectMap.Hashtable)
            stored = index._stored_ids()
        else:
            stored = faiss.vector_to_array(raw.id_map)
            index._dead = int(np.count_nonzero(stored < 0))
            if index._dead:
                if meta.kind not in HNSW_KINDS:
                    raise IndexCorrupt(directory, f"{INDEX_FILE} holds negative ids")
                stored = stored[stored >= 0]
        if len(stored) != meta.count:
            raise IndexCorrupt(
                directory,
                f"{INDEX_FILE} holds {len(stored)} vectors, {META_FILE} says {meta.count}",
            )
        index._ids = set(stored.tolist())
        if len(index._ids) != len(stored):
            raise IndexCorrupt(directory, f"{INDEX_FILE} holds the same id twice")
        log.info(
            "loaded %s vector index: %d vectors, model %s, from %s",
            meta.kind,
            meta.count,
            meta.model,
            directory,
        )
        return index


def _training_sample(vectors: np.ndarray, seed: int) -> np.ndarray:
    """A random sample of ``vectors`` large enough to train an IVF index on all of them."""
    n = len(vectors)
    size = min(n, max(_TRAIN_SAMPLE_MIN, 64 * ivf_lists(n)))
    if size == n:
        return vectors
    rows = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
    return vectors[rows]


def read_meta(directory: Path) -> IndexMeta | None:
    """The metadata saved in ``directory``, or ``None`` if there is none.

    Raises :class:`IndexCorrupt` when ``meta.json`` exists but cannot be read.
    """
    directory = Path(directory)
    try:
        text = (directory / META_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(directory, f"cannot read {META_FILE}: {exc}") from exc
    try:
        return IndexMeta.from_json(text)
    except ValueError as exc:
        raise IndexCorrupt(directory, f"{META_FILE} is invalid: {exc}") from exc


def build_index(
    batches: Iterable[tuple[Sequence[int], Sequence[str]]],
    encoder: Encoder,
    *,
    dim: int | None = None,
    kind: str = "flat",
    progress: Callable[[int], None] | None = None,
) -> VectorIndex:
    """Encode ``(ids, texts)`` batches and collect them into a new :class:`VectorIndex`.

    ``dim`` defaults to ``encoder.dim``; ``kind`` is the index kind (one that
    needs training is trained on a sample once everything is encoded).
    ``progress`` is called with the number of texts done so far after each
    batch. An id seen again in a later batch replaces its earlier vector.
    Synchronous and CPU-bound: run it with ``asyncio.to_thread``; the encoder
    and FAISS release the GIL while they compute, and the new index is
    private until returned, so no lock is held against searches on the live
    index.
    """
    width = encoder.dim if dim is None else dim
    # A kind that needs training learns from a sample of everything: collect, then convert.
    index = VectorIndex(width, kind="flat" if kind in TRAINED_KINDS else kind)
    done = 0
    for ids, texts in batches:
        if len(ids) != len(texts):
            raise ValueError(f"batch of {len(ids)} ids and {len(texts)} texts")
        if len(texts):
            index.add(ids, encoder.encode(texts))
        done += len(texts)
        if progress is not None:
            progress(done)
    if index.kind != kind:
        index = index.convert(kind)
    log.info("built %s vector index of %d vectors with %s", kind, len(index), encoder.name)
    return index


def _temp_path(directory: Path, name: str) -> Path:
    """A new, empty temporary file next to ``directory / name``."""
    fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=_TEMP_SUFFIX, dir=directory)
    os.close(fd)
    return Path(path)


def _remove_stale_temp_files(directory: Path) -> None:
    """Delete temporary files that an interrupted save left behind."""
    for name in (INDEX_FILE, META_FILE):
        for stale in directory.glob(f".{name}.*{_TEMP_SUFFIX}"):
            log.warning("removing temporary file %s left by an interrupted save", stale)
            stale.unlink(missing_ok=True)


def _file_sha256(path: Path, *, sync: bool = False) -> str:
    """The SHA-256 (hex) of the file at ``path``, after flushing it to disk if ``sync``."""
    digest = hashlib.sha256()
    with path.open("r+b" if sync else "rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
        if sync:
            os.fsync(handle.fileno())
    return digest.hexdigest()


def _atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    tmp = _temp_path(path.parent, path.name)
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sync_directory(directory: Path) -> None:
    """Flush the directory entry so the renames survive a power loss (POSIX only)."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with contextlib.suppress(OSError):  # some file systems refuse to fsync a directory
            os.fsync(fd)
    finally:
        os.close(fd)
