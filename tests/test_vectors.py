"""Tests of index.vectors: the FAISS index against a brute-force oracle, persistence, builds."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import (
    HashingEncoder,
    IndexCorrupt,
    IndexMeta,
    IndexMismatch,
    IndexMissing,
    VectorIndex,
    build_index,
    read_meta,
)
from index.vectors import (
    APPROXIMATE_FROM,
    APPROXIMATE_KIND,
    INDEX_FILE,
    KINDS,
    META_FILE,
    choose_kind,
    default_nprobe,
    ivf_lists,
    pq_subquantizers,
)

DIM = 24
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


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def populated(rng) -> tuple[VectorIndex, Oracle]:
    index, oracle = VectorIndex(DIM), Oracle()
    ids = random_ids(rng, 300)
    vectors = unit_vectors(rng, 300)
    index.add(ids, vectors)
    oracle.add(ids, vectors)
    return index, oracle


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


def test_search_many_answers_like_one_search_per_query(populated, rng):
    index, _ = populated
    queries = unit_vectors(rng, 6)
    allowed = index.ids()[:50]
    assert index.search_many(queries, 7) == [index.search(q, 7) for q in queries]
    assert index.search_many(queries, 7, allowed_ids=allowed) == [
        index.search(q, 7, allowed_ids=allowed) for q in queries
    ]


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


# Persistence ---------------------------------------------------------------------------


def save(index: VectorIndex, directory: Path, fingerprint: str = "rev-1") -> IndexMeta:
    return index.save(directory, model="hashing-24", fingerprint=fingerprint)


def load(directory: Path, **overrides) -> VectorIndex:
    expected: dict[str, Any] = {
        "expected_model": "hashing-24",
        "expected_dim": DIM,
        "expected_fingerprint": "rev-1",
    }
    expected.update(overrides)
    return VectorIndex.load(directory, **expected)


def test_a_saved_index_loads_back_with_the_same_results(populated, rng, tmp_path):
    index, oracle = populated
    gone = np.array([i for i in index.ids()[:10].tolist() if i not in (SNOWFLAKE, MAX_ID)])
    index.remove(gone)
    oracle.remove(gone)
    meta = save(index, tmp_path / "idx")

    assert meta.model == "hashing-24"
    assert (meta.dim, meta.count, meta.kind, meta.fingerprint) == (DIM, len(index), "flat", "rev-1")
    assert read_meta(tmp_path / "idx") == meta
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == [META_FILE, INDEX_FILE]

    loaded = load(tmp_path / "idx")
    check_against_oracle(loaded, oracle, rng)
    assert len(loaded) == len(index)
    assert sorted(loaded.ids().tolist()) == sorted(index.ids().tolist())
    assert SNOWFLAKE in loaded
    assert MAX_ID in loaded
    queries = unit_vectors(rng, 5)
    allowed = index.ids()[::3]
    assert loaded.search_many(queries, 20) == index.search_many(queries, 20)
    assert loaded.search_many(queries, 20, allowed_ids=allowed) == index.search_many(
        queries, 20, allowed_ids=allowed
    )
    loaded.add([SNOWFLAKE + 9], unit_vectors(rng, 1))  # the loaded index stays writable
    assert loaded.contains(SNOWFLAKE + 9)


def test_saving_again_replaces_the_previous_index(populated, tmp_path):
    index, _ = populated
    save(index, tmp_path, "rev-1")
    index.remove(index.ids()[:5])
    meta = save(index, tmp_path, "rev-2")
    loaded = load(tmp_path, expected_fingerprint="rev-2")
    assert len(loaded) == meta.count == 295


def test_meta_json_round_trips_and_records_a_checksum(populated, tmp_path):
    index, _ = populated
    meta = save(index, tmp_path)
    data = json.loads((tmp_path / META_FILE).read_text())
    assert data["format"] == 1
    assert len(data["checksum"]) == 64
    assert IndexMeta.from_json(meta.to_json()) == meta
    assert meta.created_at.endswith("+00:00")


def test_loading_without_a_fingerprint_skips_that_check(populated, tmp_path):
    index, _ = populated
    save(index, tmp_path, "rev-7")
    assert len(load(tmp_path, expected_fingerprint=None)) == len(index)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"expected_model": "all-MiniLM-L6-v2"}, "built with model 'hashing-24'"),
        ({"expected_dim": 384}, "built with dimension 24, expected 384"),
        ({"expected_fingerprint": "rev-2"}, "built from database state 'rev-1'"),
    ],
)
def test_an_index_built_from_something_else_is_a_mismatch(populated, tmp_path, overrides, reason):
    index, _ = populated
    save(index, tmp_path)
    with pytest.raises(IndexMismatch, match=reason) as caught:
        load(tmp_path, **overrides)
    assert type(caught.value) is IndexMismatch
    assert "rebuilt from the database" in str(caught.value)
    assert caught.value.directory == tmp_path


def test_a_missing_index_is_reported_as_missing(populated, tmp_path):
    with pytest.raises(IndexMissing, match="no saved index"):
        load(tmp_path / "nowhere")
    assert read_meta(tmp_path / "nowhere") is None

    index, _ = populated
    save(index, tmp_path)
    (tmp_path / INDEX_FILE).unlink()
    with pytest.raises(IndexMissing, match=f"{INDEX_FILE} is missing"):
        load(tmp_path)

    save(index, tmp_path)
    (tmp_path / META_FILE).unlink()
    with pytest.raises(IndexMissing, match=f"{META_FILE} is missing"):
        load(tmp_path)


def test_a_truncated_vectors_file_is_detected_as_corrupt(populated, tmp_path):
    index, _ = populated
    save(index, tmp_path)
    data = (tmp_path / INDEX_FILE).read_bytes()
    (tmp_path / INDEX_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexCorrupt, match="checksum"):
        load(tmp_path)


def test_a_crash_between_the_two_replaces_is_detected(populated, rng, tmp_path):
    index, _ = populated
    save(index, tmp_path / "old", "rev-1")
    index.add([SNOWFLAKE + 5], unit_vectors(rng, 1))
    save(index, tmp_path / "new", "rev-1")
    # The new vectors.faiss was moved into place, the new meta.json never was.
    (tmp_path / "old" / INDEX_FILE).write_bytes((tmp_path / "new" / INDEX_FILE).read_bytes())
    with pytest.raises(IndexCorrupt, match="interrupted save or damaged file"):
        load(tmp_path / "old")


def test_a_leftover_temporary_file_is_ignored_on_load_and_removed_on_save(populated, tmp_path):
    index, _ = populated
    save(index, tmp_path)
    leftover = tmp_path / f".{INDEX_FILE}.abc123.tmp"
    leftover.write_bytes(b"half a faiss file")
    (tmp_path / f".{META_FILE}.def456.tmp").write_text("{")
    assert len(load(tmp_path)) == len(index)
    save(index, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [META_FILE, INDEX_FILE]


def test_a_failed_save_leaves_the_previous_index_intact(populated, tmp_path, monkeypatch):
    index, _ = populated
    save(index, tmp_path)
    before = (tmp_path / INDEX_FILE).read_bytes()

    def broken_write(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr("index.vectors.faiss.write_index", broken_write)
    with pytest.raises(RuntimeError, match="disk full"):
        save(index, tmp_path, "rev-2")
    assert (tmp_path / INDEX_FILE).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [META_FILE, INDEX_FILE]
    assert len(load(tmp_path)) == len(index)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"format": 99}', "format 99"),
        ('{"format": 1, "model": "m"}', "field 'dim'"),
    ],
)
def test_an_unreadable_meta_file_is_corrupt(populated, tmp_path, content, reason):
    index, _ = populated
    save(index, tmp_path)
    (tmp_path / META_FILE).write_text(content)
    with pytest.raises(IndexCorrupt, match=reason):
        read_meta(tmp_path)
    with pytest.raises(IndexCorrupt, match=reason):
        load(tmp_path)


def rewrite_meta(directory: Path, **changes) -> None:
    data = json.loads((directory / META_FILE).read_text())
    data.update(changes)
    (directory / META_FILE).write_text(json.dumps(data))


def test_a_vectors_file_faiss_cannot_parse_is_corrupt_even_with_a_matching_checksum(
    populated, tmp_path
):
    index, _ = populated
    save(index, tmp_path)
    garbage = b"not a faiss index at all"
    (tmp_path / INDEX_FILE).write_bytes(garbage)
    rewrite_meta(tmp_path, checksum=hashlib.sha256(garbage).hexdigest())
    with pytest.raises(IndexCorrupt, match="FAISS cannot read"):
        load(tmp_path)


def test_a_count_that_disagrees_with_the_vectors_file_is_corrupt(populated, tmp_path):
    index, _ = populated
    save(index, tmp_path)
    rewrite_meta(tmp_path, count=len(index) + 1)
    with pytest.raises(IndexCorrupt, match="holds 300 vectors"):
        load(tmp_path)


def test_an_unknown_kind_in_the_metadata_is_a_mismatch(populated, tmp_path):
    index, _ = populated
    save(index, tmp_path)
    rewrite_meta(tmp_path, kind="ivf")
    with pytest.raises(IndexMismatch, match="unknown index kind 'ivf'"):
        load(tmp_path)


# Building -------------------------------------------------------------------------------


TEXTS = {
    11: "How do I reset my password?",
    12: "The CSV import fails with an encoding error",
    SNOWFLAKE: "Bot does not answer slash commands",
    14: "パスワードをリセットする方法を教えてください",
    15: "CSVのインポートでエンコードエラーが出ます",
}


def batches_of(size: int):
    items = list(TEXTS.items())
    for start in range(0, len(items), size):
        chunk = items[start : start + size]
        yield [i for i, _ in chunk], [t for _, t in chunk]


def test_build_index_encodes_every_batch_and_reports_progress():
    encoder = HashingEncoder(64)
    calls: list[int] = []
    index = build_index(batches_of(2), encoder, progress=calls.append)

    assert calls == [2, 4, 5]
    assert index.dim == 64
    assert sorted(index.ids().tolist()) == sorted(TEXTS)
    for row_id, text in TEXTS.items():
        best_id, best_score = index.search(encoder.encode([text])[0], 1)[0]
        assert best_id == row_id
        assert best_score == pytest.approx(1.0, abs=1e-5)


def test_build_index_accepts_empty_batches_and_replaces_repeated_ids():
    encoder = HashingEncoder(32)
    calls: list[int] = []
    batches = [([], []), ([1, 2], ["alpha", "beta"]), ([2], ["gamma"])]
    index = build_index(batches, encoder, dim=32, progress=calls.append)
    assert calls == [0, 2, 3]
    assert len(index) == 2
    np.testing.assert_array_equal(index.vectors([2]), encoder.encode(["gamma"]))


def test_build_index_refuses_batches_of_unequal_length_and_a_wrong_dimension():
    with pytest.raises(ValueError, match="2 ids and 1 texts"):
        build_index([([1, 2], ["only one"])], HashingEncoder(32))
    with pytest.raises(ValueError, match="shape"):
        build_index([([1], ["text"])], HashingEncoder(32), dim=16)


# Layering ------------------------------------------------------------------------------


def test_the_index_package_imports_neither_discord_nor_the_upper_layers():
    code = (
        "import sys, index, index.encoder, index.vectors\n"
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


# Approximate kinds ---------------------------------------------------------------------

APPROXIMATE = ["hnsw-flat", "hnsw-sq8", "ivf-flat", "ivf-sq8", "ivf-pq"]
# Kinds that keep float32 vectors: their scores and direct scoring are exact.
UNQUANTISED = {"hnsw-flat", "ivf-flat"}
# Recall@10 against the oracle on the clustered data below, with default effort.
# The quantised kinds are bounded by their quantisation, PQ most of all.
MIN_RECALL = {"hnsw-flat": 0.95, "hnsw-sq8": 0.85, "ivf-flat": 0.95, "ivf-sq8": 0.85, "ivf-pq": 0.2}
WIDE = 32


CENTRES = unit_vectors(np.random.default_rng(99), 100, WIDE)


def clustered_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit vectors around 100 fixed centres (topics), data and queries alike:
    structured like sentence embeddings, unlike pure noise."""
    picks = rng.integers(0, len(CENTRES), n)
    vectors = CENTRES[picks] + 0.3 * unit_vectors(rng, n, WIDE)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


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


