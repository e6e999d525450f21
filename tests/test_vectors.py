"""Tests of index.vectors: the VectorIndex against a brute-force oracle, and its product kinds."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from index import VectorIndex
from index.kinds import KINDS, default_nprobe, ivf_lists
from tests.vector_helpers import (
    DIM,
    MAX_ID,
    SNOWFLAKE,
    WIDE,
    Oracle,
    assert_same_results,
    build_with_oracle,
    check_against_oracle,
    check_allowed_ids,
    check_finds_true_neighbours,
    check_removals_and_upserts,
    check_save_and_load,
    clustered_vectors,
    make_corpus,
    make_populated,
    recall_at,
    unit_vectors,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def populated(rng) -> tuple[VectorIndex, Oracle]:
    return make_populated(rng)


def test_search_matches_the_brute_force_oracle(populated, rng):
    index, oracle = populated
    check_against_oracle(index, oracle, rng)


def test_search_still_matches_the_oracle_after_removals_and_upserts(populated, rng):
    index, oracle = populated
    known = np.array(list(oracle.vectors), dtype=np.int64)
    gone = rng.choice(known, size=80, replace=False)
    unknown = np.array([7, 8, 9], dtype=np.int64)
    assert index.remove(np.concatenate([gone, unknown])) == oracle.remove(gone) == 80

    survivors = np.array(list(oracle.vectors), dtype=np.int64)
    replaced = rng.choice(survivors, size=40, replace=False)
    fresh = np.array([SNOWFLAKE + 1, SNOWFLAKE + 2, *gone[:5].tolist()], dtype=np.int64)
    upsert_ids = np.concatenate([replaced, fresh])
    upsert_vectors = unit_vectors(rng, len(upsert_ids))
    index.add(upsert_ids, upsert_vectors)
    oracle.add(upsert_ids, upsert_vectors)

    assert len(index) == len(oracle.vectors)
    assert sorted(index.ids().tolist()) == sorted(oracle.vectors)
    check_against_oracle(index, oracle, rng)


def test_search_never_returns_padding_when_k_exceeds_the_index(rng):
    index = VectorIndex(DIM)
    index.add([SNOWFLAKE, 5], unit_vectors(rng, 2))
    results = index.search(unit_vectors(rng, 1)[0], 10)
    assert sorted(i for i, _ in results) == [5, SNOWFLAKE]
    assert index.search(unit_vectors(rng, 1), 10, allowed_ids=[999]) == []


def test_an_empty_index_and_k_zero_give_no_results(rng):
    query = unit_vectors(rng, 1)[0]
    assert VectorIndex(DIM).search(query, 5) == []
    index = VectorIndex(DIM)
    index.add([1], unit_vectors(rng, 1))
    assert index.search(query, 0) == []
    assert index.search(query, 3, allowed_ids=[]) == []


def test_a_query_may_be_one_row_or_a_flat_vector(populated, rng):
    index, _ = populated
    query = unit_vectors(rng, 1)
    assert index.search(query, 4) == index.search(query[0], 4)
    with pytest.raises(ValueError, match="shape"):
        index.search(unit_vectors(rng, 2), 4)
    with pytest.raises(ValueError, match="negative"):
        index.search(query, -1)


def test_vectors_are_reconstructed_by_id_in_the_order_asked(populated):
    index, oracle = populated
    ids = [SNOWFLAKE, MAX_ID, 0]
    expected = np.stack([oracle.vectors[i] for i in ids])
    np.testing.assert_array_equal(index.vectors(ids), expected)
    assert index.vectors([]).shape == (0, DIM)
    with pytest.raises(KeyError, match="not in the index"):
        index.vectors([SNOWFLAKE, 77])


def test_contains_len_and_ids_follow_adds_and_removes(rng):
    index = VectorIndex(DIM)
    index.add(np.array([3, SNOWFLAKE], dtype=np.uint64), unit_vectors(rng, 2))
    assert len(index) == 2
    assert index.contains(SNOWFLAKE)
    assert SNOWFLAKE in index
    assert np.int64(3) in index
    assert "3" not in index
    assert index.remove([3, 3, 4]) == 1
    assert not index.contains(3)
    assert index.ids().tolist() == [SNOWFLAKE]
    assert index.ids().dtype == np.int64
    assert index.remove([]) == 0


def test_add_converts_float64_and_strided_input_to_contiguous_float32(rng):
    index = VectorIndex(DIM)
    wide = unit_vectors(rng, 4, dim=DIM * 2).astype(np.float64)
    strided = wide[:, ::2]  # not C-contiguous
    strided = strided / np.linalg.norm(strided, axis=1, keepdims=True)
    index.add([1, 2, 3, 4], strided)
    np.testing.assert_allclose(index.vectors([1, 2, 3, 4]), strided, rtol=1e-6)


@pytest.mark.parametrize(
    ("ids", "vectors", "message"),
    [
        ([1, 2], np.zeros((3, DIM), np.float32), "2 ids for 3 vectors"),
        ([1, 1], np.zeros((2, DIM), np.float32), "distinct"),
        ([1.0, 2.0], np.zeros((2, DIM), np.float32), "integers"),
        ([-1], np.zeros((1, DIM), np.float32), "non-negative"),
        ([2**63], np.zeros((1, DIM), np.float32), "64-bit"),
        ([2**64], np.zeros((1, DIM), np.float32), "64-bit"),
        ([[1]], np.zeros((1, DIM), np.float32), "one-dimensional"),
        ([1], np.zeros((1, DIM + 1), np.float32), "shape"),
        ([1], np.zeros(DIM, np.float32), "shape"),
        ([1], np.zeros((1, DIM), np.int32), "floating point"),
        ([1], np.full((1, DIM), np.nan, np.float32), "NaN"),
    ],
)
def test_add_rejects_malformed_input(ids, vectors, message):
    index = VectorIndex(DIM)
    with pytest.raises(ValueError, match=message):
        index.add(ids, vectors)
    assert len(index) == 0


def test_unknown_kinds_and_bad_dimensions_are_refused():
    with pytest.raises(ValueError, match="unknown index kind 'hnsw'"):
        VectorIndex(DIM, kind="hnsw")
    with pytest.raises(ValueError, match="positive"):
        VectorIndex(0)


def test_concurrent_upserts_and_searches_stay_consistent(rng):
    index = VectorIndex(DIM)
    pool = unit_vectors(rng, 64)
    errors: list[BaseException] = []

    def writer(offset: int) -> None:
        try:
            for round_ in range(50):
                ids = np.arange(offset, offset + 16, dtype=np.int64)
                index.add(ids, np.roll(pool[:16], round_, axis=0))
                if round_ % 3 == 0:
                    index.remove(ids[:4])
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            for query in pool:
                for row_id, _ in index.search(query, 10):
                    assert 0 <= row_id < 64
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(o,)) for o in (0, 16, 32, 48)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(index) == len(set(index.ids().tolist()))
    assert sorted(index.ids().tolist()) == list(range(64))  # the last round removes nothing


# Layering ------------------------------------------------------------------------------


def test_the_index_package_imports_neither_discord_nor_the_upper_layers():
    code = (
        "import sys, index, index.encoder, index.kinds, index.storage, index.vectors\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'discord', 'knowledge', 'cogs', 'sentence_transformers', 'torch'})\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    assert result.stdout.strip() == ""


# The approximate kind (ivf-sq8) ---------------------------------------------------------

# Recall@10 against the oracle on clustered data, with the default effort: bounded by
# the 8-bit quantisation.
MIN_RECALL = 0.85
SQ8_TOLERANCE = 0.3


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    return make_corpus()


@pytest.fixture(scope="module")
def sq8_pair(corpus) -> tuple[VectorIndex, Oracle]:
    """An ivf-sq8 index over the corpus (read-only: shared by tests)."""
    return build_with_oracle(corpus, "ivf-sq8", KINDS, 6000)


def test_the_approximate_kind_finds_most_of_the_true_neighbours(sq8_pair, rng):
    index, oracle = sq8_pair
    check_finds_true_neighbours(index, oracle, rng, MIN_RECALL)


def test_the_approximate_kind_respects_allowed_ids_small_and_large(sq8_pair, rng):
    index, oracle = sq8_pair
    check_allowed_ids(index, oracle, rng, MIN_RECALL, unquantised=False)


def test_the_approximate_kind_follows_removals_and_upserts(corpus, rng):
    index, oracle = build_with_oracle(corpus, "ivf-sq8", KINDS, 3000)
    found = check_removals_and_upserts(
        index, oracle, corpus, rng, MIN_RECALL, tolerance=SQ8_TOLERANCE
    )
    assert all(row[1:].count(row[0]) == 1 for row in found)  # each upsert finds itself


def test_the_approximate_kind_saves_and_loads_with_the_same_results(corpus, rng, tmp_path):
    check_save_and_load("ivf-sq8", KINDS, corpus, rng, tmp_path)


def test_convert_produces_the_requested_kind_and_back(corpus, rng):
    flat, oracle = build_with_oracle(corpus, "flat", KINDS, 3000)
    queries = clustered_vectors(rng, 20)
    converted = flat.convert("ivf-sq8")
    assert converted.kind == "ivf-sq8" and len(converted) == 3000
    assert recall_at(converted, oracle, queries) >= MIN_RECALL
    assert converted.nlist == ivf_lists(3000)
    assert converted.effort == default_nprobe(ivf_lists(3000))
    back = converted.convert("flat")
    assert back.exact and sorted(back.ids().tolist()) == sorted(flat.ids().tolist())
    np.testing.assert_allclose(back.vectors(flat.ids()), converted.vectors(flat.ids()))
    again = flat.convert("flat")
    for query in queries:
        assert_same_results(again.search(query, 15), oracle.search(query, 15))
    assert len(flat) == 3000  # the source is untouched
    assert len(VectorIndex(WIDE).convert("ivf-sq8")) == 0
    with pytest.raises(ValueError, match="unknown index kind 'hnsw-flat'"):
        flat.convert("hnsw-flat")  # a benchmark kind: not the product's


def test_an_ivf_index_gets_lists_for_its_whole_size_not_its_sample(rng):
    big = VectorIndex.build(np.arange(60_000), clustered_vectors(rng, 60_000), kind="ivf-sq8")
    assert big.nlist == ivf_lists(60_000) == 256


def test_an_ivf_index_trains_on_its_first_add_and_refuses_retraining(rng):
    index = VectorIndex(WIDE, kind="ivf-sq8")
    assert not index.is_trained and index.nlist is None and index.effort is None
    assert index.search(clustered_vectors(rng, 1)[0], 3) == []
    index.add(np.arange(1000), clustered_vectors(rng, 1000))
    assert index.is_trained and index.nlist == ivf_lists(1000)
    with pytest.raises(RuntimeError, match="retrain"):
        index.train(clustered_vectors(rng, 1000))
    index.effort = 1
    assert index.effort == 1
    index.effort = None
    assert index.effort == default_nprobe(ivf_lists(1000))
    with pytest.raises(ValueError, match="positive"):
        index.effort = 0
    assert VectorIndex(WIDE).effort is None  # exact: nothing to tune


def test_single_query_searches_leave_the_faiss_thread_count_as_it_was(populated, rng):
    import faiss

    index, _ = populated
    before = faiss.omp_get_max_threads()
    for query in unit_vectors(rng, 5):
        index.search(query, 5)
    assert faiss.omp_get_max_threads() == before
