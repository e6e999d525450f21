"""Invitations: whom to invite (pure rules), and the store against a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.invitations import (
    Claim,
    InvitationCounts,
    InvitationStore,
    InvitePolicy,
    choose_invitees,
    helpers_of,
)
from knowledge.models import AnswerPart, Entry
from knowledge.store import KnowledgeStore
from tests.builders import Clock

pytestmark = pytest.mark.usefixtures("on_each_database")

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
GUILD, OTHER_GUILD = 1, 2
ASKER, BEN, CHIKA, DAN, EVE = 10, 11, 12, 13, 14
POST, OTHER_POST, THIRD_POST = 100, 101, 102


def entry(entry_id: int, *helpers: int, asker: int = 20) -> Entry:
    """A solved thread answered by ``helpers`` (one answer part each)."""
    return Entry(
        id=entry_id,
        guild_id=GUILD,
        forum_id=5,
        thread_id=1000 + entry_id,
        title=f"thread {entry_id}",
        question="q",
        answer_parts=tuple(
            AnswerPart(entry_id * 10 + i, h, f"m{h}", "a") for i, h in enumerate(helpers)
        ),
        asker_id=asker,
        asker_name="asker",
        tags=(),
        asked_at=T0,
        solved_at=T0,
        jump_url=f"https://discord.com/channels/{GUILD}/{1000 + entry_id}",
        language="en",
        scope="public",
    )


ALL_IN = {BEN: "en", CHIKA: "ja", DAN: "en", EVE: "en"}


def choose(close, *, opted_in=ALL_IN, excluded=(), sent_today=None, floor=0.5, per_day=3):
    return choose_invitees(
        close,
        floor=floor,
        opted_in=opted_in,
        excluded=excluded,
        sent_today=sent_today or {},
        policy=InvitePolicy(per_member_per_day=per_day),
    )


# -- the rules ----------------------------------------------------------------------------


def test_the_asker_s_own_part_of_an_answer_makes_nobody_a_helper():
    assert helpers_of(entry(1, BEN, 20, asker=20)) == {BEN}
    assert helpers_of(entry(2, 20, asker=20)) == frozenset()


def test_members_come_best_first_each_for_the_closest_thread_they_solved():
    close = [(entry(1, BEN), 0.6), (entry(2, CHIKA, BEN), 0.9), (entry(3, DAN), 0.7)]
    chosen = choose(close)
    assert [(i.user_id, i.earlier.id, i.score) for i in chosen] == [
        (BEN, 2, 0.9),
        (CHIKA, 2, 0.9),
        (DAN, 3, 0.7),
    ]
    assert chosen[1].lang == "ja"  # the language the member opted in with


def test_threads_below_the_profile_floor_invite_nobody():
    close = [(entry(1, BEN), 0.49), (entry(2, CHIKA), 0.5)]
    assert [i.user_id for i in choose(close, floor=0.5)] == [CHIKA]
    assert choose(close, floor=0.95) == []


def test_only_members_who_opted_in_are_invited():
    close = [(entry(1, BEN), 0.9), (entry(2, CHIKA), 0.8)]
    assert [i.user_id for i in choose(close, opted_in={CHIKA: "ja"})] == [CHIKA]
    assert choose(close, opted_in={}) == []


def test_the_asker_repliers_and_those_already_invited_are_excluded():
    close = [(entry(1, ASKER), 0.95), (entry(2, BEN), 0.9), (entry(3, CHIKA), 0.8)]
    opted = {ASKER: "en", BEN: "en", CHIKA: "en"}
    assert [i.user_id for i in choose(close, opted_in=opted, excluded={ASKER, BEN})] == [CHIKA]


def test_a_member_at_the_daily_cap_is_skipped_and_one_under_it_is_not():
    close = [(entry(1, BEN), 0.9), (entry(2, CHIKA), 0.8)]
    assert [i.user_id for i in choose(close, sent_today={BEN: 3, CHIKA: 2})] == [CHIKA]
    assert choose(close, sent_today={BEN: 1, CHIKA: 1}, per_day=1) == []
    assert choose(close, per_day=0) == []


def test_the_order_is_deterministic_on_equal_scores():
    close = [(entry(2, DAN), 0.8), (entry(1, CHIKA, BEN), 0.8)]
    assert [i.user_id for i in choose(close)] == [BEN, CHIKA, DAN]


def test_a_policy_outside_the_bounds_is_refused():
    with pytest.raises(ValueError):
        InvitePolicy(per_post=3)
    with pytest.raises(ValueError):
        InvitePolicy(per_post=0)
    with pytest.raises(ValueError):
        InvitePolicy(per_member_per_day=-1)


# -- the store ----------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def store(tmp_path: Path, clock: Clock):
    knowledge = await KnowledgeStore.open(tmp_path / "kb.db", clock=clock)
    yield InvitationStore(knowledge.db)
    await knowledge.close()


async def claim(store: InvitationStore, post: int, user: int, policy=None, guild=GUILD) -> Claim:
    return await store.claim(
        thread_id=post,
        guild_id=guild,
        asker_id=ASKER,
        user_id=user,
        earlier_thread_id=1001,
        policy=policy or InvitePolicy(),
    )


async def test_opting_in_is_per_server_keeps_the_language_and_opting_out_removes_it(store):
    assert not await store.has_opt_ins(GUILD)
    assert await store.set_opt_in(BEN, GUILD, True, "en")
    assert not await store.set_opt_in(BEN, GUILD, True, "ja")  # no change, language updated
    assert await store.opted_in(GUILD, [BEN, CHIKA]) == {BEN: "ja"}
    assert await store.opted_in(OTHER_GUILD, [BEN]) == {}
    assert await store.has_opt_ins(GUILD) and not await store.has_opt_ins(OTHER_GUILD)
    assert await store.set_opt_in(BEN, GUILD, False, "en")
    assert not await store.set_opt_in(BEN, GUILD, False, "en")
    assert not await store.is_opted_in(BEN, GUILD)


async def test_a_post_invites_each_member_once_and_at_most_two(store):
    assert await claim(store, POST, BEN) is Claim.CLAIMED
    assert await claim(store, POST, BEN) is Claim.ALREADY
    assert await claim(store, POST, CHIKA) is Claim.CLAIMED
    assert await claim(store, POST, DAN) is Claim.POST_FULL
    assert await store.invited_to(POST) == {BEN, CHIKA}


async def test_a_failed_message_frees_its_place_but_the_member_is_not_tried_again(store):
    assert await claim(store, POST, BEN) is Claim.CLAIMED
    await store.delivered(POST, BEN, False)
    assert await claim(store, POST, BEN) is Claim.ALREADY
    assert await claim(store, POST, CHIKA) is Claim.CLAIMED
    assert await claim(store, POST, DAN) is Claim.CLAIMED
    assert await store.sent_since([BEN, CHIKA], T0 - timedelta(hours=1)) == {CHIKA: 1}


async def test_the_daily_cap_holds_over_any_24_hours_and_across_servers(store, clock):
    policy = InvitePolicy(per_member_per_day=2)
    assert await claim(store, POST, BEN, policy) is Claim.CLAIMED
    clock.now = T0 + timedelta(hours=20)
    assert await claim(store, OTHER_POST, BEN, policy, guild=OTHER_GUILD) is Claim.CLAIMED
    clock.now = T0 + timedelta(hours=23, minutes=59)
    assert await claim(store, THIRD_POST, BEN, policy) is Claim.MEMBER_CAPPED
    assert await store.sent_since([BEN], clock.now - timedelta(hours=24)) == {BEN: 2}
    clock.now = T0 + timedelta(hours=24)  # the first one is a day old now
    assert await claim(store, THIRD_POST, BEN, policy) is Claim.CLAIMED


async def test_the_caps_hold_across_a_reopened_database(tmp_path, clock):
    path = tmp_path / "kb.db"
    knowledge = await KnowledgeStore.open(path, clock=clock)
    policy = InvitePolicy(per_member_per_day=1)
    assert await claim(InvitationStore(knowledge.db), POST, BEN, policy) is Claim.CLAIMED
    await knowledge.close()
    knowledge = await KnowledgeStore.open(path, clock=clock)
    try:
        store = InvitationStore(knowledge.db)
        assert await claim(store, POST, BEN, policy) is Claim.ALREADY
        assert await claim(store, OTHER_POST, BEN, policy) is Claim.MEMBER_CAPPED
    finally:
        await knowledge.close()


async def test_replies_of_invited_members_are_counted_once_for_the_report(store, clock):
    for user in (BEN, CHIKA):
        await claim(store, POST, user)
        await store.delivered(POST, user, True)
    await claim(store, OTHER_POST, DAN)
    await store.delivered(OTHER_POST, DAN, False)
    assert await store.record_reply(POST, BEN, T0 + timedelta(minutes=5))
    assert not await store.record_reply(POST, BEN, T0 + timedelta(minutes=6))  # first only
    assert not await store.record_reply(POST, DAN, T0)  # not invited to this post
    assert not await store.record_reply(OTHER_POST, DAN, T0)  # the message never reached them
    day = (T0 - timedelta(days=1), T0 + timedelta(days=1))
    assert await store.counts(GUILD, *day) == InvitationCounts(sent=2, replied=1)
    assert await store.counts(GUILD, T0 + timedelta(hours=1), T0 + timedelta(days=1)) == (
        InvitationCounts(0, 0)
    )
    assert await store.counts(OTHER_GUILD, *day) == InvitationCounts(0, 0)


async def test_forgetting_a_member_removes_their_opt_in_invitations_and_those_to_their_posts(
    store,
):
    await store.set_opt_in(BEN, GUILD, True, "en")
    await store.set_opt_in(CHIKA, GUILD, True, "en")
    await claim(store, POST, BEN)  # Ben invited to Asker's post
    await claim(store, OTHER_POST, CHIKA)  # Chika invited to Asker's post
    await store.claim(
        thread_id=THIRD_POST,
        guild_id=GUILD,
        asker_id=DAN,
        user_id=CHIKA,
        earlier_thread_id=1001,
        policy=InvitePolicy(),
    )
    assert await store.forget_user(BEN) == 1
    assert await store.opted_in(GUILD, [BEN, CHIKA]) == {CHIKA: "en"}
    assert await store.invited_to(POST) == set()
    assert await store.forget_user(ASKER) == 1  # the invitation to their other post
    assert await store.invited_to(OTHER_POST) == set()
    assert await store.invited_to(THIRD_POST) == {CHIKA}


async def test_forgetting_a_server_removes_its_opt_ins_and_invitations_only(store):
    await store.set_opt_in(BEN, GUILD, True, "en")
    await store.set_opt_in(BEN, OTHER_GUILD, True, "en")
    await claim(store, POST, BEN)
    await claim(store, OTHER_POST, BEN, guild=OTHER_GUILD)
    assert await store.forget_guild(GUILD) == 1
    assert await store.opted_in(GUILD, [BEN]) == {}
    assert await store.opted_in(OTHER_GUILD, [BEN]) == {BEN: "en"}
    assert await store.invited_to(POST) == set() and await store.invited_to(OTHER_POST) == {BEN}
