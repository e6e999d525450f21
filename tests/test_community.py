"""The community store (settings, questions, nudges, backfills) against a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.community import CommunityStore
from knowledge.models import BackfillState, GuildSettings
from knowledge.store import KnowledgeStore

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def community(tmp_path: Path, database_url: str | None):
    store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=database_url)
    yield CommunityStore(store.db)
    await store.close()


async def test_a_guild_without_settings_gets_the_defaults(community):
    settings = await community.settings(42)
    assert settings == GuildSettings(42)
    assert settings.watches(123) and settings.nudge_hours == 24


async def test_settings_round_trip_and_bad_values_are_refused(community):
    wanted = GuildSettings(
        42,
        watched_forums=(1_000_000_000_000_000_001,),
        helper_roles=(7,),
        solved_tag="解決済み",
        threshold=0.6,
        language="ja",
        nudge_hours=12,
        archive_on_solve=True,
    )
    await community.save_settings(wanted)
    assert await community.settings(42) == wanted
    assert not wanted.watches(5)
    for bad in (
        GuildSettings(42, language="fr"),
        GuildSettings(42, threshold=1.5),
        GuildSettings(42, nudge_hours=-1),
    ):
        with pytest.raises(ValueError):
            await community.save_settings(bad)
    assert await community.settings(42) == wanted


async def test_figures_count_questions_answers_and_median_times(community):
    for n, (reply_min, solve_h) in enumerate([(10, 2), (30, None), (None, None), (20, 6)]):
        thread = 100 + n
        await community.record_question(
            thread_id=thread, guild_id=1, forum_id=2, asker_id=3, asked_at=T0
        )
        if reply_min is not None:
            await community.record_reply(thread, T0 + timedelta(minutes=reply_min))
            await community.record_reply(thread, T0 + timedelta(minutes=500))  # not the first
        if solve_h is not None:
            via = "suggestion" if n == 3 else "marked"
            await community.record_solved(thread, T0 + timedelta(hours=solve_h), via=via)
    figures = await community.figures(1, since=T0 - timedelta(days=1))
    assert (figures.questions, figures.answered, figures.solved) == (4, 3, 2)
    assert figures.solved_by_suggestion == 1
    assert figures.solved_rate == 0.5
    assert figures.median_first_reply_minutes == 20
    assert figures.median_solve_hours == 4
    assert (await community.figures(1, since=T0 + timedelta(days=1))).questions == 0
    assert (await community.figures(9, since=T0)).solved_rate is None


async def test_a_post_is_nudged_once_and_solving_it_cancels_the_nudge(community):
    kwargs = {"thread_id": 5, "guild_id": 1, "asker_id": 3, "candidate_id": 50}
    assert await community.schedule_nudge(due_at=T0, **kwargs)
    assert not await community.schedule_nudge(due_at=T0, **{**kwargs, "candidate_id": 51})
    assert (await community.nudge(5)).candidate_id == 51
    assert await community.due_nudges(T0 - timedelta(minutes=1)) == []
    [due] = await community.due_nudges(T0)
    assert due.thread_id == 5 and due.state == "pending"
    await community.set_nudge_state(5, "sent")
    assert await community.due_nudges(T0 + timedelta(days=1)) == []
    assert not await community.schedule_nudge(due_at=T0, **kwargs)
    await community.record_question(thread_id=6, guild_id=1, forum_id=2, asker_id=3, asked_at=T0)
    await community.schedule_nudge(due_at=T0, **{**kwargs, "thread_id": 6})
    await community.record_solved(6, T0, via="marked")
    assert (await community.nudge(6)).state == "done"
    assert await community.is_solved(6)
    await community.record_unsolved(6)
    assert not await community.is_solved(6)


async def test_backfill_state_is_kept_per_forum(community):
    assert await community.backfill_state(9) is None
    state = BackfillState(9, 1, T0, False, 40, 12)
    await community.save_backfill_state(state)
    assert await community.backfill_state(9) == state


async def test_forgetting_a_member_drops_their_questions_and_nudges(community):
    await community.record_question(thread_id=1, guild_id=1, forum_id=2, asker_id=3, asked_at=T0)
    await community.record_question(thread_id=2, guild_id=1, forum_id=2, asker_id=4, asked_at=T0)
    await community.schedule_nudge(
        thread_id=1, guild_id=1, asker_id=3, due_at=T0, candidate_id=None
    )
    assert await community.forget_user(3) == 1
    assert await community.nudge(1) is None
    assert (await community.figures(1, since=T0 - timedelta(days=1))).questions == 1