@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return random_ids(rng, 6000), clustered_vectors(rng, 6000)


@pytest.fixture(scope="module")
def approx_pair(request, corpus) -> tuple[VectorIndex, Oracle]:
    """An index of each approximate kind over the corpus (read-only: shared by tests)."""
    ids, vectors = corpus
    index = VectorIndex.build(ids, vectors, kind=request.param)
    oracle = Oracle()
    oracle.add(ids, vectors)
    return index, oracle


@pytest.mark.parametrize("approx_pair", APPROXIMATE, indirect=True)
def test_approximate_kinds_find_most_of_the_true_neighbours(approx_pair, rng):
    index, oracle = approx_pair
    queries = clustered_vectors(rng, 40)
    assert not index.exact
    assert len(index) == 6000
    assert recall_at(index, oracle, queries) >= MIN_RECALL[index.kind]
    results = index.search(queries[0], 25)
    assert len(results) == 25
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)
    assert len({i for i, _ in results}) == 25


@pytest.mark.parametrize("approx_pair", APPROXIMATE, indirect=True)
def test_approximate_kinds_respect_allowed_ids_small_and_large(approx_pair, rng):
    index, oracle = approx_pair
    queries = clustered_vectors(rng, 20)
    known = np.array(list(oracle.vectors), dtype=np.int64)
    few = set(rng.choice(known, size=50, replace=False).tolist())
    many = set(rng.choice(known, size=5000, replace=False).tolist())  # over EXACT_FILTER_MAX
    if index.kind in UNQUANTISED:
        # Few allowed ids are scored directly: the oracle's answer, exactly.
        for query in queries[:5]:
            allowed = np.array([*few, 42], dtype=np.int64)
            assert_same_results(
                index.search(query, 7, allowed_ids=allowed), oracle.search(query, 7, few)
            )
    assert recall_at(index, oracle, queries, allowed=few) >= MIN_RECALL[index.kind]
    assert recall_at(index, oracle, queries, allowed=many) >= MIN_RECALL[index.kind]
    assert index.search(queries[0], 5, allowed_ids=[2, 3, 4]) == []  # none is in the index


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_approximate_kinds_follow_removals_and_upserts(kind, corpus, rng):
    ids, vectors = corpus
    index = VectorIndex.build(ids[:3000], vectors[:3000], kind=kind)
    oracle = Oracle()
    oracle.add(ids[:3000], vectors[:3000])

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
    if kind in HNSW:
        assert index.dead_count == 400 + 300  # removed, then replaced
    else:
        assert index.dead_count == 0
    stored = index.vectors(upserts[:20])
    tolerance = 1e-6 if kind in UNQUANTISED else 0.3
    np.testing.assert_allclose(stored, fresh[:20], atol=tolerance)

    queries = np.concatenate([fresh[:20], clustered_vectors(rng, 20)])
    for query in queries:
        assert not {i for i, _ in index.search(query, 50)} & set(gone[50:].tolist())
    assert recall_at(index, oracle, queries) >= MIN_RECALL[kind]
    # An upserted vector is found by itself, under its id, once (PQ is too coarse to promise).
    for query, row_id in zip(fresh[:20], upserts[:20], strict=True):
        found = [i for i, _ in index.search(query, 10)]
        assert found.count(int(row_id)) <= 1
        if kind != "ivf-pq":
            assert found.count(int(row_id)) == 1
        if kind in UNQUANTISED:
            assert found[0] == row_id


