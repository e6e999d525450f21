"""Test data and checks shared by the tests of the vector index and of its kinds.

The oracle is the obvious implementation (a dict of vectors and a full scan
in float64); the ``check_*`` functions run one scenario on an index of any
kind, so the product's kinds (tests/test_vectors.py) and the benchmark's
(tests/test_bench_index_kinds.py) meet the same expectations.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from index.kinds import IndexKind
from index.vectors import VectorIndex

DIM = 24
WIDE = 32
SNOWFLAKE = 1234567890123456789
MAX_ID = 2**63 - 1


def unit_vectors(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


class Oracle:
    """The obvious implementation: a dict of vectors and a full numpy scan in float64."""

    def __init__(self) -> None:
        self.vectors: dict[int, np.ndarray] = {}

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        for row_id, vector in zip(ids.tolist(), vectors, strict=True):
            self.vectors[row_id] = vector.astype(np.float32)

    def remove(self, ids: np.ndarray) -> int:
        return sum(self.vectors.pop(row_id, None) is not None for row_id in ids.tolist())

    def search(self, query: np.ndarray, k: int, allowed: set[int] | None = None):
        candidates = [i for i in self.vectors if allowed is None or i in allowed]
        scored = [
            (i, float(np.dot(self.vectors[i].astype(np.float64), query.astype(np.float64))))
            for i in candidates
        ]
        scored.sort(key=lambda pair: -pair[1])
        return scored[:k]


def assert_same_results(actual, expected) -> None:
    assert [i for i, _ in actual] == [i for i, _ in expected]
    np.testing.assert_allclose([s for _, s in actual], [s for _, s in expected], atol=1e-5)
    assert all(isinstance(i, int) and isinstance(s, float) for i, s in actual)


def random_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct ids spread over the whole int64 range, with the awkward ones included."""
    ids = {0, 1, SNOWFLAKE, MAX_ID}
    while len(ids) < n:
        ids.add(int(rng.integers(0, 2**63 - 1, dtype=np.int64)))
    shuffled = np.array(sorted(ids), dtype=np.int64)
    rng.shuffle(shuffled)
    return shuffled


CENTRES = unit_vectors(np.random.default_rng(99), 100, WIDE)


