"""Learning from the community: verdicts demote or confirm entries for close questions,
and each server's threshold is calibrated from its own verdicts (a simulated community)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.learning import (
    CONFIRMATION,
    DEMOTION,
    MIN_VERDICTS,
    UPPER_BOUND,
    Verdict,
    adjustments,
    calibrate,
)
from knowledge.models import FeedbackKind, Query
from tests.builders import ASKER, GUILD, OTHER, OTHER_GUILD, next_id, reply_ids, thread


def unit(*values: float) -> np.ndarray:
    v = np.array(values, dtype=np.float32)
    return v / np.linalg.norm(v)


def test_a_verdict_counts_only_for_close_questions_and_more_the_closer():
    judged = [Verdict(1, unit(1, 0, 0), positive=False), Verdict(2, unit(0, 1, 0), True)]
    same = adjustments(unit(1, 0, 0), judged, closeness=0.7)
    assert same == {1: pytest.approx(-DEMOTION)}
    near = adjustments(unit(1, 0.3, 0), judged, closeness=0.7)
    assert -DEMOTION < near[1] < 0
    assert adjustments(unit(0, 0, 1), judged, closeness=0.7) == {}
    assert adjustments(unit(0, 1, 0), judged, closeness=0.7) == {2: pytest.approx(CONFIRMATION)}


def test_a_verdict_in_the_other_language_counts_once_the_language_gap_is_given_back():
    """The same question asked in English and in Japanese sits lower in e5's space
    than two wordings in one language; given the gap back, a verdict carries over."""
    question = unit(1, 0, 0)
    judged = unit(0.9, np.sqrt(1 - 0.9**2), 0)  # cosine 0.90 with the question
    english = [Verdict(1, judged, positive=False, language="en")]
    kwargs = {"closeness": 0.92, "language_gap": 0.045}
    assert adjustments(question, english, closeness=0.92) == {}
    assert adjustments(question, english, language="en", **kwargs) == {}
    crossed = adjustments(question, english, language="ja", **kwargs)
    assert crossed[1] == pytest.approx(-DEMOTION * (0.945 - 0.92) / 0.08, rel=1e-4)
    # A verdict whose question's language is unknown is taken as it is.
    unknown = [Verdict(1, judged, positive=False)]
    assert adjustments(question, unknown, language="ja", **kwargs) == {}


def test_calibration_needs_enough_verdicts_and_stays_within_bounds():
    few = calibrate(0.5, [(0.6, False)] * (MIN_VERDICTS - 1))
    assert few.threshold == 0.5 and not few.calibrated
    wrong_when_unsure = [(0.55, False)] * 15 + [(0.8, True)] * 12 + [(0.8, False)] * 2
    raised = calibrate(0.5, wrong_when_unsure)
    assert raised.calibrated and 0.55 < raised.threshold <= 0.8
    assert raised.verdicts == 29
    always_wrong = calibrate(0.5, [(0.9, False)] * 30)
    assert always_wrong.threshold == pytest.approx(0.5 + UPPER_BOUND)
    always_right = calibrate(0.5, [(0.45, True)] * 30)
    assert 0.4 <= always_right.threshold < 0.5


@pytest.fixture
async def kb(tmp_path: Path, database_url: str | None):
    config = SearchConfig(threshold=0.2, dense_weight=0.7, feedback_closeness=0.6)
    base = await KnowledgeBase.open(
        tmp_path / "data", HashingEncoder(), config, database_url=database_url
    )
    yield base
    await base.close()


async def ask(kb: KnowledgeBase, text: str, guild: int = GUILD, *, show: bool = True):
    post = next_id()
    query = Query(guild, text, exclude_thread_id=post)
    found = await kb.suggest(query)
    if show:
        await kb.record_shown(query, found, asker_id=ASKER.id)
    return post, found


async def test_not_relevant_demotes_an_entry_for_close_questions_only(kb):
    webhook = thread(
        "Webhook retries", "Webhook delivery retries forever with timeout", ["Reply in 5 s"]
    )
    export = thread("Export timeout", "CSV export fails with timeout after a minute", ["Use async"])
    await kb.capture_many([(t, reply_ids(t), None) for t in (webhook, export)])
    close = "webhook delivery retries forever with timeout errors"
    post, found = await ask(kb, close)
    first = found[0].entry
    before = found[0].score
    for member in (ASKER.id, OTHER.id):
        await kb.record_feedback(
            first.id, guild_id=GUILD, thread_id=post, user_id=member, kind=FeedbackKind.NOT_RELEVANT
        )
    _, again = await ask(kb, close, show=False)
    scores = {s.entry.id: s.score for s in again}
    assert scores.get(first.id, 0.0) < before
    ranked, _ = await kb.candidates(Query(GUILD, close))
    assert {r.candidate.entry.id: r.candidate.feedback for r in ranked}[first.id] < 0
    far_question = "CSV export fails with timeout after a minute"
    ranked, _ = await kb.candidates(Query(GUILD, far_question))
    assert {r.candidate.entry.id: r.candidate.feedback for r in ranked}.get(first.id, 0) == 0
    # Another server's members judged nothing: its suggestions are untouched.
    elsewhere = thread("Webhook retries", "Webhook delivery retries", ["5 s"], guild_id=OTHER_GUILD)
    await kb.capture(elsewhere, reply_ids(elsewhere))
    ranked, _ = await kb.candidates(Query(OTHER_GUILD, close))
    assert all(r.candidate.feedback == 0 for r in ranked)


async def test_a_server_whose_members_reject_unsure_suggestions_gets_a_stricter_threshold(kb):
    topics = [
        thread(f"Topic {n} sync", f"Calendar sync topic {n} fails after update", [f"Fix {n}"])
        for n in range(6)
    ]
    await kb.capture_many([(t, reply_ids(t), None) for t in topics])
    base = (await kb.calibration(GUILD)).threshold
    for n in range(MIN_VERDICTS + 5):
        wording = f"calendar sync topic {n % 6} fails after update" if n % 2 else f"sync {n}"
        post, found = await ask(kb, wording)
        if not found:
            continue
        kind = FeedbackKind.SOLVED_BY_SUGGESTION if n % 2 else FeedbackKind.NOT_RELEVANT
        await kb.record_feedback(
            found[0].entry.id, guild_id=GUILD, thread_id=post, user_id=ASKER.id, kind=kind
        )
    calibration = await kb.calibration(GUILD)
    assert calibration.verdicts >= MIN_VERDICTS
    assert calibration.threshold > base
    assert (await kb.calibration(OTHER_GUILD)).threshold == base


async def test_forgetting_the_asker_removes_the_question_text_kept_for_learning(kb, tmp_path):
    t = thread("Webhook retries", "Webhook delivery retries forever", ["Reply in 5 s"])
    await kb.capture(t, reply_ids(t))
    await ask(kb, "Quasarwidget webhook delivery retries forever")
    await kb.forget_member(ASKER.id)
    await kb.flush()
    for path in (tmp_path / "data").rglob("*"):
        if path.is_file():
            assert b"Quasarwidget" not in path.read_bytes(), path


class BilingualWebhookEncoder:
    """Webhook texts in English on one axis, the Japanese question 0.90 away from them
    (e5's cross-language distance), everything else far from both."""

    name = "test-bilingual-webhook"
    dim = 3

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        rows = []
        for text in texts:
            if "ウェブフック" in text:
                rows.append(unit(0.9, np.sqrt(1 - 0.81), 0))
            elif "webhook" in text.lower():
                rows.append(unit(1, 0, 0))
            else:
                rows.append(unit(0, 0, 1))
        return np.stack(rows).astype(np.float32)


@pytest.mark.parametrize("gap", [0.0, 0.045])
async def test_a_not_relevant_in_english_demotes_the_entry_for_the_same_question_in_japanese(
    tmp_path: Path, database_url: str | None, gap: float
):
    config = SearchConfig(
        threshold=0.0,
        feedback_closeness=0.92,
        cross_language_lexical=True,
        language_gaps=(("ja", gap), ("en", gap)) if gap else (),
    )
    kb = await KnowledgeBase.open(
        tmp_path / "data", BilingualWebhookEncoder(), config, database_url=database_url
    )
    try:
        webhook = thread("Webhook retries", "Webhook delivery retries forever", ["Reply in 5 s"])
        await kb.capture(webhook, reply_ids(webhook))
        post, found = await ask(kb, "webhook delivery keeps retrying forever")
        for member in (ASKER.id, OTHER.id):
            await kb.record_feedback(
                found[0].entry.id,
                guild_id=GUILD,
                thread_id=post,
                user_id=member,
                kind=FeedbackKind.NOT_RELEVANT,
            )
        ranked, _ = await kb.candidates(Query(GUILD, "ウェブフックの再送がずっと止まりません"))
        feedback = {r.candidate.entry.id: r.candidate.feedback for r in ranked}[found[0].entry.id]
        if gap:  # cosine 0.90 + 0.045 is above the "same question" point
            assert feedback == pytest.approx(-DEMOTION * (0.945 - 0.92) / 0.08, rel=1e-3)
        else:  # 0.90 alone is not: the Japanese member gets the entry undemoted
            assert feedback == 0
    finally:
        await kb.close()
