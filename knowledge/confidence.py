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
from dataclasses import dataclass
from pathlib import Path

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
)
"""The signals, in the order the fitted weights are stored."""


@dataclass(frozen=True, slots=True)
class Signals:
    """What the ranker knows of one ranked candidate, for the confidence model."""

    score: float
    cosine: float
    lexical: float
    substring: bool
    language: str
    answer_chars: int


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
    }


@dataclass(frozen=True, slots=True)
class ConfidenceModel:
    """A logistic model over standardised :data:`FEATURES`, and the probability to speak at.

    ``threshold`` was chosen on the tuning split as the lowest probability at
    which the first suggestion is right at least two times in three.
    """

    weights: tuple[float, ...]
    bias: float
    means: tuple[float, ...]
    scales: tuple[float, ...]
    threshold: float
    fitted_on: str = ""

    def __post_init__(self) -> None:
        if not len(self.weights) == len(self.means) == len(self.scales) == len(FEATURES):
            raise ValueError(f"a confidence model needs {len(FEATURES)} weights, means, scales")
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("the confidence threshold must be between 0 and 1")

    def probability(self, values: Mapping[str, float]) -> float:
        """P(the first suggestion is right | its signals)."""
        z = self.bias
        for name, weight, mean, scale in zip(
            FEATURES, self.weights, self.means, self.scales, strict=True
        ):
            z += weight * (values[name] - mean) / scale
        return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> str:
        return json.dumps(
            {
                "features": list(FEATURES),
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
        if list(data.get("features", [])) != list(FEATURES):
            raise ValueError("the calibration file was fitted on other features: refit it")
        return cls(
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