HNSW = {"hnsw-flat", "hnsw-sq8"}


@pytest.mark.parametrize("kind", APPROXIMATE)
def test_approximate_kinds_save_and_load_with_the_same_results(kind, corpus, rng, tmp_path):
    ids, vectors = corpus
    index = VectorIndex.build(ids[:2000], vectors[:2000], kind=kind)
    index.remove(ids[:100])
    index.add(ids[100:150], clustered_vectors(rng, 50))  # upserts: tombstones in HNSW
    meta = index.save(tmp_path, model="hashing-32", fingerprint="rev-3")
    assert (meta.kind, meta.count) == (kind, 1900)

    loaded = VectorIndex.load(
        tmp_path, expected_model="hashing-32", expected_dim=WIDE, expected_fingerprint="rev-3"
    )
    assert (loaded.kind, len(loaded), loaded.dead_count) == (kind, 1900, index.dead_count)
    assert sorted(loaded.ids().tolist()) == sorted(index.ids().tolist())
    assert not loaded.contains(int(ids[0]))
    queries = clustered_vectors(rng, 10)
    allowed = index.ids()[::2]
    assert loaded.search_many(queries, 20) == index.search_many(queries, 20)
    assert loaded.search_many(queries, 20, allowed_ids=allowed) == index.search_many(
        queries, 20, allowed_ids=allowed
    )
    loaded.add([int(ids[0])], vectors[:1])  # stays writable
    loaded.remove([int(ids[200])])
    assert loaded.contains(int(ids[0])) and not loaded.contains(int(ids[200]))


