"""The index kinds the product serves, and which one a knowledge base of a given size gets.

An :class:`IndexKind` knows how to make, train, search and check one shape of
FAISS index that keys vectors by external int64 ids; :class:`index.vectors.VectorIndex`
does the rest (ids, validation, locking, persistence) the same way for all.
The product uses two kinds (:data:`KINDS`):

``flat``
    Exact search over float32 vectors (``IndexIDMap2(IndexFlatIP)``). The
    default, and the right choice while the knowledge base is small.
``ivf-sq8``
    An inverted file over 8-bit scalar-quantised vectors
    (``IndexIVFScalarQuantizer``) keyed by the external ids themselves, with a
    hash table for reconstruction and real deletion. Its coarse quantiser is
    trained on a sample, so it is best built in bulk.

``bench/speed.py`` measures these and other kinds (``bench/index_kinds.py``);
:func:`choose_kind` encodes the result: exact below :data:`APPROXIMATE_FROM`
entries, :data:`APPROXIMATE_KIND` from there on.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

import faiss
import numpy as np

__all__ = [
    "APPROXIMATE_FROM",
    "APPROXIMATE_KIND",
    "FLAT",
    "IVF_SQ8",
    "KINDS",
    "FlatKind",
    "IdMapKind",
    "IndexKind",
    "IvfKind",
    "IvfSq8Kind",
    "RawIndex",
    "SearchParams",
    "SearchRequest",
    "choose_kind",
    "default_nprobe",
    "ivf_lists",
    "training_sample",
    "with_selector",
]

APPROXIMATE_FROM = 150_000
"""Entries from which :func:`choose_kind` leaves exact search.

Measured by bench/speed.py on 2 cores: an exact search costs ~0.06 ms per
1000 vectors (6.8 ms p99 at 100k, 69 ms at 1M) and 1.5 KiB each (1.58 GB at
1M); 150k keeps it near 10 ms and 230 MB, while ``ivf-sq8`` answers in
1-4 ms at 1M with 0.95-0.98 recall@10 and a third of the memory.
"""

APPROXIMATE_KIND = "ivf-sq8"
"""The approximate kind :func:`choose_kind` picks (measured by bench/speed.py)."""

_IP = faiss.METRIC_INNER_PRODUCT

RawIndex: TypeAlias = Any
"""A FAISS index object: faiss's stubs lack most attributes of the concrete
classes (``nlist``, ``id_map``, ``invlists``...), so it is typed loosely."""

SearchParams: TypeAlias = Any
"""FAISS search parameters: SWIG objects that also carry Python references (``referenced``)."""

_HASHTABLE: int = faiss.DirectMap.Hashtable  # type: ignore[attr-defined]  # not in faiss's stubs


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What one search asks of an index kind.

    ``k`` neighbours; ``effort`` overrides :meth:`IndexKind.default_effort`
    and ``boost`` multiplies it (a filter that keeps a fraction ``f`` of the
    index makes an approximate search meet ``f`` times fewer eligible
    vectors). ``selector`` restricts the search to some ids; ``live`` is how
    many vectors the index serves.
    """

    k: int
    effort: int | None = None
    boost: int = 1
    selector: faiss.IDSelector | None = None
    live: int = 0


