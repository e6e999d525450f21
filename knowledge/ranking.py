"""Pure ranking rules: who may see an entry, and how signals fuse into one score."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from knowledge.confidence import ConfidenceModel, Signals, features
from knowledge.models import Entry, Query, Suggestion

# A substring hit on an identifier (an error code, a version) is strong
# lexical evidence even when the words around it differ.
SUBSTRING_FLOOR = 0.5


def is_visible(entry: Entry, query: Query) -> bool:
    """The isolation rule: same guild, a scope the asking channel may see, not its own post."""
    return (
        entry.guild_id == query.guild_id
        and entry.scope in query.allowed_scopes
        and entry.thread_id != query.exclude_thread_id
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """One entry found by at least one retriever, with its raw signals."""

    entry: Entry
    cosine: float
    overlap: float
    dense_hit: bool = False
    term_hit: bool = False
    substring_hit: bool = False
    feedback: float = 0.0
    """Members' verdicts on this entry for questions close to this one (see learning)."""
    own_overlap: float = math.nan
    """``overlap`` without the glossary bridge's credit: the question's own words only."""
    rare_overlap: float = math.nan
    """The overlap over the question's rare terms only (:func:`knowledge.confidence.rare_terms`)."""
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    """The entry's stored vector (for the confidence model's ``twin`` signal)."""
    title_cosine: float = math.nan
    """The cosine of the question's title alone with the entry (``nan``: no title)."""


def word_overlap(candidate: Candidate) -> float:
    """The lexical part ``candidate`` earns by itself: its overlap with the question,
    at least :data:`SUBSTRING_FLOOR` on a substring hit, within [0, 1]."""
    floor = SUBSTRING_FLOOR if candidate.substring_hit else 0.0
    return min(1.0, max(0.0, candidate.overlap, floor))


def fuse(
    candidate: Candidate,
    dense_weight: float,
    *,
    lexical_floor: float = 0.0,
    cosine_offset: float = 0.0,
) -> tuple[float, float, float]:
    """(score, dense, lexical): a weighted sum of the cosine and the lexical overlap.

    Both inputs are absolute measures in [0, 1] (unlike ranks or bm25), so the
    fused score can be compared with a fixed confidence threshold. The lexical
    part is at least ``lexical_floor``, and ``cosine_offset`` is added to the
    cosine (a thread in the other language: see :func:`scored`).
    """
    dense = min(1.0, max(0.0, candidate.cosine + cosine_offset))
    lex = max(word_overlap(candidate), min(1.0, max(0.0, lexical_floor)))
    score = dense_weight * dense + (1.0 - dense_weight) * lex + candidate.feedback
    return min(1.0, max(0.0, score)), dense, lex


@dataclass(frozen=True, slots=True)
class QuestionShape:
    """What the confidence model needs to know of the question itself."""

    language: str
    chars: int


@dataclass(frozen=True, slots=True)
class Scored:
    """A visible candidate with its fused score."""

    candidate: Candidate
    score: float
    dense: float
    lexical: float

    def signals(self) -> Signals:
        entry = self.candidate.entry
        return Signals(
            score=self.score,
            cosine=self.dense,
            lexical=self.lexical,
            substring=self.candidate.substring_hit,
            language=entry.language,
            answer_chars=len(entry.answer),
            own_lexical=self.candidate.own_overlap,
            rare_lexical=self.candidate.rare_overlap,
            vector=self.candidate.vector,
            title_cosine=self.candidate.title_cosine,
            raw_lexical=word_overlap(self.candidate),
        )

    def suggestion(self, confidence: float | None = None) -> Suggestion:
        c = self.candidate
        signals = tuple(
            name
            for name, hit in (
                ("dense", c.dense_hit),
                ("lexical", c.term_hit),
                ("substring", c.substring_hit),
            )
            if hit
        )
        return Suggestion(c.entry, self.score, self.dense, self.lexical, signals, confidence)