@pytest.mark.parametrize("kind", sorted(HNSW))
def test_compacting_an_hnsw_index_drops_its_tombstones(kind, corpus, rng):
    ids, vectors = corpus
    index = VectorIndex.build(ids[:2000], vectors[:2000], kind=kind)
    index.remove(ids[:500])
    queries = clustered_vectors(rng, 10)
    before = index.search_many(queries, 10)
    assert index.dead_count == 500
    index.compact()
    assert index.dead_count == 0
    assert len(index) == 1500
    assert sorted(index.ids().tolist()) == sorted(ids[500:2000].tolist())
    after = index.search_many(queries, 10)
    overlap = np.mean(
        [
            len({i for i, _ in a} & {i for i, _ in b}) / 10
            for a, b in zip(before, after, strict=True)
        ]
    )
    assert overlap >= 0.9


def test_convert_and_build_index_produce_the_requested_kind(corpus, rng):
    ids, vectors = corpus
    flat = VectorIndex.build(ids[:3000], vectors[:3000])
    oracle = Oracle()
    oracle.add(ids[:3000], vectors[:3000])
    queries = clustered_vectors(rng, 20)
    for kind in APPROXIMATE:
        converted = flat.convert(kind)
        assert converted.kind == kind and len(converted) == 3000
        assert recall_at(converted, oracle, queries) >= MIN_RECALL[kind]
    back = flat.convert("hnsw-flat").convert("flat")
    assert back.exact
    for query in queries:
        assert_same_results(back.search(query, 15), oracle.search(query, 15))
    assert len(flat) == 3000  # the source is untouched

    encoder = HashingEncoder(WIDE)
    texts = {i: f"question number {i} about topic {i % 17}" for i in range(1, 800)}
    batches = [
        (list(texts)[s : s + 100], list(texts.values())[s : s + 100]) for s in range(0, 799, 100)
    ]
    built = build_index(batches, encoder, kind="ivf-flat")
    assert built.kind == "ivf-flat" and len(built) == 799
    assert built.nlist == ivf_lists(799) and built.nprobe == default_nprobe(built.nlist)
    # Lists follow the size of the whole index, not of the training sample.
    big = VectorIndex.build(np.arange(60_000), clustered_vectors(rng, 60_000), kind="ivf-sq8")
    assert big.nlist == ivf_lists(60_000) == 256
    assert built.search(encoder.encode([texts[5]])[0], 1)[0][0] == 5


