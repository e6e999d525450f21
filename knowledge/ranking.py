"""Pure ranking rules: who may see an entry, and how signals fuse into one score."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


def fuse(candidate: Candidate, dense_weight: float) -> tuple[float, float, float]:
    """(score, dense, lexical): a weighted sum of the cosine and the lexical overlap.

    Both inputs are absolute measures in [0, 1] (unlike ranks or bm25), so the
    fused score can be compared with a fixed confidence threshold.
    """
    dense = min(1.0, max(0.0, candidate.cosine))
    lex = min(1.0, max(0.0, candidate.overlap))
    if candidate.substring_hit:
        lex = max(lex, SUBSTRING_FLOOR)
    return dense_weight * dense + (1.0 - dense_weight) * lex, dense, lex


def rank(
    candidates: Iterable[Candidate],
    query: Query,
    *,
    dense_weight: float,
    threshold: float,
) -> list[Suggestion]:
    """Visible candidates scoring at least ``threshold``, best first, at most ``query.limit``."""
    suggestions: list[Suggestion] = []
    for candidate in candidates:
        if not is_visible(candidate.entry, query):
            continue
        score, dense, lex = fuse(candidate, dense_weight)
        if score < (threshold if query.threshold is None else query.threshold):
            continue
        signals = tuple(
            name
            for name, hit in (
                ("dense", candidate.dense_hit),
                ("lexical", candidate.term_hit),
                ("substring", candidate.substring_hit),
            )
            if hit
        )
        suggestions.append(Suggestion(candidate.entry, score, dense, lex, signals))
    suggestions.sort(key=lambda s: (-s.score, s.entry.id))
    return suggestions[: max(0, query.limit)]