def scored(
    candidates: Iterable[Candidate],
    query: Query,
    dense_weight: float,
    *,
    question_language: str | None = None,
    language_gap: float = 0.0,
) -> list[Scored]:
    """Every visible candidate with its fused score, best first.

    With ``question_language`` (a multilingual model's profile), a candidate in
    another language is not held back for sharing no words with the question,
    which it cannot: its lexical part counts as much as the best of the
    candidates in the question's language (:func:`cross_language_floor`). Its
    own overlap still counts when higher (an identifier, a product name).
    Within one language, words still tell candidates apart as before. Its
    cosine also gets ``language_gap`` back: how much lower the model puts any
    two texts in different languages than two in the question's own
    (:attr:`knowledge.retrieval.SearchConfig.language_gaps`), so that closeness
    in meaning, not a shared language, orders the two kinds of thread.
    """
    visible = [c for c in candidates if is_visible(c.entry, query)]
    floor = 0.0 if question_language is None else cross_language_floor(visible, question_language)
    out = []
    for c in visible:
        other = question_language is not None and c.entry.language != question_language
        out.append(
            Scored(
                c,
                *fuse(
                    c,
                    dense_weight,
                    lexical_floor=floor if other else 0.0,
                    cosine_offset=language_gap if other else 0.0,
                ),
            )
        )
    out.sort(key=lambda s: (-s.score, s.candidate.entry.id))
    return out


def cross_language_floor(candidates: Sequence[Candidate], language: str) -> float:
    """The best lexical overlap among ``candidates`` in ``language`` (0 when none is).

    Lexical overlap across Japanese and English is about 0 whatever the meaning,
    so with a fixed dense weight a thread in the other language loses to every
    same-language thread sharing a few words, however much closer its meaning.
    """
    return max((word_overlap(c) for c in candidates if c.entry.language == language), default=0.0)


def first_confidence(
    ranked: Sequence[Scored], model: ConfidenceModel, question: QuestionShape
) -> float:
    """P(the first of ``ranked`` is right), from the signals of all of them."""
    values = features(
        [s.signals() for s in ranked],
        question_language=question.language,
        question_chars=question.chars,
    )
    return model.probability(values)


def rank(
    candidates: Iterable[Candidate],
    query: Query,
    *,
    dense_weight: float,
    threshold: float,
    confidence: ConfidenceModel | None = None,
    question: QuestionShape | None = None,
    cross_language_lexical: bool = False,
    language_gap: float = 0.0,
) -> list[Suggestion]:
    """What to show, best first, at most ``query.limit``; empty when unsure.

    Without a confidence model: the visible candidates scoring at least
    ``threshold`` (or the query's own threshold). With one: nothing unless the
    probability that the first is right reaches the model's threshold (or the
    query's own, a server's setting); then the first, and the next ones that
    score at least ``threshold``. ``cross_language_lexical`` and ``language_gap``:
    see :func:`scored` (the question's language is ``question.language``).
    """
    language = question.language if cross_language_lexical and question is not None else None
    ranked = scored(
        candidates, query, dense_weight, question_language=language, language_gap=language_gap
    )
    return choose(ranked, query, threshold=threshold, confidence=confidence, question=question)


def choose(
    ranked: Sequence[Scored],
    query: Query,
    *,
    threshold: float,
    confidence: ConfidenceModel | None = None,
    question: QuestionShape | None = None,
) -> list[Suggestion]:
    """What to show of candidates already fused and ordered by :func:`scored` (see
    :func:`rank`, which is ``choose(scored(...))``)."""
    if confidence is None:
        floor = threshold if query.threshold is None else query.threshold
        return [s.suggestion() for s in ranked if s.score >= floor][: max(0, query.limit)]
    if not ranked or query.limit < 1:
        return []
    shape = question or QuestionShape("", 0)
    probability = first_confidence(ranked, confidence, shape)
    needed = confidence.threshold if query.threshold is None else query.threshold
    if probability < needed:
        return []
    rest = [s.suggestion() for s in ranked[1:] if s.score >= threshold]
    return [ranked[0].suggestion(probability), *rest][: query.limit]