def test_an_ivf_index_trains_on_its_first_add_and_refuses_retraining(rng):
    index = VectorIndex(WIDE, kind="ivf-sq8")
    assert not index.is_trained and index.nlist is None and index.nprobe is None
    assert index.search(clustered_vectors(rng, 1)[0], 3) == []
    index.add(np.arange(1000), clustered_vectors(rng, 1000))
    assert index.is_trained and index.nlist == ivf_lists(1000)
    with pytest.raises(RuntimeError, match="retrain"):
        index.train(clustered_vectors(rng, 1000))
    index.nprobe = 1
    assert index.nprobe == 1
    with pytest.raises(ValueError, match="positive"):
        index.nprobe = 0


def test_an_untrained_ivf_index_saves_as_an_empty_flat_one(tmp_path):
    meta = VectorIndex(WIDE, kind="ivf-pq").save(tmp_path, model="m", fingerprint="f")
    assert (meta.kind, meta.count) == ("flat", 0)
    loaded = VectorIndex.load(
        tmp_path, expected_model="m", expected_dim=WIDE, expected_fingerprint="f"
    )
    assert loaded.kind == "flat" and len(loaded) == 0


def test_a_file_that_is_not_of_the_recorded_kind_is_corrupt(corpus, tmp_path):
    ids, vectors = corpus
    VectorIndex.build(ids[:500], vectors[:500]).save(tmp_path, model="m", fingerprint="f")
    rewrite_meta(tmp_path, kind="hnsw-flat")
    with pytest.raises(IndexCorrupt, match="not a hnsw-flat index"):
        VectorIndex.load(tmp_path, expected_model="m", expected_dim=WIDE, expected_fingerprint="f")


def test_choose_kind_is_exact_below_the_threshold_and_approximate_beyond():
    assert choose_kind(0) == "flat"
    assert choose_kind(APPROXIMATE_FROM - 1) == "flat"
    assert choose_kind(APPROXIMATE_FROM) == APPROXIMATE_KIND
    assert APPROXIMATE_KIND in KINDS
    assert choose_kind(10, threshold=10) == APPROXIMATE_KIND
    # Hysteresis: an approximate index stays until the size halves.
    assert choose_kind(APPROXIMATE_FROM // 2, current="hnsw-sq8") == "hnsw-sq8"
    assert choose_kind(APPROXIMATE_FROM // 2 - 1, current="hnsw-sq8") == "flat"
    assert choose_kind(APPROXIMATE_FROM - 1, current="flat") == "flat"
    with pytest.raises(ValueError, match="negative"):
        choose_kind(-1)
    assert ivf_lists(1_000_000) == 1024 and ivf_lists(100_000) == 256 and ivf_lists(50) == 1
    assert pq_subquantizers(384) == 48 and pq_subquantizers(24) == 3


def test_single_query_searches_leave_the_faiss_thread_count_as_it_was(populated, rng):
    import faiss

    index, _ = populated
    before = faiss.omp_get_max_threads()
    index.search(unit_vectors(rng, 1)[0], 5)
    index.search_many(unit_vectors(rng, 30), 5)
    assert faiss.omp_get_max_threads() == before