class IndexKind(abc.ABC):
    """One shape of FAISS index keyed by external int64 ids, inner-product metric.

    ``name`` is what :class:`index.storage.IndexMeta` records; ``exact``
    says whether searches are exhaustive; ``needs_training`` whether
    :meth:`new` must be given a sample of vectors.
    """

    name: str
    exact: bool = False
    needs_training: bool = False

    @abc.abstractmethod
    def new(self, dim: int, sample: np.ndarray | None = None, expected: int = 0) -> RawIndex:
        """A new, empty FAISS index for ``dim`` components, trained on ``sample`` if needed.

        ``expected`` is the number of vectors the index will hold (at least
        the sample's size), for kinds whose layout depends on it.
        """

    @abc.abstractmethod
    def matches(self, raw: RawIndex) -> bool:
        """Whether ``raw`` (read from disk) is what :meth:`new` builds."""

    @abc.abstractmethod
    def stored_ids(self, raw: RawIndex) -> np.ndarray:
        """The ids of the vectors ``raw`` serves (int64), in storage order."""

    @abc.abstractmethod
    def remove(self, raw: RawIndex, ids: np.ndarray) -> None:
        """Take the vectors of ``ids`` (all stored) out of ``raw``'s searches."""

    @abc.abstractmethod
    def search_parameters(self, raw: RawIndex, request: SearchRequest) -> SearchParams | None:
        """FAISS parameters of ``request`` on ``raw`` (``None``: FAISS's defaults)."""

    def default_effort(self, raw: RawIndex) -> int | None:
        """How hard a search looks unless told otherwise (``None``: not tunable)."""
        return None

    def lists(self, raw: RawIndex) -> int | None:
        """Inverted lists of an IVF index (``None`` for other kinds)."""
        return None

    @abc.abstractmethod
    def prepare(self, raw: RawIndex) -> None:
        """Make ``raw`` (new or read from disk) ready to serve and change."""


def with_selector(
    params: SearchParams | None, selector: faiss.IDSelector | None
) -> SearchParams | None:
    """``params`` (or plain parameters) restricted to ``selector``, if there is one."""
    if selector is None:
        return params
    chosen: SearchParams = faiss.SearchParameters() if params is None else params
    chosen.sel = selector
    chosen.referenced = selector  # the parameters must not outlive their selector
    return chosen


class IdMapKind(IndexKind):
    """A kind whose FAISS index is an ``IndexIDMap2`` around a positional index."""

    inner_type: type

    def matches(self, raw: RawIndex) -> bool:
        """An ``IndexIDMap2`` around the expected index, inner-product metric."""
        return (
            raw.metric_type == _IP
            and isinstance(raw, faiss.IndexIDMap2)
            and isinstance(faiss.downcast_index(raw.index), self.inner_type)
        )

    def prepare(self, raw: RawIndex) -> None:
        """Nothing to do: an id map serves and changes as it is read."""

    def stored_ids(self, raw: RawIndex) -> np.ndarray:
        """The id map, as a copy."""
        return np.asarray(faiss.vector_to_array(raw.id_map), dtype=np.int64)


class FlatKind(IdMapKind):
    """``flat``: exact inner-product search (``IndexIDMap2(IndexFlatIP)``)."""

    name = "flat"
    exact = True
    inner_type = faiss.IndexFlatIP

    def new(self, dim: int, sample: np.ndarray | None = None, expected: int = 0) -> RawIndex:
        """An empty exact index; it needs no training."""
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def remove(self, raw: RawIndex, ids: np.ndarray) -> None:
        """Delete the vectors (IndexIDMap translates the hashed ids to positions)."""
        raw.remove_ids(faiss.IDSelectorBatch(ids))

    def search_parameters(self, raw: RawIndex, request: SearchRequest) -> SearchParams | None:
        """Only the id filter: an exact search has no effort to tune."""
        return with_selector(None, request.selector)


