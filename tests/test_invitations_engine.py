"""Invitations through the knowledge base's use cases, over a real SQLite file and index
(the model-free hashing encoder: the rules are under test, not the model)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.invitations import Claim, InvitationCounts, InviteChoice, InvitePolicy
from knowledge.models import Author, Query
from knowledge.profiles import GENERIC, PROFILES
from knowledge.report_format import render_text, report_json
from tests.builders import ASKER, GUILD, HELPER, OTHER, START, next_id, reply_ids, thread

pytestmark = pytest.mark.usefixtures("on_each_database")

CONFIG = SearchConfig(threshold=0.98, dense_weight=0.5, invite_floor=0.3)
DAN = Author(3_000_000_000_000_000_004, "Dan")

SSO = (
    "SAML login fails after enabling single sign-on",
    "Since we enabled SAML single sign-on, every login fails with an invalid signature error.",
    ["Re-upload the IdP signing certificate in Admin > Security; the old one expired."],
)
WEBHOOK = (
    "Webhook deliveries retried forever",
    "Our endpoint returns 200 but the webhook keeps retrying the same event.",
    ["Respond within 5 seconds; slow responses count as failures and are retried."],
)
NEW_POST = "SAML single sign-on login fails: invalid signature error"
POLICY = InvitePolicy()


@pytest.fixture
async def kb(tmp_path: Path):
    base = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    base.store.db.clock = lambda: START
    yield base
    await base.close()


async def solved_by(kb: KnowledgeBase, spec, helper: Author) -> int:
    title, question, answers = spec
    t = thread(title, question, answers, answerer=helper)
    await kb.capture(t, reply_ids(t))
    return t.thread_id


def new_post(text: str = NEW_POST) -> Query:
    return Query(guild_id=GUILD, text=text, exclude_thread_id=next_id())


def test_every_profile_has_an_invite_floor_that_can_invite_below_its_gate():
    for profile in (*PROFILES, GENERIC):
        config = profile.search_config()
        assert 0.0 < config.invite_floor < 1.0, profile.key
        if config.confidence is None:  # the fused score is the gate: the floor is below it
            assert config.invite_floor < config.threshold, profile.key


async def test_nobody_is_invited_until_someone_opts_in(kb):
    await solved_by(kb, SSO, HELPER)
    query = new_post()
    assert await kb.suggest(query) == []  # Senpai stays silent on it
    assert await kb.invitees(query, asker_id=OTHER.id, policy=POLICY) == []
    assert await kb.set_invites(HELPER.id, GUILD, True, "ja") is InviteChoice.ON
    invitees = await kb.invitees(query, asker_id=OTHER.id, policy=POLICY)
    assert [(i.user_id, i.lang) for i in invitees] == [(HELPER.id, "ja")]
    assert invitees[0].earlier.title == SSO[0]


class CountingEncoder(HashingEncoder):
    """The hashing encoder, counting the texts it is asked to encode."""

    def __init__(self) -> None:
        super().__init__()
        self.texts = 0

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        self.texts += len(texts)
        return super().encode(texts, batch_size=batch_size)


async def test_a_silent_answer_gives_invitees_its_candidates_without_a_second_search(
    tmp_path: Path,
):
    encoder = CountingEncoder()
    kb = await KnowledgeBase.open(tmp_path, encoder, CONFIG)
    kb.store.db.clock = lambda: START
    try:
        await solved_by(kb, SSO, HELPER)
        await kb.set_invites(HELPER.id, GUILD, True, "en")
        query = new_post()
        answer = await kb.answer(query)
        assert answer.suggestions == [] and answer.ranked  # silent, with candidates
        assert [s.suggestion() for s in answer.ranked] == [
            s.suggestion() for s in (await kb.candidates(query))[0]
        ]
        before = encoder.texts
        given = await kb.invitees(query, asker_id=OTHER.id, policy=POLICY, ranked=answer.ranked)
        assert encoder.texts == before  # nothing encoded again
        searched = await kb.invitees(query, asker_id=OTHER.id, policy=POLICY)
        assert encoder.texts > before
        assert given == searched and [i.user_id for i in given] == [HELPER.id]
    finally:
        await kb.close()


async def test_a_far_post_invites_nobody(kb):
    await solved_by(kb, SSO, HELPER)
    await kb.set_invites(HELPER.id, GUILD, True, "en")
    far = new_post("Pipeline currency: change USD to EUR after deals were created")
    assert await kb.invitees(far, asker_id=OTHER.id, policy=POLICY) == []


async def test_the_asker_and_repliers_are_never_invited(kb):
    await solved_by(kb, SSO, HELPER)
    await kb.set_invites(HELPER.id, GUILD, True, "en")
    assert await kb.invitees(new_post(), asker_id=HELPER.id, policy=POLICY) == []
    query = new_post()
    assert await kb.invitees(query, asker_id=OTHER.id, repliers={HELPER.id}, policy=POLICY) == []


async def test_a_member_who_opted_out_of_capture_is_never_invited(kb):
    await solved_by(kb, SSO, HELPER)
    await kb.set_invites(HELPER.id, GUILD, True, "en")
    await kb.set_opt_out(HELPER.id, True)
    assert not await kb.invites_enabled(HELPER.id, GUILD)
    assert await kb.invitees(new_post(), asker_id=OTHER.id, policy=POLICY) == []
    assert await kb.set_invites(HELPER.id, GUILD, True, "en") is InviteChoice.OPTED_OUT
    await kb.set_opt_out(HELPER.id, False)
    assert await kb.invites_enabled(HELPER.id, GUILD)


async def test_opting_out_of_invitations_stops_them(kb):
    await solved_by(kb, SSO, HELPER)
    await kb.set_invites(HELPER.id, GUILD, True, "en")
    assert await kb.set_invites(HELPER.id, GUILD, False, "en") is InviteChoice.OFF
    assert await kb.set_invites(HELPER.id, GUILD, False, "en") is InviteChoice.UNCHANGED_OFF
    assert await kb.invitees(new_post(), asker_id=OTHER.id, policy=POLICY) == []


async def test_a_claimed_member_is_not_chosen_again_for_the_post_and_the_cap_counts(kb):
    await solved_by(kb, SSO, HELPER)
    await solved_by(kb, WEBHOOK, DAN)
    for member in (HELPER, DAN):
        await kb.set_invites(member.id, GUILD, True, "en")
    query = new_post()
    assert query.exclude_thread_id is not None
    first = (await kb.invitees(query, asker_id=OTHER.id, policy=POLICY))[0]
    assert first.user_id == HELPER.id
    post = {"thread_id": query.exclude_thread_id, "guild_id": GUILD, "asker_id": OTHER.id}
    assert await kb.claim_invitation(first, **post, policy=POLICY) is Claim.CLAIMED
    await kb.invitation_delivered(query.exclude_thread_id, HELPER.id, True)
    again = await kb.invitees(query, asker_id=OTHER.id, policy=POLICY)
    assert HELPER.id not in {i.user_id for i in again}

    capped = InvitePolicy(per_member_per_day=1)
    assert await kb.invitees(new_post(), asker_id=OTHER.id, policy=capped) == []
    kb.store.db.clock = lambda: START + timedelta(days=1)
    assert [i.user_id for i in await kb.invitees(new_post(), asker_id=OTHER.id, policy=capped)] == [
        HELPER.id
    ]

    assert await kb.record_invitee_reply(query.exclude_thread_id, HELPER.id, START)
    counts = await kb.invitation_counts(GUILD, START - timedelta(days=1), START + timedelta(days=1))
    assert counts == InvitationCounts(sent=1, replied=1)
    # The community report counts them in the period they were sent in.
    day = START.date()
    report = await kb.report(GUILD, day, day + timedelta(days=1))
    assert (report.current.invitations_sent, report.current.invitations_answered) == (1, 1)
    assert (report.previous.invitations_sent, report.previous.invitations_answered) == (0, 0)
    text = render_text(report)
    assert "Invitations to earlier helpers: 1  (previous: 0)" in text
    assert "Invitations followed by a reply: 1  (previous: 0)" in text
    assert report_json(report)["invitations_sent"] == 1


async def test_forget_member_and_forget_guild_remove_invitations_and_opt_ins(kb):
    await solved_by(kb, WEBHOOK, DAN)
    await kb.set_invites(DAN.id, GUILD, True, "en")
    await kb.set_invites(HELPER.id, GUILD, True, "en")
    invitee = (await kb.invitees(new_post(WEBHOOK[0]), asker_id=ASKER.id, policy=POLICY))[0]
    post = {"thread_id": next_id(), "guild_id": GUILD, "asker_id": ASKER.id}
    assert await kb.claim_invitation(invitee, **post, policy=POLICY) is Claim.CLAIMED

    await kb.forget_member(DAN.id)
    assert not await kb.invites_enabled(DAN.id, GUILD)
    assert await kb.invitations.invited_to(post["thread_id"]) == set()
    assert await kb.invites_enabled(HELPER.id, GUILD)

    await kb.forget_guild(GUILD)
    assert not await kb.invites_enabled(HELPER.id, GUILD)
