"""Index kinds the benchmark measures beside the product's two (``flat``, ``ivf-sq8``).

``bench/speed.py`` compares every kind here with the product's to justify
:func:`index.kinds.choose_kind`; the product never builds these:

``hnsw-flat``, ``hnsw-sq8``
    A graph (``IndexHNSWFlat`` / ``IndexHNSWSQ``, M=32) over float32 or 8-bit
    scalar-quantised vectors, in an ``IndexIDMap2``. HNSW cannot delete: a
    removed or replaced vector becomes a *tombstone* (its id in the id map is
    set to -1, which every search excludes); converting the index to its own
    kind (:meth:`index.vectors.VectorIndex.convert`) rebuilds the graph
    without them.
``ivf-flat``, ``ivf-pq``
    Inverted files like the product's ``ivf-sq8``, over float32 vectors or
    product-quantised codes (8 bits per 8 dimensions).

Pass :data:`BENCH_KINDS` as ``kinds`` to :class:`index.vectors.VectorIndex`
(its constructor, ``build`` and ``load``) to use them.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Any

import faiss
import numpy as np

from index.kinds import (
    KINDS,
    IdMapKind,
    IndexKind,
    IvfKind,
    RawIndex,
    SearchParams,
    SearchRequest,
    training_sample,
    with_selector,
)

__all__ = [
    "BENCH_KINDS",
    "HNSW_KINDS",
    "IVF_KINDS",
    "HnswKind",
    "IvfFlatKind",
    "IvfPqKind",
    "pq_subquantizers",
]

HNSW_M = 32
"""Neighbours per node of an HNSW graph (64 on the bottom layer)."""

HNSW_EF_CONSTRUCTION = 40
"""Candidate list size while building an HNSW graph."""

DEFAULT_EF_SEARCH = 64
"""Candidate list size of an HNSW search (at least ``k``)."""

PQ_DIMS_PER_CODE = 8
"""``ivf-pq`` spends one byte per 8 dimensions (48 bytes for 384), see :func:`pq_subquantizers`."""

_EF_SEARCH_MAX = 4096
_TOMBSTONE = -1
_IP = faiss.METRIC_INNER_PRODUCT


def pq_subquantizers(dim: int) -> int:
    """Sub-quantisers (bytes per vector) of ``ivf-pq`` for ``dim``: a divisor near ``dim / 8``."""
    target = max(1, dim // PQ_DIMS_PER_CODE)
    return max(m for m in range(1, target + 1) if dim % m == 0)


class HnswKind(IdMapKind):
    """An HNSW graph in an ``IndexIDMap2``; removed vectors stay as tombstones (id -1)."""

    def __init__(self, *, quantised: bool) -> None:
        """``hnsw-sq8`` (8-bit scalar quantiser, trained) if ``quantised``, else ``hnsw-flat``."""
        self.name = "hnsw-sq8" if quantised else "hnsw-flat"
        self.needs_training = quantised
        self.inner_type = faiss.IndexHNSWSQ if quantised else faiss.IndexHNSWFlat

    def new(self, dim: int, sample: np.ndarray | None = None, expected: int = 0) -> RawIndex:
        """An empty graph, its quantiser trained on ``sample`` for ``hnsw-sq8``."""
        graph: RawIndex
        if self.needs_training:
            vectors = training_sample(self, sample)
            qt: Any = faiss.ScalarQuantizer.QT_8bit  # an int; faiss's stubs say otherwise
            graph = faiss.IndexHNSWSQ(dim, qt, HNSW_M, _IP)
        else:
            graph = faiss.IndexHNSWFlat(dim, HNSW_M, _IP)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = DEFAULT_EF_SEARCH
        index = faiss.IndexIDMap2(graph)
        if self.needs_training:
            index.train(vectors)
        return index

    def stored_ids(self, raw: RawIndex) -> np.ndarray:
        """The id map without its tombstones."""
        stored = super().stored_ids(raw)
        live: np.ndarray = stored[stored != _TOMBSTONE]
        return live

    def remove(self, raw: RawIndex, ids: np.ndarray) -> None:
        """Mark the nodes of ``ids`` dead in the id map: a graph cannot unlink a node."""
        size = raw.id_map.size()
        if not size:
            return
        view = faiss.rev_swig_ptr(raw.id_map.data(), size)  # the id map itself, no copy
        view[np.isin(view, ids)] = _TOMBSTONE

    def default_effort(self, raw: RawIndex) -> int | None:
        """efSearch: :data:`DEFAULT_EF_SEARCH` candidates."""
        return DEFAULT_EF_SEARCH

    def search_parameters(self, raw: RawIndex, request: SearchRequest) -> SearchParams | None:
        """efSearch of ``effort`` (at least ``k``) times ``boost``; tombstones excluded."""
        selector: RawIndex = request.selector
        if selector is None and raw.ntotal > request.live:
            # Tombstones carry the id -1: keep ids >= 0 only.
            selector = faiss.IDSelectorNot(faiss.IDSelectorRange(-(2**63), 0))
            selector.referenced = selector.sel  # keep the inner selector alive with the outer
        effort = request.effort or DEFAULT_EF_SEARCH
        ef = min(_EF_SEARCH_MAX, max(effort, request.k) * request.boost)
        params: SearchParams = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = max(ef, request.k)
        return with_selector(params, selector)


class IvfFlatKind(IvfKind):
    """``ivf-flat``: an inverted file over float32 vectors."""

    name = "ivf-flat"
    ivf_type = faiss.IndexIVFFlat

    def make(self, quantizer: RawIndex, dim: int, nlist: int, sample_size: int) -> RawIndex:
        """``IndexIVFFlat``."""
        return faiss.IndexIVFFlat(quantizer, dim, nlist, _IP)


class IvfPqKind(IvfKind):
    """``ivf-pq``: an inverted file over product-quantised codes, one byte per 8 dimensions."""

    name = "ivf-pq"
    ivf_type = faiss.IndexIVFPQ

    def make(self, quantizer: RawIndex, dim: int, nlist: int, sample_size: int) -> RawIndex:
        """``IndexIVFPQ``; 8 bits per code unless trained on fewer than 256 vectors.

        A code of b bits needs 2**b training points per sub-quantiser.
        """
        bits = max(1, min(8, int(math.log2(sample_size))))
        return faiss.IndexIVFPQ(quantizer, dim, nlist, pq_subquantizers(dim), bits, _IP)


_EXTRA: tuple[IndexKind, ...] = (
    HnswKind(quantised=False),
    HnswKind(quantised=True),
    IvfFlatKind(),
    IvfPqKind(),
)
BENCH_KINDS = MappingProxyType({**KINDS, **{kind.name: kind for kind in _EXTRA}})
"""Every kind the benchmark can build and load: the product's and the ones above."""

HNSW_KINDS = frozenset({"hnsw-flat", "hnsw-sq8"})
IVF_KINDS = frozenset(name for name, kind in BENCH_KINDS.items() if isinstance(kind, IvfKind))
