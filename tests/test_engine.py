"""The knowledge engine end to end over a real SQLite file and FAISS index.

These tests use the model-free hashing encoder so they run in seconds; the
real model is exercised in test_real_model.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from index.storage import INDEX_FILE, META_FILE
from knowledge.engine import (
    CaptureError,
    IndexNotReady,
    KnowledgeBase,
    RebuildInProgress,
    RebuildProgress,
    SearchConfig,
)
from knowledge.models import PUBLIC_SCOPE, FeedbackKind, Message, Query, private_scope
from tests.builders import (
    BOT,
    GUILD,
    HELPER,
    OTHER,
    OTHER_GUILD,
    PRIVATE_FORUM,
    START,
    next_id,
    reply_ids,
    thread,
)
from tests.encoders import SlowEncoder

CONFIG = SearchConfig(threshold=0.35, dense_weight=0.5)

SSO = (
    "SAML login fails after enabling single sign-on",
    "Since we enabled SAML single sign-on, every login fails with an invalid signature error.",
    ["Re-upload the IdP signing certificate in Admin > Security; the old one expired."],
)
CSV = (
    "CSVインポートで文字化けする",
    "顧客データのCSVをインポートすると日本語が文字化けしてしまいます。",
    ["ExcelでShift_JISのまま保存されています。UTF-8で保存し直してからインポートしてください。"],
)
WEBHOOK = (
    "Webhook deliveries retried forever",
    "Our endpoint returns 200 but the webhook keeps retrying the same event.",
    ["Respond within 5 seconds; slow responses count as failures and are retried."],
)


@pytest.fixture
async def kb(tmp_path: Path, database_url: str | None):
    base = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG, database_url=database_url)
    yield base
    await base.close()


async def capture(kb: KnowledgeBase, spec, **kwargs):
    title, question, answers = spec
    t = thread(title, question, answers, **kwargs)
    result = await kb.capture(t, reply_ids(t))
    return t, result


def ask(text: str, guild_id: int = GUILD, **kwargs) -> Query:
    return Query(guild_id=guild_id, text=text, **kwargs)


async def test_a_paraphrased_question_gets_the_solved_thread(kb):
    _, sso = await capture(kb, SSO)
    await capture(kb, WEBHOOK)
    suggestions = await kb.suggest(ask("SAML single sign-on login error: invalid signature"))
    assert suggestions and suggestions[0].entry.id == sso.entry_id
    assert 0.0 < suggestions[0].score <= 1.0
    assert "lexical" in suggestions[0].signals


async def test_a_japanese_question_gets_the_japanese_thread(kb):
    _, csv = await capture(kb, CSV)
    await capture(kb, SSO)
    suggestions = await kb.suggest(ask("CSVを取り込むと文字化けします"))
    assert [s.entry.id for s in suggestions][:1] == [csv.entry_id]
    assert suggestions[0].entry.language == "ja"


async def test_an_unrelated_question_gets_silence(kb):
    await capture(kb, SSO)
    await capture(kb, CSV)
    assert await kb.suggest(ask("What is the best pizza topping for a team lunch?")) == []


async def test_empty_questions_and_empty_knowledge_bases_get_silence(kb):
    assert await kb.suggest(ask("   ")) == []
    assert await kb.suggest(ask("SAML login fails")) == []


async def test_at_most_the_limit_is_returned(kb):
    for n in range(5):
        await capture(kb, (f"SAML login fails {n}", SSO[1], SSO[2]))
    assert len(await kb.suggest(ask(SSO[1]))) == 3
    assert len(await kb.suggest(ask(SSO[1], limit=1))) == 1


async def test_entries_of_another_guild_or_a_private_forum_never_leak(kb):
    """The isolation rule, on exact copies of the question (the strongest possible match)."""
    private_scope_ = private_scope(PRIVATE_FORUM)
    await capture(kb, SSO, guild_id=OTHER_GUILD)
    await capture(kb, CSV, forum_id=PRIVATE_FORUM, scope=private_scope_)
    _, public = await capture(kb, WEBHOOK)
    for title, question, _ in (SSO, CSV, WEBHOOK):
        for text in (title, question, f"{title} {question}"):
            for s in await kb.suggest(ask(text)):
                assert s.entry.guild_id == GUILD
                assert s.entry.scope == PUBLIC_SCOPE
                assert s.entry.id == public.entry_id
    from_private = await kb.suggest(
        ask(CSV[1], allowed_scopes=frozenset({PUBLIC_SCOPE, private_scope_}))
    )
    assert from_private and from_private[0].entry.scope == private_scope_
    other_guild = await kb.suggest(ask(SSO[1], guild_id=OTHER_GUILD))
    assert other_guild and all(s.entry.guild_id == OTHER_GUILD for s in other_guild)


async def test_isolation_holds_when_the_guild_is_a_small_part_of_the_index(kb):
    """Dense search is restricted by id when the allowed entries are few."""
    for n in range(30):
        await capture(kb, (f"{SSO[0]} #{n}", SSO[1], SSO[2]), guild_id=OTHER_GUILD)
    _, mine = await capture(kb, SSO)
    suggestions = await kb.suggest(ask(SSO[1]))
    assert [s.entry.id for s in suggestions] == [mine.entry_id]


async def test_the_question_own_thread_is_never_suggested(kb):
    t, _ = await capture(kb, SSO)
    assert await kb.suggest(ask(SSO[1], exclude_thread_id=t.thread_id)) == []


async def test_capture_refuses_answers_that_cannot_be_answers(kb):
    t = thread(*SSO)
    with pytest.raises(CaptureError, match="question"):
        await kb.capture(t, [t.thread_id])
    with pytest.raises(CaptureError, match="not in this post"):
        await kb.capture(t, [123])
    with pytest.raises(CaptureError, match="at least one"):
        await kb.capture(t, [])
    bot_reply = Message(next_id(), BOT, "I am a bot", START)
    with_bot = dataclasses.replace(t, messages=(*t.messages, bot_reply))
    with pytest.raises(CaptureError, match="bot"):
        await kb.capture(with_bot, [bot_reply.id])
    assert await kb.store.count() == 0


async def test_capture_cleans_mentions_and_personal_data(kb):
    t = thread(
        "Invoice e-mail bounces",
        "<@123> our invoices to billing@example.com bounce, call me at 090-1234-5678",
        ["@everyone set the billing contact in Settings > Billing."],
    )
    result = await kb.capture(t, reply_ids(t))
    entry = await kb.store.get_entry(result.entry_id)
    assert "billing@example.com" not in entry.question
    assert "090-1234-5678" not in entry.question
    assert "<@123>" not in entry.question
    assert "@everyone" not in entry.answer


async def test_recapturing_with_another_answer_replaces_it(kb):
    t = thread(*SSO[:2], ["first idea", "the real fix: clock skew"])
    first = await kb.capture(t, [t.messages[1].id])
    second = await kb.capture(t, [t.messages[2].id])
    assert second.entry_id == first.entry_id and not second.created
    entry = await kb.store.get_entry(first.entry_id)
    assert entry.answer == "the real fix: clock skew"


async def test_removed_threads_and_deleted_answers_disappear_from_suggestions(kb):
    t1, r1 = await capture(kb, SSO)
    t2, _ = await capture(kb, WEBHOOK)
    assert await kb.remove_thread(t1.thread_id)
    assert all(s.entry.id != r1.entry_id for s in await kb.suggest(ask(SSO[1])))
    removed = await kb.remove_message(t2.messages[1].id)
    assert removed.thread_ids == (t2.thread_id,)
    assert await kb.suggest(ask(WEBHOOK[1])) == []
    assert (await kb.index_status()).entries == 0


async def test_an_edited_answer_is_reindexed(kb):
    t, result = await capture(kb, WEBHOOK)
    assert await kb.edit_message(t.messages[1].id, "Rotate the signing secret in the dashboard.")
    entry = await kb.store.get_entry(result.entry_id)
    assert entry.answer == "Rotate the signing secret in the dashboard."


async def test_forgetting_a_user_removes_their_entries_everywhere(kb):
    _, asked = await capture(kb, SSO)
    _, answered = await capture(kb, CSV, asker=OTHER)
    removed = await kb.forget_member(HELPER.id)
    assert set(removed.entry_ids) == {asked.entry_id, answered.entry_id}
    assert await kb.suggest(ask(SSO[1])) == []
    assert (await kb.index_status()).entries == 0


async def test_solved_by_suggestion_feedback_counts_a_hit(kb):
    _, result = await capture(kb, SSO)
    kwargs = {"guild_id": GUILD, "thread_id": 5, "user_id": 6}
    assert await kb.record_feedback(
        result.entry_id, kind=FeedbackKind.SOLVED_BY_SUGGESTION, **kwargs
    )
    assert not await kb.record_feedback(
        result.entry_id, kind=FeedbackKind.SOLVED_BY_SUGGESTION, **kwargs
    )
    assert (await kb.store.get_entry(result.entry_id)).hits == 1
    assert (await kb.stats(GUILD)).total_hits == 1


async def test_the_index_is_saved_and_loaded_without_a_rebuild(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    _, result = await capture(kb, SSO)
    await kb.close()
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG, rebuild_if_needed=False)
    assert kb.index_ready
    assert [s.entry.id for s in await kb.suggest(ask(SSO[1]))] == [result.entry_id]
    await kb.close()


async def test_changes_not_yet_saved_are_caught_up_from_the_store(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    t_old, _ = await capture(kb, WEBHOOK)
    await kb.flush()
    _, result = await capture(kb, SSO)
    await kb.remove_thread(t_old.thread_id)
    # Simulate a crash: the store is closed but the index is never saved again.
    await kb.store.close()
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG, rebuild_if_needed=False)
    assert kb.index_ready
    status = await kb.index_status()
    assert status.entries == 1 and status.dirty
    assert [s.entry.id for s in await kb.suggest(ask(SSO[1]))] == [result.entry_id]
    await kb.close()


async def test_an_index_built_with_another_model_is_not_served(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(256), CONFIG)
    await capture(kb, SSO)
    await kb.close()
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(128), CONFIG, rebuild_if_needed=False)
    assert not kb.index_ready
    assert "model" in (await kb.index_status()).reason
    with pytest.raises(IndexNotReady):
        await kb.suggest(ask(SSO[1]))
    await kb.rebuild()
    assert await kb.suggest(ask(SSO[1]))
    await kb.close()


async def test_an_index_from_another_database_is_not_served(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path / "a", HashingEncoder(), CONFIG)
    await capture(kb, SSO)
    await kb.close()
    other = await KnowledgeBase.open(tmp_path / "b", HashingEncoder(), CONFIG)
    await other.close()
    (tmp_path / "b" / "index").mkdir(parents=True, exist_ok=True)
    for name in (INDEX_FILE, META_FILE):
        (tmp_path / "b" / "index" / name).write_bytes(
            (tmp_path / "a" / "index" / name).read_bytes()
        )
    kb = await KnowledgeBase.open(tmp_path / "b", HashingEncoder(), CONFIG, rebuild_if_needed=False)
    assert not kb.index_ready
    assert "another database" in (await kb.index_status()).reason
    await kb.close()


async def test_a_damaged_index_file_is_rebuilt_on_open(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    await capture(kb, SSO)
    await kb.close()
    (tmp_path / "index" / INDEX_FILE).write_bytes(b"garbage")
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    assert kb.index_ready and (await kb.index_status()).entries == 1
    await kb.close()


async def test_rebuild_reports_progress_and_keeps_the_event_loop_free(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path, SlowEncoder(0.02), CONFIG)
    threads = [thread(f"{SSO[0]} {n}", SSO[1], SSO[2]) for n in range(300)]
    await kb.capture_many([(t, reply_ids(t), None) for t in threads])
    reports: list[RebuildProgress] = []
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    task = asyncio.create_task(ticker())
    report = await kb.rebuild(reports.append)
    task.cancel()
    assert report.entries == 300
    assert reports[0].done == 0 and reports[-1].done == 300 == reports[-1].total
    assert [r.done for r in reports] == sorted(r.done for r in reports)
    assert reports[-1].fraction == 1.0
    # 3 slow batches at least: the loop ran between them and during them.
    assert ticks >= 3
    await kb.close()


async def test_a_second_rebuild_while_one_runs_is_refused(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path, SlowEncoder(0.05), CONFIG)
    threads = [thread(f"{SSO[0]} {n}", SSO[1], SSO[2]) for n in range(300)]
    await kb.capture_many([(t, reply_ids(t), None) for t in threads])
    first = asyncio.create_task(kb.rebuild())
    await asyncio.sleep(0.01)
    with pytest.raises(RebuildInProgress):
        await kb.rebuild()
    await first
    await kb.close()


async def test_entries_captured_during_a_rebuild_are_in_the_new_index(tmp_path: Path):
    kb = await KnowledgeBase.open(tmp_path, SlowEncoder(0.02), CONFIG)
    threads = [thread(f"{WEBHOOK[0]} {n}", WEBHOOK[1], WEBHOOK[2]) for n in range(300)]
    await kb.capture_many([(t, reply_ids(t), None) for t in threads])
    rebuild = asyncio.create_task(kb.rebuild())
    await asyncio.sleep(0.03)
    _, late = await capture(kb, SSO)
    await kb.remove_thread(threads[0].thread_id)
    await rebuild
    status = await kb.index_status()
    assert status.entries == 300
    assert [s.entry.id for s in await kb.suggest(ask(SSO[1]))][:1] == [late.entry_id]
    await kb.close()


async def test_stats_describe_the_knowledge_base_and_index(kb):
    await capture(kb, SSO)
    await capture(kb, CSV)
    stats = await kb.stats()
    assert stats.entries == 2
    assert stats.by_language == {"en": 1, "ja": 1}
    assert stats.index_entries == 2 and stats.index_fresh


async def test_a_title_blends_its_cosine_into_the_dense_signal(tmp_path: Path):
    config = SearchConfig(threshold=0.0, dense_weight=1.0, title_weight=1.0)
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), config)
    _, sso = await capture(kb, SSO)
    _, webhook = await capture(kb, WEBHOOK)
    body = "Webhook deliveries retried forever, endpoint returns 200"
    plain = await kb.suggest(ask(body))
    titled = await kb.suggest(ask(body, title=SSO[0]))
    assert plain[0].entry.id == webhook.entry_id
    assert titled[0].entry.id == sso.entry_id
    await kb.close()


def test_search_config_rejects_out_of_range_values():
    for bad in ({"threshold": 1.5}, {"dense_weight": -0.1}, {"title_weight": 2}, {"candidates": 0}):
        with pytest.raises(ValueError):
            SearchConfig(**bad)


async def test_a_rebuild_past_the_measured_size_switches_to_an_approximate_index(
    tmp_path: Path,
):
    config = dataclasses.replace(CONFIG, approximate_from=200)
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), config)
    threads = [
        thread(f"{WEBHOOK[0]} {n}", f"{WEBHOOK[1]} case {n}", WEBHOOK[2]) for n in range(250)
    ]
    await kb.capture_many([(t, reply_ids(t), None) for t in threads])
    _, sso = await capture(kb, SSO)
    assert (await kb.index_status()).kind == "flat"
    await kb.rebuild()
    assert (await kb.index_status()).kind != "flat"
    assert [s.entry.id for s in await kb.suggest(ask(SSO[1]))][:1] == [sso.entry_id]
    await kb.close()
    reopened = await KnowledgeBase.open(tmp_path, HashingEncoder(), config, rebuild_if_needed=False)
    assert (await reopened.index_status()).kind != "flat"
    await reopened.close()
