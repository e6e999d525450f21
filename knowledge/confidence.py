"""When to speak: the probability that the first suggestion is right.

One fused score against a fixed threshold does not carry over to data nobody
tuned for. Instead, several signals of the ranked candidates (how close the
first one is by meaning and by words, how far ahead of the second, whether the
dense and lexical retrievers agree on it, whether it is in the question's
language, how much of an answer it has) are combined by a small logistic model
fitted per encoder model on tuning data only (``bench/fit_confidence.py``). The
fitted parameters ship as data (``knowledge/calibration/<profile>.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FEATURES: tuple[str, ...] = (
    "score",
    "cosine",
    "lexical",
    "margin",
    "cosine_margin",
    "substring",
    "dense_first",
    "lexical_first",
    "same_language",
    "answer_length",
    "question_length",
    "cosine_z",
    "lexical_z",
    "rank_agreement",
    "own_lexical",
    "rare_lexical",
    "twin",
    "title_z",
    "raw_lexical",
)
"""Every signal :func:`features` computes; a fitted model uses some of them (its own
:attr:`ConfidenceModel.features`, in the order its weights are stored)."""


@dataclass(frozen=True, slots=True)
class Signals:
    """What the ranker knows of one ranked candidate, for the confidence model."""

    score: float
    cosine: float
    lexical: float
    substring: bool
    language: str
    answer_chars: int
    own_lexical: float = math.nan
    """The question's own words found in the candidate, without any glossary
    bridge credit (``nan``: not measured)."""
    rare_lexical: float = math.nan
    """The share of the question's rare-term mass the candidate covers
    (:func:`rare_terms`; bridge credit included; ``nan``: not measured)."""
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The candidate's stored (L2-normalised) vector, when known."""
    title_cosine: float = math.nan
    """The cosine of the question's title alone with the candidate (``nan``: no title)."""
    raw_lexical: float = math.nan
    """The candidate's own lexical overlap, before a cross-language floor (``nan``: not
    measured)."""


def features(
    ranked: Sequence[Signals], *, question_language: str, question_chars: int
) -> dict[str, float]:
    """The confidence model's inputs for the first of ``ranked`` (best first, non-empty).

    With a single candidate there is nothing to be ahead of: both margins are 0
    (no evidence), not the whole score. A margin over an empty slot would be far
    outside anything the model was fitted on (tuning bases hold dozens of
    threads), and with a model whose unrelated cosines are about 0.8 it would
    make a tiny base speak about anything.
    """
    first = ranked[0]
    rest = ranked[1:]
    others = [c.cosine for c in rest[:_POOL]]
    second_score = rest[0].score if rest else first.score
    best_other_cosine = max((c.cosine for c in rest), default=first.cosine)
    best_other_lexical = max((c.lexical for c in rest), default=0.0)
    return {
        "score": first.score,
        "cosine": first.cosine,
        "lexical": first.lexical,
        "margin": first.score - second_score,
        "cosine_margin": first.cosine - best_other_cosine,
        "substring": float(first.substring),
        "dense_first": float(first.cosine >= best_other_cosine),
        "lexical_first": float(first.lexical >= best_other_lexical and first.lexical > 0),
        "same_language": float(first.language == question_language),
        "answer_length": math.log1p(first.answer_chars) / 8.0,
        "question_length": math.log1p(question_chars) / 8.0,
        "cosine_z": _standing(first.cosine, others),
        "lexical_z": _standing(first.lexical, [c.lexical for c in rest[:_POOL]]),
        "rank_agreement": rank_agreement(ranked),
        "own_lexical": first.own_lexical,
        "rare_lexical": first.rare_lexical,
        "twin": twin(ranked),
        "title_z": _standing(
            first.title_cosine,
            [c.title_cosine for c in rest[:_POOL] if not math.isnan(c.title_cosine)],
        ),
        "raw_lexical": first.lexical if math.isnan(first.raw_lexical) else first.raw_lexical,
    }


_POOL = 10
"""Candidates after the first that :func:`features`' ``cosine_z`` compares it with."""


def _standing(value: float, others: Sequence[float]) -> float:
    """How far ``value`` stands above ``others``, in their spread; with fewer than 2
    others there is no spread to measure: ``nan``, no evidence either way
    (:meth:`ConfidenceModel.probability` reads it as the fitted mean).

    Relative to the question's own candidates, so it does not move with a model's
    or a community's overall cosine level (e5's unrelated texts score 0.75-0.8,
    MiniLM's 0.1-0.3). The spread has a floor so that near-equal candidates do not
    blow it up; the result is clipped to [-5, 10].
    """
    if len(others) < 2 or math.isnan(value):
        return math.nan
    mean = sum(others) / len(others)
    spread = math.sqrt(sum((o - mean) ** 2 for o in others) / len(others))
    return max(-5.0, min(10.0, (value - mean) / max(spread, 0.01)))