def clustered_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit vectors around 100 fixed centres (topics), data and queries alike:
    structured like sentence embeddings, unlike pure noise."""
    picks = rng.integers(0, len(CENTRES), n)
    vectors = CENTRES[picks] + 0.3 * unit_vectors(rng, n, WIDE)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def make_corpus() -> tuple[np.ndarray, np.ndarray]:
    """6000 random ids and clustered vectors, the same on every call."""
    rng = np.random.default_rng(7)
    return random_ids(rng, 6000), clustered_vectors(rng, 6000)


def searches(index: VectorIndex, queries: np.ndarray, k: int, allowed=None):
    """One search per query."""
    return [index.search(query, k, allowed_ids=allowed) for query in queries]


def recall_at(
    index: VectorIndex,
    oracle: Oracle,
    queries: np.ndarray,
    k: int = 10,
    allowed: set[int] | None = None,
) -> float:
    """Share of the oracle's top ``k`` that the index finds (the oracle's scan, vectorised)."""
    ids = np.array([i for i in oracle.vectors if allowed is None or i in allowed], dtype=np.int64)
    matrix = np.stack([oracle.vectors[i] for i in ids.tolist()]).astype(np.float64)
    allowed_arr = None if allowed is None else np.fromiter(allowed, np.int64)
    hits = 0
    for query in queries:
        expected = set(ids[np.argsort(-(matrix @ query.astype(np.float64)))[:k]].tolist())
        found = {i for i, _ in index.search(query, k, allowed_ids=allowed_arr)}
        if allowed is not None:
            assert found <= allowed
        hits += len(found & expected)
    return hits / (k * len(queries))


def check_against_oracle(index: VectorIndex, oracle: Oracle, rng: np.random.Generator) -> None:
    queries = unit_vectors(rng, 8)
    known = list(oracle.vectors)
    for query in queries:
        for k in (1, 5, 50, len(known) + 10):
            assert_same_results(index.search(query, k), oracle.search(query, k))
        for size in (0, 1, 7, 60):
            picked = rng.choice(len(known), size=min(size, len(known)), replace=False)
            allowed = {known[int(p)] for p in picked}
            allowed_with_strangers = np.array([*allowed, 42, 43], dtype=np.int64)
            for k in (3, 100):
                assert_same_results(
                    index.search(query, k, allowed_ids=allowed_with_strangers),
                    oracle.search(query, k, allowed),
                )


def make_populated(rng: np.random.Generator) -> tuple[VectorIndex, Oracle]:
    """A flat index of 300 random vectors under random ids, and its oracle."""
    index, oracle = VectorIndex(DIM), Oracle()
    ids = random_ids(rng, 300)
    vectors = unit_vectors(rng, 300)
    index.add(ids, vectors)
    oracle.add(ids, vectors)
    return index, oracle


def build_with_oracle(
    corpus: tuple[np.ndarray, np.ndarray], kind: str, kinds: Mapping[str, IndexKind], n: int
) -> tuple[VectorIndex, Oracle]:
    """An index of ``kind`` and the oracle over the first ``n`` vectors of ``corpus``."""
    ids, vectors = corpus
    index = VectorIndex.build(ids[:n], vectors[:n], kind=kind, kinds=kinds)
    oracle = Oracle()
    oracle.add(ids[:n], vectors[:n])
    return index, oracle


def check_finds_true_neighbours(
    index: VectorIndex, oracle: Oracle, rng: np.random.Generator, min_recall: float
) -> None:
    queries = clustered_vectors(rng, 40)
    assert not index.exact
    assert len(index) == len(oracle.vectors)
    assert recall_at(index, oracle, queries) >= min_recall
    results = index.search(queries[0], 25)
    assert len(results) == 25
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)
    assert len({i for i, _ in results}) == 25


def check_allowed_ids(
    index: VectorIndex,
    oracle: Oracle,
    rng: np.random.Generator,
    min_recall: float,
    *,
    unquantised: bool,
) -> None:
    queries = clustered_vectors(rng, 20)
    known = np.array(list(oracle.vectors), dtype=np.int64)
    few = set(rng.choice(known, size=50, replace=False).tolist())
    many = set(rng.choice(known, size=5000, replace=False).tolist())  # over EXACT_FILTER_MAX
    if unquantised:
        # Few allowed ids are scored directly: the oracle's answer, exactly.
        for query in queries[:5]:
            allowed = np.array([*few, 42], dtype=np.int64)
            assert_same_results(
                index.search(query, 7, allowed_ids=allowed), oracle.search(query, 7, few)
            )
    assert recall_at(index, oracle, queries, allowed=few) >= min_recall
    assert recall_at(index, oracle, queries, allowed=many) >= min_recall
    assert index.search(queries[0], 5, allowed_ids=[2, 3, 4]) == []  # none is in the index


def check_removals_and_upserts(
    index: VectorIndex,
    oracle: Oracle,
    corpus: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    min_recall: float,
    *,
    tolerance: float,
) -> list[list[int]]:
    """Remove, replace and add vectors of a 3000-vector index; return what each upsert finds.

    The upserted vectors' top 10 come back, for the caller's kind-specific checks.
    """
    ids = corpus[0]
    gone = rng.choice(ids[:3000], size=400, replace=False)
    assert index.remove(np.concatenate([gone, [7, 8]])) == oracle.remove(gone) == 400
    assert index.remove(gone[:10]) == 0
    replaced = rng.choice(np.array(list(oracle.vectors), dtype=np.int64), size=300, replace=False)
    upserts = np.concatenate([replaced, gone[:50], ids[3000:3100]])
    fresh = clustered_vectors(rng, len(upserts))
    index.add(upserts, fresh)
    oracle.add(upserts, fresh)

    assert len(index) == len(oracle.vectors) == 3000 - 400 + 50 + 100
    assert sorted(index.ids().tolist()) == sorted(oracle.vectors)
    assert all(index.contains(int(i)) for i in upserts)
    assert not any(index.contains(int(i)) for i in gone[50:])
    np.testing.assert_allclose(index.vectors(upserts[:20]), fresh[:20], atol=tolerance)

    queries = np.concatenate([fresh[:20], clustered_vectors(rng, 20)])
    for query in queries:
        assert not {i for i, _ in index.search(query, 50)} & set(gone[50:].tolist())
    assert recall_at(index, oracle, queries) >= min_recall
    found = [[i for i, _ in index.search(query, 10)] for query in fresh[:20]]
    for row, row_id in zip(found, upserts[:20], strict=True):
        assert row.count(int(row_id)) <= 1  # an upserted vector is found once at most
    return [[int(row_id), *row] for row, row_id in zip(found, upserts[:20], strict=True)]


def check_save_and_load(
    kind: str,
    kinds: Mapping[str, IndexKind],
    corpus: tuple[np.ndarray, np.ndarray],
    rng: np.random.Generator,
    directory: Path,
) -> VectorIndex:
    """Save an index of ``kind`` after removals and upserts; load it; compare. Return it loaded."""
    ids, vectors = corpus
    index = VectorIndex.build(ids[:2000], vectors[:2000], kind=kind, kinds=kinds)
    index.remove(ids[:100])
    index.add(ids[100:150], clustered_vectors(rng, 50))  # upserts: tombstones in HNSW
    meta = index.save(directory, model="hashing-32", fingerprint="rev-3")
    assert (meta.kind, meta.count) == (kind, 1900)

    loaded = VectorIndex.load(
        directory,
        expected_model="hashing-32",
        expected_dim=WIDE,
        expected_fingerprint="rev-3",
        kinds=kinds,
    )
    assert (loaded.kind, len(loaded)) == (kind, 1900)
    assert sorted(loaded.ids().tolist()) == sorted(index.ids().tolist())
    assert not loaded.contains(int(ids[0]))
    queries = clustered_vectors(rng, 10)
    allowed = index.ids()[::2]
    assert searches(loaded, queries, 20) == searches(index, queries, 20)
    assert searches(loaded, queries, 20, allowed) == searches(index, queries, 20, allowed)
    loaded.add([int(ids[0])], vectors[:1])  # stays writable
    loaded.remove([int(ids[200])])
    assert loaded.contains(int(ids[0])) and not loaded.contains(int(ids[200]))
    return loaded
