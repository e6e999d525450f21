"""Pure unit tests of the isolation rule and of score fusion."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from knowledge.models import PUBLIC_SCOPE, AnswerPart, Entry, Query, private_scope
from knowledge.ranking import (
    SUBSTRING_FLOOR,
    Candidate,
    QuestionShape,
    cross_language_floor,
    fuse,
    is_visible,
    rank,
    scored,
)

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def entry(
    entry_id: int,
    *,
    guild_id: int = 1,
    scope: str = PUBLIC_SCOPE,
    thread_id: int = 0,
    language: str = "en",
):
    return Entry(
        id=entry_id,
        guild_id=guild_id,
        forum_id=5,
        thread_id=thread_id or 100 + entry_id,
        title=f"entry {entry_id}",
        question="q",
        answer_parts=(AnswerPart(1, 2, "helper", "a"),),
        asker_id=3,
        asker_name="asker",
        tags=(),
        asked_at=WHEN,
        solved_at=WHEN,
        jump_url="https://discord.com/channels/1/1",
        language=language,
        scope=scope,
    )


def query(**overrides) -> Query:
    values = {"guild_id": 1, "text": "question", "allowed_scopes": frozenset({PUBLIC_SCOPE})}
    values.update(overrides)
    return Query(**values)


def test_an_entry_of_another_guild_is_never_visible():
    assert not is_visible(entry(1, guild_id=2), query())


def test_a_private_entry_is_invisible_from_a_public_forum_and_visible_from_its_own():
    private = entry(1, scope=private_scope(5))
    assert not is_visible(private, query())
    assert is_visible(private, query(allowed_scopes=frozenset({PUBLIC_SCOPE, private_scope(5)})))
    assert not is_visible(
        private, query(allowed_scopes=frozenset({PUBLIC_SCOPE, private_scope(6)}))
    )


def test_the_question_own_thread_is_never_suggested():
    assert not is_visible(entry(1, thread_id=42), query(exclude_thread_id=42))


def test_fusion_is_a_weighted_sum_of_clamped_signals():
    e = entry(1)
    assert fuse(Candidate(e, cosine=0.8, overlap=0.4), 0.75) == pytest.approx((0.7, 0.8, 0.4))
    assert fuse(Candidate(e, cosine=-0.3, overlap=1.7), 0.5) == pytest.approx((0.5, 0.0, 1.0))


def test_a_substring_hit_lifts_the_lexical_signal_to_its_floor():
    score, _, lex = fuse(Candidate(entry(1), 0.0, 0.1, substring_hit=True), 0.0)
    assert lex == score == SUBSTRING_FLOOR


def test_ranking_keeps_only_confident_visible_candidates_best_first():
    candidates = [
        Candidate(entry(1), cosine=0.9, overlap=0.9, dense_hit=True, term_hit=True),
        Candidate(entry(2), cosine=0.95, overlap=0.95, dense_hit=True),
        Candidate(entry(3, guild_id=9), cosine=1.0, overlap=1.0),
        Candidate(entry(4), cosine=0.2, overlap=0.1),
    ]
    result = rank(candidates, query(), dense_weight=0.5, threshold=0.5)
    assert [s.entry.id for s in result] == [2, 1]
    assert result[1].signals == ("dense", "lexical")


def test_ranking_returns_nothing_when_nothing_is_close_enough():
    candidates = [Candidate(entry(i), cosine=0.3, overlap=0.2) for i in range(5)]
    assert rank(candidates, query(), dense_weight=0.7, threshold=0.5) == []


def test_ranking_returns_at_most_the_limit_with_ties_broken_by_id():
    candidates = [Candidate(entry(i), cosine=0.9, overlap=0.9) for i in (5, 3, 4, 1)]
    result = rank(candidates, query(limit=3), dense_weight=0.7, threshold=0.5)
    assert [s.entry.id for s in result] == [1, 3, 4]


def bilingual_candidates() -> list[Candidate]:
    """A Japanese question: an English thread closer in meaning, a Japanese one sharing words."""
    return [
        Candidate(entry(1, language="en"), cosine=0.90, overlap=0.0),
        Candidate(entry(2, language="ja"), cosine=0.88, overlap=0.35),
        Candidate(entry(3, language="ja"), cosine=0.80, overlap=0.10),
    ]


def test_without_the_rule_a_thread_in_the_other_language_loses_for_sharing_no_words():
    ranked = scored(bilingual_candidates(), query(), 0.9)
    assert [s.candidate.entry.id for s in ranked] == [2, 1, 3]


def test_with_the_rule_the_closer_meaning_wins_across_languages():
    ranked = scored(bilingual_candidates(), query(), 0.9, question_language="ja")
    assert [s.candidate.entry.id for s in ranked] == [1, 2, 3]
    english = ranked[0]
    # Its lexical part is the best Japanese candidate's, not its own 0.
    assert english.lexical == pytest.approx(0.35)
    assert english.score == pytest.approx(0.9 * 0.90 + 0.1 * 0.35)
    # Same-language candidates keep their own overlap.
    assert ranked[1].lexical == pytest.approx(0.35) and ranked[2].lexical == pytest.approx(0.10)


def test_a_cross_language_thread_keeps_its_own_overlap_when_higher():
    candidates = [
        Candidate(entry(1, language="en"), cosine=0.85, overlap=0.6),  # "Salesforce 401"
        Candidate(entry(2, language="ja"), cosine=0.85, overlap=0.2),
    ]
    ranked = scored(candidates, query(), 0.9, question_language="ja")
    assert ranked[0].candidate.entry.id == 1 and ranked[0].lexical == pytest.approx(0.6)


def test_the_floor_counts_substring_hits_and_is_zero_without_same_language_candidates():
    same = [
        Candidate(entry(1, language="ja"), cosine=0.8, overlap=0.1, substring_hit=True),
        Candidate(entry(2, language="en"), cosine=0.8, overlap=0.9),
    ]
    assert cross_language_floor(same, "ja") == SUBSTRING_FLOOR
    assert cross_language_floor(same[1:], "ja") == 0.0


def test_invisible_candidates_do_not_set_the_floor():
    candidates = [
        Candidate(entry(1, language="en"), cosine=0.9, overlap=0.0),
        Candidate(entry(2, language="ja", guild_id=2), cosine=0.5, overlap=0.9),
    ]
    ranked = scored(candidates, query(), 0.9, question_language="ja")
    assert [s.candidate.entry.id for s in ranked] == [1]
    assert ranked[0].lexical == 0.0


def test_rank_applies_the_rule_only_when_asked_and_with_the_questions_language():
    shape = QuestionShape("ja", 40)
    plain = rank(bilingual_candidates(), query(), dense_weight=0.9, threshold=0.0, question=shape)
    ruled = rank(
        bilingual_candidates(),
        query(),
        dense_weight=0.9,
        threshold=0.0,
        question=shape,
        cross_language_lexical=True,
    )
    assert plain[0].entry.id == 2 and ruled[0].entry.id == 1


def test_the_language_gap_lets_the_closer_thread_in_the_other_language_win():
    """e5 puts a Japanese question about Slack notifications nearer an unrelated
    Japanese thread (0.90) than the English Slack thread (0.88): given back the
    model's cross-language gap, the English thread comes first."""
    candidates = [
        Candidate(entry(1, language="en"), cosine=0.88, overlap=0.0),
        Candidate(entry(2, language="ja"), cosine=0.90, overlap=0.0),
    ]
    plain = scored(candidates, query(), 0.7, question_language="ja")
    gapped = scored(candidates, query(), 0.7, question_language="ja", language_gap=0.045)
    assert [s.candidate.entry.id for s in plain] == [2, 1]
    assert [s.candidate.entry.id for s in gapped] == [1, 2]
    assert gapped[0].dense == pytest.approx(0.925)
    assert gapped[0].score == pytest.approx(0.7 * 0.925)
    # The thread in the question's own language is scored exactly as before.
    assert gapped[1].dense == plain[0].dense and gapped[1].score == plain[0].score


