"""Metrics over recorded suggestions: re-ranking and knowledge-base figures.

Suggestions are recorded once, unthresholded, with their two signals; the
figures for any threshold or fusion weight are computed from them, exactly as
:func:`knowledge.ranking.rank` would order and filter them (score descending,
ties by entry id; nothing under the threshold; at most ``limit``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bench.quality_harness import Scored
from bench.semeval import OriginalQuestion, RankingScores, score_rankings

KB_LIMIT = 3
"""Suggestions shown for one question (the CLI's and the cogs' default)."""


class Labelled(Protocol):
    """A question asked of a knowledge base: all the knowledge-base figures need of it."""

    @property
    def answerable(self) -> bool:
        """Whether some entry of the base answers it."""
        ...


def weighted(dense_weight: float) -> Callable[[Scored], float]:
    """The engine's fusion (``knowledge.ranking.fuse``) at another dense weight."""

    def score(s: Scored) -> float:
        return dense_weight * s.dense + (1.0 - dense_weight) * s.lexical

    return score


def refused(
    results: Sequence[Sequence[Scored]], score: Callable[[Scored], float]
) -> list[list[Scored]]:
    """Re-score every suggestion with ``score`` and re-sort as the engine does."""
    out: list[list[Scored]] = []
    for suggestions in results:
        rescored = [
            Scored(s.rel_id, s.entry_id, score(s), s.dense, s.lexical, s.relevant)
            for s in suggestions
        ]
        rescored.sort(key=lambda s: (-s.score, s.entry_id))
        out.append(rescored)
    return out


@dataclass(frozen=True, slots=True)
class Rerank:
    """Re-ranking figures, and how many candidates the engine did not return."""

    scores: RankingScores
    appended: int  # related questions missing from the engine's list, appended in engine order


def rerank(questions: Sequence[OriginalQuestion], results: Sequence[Sequence[Scored]]) -> Rerank:
    """Official-rule MAP/MRR/P@1 of the engine's order within each group.

    Related questions the engine did not return (found by no signal) are
    appended after its list in search-engine order.
    """
    rankings: list[list[bool]] = []
    appended = 0
    for question, suggestions in zip(questions, results, strict=True):
        ranked = [s.rel_id for s in suggestions]
        seen = set(ranked)
        rest = [r.id for r in question.related if r.id not in seen]
        appended += len(rest)
        good = {r.id for r in question.related if r.relevant}
        rankings.append([rel_id in good for rel_id in ranked + rest])
    return Rerank(score_rankings(rankings), appended)


@dataclass(frozen=True, slots=True)
class KbScores:
    """Knowledge-base figures at one threshold."""

    threshold: float
    p1_hits: int  # answerable questions whose first suggestion is relevant
    r3_hits: int  # answerable questions with a relevant suggestion among those shown
    answerable: int
    silent: int  # unanswerable questions without any suggestion
    unanswerable: int
    answered: int  # questions (of both kinds) with at least one suggestion
    correct: int  # answered questions whose first suggestion is relevant

    @property
    def p1(self) -> float:
        """P@1 over answerable questions (a silent one counts as a miss)."""
        return self.p1_hits / self.answerable if self.answerable else 0.0

    @property
    def r3(self) -> float:
        """Recall@3 over answerable questions."""
        return self.r3_hits / self.answerable if self.answerable else 0.0

    @property
    def silence(self) -> float:
        """Share of unanswerable questions that get no suggestion."""
        return self.silent / self.unanswerable if self.unanswerable else 0.0

    @property
    def questions(self) -> int:
        """All questions asked."""
        return self.answerable + self.unanswerable

    @property
    def answered_share(self) -> float:
        """Share of all questions that get a suggestion."""
        return self.answered / self.questions if self.questions else 0.0

    @property
    def precision(self) -> float:
        """Share of answered questions whose first suggestion is relevant."""
        return self.correct / self.answered if self.answered else 0.0


def kb_scores(
    questions: Sequence[Labelled],
    results: Sequence[Sequence[Scored]],
    threshold: float,
    *,
    limit: int = KB_LIMIT,
) -> KbScores:
    """P@1, R@3 (answerable) and silence (unanswerable) when showing ``limit`` at ``threshold``."""
    p1 = r3 = answerable = silent = unanswerable = answered = correct = 0
    for question, suggestions in zip(questions, results, strict=True):
        shown = [s for s in suggestions if s.score >= threshold][:limit]
        if shown:
            answered += 1
            correct += shown[0].relevant
        if question.answerable:
            answerable += 1
            p1 += bool(shown) and shown[0].relevant
            r3 += any(s.relevant for s in shown)
        else:
            unanswerable += 1
            silent += not shown
    return KbScores(threshold, p1, r3, answerable, silent, unanswerable, answered, correct)


def threshold_grid(step: float = 0.01) -> list[float]:
    """Thresholds from 0 to 1."""
    count = round(1.0 / step)
    return [round(i * step, 4) for i in range(count + 1)]


def curve(
    questions: Sequence[Labelled],
    results: Sequence[Sequence[Scored]],
    thresholds: Sequence[float],
) -> list[KbScores]:
    """:func:`kb_scores` at each threshold."""
    return [kb_scores(questions, results, t) for t in thresholds]


def net_benefit(scores: KbScores) -> int:
    """Right first suggestions minus wrong ones (a wrong one costs what a right one brings)."""
    return scores.correct - (scores.answered - scores.correct)
