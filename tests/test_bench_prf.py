"""bench/dense_prf.py: Rocchio feedback on the dense SemEval ranking (pure parts, and a
run on the real SemEval files with the model-free encoder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import dense_prf, semeval
from bench.quality_harness import make_encoder


def _unit(*values: float) -> np.ndarray:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_without_feedback_the_scores_are_the_cosines() -> None:
    question = _unit(1.0, 0.0, 0.0)
    related = np.stack([_unit(1.0, 1.0, 0.0), _unit(0.0, 0.0, 1.0)])
    for alpha, depth in ((0.0, 3), (0.6, 0)):
        np.testing.assert_allclose(
            dense_prf.rocchio(question, related, alpha, depth), related @ question
        )


def test_feedback_lifts_what_resembles_the_first_related_question() -> None:
    question = _unit(1.0, 0.0, 0.0)
    first = _unit(0.9, 0.5, 0.0)  # the closest: feedback comes from it
    sibling = _unit(0.3, 1.0, 0.0)  # like the first, less like the question
    stranger = _unit(0.45, 0.0, 0.89)  # closer to the question than the sibling is
    related = np.stack([first, sibling, stranger])
    before = dense_prf.rocchio(question, related, 0.0, 0)
    after = dense_prf.rocchio(question, related, 1.0, 1)
    assert before[2] > before[1]
    assert after[1] > after[2]


def test_map_counts_a_question_without_a_relevant_one_as_zero() -> None:
    question = _unit(1.0, 0.0)
    split = [
        dense_prf.Encoded(question, np.stack([_unit(1.0, 0.1), _unit(0.0, 1.0)]), (True, False)),
        dense_prf.Encoded(question, np.stack([_unit(1.0, 0.1)]), (False,)),
    ]
    assert dense_prf.mean_average_precision(split) == pytest.approx(50.0)


def test_the_report_chooses_on_the_tuning_split_only(tmp_path: Path) -> None:
    data_dir = Path(semeval.default_data_dir())
    if not data_dir.is_dir():
        pytest.skip("the SemEval-2016 files are not beside the repository")
    encoder = make_encoder("hashing")
    splits = {
        name: dense_prf.encode_split(semeval.load(name, data_dir)[:12], encoder, 0.5)
        for name in ("train2", "dev")
    }
    lines = dense_prf.report(splits)
    assert len(lines) == 2 + len(dense_prf.ALPHAS) * len(dense_prf.DEPTHS) + 1
    assert lines[-1].startswith("chosen on train2:")
    # Only dev is held out here; the tuning split's own gain comes first.
    assert "held out: dev " in lines[-1] and "train1" not in lines[-1]
