"""The near-miss signals of the confidence model: pure units, and the engine filling them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench.fit_confidence import SOURCES, Example, choose_threshold
from index.encoder import HashingEncoder
from knowledge.confidence import FEATURES, Signals, features, rank_agreement, rare_terms, twin
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import Query
from tests.builders import GUILD, reply_ids, thread


def signal(
    cosine: float,
    lexical: float = 0.2,
    *,
    vector: tuple[float, ...] | None = None,
    own: float = math.nan,
    rare: float = math.nan,
) -> Signals:
    return Signals(
        score=cosine,
        cosine=cosine,
        lexical=lexical,
        substring=False,
        language="en",
        answer_chars=120,
        own_lexical=own,
        rare_lexical=rare,
        vector=None if vector is None else np.array(vector, dtype=np.float32),
    )


def unit(*values: float) -> tuple[float, ...]:
    norm = math.sqrt(sum(v * v for v in values))
    return tuple(v / norm for v in values)


def test_rare_terms_are_the_rarest_words_holding_half_the_weight():
    weights = {"invoice": 0.5, "export": 0.5, "sage50": 3.0, "csv": 1.0}
    assert rare_terms(weights) == frozenset({"sage50"})
    even = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}
    assert rare_terms(even) == frozenset({"a", "b"})


def test_rare_terms_of_a_question_without_weight_are_none():
    assert rare_terms({}) == frozenset()
    assert rare_terms({"the": 0.0}) == frozenset()


def test_rank_agreement_is_one_only_when_both_channels_put_the_first_on_top():
    both = [signal(0.9, 0.5), signal(0.8, 0.4), signal(0.7, 0.1)]
    assert rank_agreement(both) == 1.0
    lexical_third = [signal(0.9, 0.1), signal(0.8, 0.4), signal(0.7, 0.3)]
    assert rank_agreement(lexical_third) == pytest.approx((1.0 + 1.0 / 3.0) / 2.0)


def test_rank_agreement_does_not_move_with_the_score_level():
    low = [signal(0.3, 0.2), signal(0.1, 0.3)]
    high = [signal(0.93, 0.6), signal(0.91, 0.9)]
    assert rank_agreement(low) == rank_agreement(high) == pytest.approx(0.75)


def test_twin_is_positive_when_the_first_two_are_closer_to_each_other_than_to_the_question():
    same_area = [
        signal(0.80, vector=unit(1.0, 0.1, 0.0)),
        signal(0.79, vector=unit(1.0, 0.0, 0.1)),
    ]
    assert twin(same_area) > 0.0
    apart = [signal(0.95, vector=unit(1.0, 0.0, 0.0)), signal(0.6, vector=unit(0.0, 1.0, 0.0))]
    assert twin(apart) == pytest.approx(-0.95)


def test_twin_is_not_measurable_alone_or_without_vectors():
    assert math.isnan(twin([signal(0.9, vector=unit(1.0, 0.0))]))
    assert math.isnan(twin([signal(0.9), signal(0.8, vector=unit(1.0, 0.0))]))


def test_features_pass_the_first_candidates_overlaps_and_compare_its_words_with_the_rest():
    ranked = [signal(0.9, 0.6, own=0.2, rare=0.7), *(signal(0.8, x) for x in (0.1, 0.2, 0.3))]
    values = features(ranked, question_language="en", question_chars=40)
    assert values["own_lexical"] == 0.2 and values["rare_lexical"] == 0.7
    assert values["lexical_z"] > 0.0
    assert values["rank_agreement"] == 1.0
    assert math.isnan(values["twin"])
    behind = features(
        [signal(0.9, 0.1), *(signal(0.8, x) for x in (0.3, 0.4, 0.5))],
        question_language="en",
        question_chars=40,
    )
    assert behind["lexical_z"] < 0.0


async def test_the_engine_gives_each_candidate_its_own_rare_word_overlap_and_vector(
    tmp_path: Path,
):
    """Two threads of one product area: only the one holding the question's rare word
    (the error code) covers its rare-term mass; common area words do not."""
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), SearchConfig(all_signals=True))
    threads = [
        thread("Invoice export fails", "Invoice export fails with error E4471", ["Retry"]),
        thread("Invoice export settings", "How to change the invoice export format", ["Menu"]),
        thread("Invoice export to PDF", "Invoice export to PDF looks fine", ["Yes"]),
        thread("Calendar sync", "Calendar sync with Google", ["Reconnect"]),
    ]
    ids = {t.thread_id: n for n, t in enumerate(threads, start=1)}
    try:
        for t in threads:
            await kb.capture(t, reply_ids(t))
        ranked, _ = await kb.candidates(
            Query(guild_id=GUILD, text="invoice export error E4471 again")
        )
        by_thread = {ids[s.candidate.entry.thread_id]: s.candidate for s in ranked}
        assert by_thread[1].rare_overlap > by_thread[2].rare_overlap
        assert by_thread[2].rare_overlap == 0.0 < by_thread[2].own_overlap
        assert all(c.vector is not None for c in by_thread.values())
        assert all(c.own_overlap == c.overlap for c in by_thread.values())  # no bridge
        assert all(math.isnan(c.title_cosine) for c in by_thread.values())  # no title
        titled, _ = await kb.candidates(
            Query(guild_id=GUILD, text="invoice export error E4471 again", title="E4471")
        )
        assert all(-1.0 <= s.candidate.title_cosine <= 1.0 for s in titled)
    finally:
        await kb.close()


async def test_stored_vectors_are_fetched_only_when_a_signal_reads_them(tmp_path: Path):
    """The shipped gate reads neither ``twin`` nor ``title_z``: the engine then leaves
    every candidate's vector and title cosine out, and the ranking is the same."""
    threads = [
        thread("Invoice export fails", "Invoice export fails with error E4471", ["Retry"]),
        thread("Invoice export settings", "How to change the invoice export format", ["Menu"]),
        thread("Calendar sync", "Calendar sync with Google", ["Reconnect"]),
    ]
    question = Query(guild_id=GUILD, text="invoice export error E4471", title="E4471")
    orders = []
    for config in (SearchConfig(), SearchConfig(all_signals=True)):
        kb = await KnowledgeBase.open(tmp_path / str(config.all_signals), HashingEncoder(), config)
        try:
            for t in threads:
                await kb.capture(t, reply_ids(t))
            ranked, _ = await kb.candidates(question)
        finally:
            await kb.close()
        fetched = [s.candidate.vector is not None for s in ranked]
        titled = [not math.isnan(s.candidate.title_cosine) for s in ranked]
        assert all(fetched) == all(titled) == config.all_signals
        assert any(fetched) == config.all_signals
        orders.append([(s.candidate.entry.thread_id, round(s.score, 6)) for s in ranked])
    assert orders[0] == orders[1]
    assert not SearchConfig().wants_vectors()
    assert SearchConfig(all_signals=True).wants_vectors()


