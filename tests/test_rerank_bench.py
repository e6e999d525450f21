"""The re-ranking benchmark's measuring rules (bench/rerank.py), model-free.

The benchmark itself needs the real models and minutes; what it computes from the
candidates it collected (the re-ordering, top-1, MAP, the tuning-only blend
weight, the re-ranking protocol's groups, the cache) is checked here on small
hand-made cases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import rerank, semeval


def asked(
    source: str, relevant: set[int], scores: list[float], rest: tuple[int, ...] = ()
) -> rerank.Asked:
    """A question whose options are threads 1, 2, … with the given fused scores."""
    options = tuple(rerank.Option(i + 1, s, f"thread {i + 1}") for i, s in enumerate(scores))
    return rerank.Asked(
        source, f"q-{source}-{sorted(relevant)}", "question", frozenset(relevant), options, rest
    )


def test_reordering_alone_blended_and_untouched() -> None:
    a = asked("semeval dev", {3}, [0.9, 0.8, 0.7, 0.6])
    scores = np.array([0.1, 0.2, 0.9, 0.0])
    assert rerank.reordered(a, None, 10, None) == [1, 2, 3, 4]
    assert rerank.reordered(a, scores, 10, None) == [3, 2, 1, 4]
    # Only the first `depth` options move; the rest keep the fused order.
    assert rerank.reordered(a, scores[:2], 2, None) == [2, 1, 3, 4]
    # Blended: 0.9+0.1*0.1 = 0.91 stays above 0.7+0.1*0.9 = 0.79; at weight 1 it does not.
    assert rerank.reordered(a, scores, 10, 0.1)[0] == 1
    assert rerank.reordered(a, scores, 10, 1.0)[0] == 3


def test_top1_counts_answerable_questions_only() -> None:
    items = [asked("s", {1}, [0.9, 0.5]), asked("s", {2}, [0.9, 0.5]), asked("s", set(), [0.9])]
    ranks = [rerank.reordered(a, None, 10, None) for a in items]
    assert rerank.top1(items, ranks) == (1, 2)


def test_map_appends_the_threads_the_engine_did_not_return() -> None:
    # Relevant thread 9 was not returned: it counts at rank 3, after the two options.
    a = asked(rerank.RERANK_SOURCE, {9}, [0.9, 0.8], rest=(9,))
    assert rerank.mean_ap([a], [rerank.reordered(a, None, 10, None)]) == pytest.approx(1 / 3)


def test_blend_weight_is_chosen_on_tuning_sources_only() -> None:
    # On the tuning question the score must win (weight >= 1); on the held-out one any
    # weight above 0.05 would be wrong, and it must not be looked at.
    tuning = asked(rerank.TUNING_SEMEVAL, {2}, [0.9, 0.5])
    held = asked("semeval dev", {1}, [0.9, 0.85])
    items = [tuning, held]
    scores = rerank.Scores("s", [np.array([0.0, 0.5]), np.array([0.0, 1.0])])
    weight = rerank.chosen_weight(items, scores, 10, [rerank.TUNING_SEMEVAL])
    assert weight == 1.0
    tuning_sources, held_sources = rerank.sources(items)
    assert tuning_sources == [rerank.TUNING_SEMEVAL]
    assert held_sources == ["semeval dev"]


def related(rel_id: str, relevant: bool) -> semeval.RelatedQuestion:
    return semeval.RelatedQuestion(
        rel_id, "s", "b", 1, "Relevant" if relevant else "Irrelevant", "u", ()
    )


def test_groups_follow_the_layout_order_and_reject_a_changed_one() -> None:
    q1 = semeval.OriginalQuestion("Q1", "s", "b", (related("R1", True), related("R2", False)))
    q2 = semeval.OriginalQuestion("Q2", "s", "b", (related("R1", False), related("R1", False)))
    rel_of = {100: "R1", 110: "R2", 120: "R1"}
    assert rerank.groups(rel_of, [q1, q2]) == [{"R1": 100, "R2": 110}, {"R1": 120}]
    with pytest.raises(ValueError, match="layout order"):
        rerank.groups({100: "R2", 110: "R1", 120: "R1"}, [q1, q2])


def test_cache_round_trip(tmp_path: Path) -> None:
    items = [
        asked("salesloom held-out", {2, 3}, [0.5, 0.4]),
        asked(rerank.RERANK_SOURCE, set(), [0.1], (7, 8)),
    ]
    path = tmp_path / "pool.json"
    rerank.save(path, items)
    assert rerank.load(path) == items


def test_tuning_flag() -> None:
    assert asked("tsumiki tuning", set(), []).tuning
    assert asked(rerank.TUNING_SEMEVAL, set(), []).tuning
    assert not asked("tsumiki held-out", set(), []).tuning
    assert not asked("semeval train part 1", set(), []).tuning