def test_the_language_gap_needs_the_questions_language_and_stays_within_one():
    candidates = [Candidate(entry(1, language="en"), cosine=0.98, overlap=0.0)]
    # Without the question's language (a profile without the cross-language rule) the
    # gap is never applied: nothing tells which thread is in the other language.
    assert scored(candidates, query(), 0.9, language_gap=0.045)[0].dense == pytest.approx(0.98)
    # Same language: nothing added.
    assert scored(candidates, query(), 0.9, question_language="en", language_gap=0.045)[
        0
    ].dense == pytest.approx(0.98)
    # Other language: added, and the cosine stays a measure in [0, 1].
    assert scored(candidates, query(), 0.9, question_language="ja", language_gap=0.045)[
        0
    ].dense == pytest.approx(1.0)


def test_rank_passes_the_language_gap_on():
    shape = QuestionShape("ja", 40)
    candidates = [
        Candidate(entry(1, language="en"), cosine=0.88, overlap=0.0),
        Candidate(entry(2, language="ja"), cosine=0.90, overlap=0.0),
    ]
    kwargs = {"dense_weight": 0.7, "threshold": 0.0, "question": shape}
    assert rank(candidates, query(), cross_language_lexical=True, **kwargs)[0].entry.id == 2
    gapped = rank(candidates, query(), cross_language_lexical=True, language_gap=0.045, **kwargs)
    assert gapped[0].entry.id == 1