def test_title_z_stands_the_first_titles_cosine_against_the_others_and_needs_a_title():
    def titled(cosine: float, title: float) -> Signals:
        return Signals(cosine, cosine, 0.2, False, "en", 120, title_cosine=title)

    ranked = [titled(0.9, 0.95), *(titled(0.8, t) for t in (0.70, 0.72, 0.74))]
    values = features(ranked, question_language="en", question_chars=40)
    assert values["title_z"] > 5.0
    untitled = [signal(0.9), signal(0.8), signal(0.7)]
    assert math.isnan(features(untitled, question_language="en", question_chars=40)["title_z"])


def _example(source: str, i: int, p: float, *, answerable: bool, right: bool) -> Example:
    values = tuple(p if name == "score" else 0.5 for name in FEATURES)
    return Example(source, f"q{i}", answerable, values, right)


def test_a_silence_goal_raises_the_threshold_until_enough_unanswerable_questions_go_unanswered():
    source = SOURCES[1]
    examples = [_example(source, i, 0.9, answerable=True, right=True) for i in range(8)]
    examples += [
        _example(source, 10 + i, p, answerable=False, right=False)
        for i, p in enumerate((0.2, 0.4, 0.6, 0.8, 0.85))
    ]
    probabilities = [e.values[0] for e in examples]
    # Precision alone: at 0.41, 8 right of 11 shown, smoothed 9/13 >= 2/3 (at 0.40, 9/14 is
    # not); but only 2 of the 5 unanswerable questions go unanswered there.
    assert choose_threshold(examples, probabilities) == 0.41
    # Four in five silent: above 0.8, where 8 of 9 shown are right.
    assert choose_threshold(examples, probabilities, silence=0.8) == 0.81


def test_silence_is_not_asked_of_a_source_without_unanswerable_questions():
    source = SOURCES[0]
    examples = [_example(source, i, 0.5 + i / 10, answerable=True, right=True) for i in range(5)]
    probabilities = [e.values[0] for e in examples]
    assert choose_threshold(examples, probabilities, silence=0.8) == 0.0


def test_raw_lexical_is_the_first_candidates_own_overlap_not_the_cross_language_floor():
    """A thread in the other language borrows the best same-language overlap as its
    lexical part (knowledge.ranking.scored); ``raw_lexical`` keeps what it shares itself."""
    from knowledge.ranking import Candidate, scored
    from tests.test_ranking import entry, query

    candidates = [
        Candidate(entry(1, language="en"), cosine=0.90, overlap=0.05),
        Candidate(entry(2, language="ja"), cosine=0.80, overlap=0.40),
    ]
    ranked = scored(candidates, query(), 0.9, question_language="ja")
    assert ranked[0].candidate.entry.id == 1 and ranked[0].lexical == pytest.approx(0.40)
    values = features([s.signals() for s in ranked], question_language="ja", question_chars=40)
    assert values["lexical"] == pytest.approx(0.40)
    assert values["raw_lexical"] == pytest.approx(0.05)
    # Measured nowhere (a Signals built without it): the lexical part stands in.
    assert features([signal(0.9, 0.3)], question_language="en", question_chars=40)[
        "raw_lexical"
    ] == pytest.approx(0.3)
