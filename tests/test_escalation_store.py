"""Escalations and "me too" in the community store, against a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.community import ESCALATION_WINDOW, CommunityStore
from knowledge.models import EscalationState, GuildSettings, MeTooNotice, MeTooVote
from knowledge.store import KnowledgeStore
from tests.builders import Clock

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
GUILD, FORUM, ASKER = 1, 2, 3


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def community(tmp_path: Path, clock: Clock, database_url: str | None):
    store = await KnowledgeStore.open(tmp_path / "kb.db", clock=clock, database_url=database_url)
    yield CommunityStore(store.db)
    await store.close()


async def ask(community: CommunityStore, thread_id: int, at: datetime = T0, **kw) -> None:
    await community.record_question(
        thread_id=thread_id,
        guild_id=kw.get("guild_id", GUILD),
        forum_id=FORUM,
        asker_id=kw.get("asker_id", ASKER),
        asked_at=at,
    )


async def test_settings_keep_the_staff_channel_delay_and_me_too_choice(community):
    assert (await community.settings(GUILD)).escalation_hours == 24
    wanted = GuildSettings(GUILD, staff_channel=99, escalation_hours=6, me_too_on_posts=True)
    await community.save_settings(wanted)
    assert await community.settings(GUILD) == wanted
    with pytest.raises(ValueError):
        await community.save_settings(GuildSettings(GUILD, escalation_hours=-1))
    assert await community.settings(GUILD) == wanted


async def test_a_post_is_due_after_the_guild_delay_and_only_once(community):
    await community.save_settings(GuildSettings(GUILD, staff_channel=99, escalation_hours=6))
    await ask(community, 10)
    assert await community.due_escalations(T0 + timedelta(hours=5, minutes=59)) == []
    due = await community.due_escalations(T0 + timedelta(hours=6))
    assert [(d.thread_id, d.staff_channel, d.asker_id) for d in due] == [(10, 99, ASKER)]
    assert await community.claim_escalation(due[0])
    assert not await community.claim_escalation(due[0])
    assert await community.due_escalations(T0 + timedelta(days=2)) == []


async def test_a_guild_without_settings_uses_the_default_delay_and_zero_turns_it_off(community):
    await ask(community, 10)
    assert await community.due_escalations(T0 + timedelta(hours=23)) == []
    due = await community.due_escalations(T0 + timedelta(hours=24))
    assert [(d.thread_id, d.staff_channel) for d in due] == [(10, None)]
    await community.save_settings(GuildSettings(GUILD, escalation_hours=0))
    assert await community.due_escalations(T0 + timedelta(days=3)) == []


async def test_answered_solved_and_stale_posts_are_never_due(community):
    await ask(community, 10)
    await ask(community, 11)
    await ask(community, 12)
    await community.record_reply(10, T0 + timedelta(hours=1))
    await community.record_solved(11, T0 + timedelta(hours=2), via="marked")
    later = T0 + timedelta(hours=25)
    assert [d.thread_id for d in await community.due_escalations(later)] == [12]
    stale = T0 + timedelta(hours=24) + ESCALATION_WINDOW + timedelta(minutes=1)
    assert await community.due_escalations(stale) == []


async def test_an_escalation_leaves_the_list_when_answered_solved_or_deleted(community, clock):
    for thread in (10, 11, 12, 13):
        await ask(community, thread)
    clock.now = T0 + timedelta(hours=25)
    for due in await community.due_escalations(clock.now):
        assert await community.claim_escalation(due)
        await community.set_escalation_message(due.thread_id, 99, 1000 + due.thread_id)
    assert await community.escalations_to_close() == []
    await community.record_reply(10, clock.now)
    await community.record_solved(11, clock.now, via="suggestion")
    await community.forget_threads([12])
    closing = {
        e.thread_id: (why, e.message_id) for e, why in await community.escalations_to_close()
    }
    assert closing == {
        10: (EscalationState.ANSWERED, 1010),
        11: (EscalationState.SOLVED, 1011),
        12: (EscalationState.DELETED, 1012),
    }
    for thread, (why, _) in closing.items():
        await community.close_escalation(thread, why)
    assert await community.escalations_to_close() == []
    states = {
        e.thread_id: e.state
        for e in await community.escalations(GUILD, T0, clock.now + timedelta(1))
    }
    assert states == {
        10: EscalationState.ANSWERED,
        11: EscalationState.SOLVED,
        12: EscalationState.DELETED,
        13: EscalationState.OPEN,
    }


async def test_escalations_are_counted_per_guild_and_period(community, clock):
    await ask(community, 10)
    await ask(community, 20, guild_id=5)
    clock.now = T0 + timedelta(hours=25)
    for due in await community.due_escalations(clock.now):
        await community.claim_escalation(due, skipped=due.guild_id == 5)
    period = (T0, T0 + timedelta(days=2))
    assert [e.thread_id for e in await community.escalations(GUILD, *period)] == [10]
    skipped = await community.escalations(5, *period)
    assert [e.state for e in skipped] == [EscalationState.SKIPPED]
    assert skipped[0].closed_at == clock.now
    assert await community.escalations(GUILD, T0 + timedelta(days=2), T0 + timedelta(days=3)) == []


async def test_me_too_counts_one_vote_per_member_and_refuses_the_asker_and_solved_posts(
    community,
):
    await ask(community, 10)
    vote = await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=7)
    assert (vote.vote, vote.count) == (MeTooVote.COUNTED, 1)
    again = await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=7)
    assert (again.vote, again.count) == (MeTooVote.ALREADY, 1)
    own = await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=None, user_id=ASKER)
    assert (own.vote, own.count) == (MeTooVote.OWN_POST, 1)
    second = await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=8)
    assert (second.vote, second.count) == (MeTooVote.COUNTED, 2)
    await community.record_solved(10, T0, via="marked")
    late = await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=9)
    assert (late.vote, late.count) == (MeTooVote.SOLVED, 2)
    assert await community.me_too_count(10) == 2


async def test_voters_are_told_once_when_the_post_is_solved(community):
    await ask(community, 10)
    await ask(community, 11)
    for user in (7, 8):
        await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=user)
    await community.record_solved(11, T0, via="marked")  # solved, but nobody said me too
    assert await community.due_me_too_notices() == []
    await community.record_solved(10, T0, via="marked")
    notices = await community.due_me_too_notices()
    assert notices == [MeTooNotice(10, GUILD, 2)]
    assert await community.claim_me_too_notice(notices[0])
    assert not await community.claim_me_too_notice(notices[0])
    assert await community.due_me_too_notices() == []


async def test_me_too_tallies_rank_shared_problems_in_the_period(community, clock):
    for thread in (10, 11):
        await ask(community, thread)
    for user in (7, 8, 9):
        await community.add_me_too(thread_id=11, guild_id=GUILD, asker_id=ASKER, user_id=user)
    await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=7)
    await community.record_solved(10, T0, via="marked")
    tallies = await community.me_too_tallies(GUILD, T0, T0 + timedelta(hours=1))
    assert [(t.thread_id, t.votes, t.solved) for t in tallies] == [(11, 3, False), (10, 1, True)]
    assert await community.me_too_tallies(GUILD, T0 + timedelta(hours=1), T0 + timedelta(2)) == []
    assert await community.me_too_tallies(5, T0, T0 + timedelta(hours=1)) == []


async def test_forgetting_a_member_drops_their_votes_and_what_hangs_on_their_posts(
    community, clock
):
    await ask(community, 10, asker_id=ASKER)
    await ask(community, 20, asker_id=7)
    await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=7)
    await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=8)
    await community.add_me_too(thread_id=20, guild_id=GUILD, asker_id=7, user_id=8)
    clock.now = T0 + timedelta(hours=25)
    for due in await community.due_escalations(clock.now):
        await community.claim_escalation(due)
    await community.forget_user(7)
    assert await community.me_too_count(10) == 1  # 7's vote went, 8's stays
    assert await community.me_too_count(20) == 0  # votes on 7's own post went
    assert await community.escalation(20) is None
    assert await community.escalation(10) is not None


async def test_forgetting_a_guild_drops_its_escalations_and_votes(community, clock):
    await ask(community, 10)
    await ask(community, 20, guild_id=5)
    await community.add_me_too(thread_id=10, guild_id=GUILD, asker_id=ASKER, user_id=7)
    await community.add_me_too(thread_id=20, guild_id=5, asker_id=ASKER, user_id=7)
    clock.now = T0 + timedelta(hours=25)
    for due in await community.due_escalations(clock.now):
        await community.claim_escalation(due)
    await community.forget_guild(GUILD)
    assert await community.escalation(10) is None and await community.me_too_count(10) == 0
    assert await community.escalation(20) is not None and await community.me_too_count(20) == 1
