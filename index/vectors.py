"""The vector index: FAISS vectors keyed by the store's row ids.

The index knows ids and vectors only; the database knows the content. Ids are
explicit int64 values (the store's row ids, or Discord snowflakes), never
positions. Similarity is cosine, computed as the inner product of
L2-normalised vectors, with an exact ("flat") search; the ``kind`` parameter
leaves room for an approximate index (HNSW, IVF) once the knowledge base is
large enough to need one.

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
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from index.encoder import Encoder

__all__ = [
    "INDEX_FILE",
    "KINDS",
    "META_FILE",
    "IndexCorrupt",
    "IndexMeta",
    "IndexMismatch",
    "IndexMissing",
    "VectorIndex",
    "build_index",
    "read_meta",
]

log = logging.getLogger(__name__)

INDEX_FILE = "vectors.faiss"
META_FILE = "meta.json"
FORMAT_VERSION = 1
"""Version of the on-disk layout; a saved index of another version is rebuilt."""

KINDS = frozenset({"flat"})
"""Index kinds this module can build."""

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


def _new_faiss_index(dim: int, kind: str) -> faiss.IndexIDMap2:
    """A new, empty FAISS index of ``kind`` that keys vectors by external int64 ids."""
    if kind == "flat":
        # Exact inner-product search; IndexIDMap2 adds the id map and reconstruct by id.
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    raise ValueError(f"unknown index kind {kind!r}; known kinds: {', '.join(sorted(KINDS))}")


class VectorIndex:
    """An in-memory FAISS index of L2-normalised vectors keyed by int64 ids.

    Adding an id that is already present replaces its vector (upsert). Search
    results are ``(id, score)`` pairs, best first, where the score is the
    inner product, i.e. the cosine for normalised vectors.

    All methods are thread-safe: one lock serialises them, which keeps
    readers from observing a half-applied upsert. FAISS releases the GIL while
    it computes, so other Python threads (the event loop) keep running.
    """

    def __init__(self, dim: int, *, kind: str = "flat") -> None:
        """Create an empty index for vectors of ``dim`` components."""
        if dim < 1:
            raise ValueError(f"dim must be positive, got {dim}")
        self._index = _new_faiss_index(dim, kind)
        self._dim = dim
        self._kind = kind
        self._ids: set[int] = set()
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

    def __len__(self) -> int:
        """Number of vectors in the index."""
        return int(self._index.ntotal)

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
            return faiss.vector_to_array(self._index.id_map)

    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``ids``.

        ``vectors`` has shape ``(len(ids), dim)``; it is converted to
        contiguous float32. Ids must be distinct within one call.
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
            replaced = [i for i in new_ids if i in self._ids]
            if replaced:
                self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(replaced, dtype=np.int64)))
            self._index.add_with_ids(vec_arr, id_arr)
            self._ids.update(new_ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> int:
        """Remove the vectors of ``ids``; unknown ids are ignored. Return how many went."""
        wanted = set(_as_ids(ids).tolist())
        with self._lock:
            present = wanted & self._ids
            if not present:
                return 0
            selector = faiss.IDSelectorBatch(np.fromiter(present, dtype=np.int64))
            removed = int(self._index.remove_ids(selector))
            self._ids -= present
            return removed

    def vectors(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The stored vectors of ``ids`` as float32 ``(len(ids), dim)``, in the order given.

        Raises :class:`KeyError` if any id is not in the index.
        """
        id_arr = _as_ids(ids)
        with self._lock:
            missing = [i for i in id_arr.tolist() if i not in self._ids]
            if missing:
                raise KeyError(f"{len(missing)} ids not in the index, e.g. {missing[:5]}")
            if not len(id_arr):
                return np.zeros((0, self._dim), dtype=np.float32)
            return np.asarray(self._index.reconstruct_batch(id_arr), dtype=np.float32)

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
        params = None
        limit = k
        if allowed_ids is not None:
            allowed = np.unique(_as_ids(allowed_ids))
            limit = min(limit, len(allowed))
            # IndexIDMap translates the selector to its internal positions, so
            # the selector holds external ids. IDSelectorBatch hashes them.
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(allowed))  # type: ignore[call-arg]
        with self._lock:
            limit = min(limit, int(self._index.ntotal))
            if limit == 0 or not len(q_arr):
                return [[] for _ in range(len(q_arr))]
            scores, found = self._index.search(q_arr, limit, params=params)
        return [
            [(int(i), float(s)) for i, s in zip(id_row, score_row, strict=True) if i != -1]
            for id_row, score_row in zip(found, scores, strict=True)
        ]

    def save(self, directory: Path, *, model: str, fingerprint: str) -> IndexMeta:
        """Write the index and its metadata atomically into ``directory``; return the metadata.

        ``model`` is the encoder's name and ``fingerprint`` describes the
        database state the vectors were computed from; both are checked by
        :meth:`load`. Temporary files left by an earlier crash are removed.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        _remove_stale_temp_files(directory)
        with self._lock:
            count = len(self)
            tmp = _temp_path(directory, INDEX_FILE)
            try:
                faiss.write_index(self._index, str(tmp))
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
            kind=self._kind,
            created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            checksum=checksum,
        )
        _atomic_write_text(directory / META_FILE, meta.to_json())
        _sync_directory(directory)
        log.info("saved vector index: %d vectors, model %s, in %s", count, model, directory)
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
        if (
            not isinstance(raw, faiss.IndexIDMap2)
            or raw.d != meta.dim
            or raw.metric_type != faiss.METRIC_INNER_PRODUCT
        ):
            raise IndexCorrupt(directory, f"{INDEX_FILE} is not a {meta.kind} index of {meta.dim}")
        if raw.ntotal != meta.count:
            raise IndexCorrupt(
                directory, f"{INDEX_FILE} holds {raw.ntotal} vectors, {META_FILE} says {meta.count}"
            )
        index = cls(meta.dim, kind=meta.kind)
        index._index = raw
        index._ids = set(faiss.vector_to_array(raw.id_map).tolist())
        log.info(
            "loaded vector index: %d vectors, model %s, from %s", meta.count, meta.model, directory
        )
        return index


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

    ``dim`` defaults to ``encoder.dim``. ``progress`` is called with the
    number of texts done so far after each batch. An id seen again in a later
    batch replaces its earlier vector. Synchronous and CPU-bound: run it with
    ``asyncio.to_thread``; the encoder and FAISS release the GIL while they
    compute, and the new index is private until returned, so no lock is held
    against searches on the live index.
    """
    index = VectorIndex(encoder.dim if dim is None else dim, kind=kind)
    done = 0
    for ids, texts in batches:
        if len(ids) != len(texts):
            raise ValueError(f"batch of {len(ids)} ids and {len(texts)} texts")
        if len(texts):
            index.add(ids, encoder.encode(texts))
        done += len(texts)
        if progress is not None:
            progress(done)
    log.info("built vector index of %d vectors with %s", len(index), encoder.name)
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
