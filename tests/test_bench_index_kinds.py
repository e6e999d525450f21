"""Tests of bench/index_kinds.py: the kinds the speed benchmark measures beside the product's.

They meet the same expectations as the product's approximate kind (see
tests/vector_helpers.py), with bounds of their own on recall and precision.
"""

from __future__ import annotations

import numpy as np
import pytest

from bench.index_kinds import BENCH_KINDS, HNSW_KINDS, IVF_KINDS, pq_subquantizers
from index import IndexMismatch, VectorIndex
from index.kinds import default_nprobe, ivf_lists
from tests.vector_helpers import (
    WIDE,
    Oracle,
    assert_same_results,
    build_with_oracle,
    check_allowed_ids,
    check_finds_true_neighbours,
    check_removals_and_upserts,
    check_save_and_load,
    clustered_vectors,
    make_corpus,
    recall_at,
    searches,
)

BENCH_ONLY = ["hnsw-flat", "hnsw-sq8", "ivf-flat", "ivf-pq"]
# Kinds that keep float32 vectors: their scores and direct scoring are exact.
UNQUANTISED = {"hnsw-flat", "ivf-flat"}
# Recall@10 against the oracle on clustered data, with default effort.
# The quantised kinds are bounded by their quantisation, PQ most of all.
MIN_RECALL = {"hnsw-flat": 0.95, "hnsw-sq8": 0.85, "ivf-flat": 0.95, "ivf-pq": 0.2}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    return make_corpus()


@pytest.fixture(scope="module")
def approx_pair(request, corpus) -> tuple[VectorIndex, Oracle]:
    """An index of each benchmark kind over the corpus (read-only: shared by tests)."""
    return build_with_oracle(corpus, request.param, BENCH_KINDS, 6000)


def test_the_benchmark_measures_every_product_kind_and_four_more():
    assert sorted(BENCH_KINDS) == sorted(["flat", "ivf-sq8", *BENCH_ONLY])
    assert sorted(HNSW_KINDS) == ["hnsw-flat", "hnsw-sq8"]
    assert sorted(IVF_KINDS) == ["ivf-flat", "ivf-pq", "ivf-sq8"]
    assert pq_subquantizers(384) == 48 and pq_subquantizers(24) == 3


@pytest.mark.parametrize("approx_pair", BENCH_ONLY, indirect=True)
def test_approximate_kinds_find_most_of_the_true_neighbours(approx_pair, rng):
    index, oracle = approx_pair
    check_finds_true_neighbours(index, oracle, rng, MIN_RECALL[index.kind])


@pytest.mark.parametrize("approx_pair", BENCH_ONLY, indirect=True)
def test_approximate_kinds_respect_allowed_ids_small_and_large(approx_pair, rng):
    index, oracle = approx_pair
    unquantised = index.kind in UNQUANTISED
    check_allowed_ids(index, oracle, rng, MIN_RECALL[index.kind], unquantised=unquantised)


@pytest.mark.parametrize("kind", BENCH_ONLY)
def test_approximate_kinds_follow_removals_and_upserts(kind, corpus, rng):
    index, oracle = build_with_oracle(corpus, kind, BENCH_KINDS, 3000)
    tolerance = 1e-6 if kind in UNQUANTISED else 0.3
    found = check_removals_and_upserts(
        index, oracle, corpus, rng, MIN_RECALL[kind], tolerance=tolerance
    )
    for row_id, *top in found:
        if kind != "ivf-pq":  # PQ is too coarse to promise it
            assert top.count(row_id) == 1
        if kind in UNQUANTISED:
            assert top[0] == row_id


@pytest.mark.parametrize("kind", BENCH_ONLY)
def test_approximate_kinds_save_and_load_with_the_same_results(kind, corpus, rng, tmp_path):
    check_save_and_load(kind, BENCH_KINDS, corpus, rng, tmp_path)


def test_the_product_refuses_to_load_a_benchmark_kind(corpus, tmp_path):
    ids, vectors = corpus
    built = VectorIndex.build(ids[:500], vectors[:500], kind="hnsw-flat", kinds=BENCH_KINDS)
    built.save(tmp_path, model="m", fingerprint="f")
    with pytest.raises(IndexMismatch, match="unknown index kind 'hnsw-flat'"):
        VectorIndex.load(tmp_path, expected_model="m", expected_dim=WIDE, expected_fingerprint="f")


@pytest.mark.parametrize("kind", sorted(HNSW_KINDS))
def test_converting_an_hnsw_index_to_its_own_kind_drops_its_tombstones(kind, corpus, rng):
    ids, vectors = corpus
    index = VectorIndex.build(ids[:2000], vectors[:2000], kind=kind, kinds=BENCH_KINDS)
    index.remove(ids[:500])
    queries = clustered_vectors(rng, 10)
    before = searches(index, queries, 10)
    compacted = index.convert(kind)
    assert compacted.kind == kind and len(compacted) == 1500
    assert sorted(compacted.ids().tolist()) == sorted(ids[500:2000].tolist())
    assert not {i for row in searches(compacted, queries, 50) for i, _ in row} & set(
        ids[:500].tolist()
    )
    after = searches(compacted, queries, 10)
    overlap = np.mean(
        [
            len({i for i, _ in a} & {i for i, _ in b}) / 10
            for a, b in zip(before, after, strict=True)
        ]
    )
    assert overlap >= 0.9


def test_converting_to_and_from_every_benchmark_kind(corpus, rng):
    flat, oracle = build_with_oracle(corpus, "flat", BENCH_KINDS, 3000)
    queries = clustered_vectors(rng, 20)
    for kind in BENCH_ONLY:
        converted = flat.convert(kind)
        assert converted.kind == kind and len(converted) == 3000
        assert recall_at(converted, oracle, queries) >= MIN_RECALL[kind]
    back = flat.convert("hnsw-flat").convert("flat")
    assert back.exact
    for query in queries:
        assert_same_results(back.search(query, 15), oracle.search(query, 15))
    assert len(flat) == 3000  # the source is untouched


def test_the_effort_of_each_kind_defaults_and_can_be_set(corpus, rng):
    ids, vectors = corpus
    ivf = VectorIndex.build(ids[:800], vectors[:800], kind="ivf-flat", kinds=BENCH_KINDS)
    assert ivf.nlist == ivf_lists(800) and ivf.effort == default_nprobe(ivf.nlist)
    hnsw = VectorIndex(WIDE, kind="hnsw-flat", kinds=BENCH_KINDS, effort=16)
    hnsw.add(ids[:800], vectors[:800])
    assert hnsw.effort == 16 and hnsw.nlist is None
    hnsw.effort = None
    assert hnsw.effort == 64
    query = clustered_vectors(rng, 1)[0]
    hnsw.effort = 512  # a wider candidate list finds the true top 10 here
    assert [i for i, _ in hnsw.search(query, 10)] == [
        i for i, _ in build_with_oracle(corpus, "flat", BENCH_KINDS, 800)[1].search(query, 10)
    ]
    assert VectorIndex(WIDE, kind="ivf-pq", kinds=BENCH_KINDS).nlist is None
