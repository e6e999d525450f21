"""Learning from the community: members' verdicts change what later members see.

Two rules, both pure functions here (the store supplies the verdicts):

* **Demotion and confirmation.** An entry marked "not relevant" for a question
  is pushed down for later questions close to that one (by the encoder's
  cosine); "solved it" or "helpful" lifts it a little. Questions far from the
  judged one are not affected: the entry may well be right for them.
* **Per-server calibration.** Once a server has enough verdicts on first
  suggestions, its threshold is the lowest at which the first suggestion was
  right at least two times in three there, bounded around the profile's own,
  so one server's habits cannot make Senpai reckless or mute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEMOTION = 0.25
"""Taken off the fused score for a "not relevant" verdict on an identical question."""

CONFIRMATION = 0.05
"""Added for a "solved it"/"helpful" verdict on an identical question."""

MIN_VERDICTS = 20
"""Verdicts on first suggestions a server needs before its threshold moves."""

MIN_ABOVE = 8
"""Verdicts that must lie at or above a candidate threshold for it to be trusted."""

LOWER_BOUND = 0.10
UPPER_BOUND = 0.20
"""How far below / above the profile's threshold a server's calibration may go."""

TARGET_PRECISION = 2 / 3


@dataclass(frozen=True, slots=True)
class Verdict:
    """A member's verdict on an entry shown for a question."""

    entry_id: int
    question_vector: np.ndarray
    positive: bool
    language: str = ""
    """The judged question's language (``""``: unknown)."""


def adjustments(
    query_vector: np.ndarray,
    verdicts: Sequence[Verdict],
    *,
    closeness: float,
    language: str = "",
    language_gap: float = 0.0,
) -> dict[int, float]:
    """{entry id: score adjustment} from verdicts on questions close to this one.

    A verdict counts in proportion to how far the two questions' cosine rises
    above ``closeness`` (the profile's "same question" point) toward 1. When the
    judged question is in another language than this one (``language``), the
    cosine first gets ``language_gap`` back, as a thread in the other language
    does in the ranking (:func:`knowledge.ranking.scored`): the same question asked
    in Japanese and in English is judged once.
    """
    out: dict[int, float] = {}
    if not verdicts:
        return out
    vectors = np.stack([v.question_vector for v in verdicts])
    cosines = vectors @ query_vector
    span = max(1e-6, 1.0 - closeness)
    for verdict, cosine in zip(verdicts, cosines.tolist(), strict=True):
        if language and verdict.language and verdict.language != language:
            cosine = min(1.0, cosine + language_gap)
        weight = (cosine - closeness) / span
        if weight <= 0:
            continue
        change = CONFIRMATION if verdict.positive else -DEMOTION
        out[verdict.entry_id] = out.get(verdict.entry_id, 0.0) + change * min(1.0, weight)
    return {k: max(-DEMOTION, min(CONFIRMATION, v)) for k, v in out.items()}


@dataclass(frozen=True, slots=True)
class Calibration:
    """A server's threshold, and what it rests on (shown to admins)."""

    threshold: float
    base: float
    verdicts: int
    precision: float | None

    @property
    def calibrated(self) -> bool:
        return self.threshold != self.base


def calibrate(base: float, outcomes: Sequence[tuple[float, bool]]) -> Calibration:
    """The server's threshold from (confidence of a shown first suggestion, was it right).

    Below :data:`MIN_VERDICTS` the profile's ``base`` stands. Otherwise the
    lowest value in ``[base - LOWER_BOUND, base + UPPER_BOUND]`` at which the
    first suggestion was right at least two times in three, with at least
    :data:`MIN_ABOVE` verdicts above it; the upper bound if none is.
    """
    count = len(outcomes)
    right = sum(1 for _, ok in outcomes if ok)
    precision = right / count if count else None
    if count < MIN_VERDICTS:
        return Calibration(base, base, count, precision)
    low, high = max(0.0, base - LOWER_BOUND), min(1.0, base + UPPER_BOUND)
    candidates = sorted({low, *(c for c, _ in outcomes if low <= c <= high), high})
    for threshold in candidates:
        above = [ok for c, ok in outcomes if c >= threshold]
        if len(above) >= MIN_ABOVE and sum(above) / len(above) >= TARGET_PRECISION:
            return Calibration(round(threshold, 4), base, count, precision)
    return Calibration(high, base, count, precision)