def ivf_lists(n: int) -> int:
    """Inverted lists of an IVF index trained on ``n`` vectors.

    About ``sqrt(n)`` (a power of two, at most 4096), and never more than
    ``n / 39``, the fewest training points per list FAISS accepts silently.
    """
    if n < 1:
        raise ValueError("an IVF index needs at least one training vector")
    lists = 1 << round(math.log2(math.sqrt(n)))
    return max(1, min(lists, 4096, n // 39))


def default_nprobe(nlist: int) -> int:
    """Lists an IVF search visits by default: 1/32 of them, at least 8 (all, if fewer)."""
    return min(nlist, max(8, nlist // 32))


def training_sample(kind: IndexKind, sample: np.ndarray | None) -> np.ndarray:
    """``sample``, checked to be something ``kind`` can learn from."""
    if sample is None or not len(sample):
        raise ValueError(f"an {kind.name} index needs at least one training vector")
    return sample


class IvfKind(IndexKind):
    """An inverted file keyed by the external ids, with a hash table to find them.

    Subclasses choose how the vectors of each list are coded (:meth:`make`).
    The coarse quantiser has :func:`ivf_lists` of the expected size lists, at
    most one per 39 training vectors.
    """

    needs_training = True
    ivf_type: type

    @abc.abstractmethod
    def make(self, quantizer: RawIndex, dim: int, nlist: int, sample_size: int) -> RawIndex:
        """The untrained IVF index over ``quantizer`` with ``nlist`` lists."""

    def new(self, dim: int, sample: np.ndarray | None = None, expected: int = 0) -> RawIndex:
        """A trained, empty IVF index: lists follow the expected size, not the sample's."""
        vectors = training_sample(self, sample)
        nlist = max(1, min(ivf_lists(max(len(vectors), expected)), len(vectors) // 39))
        quantizer: RawIndex = faiss.IndexFlatIP(dim)
        ivf = self.make(quantizer, dim, nlist, len(vectors))
        ivf.own_fields = True
        quantizer.this.disown()  # the IVF index frees its quantiser
        ivf.nprobe = default_nprobe(nlist)
        ivf.train(vectors)
        self.prepare(ivf)
        return ivf

    def matches(self, raw: RawIndex) -> bool:
        """The expected IVF class, inner-product metric."""
        return raw.metric_type == _IP and isinstance(raw, self.ivf_type)

    def prepare(self, raw: RawIndex) -> None:
        """Reconstruction by id and real deletion of arbitrary ids need the hash-table map."""
        if raw.direct_map.type != _HASHTABLE:
            raw.set_direct_map_type(_HASHTABLE)

    def stored_ids(self, raw: RawIndex) -> np.ndarray:
        """The ids of every inverted list, list by list."""
        lists = raw.invlists
        parts = [
            faiss.rev_swig_ptr(lists.get_ids(i), lists.list_size(i)).copy()
            for i in range(raw.nlist)
            if lists.list_size(i)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    def remove(self, raw: RawIndex, ids: np.ndarray) -> None:
        """Delete the vectors; the hash-table direct map finds each id's list without a scan."""
        raw.remove_ids(faiss.IDSelectorArray(ids))

    def default_effort(self, raw: RawIndex) -> int | None:
        """:func:`default_nprobe` of the index's lists."""
        return default_nprobe(int(raw.nlist))

    def lists(self, raw: RawIndex) -> int | None:
        """The number of inverted lists."""
        return int(raw.nlist)

    def search_parameters(self, raw: RawIndex, request: SearchRequest) -> SearchParams | None:
        """Visit ``effort`` (nprobe) lists times ``boost``, at most all of them."""
        nlist = int(raw.nlist)
        nprobe = request.effort or default_nprobe(nlist)
        params = faiss.SearchParametersIVF()
        params.nprobe = min(nlist, nprobe * request.boost)
        return with_selector(params, request.selector)


class IvfSq8Kind(IvfKind):
    """``ivf-sq8``: an inverted file over 8-bit scalar-quantised vectors."""

    name = "ivf-sq8"
    ivf_type = faiss.IndexIVFScalarQuantizer

    def make(self, quantizer: RawIndex, dim: int, nlist: int, sample_size: int) -> RawIndex:
        """``IndexIVFScalarQuantizer`` with 8 bits per component."""
        qt = faiss.ScalarQuantizer.QT_8bit
        return faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, qt, _IP)


FLAT = FlatKind()
IVF_SQ8 = IvfSq8Kind()
KINDS = MappingProxyType({kind.name: kind for kind in (FLAT, IVF_SQ8)})
"""The kinds the product builds and loads, by name."""


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