def rank_agreement(ranked: Sequence[Signals]) -> float:
    """Whether the dense and the lexical channel both put the first candidate on top:
    the mean of its reciprocal ranks by cosine and by lexical overlap among
    ``ranked`` (1: first in both; ties share the better rank). Ranks, not values,
    so it means the same whatever a model's or a community's score levels."""
    first = ranked[0]
    dense_rank = 1 + sum(c.cosine > first.cosine for c in ranked[1:])
    lexical_rank = 1 + sum(c.lexical > first.lexical for c in ranked[1:])
    return (1.0 / dense_rank + 1.0 / lexical_rank) / 2.0


def twin(ranked: Sequence[Signals]) -> float:
    """How much closer the second candidate is to the first than the question is:
    ``cos(first, second) - cosine(question, first)``. Positive when the question
    lands between two threads of one cluster (the same product area) rather than
    on one of them; ``nan`` when there is no second candidate or a vector is unknown.
    A difference of two cosines of the same model, so a model's cosine level cancels.
    """
    if len(ranked) < 2:
        return math.nan
    first, second = ranked[0].vector, ranked[1].vector
    if first is None or second is None:
        return math.nan
    return float(np.dot(first, second)) - ranked[0].cosine


def rare_terms(weights: Mapping[str, float]) -> frozenset[str]:
    """The question's rarest terms holding at least half of its term weight (IDF).

    Terms are taken by falling weight (ties by name, for a stable result) until
    they hold half of the total: the words that make this question specific,
    rather than the common words of its product area. Empty when no term has weight.
    """
    total = sum(w for w in weights.values() if w > 0.0)
    if total <= 0.0:
        return frozenset()
    out: list[str] = []
    held = 0.0
    for term, weight in sorted(weights.items(), key=lambda item: (-item[1], item[0])):
        if weight <= 0.0 or held >= total / 2.0:
            break
        out.append(term)
        held += weight
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """A logistic model over standardised signals, and the probability to speak at.

    ``features`` names the signals it reads (a subset of :data:`FEATURES`, all
    of them by default), in the order of ``weights``, ``means`` and ``scales``.
    ``threshold`` was chosen on the tuning splits (see ``bench/fit_confidence.py``).
    """

    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float
    fitted_on: str = ""
    features: tuple[str, ...] = FEATURES

    def __post_init__(self) -> None:
        count = len(self.features)
        if not len(self.weights) == len(self.means) == len(self.scales) == count:
            raise ValueError(f"a confidence model needs {count} weights, means, scales")
        unknown = sorted(set(self.features) - set(FEATURES))
        if unknown or len(set(self.features)) != count:
            raise ValueError(f"unknown or repeated confidence features: {unknown or self.features}")
        if any(scale <= 0.0 for scale in self.scales):
            raise ValueError("confidence feature scales must be positive")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("the confidence threshold must be between 0 and 1")

    def probability(self, values: Mapping[str, float]) -> float:
        """P(the first suggestion is right | its signals). A signal that could not be
        measured (``nan``: a base too small to compare with) counts as its mean."""
        z = self.bias
        for name, weight, mean, scale in zip(
            self.features, self.weights, self.means, self.scales, strict=True
        ):
            value = values[name]
            if not math.isnan(value):
                z += weight * (value - mean) / scale
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> str:
        return json.dumps(
            {
                "features": list(self.features),
                "weights": list(self.weights),
                "bias": self.bias,
                "means": list(self.means),
                "scales": list(self.scales),
                "threshold": self.threshold,
                "fitted_on": self.fitted_on,
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> ConfidenceModel:
        data = json.loads(text)
        names = tuple(str(name) for name in data.get("features", []))
        if not names or not set(names) <= set(FEATURES):
            raise ValueError("the calibration file was fitted on other features: refit it")
        return cls(
            features=names,
            weights=tuple(float(w) for w in data["weights"]),
            bias=float(data["bias"]),
            means=tuple(float(m) for m in data["means"]),
            scales=tuple(float(s) for s in data["scales"]),
            threshold=float(data["threshold"]),
            fitted_on=str(data.get("fitted_on", "")),
        )

    @classmethod
    def load(cls, path: Path) -> ConfidenceModel:
        return cls.from_json(path.read_text(encoding="utf-8"))
