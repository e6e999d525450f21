"""Tests of index.storage: saving a VectorIndex atomically and refusing what does not match."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import IndexCorrupt, IndexMeta, IndexMismatch, IndexMissing, VectorIndex, read_meta
from index.storage import INDEX_FILE, META_FILE
from tests.vector_helpers import (
    DIM,
    MAX_ID,
    SNOWFLAKE,
    WIDE,
    Oracle,
    check_against_oracle,
    clustered_vectors,
    make_populated,
    searches,
    unit_vectors,
)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)


@pytest.fixture
def populated(rng) -> tuple[VectorIndex, Oracle]:
    return make_populated(rng)


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
    assert searches(loaded, queries, 20) == searches(index, queries, 20)
    assert searches(loaded, queries, 20, allowed) == searches(index, queries, 20, allowed)
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

    monkeypatch.setattr("index.storage.faiss.write_index", broken_write)
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


def test_an_untrained_ivf_index_saves_as_an_empty_flat_one(tmp_path):
    meta = VectorIndex(WIDE, kind="ivf-sq8").save(tmp_path, model="m", fingerprint="f")
    assert (meta.kind, meta.count) == ("flat", 0)
    loaded = VectorIndex.load(
        tmp_path, expected_model="m", expected_dim=WIDE, expected_fingerprint="f"
    )
    assert loaded.kind == "flat" and len(loaded) == 0


def test_a_file_that_is_not_of_the_recorded_kind_is_corrupt(rng, tmp_path):
    vectors = clustered_vectors(rng, 500)
    VectorIndex.build(np.arange(500), vectors).save(tmp_path, model="m", fingerprint="f")
    rewrite_meta(tmp_path, kind="ivf-sq8")
    with pytest.raises(IndexCorrupt, match="not a ivf-sq8 index"):
        VectorIndex.load(tmp_path, expected_model="m", expected_dim=WIDE, expected_fingerprint="f")
