"""Smoke test of the quality benchmark (bench/quality.py), so that it cannot rot.

The real benchmark takes minutes with the real model; this runs its --quick
mode with the model-free hashing encoder, in seconds.
"""

from __future__ import annotations

import json

import pytest

from bench import quality, semeval

DATA = semeval.default_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA / semeval.DEV_GOLD_FILE).is_file(), reason="SemEval-2016 data not found"
)


def test_official_average_precision() -> None:
    # Relevant at ranks 1 and 3: (1/1 + 2/3) / 2; nothing relevant: 0.
    assert semeval.average_precision([True, False, True]) == pytest.approx(5 / 6)
    assert semeval.average_precision([False] * 10) == 0.0
    # Only the top 10 count.
    assert semeval.average_precision([False] * 10 + [True]) == 0.0
    scores = semeval.score_rankings([[False, True], [False, False]])
    assert scores.map == pytest.approx(0.25)
    assert scores.mrr == pytest.approx(0.25)
    assert scores.p1 == 0.0


@needs_data
def test_scorer_reproduces_the_published_search_engine_baseline() -> None:
    gold = semeval.load_gold(DATA / semeval.DEV_GOLD_FILE)
    scores = semeval.score_rankings(semeval.gold_engine_rankings(gold))
    assert round(100 * scores.map, 2) == 71.35
    dev = semeval.load("dev", DATA)
    assert len(dev) == 50 and sum(len(q.related) for q in dev) == 500
    assert semeval.score_rankings(semeval.engine_rankings(dev)) == scores


@needs_data
def test_quick_run_ends_with_json_summary(tmp_path, capsys) -> None:
    assert quality.main(["--quick", "--model", "hashing", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    for key in ("rerank_map", "kb_p1", "kb_r3", "kb_silence"):
        assert 0.0 <= summary[key] <= 1.0, key
    assert any(line.startswith("Re-ranking") for line in lines)
    assert any(line.startswith("Knowledge base") for line in lines)
