"""Credit for helpers against a real SQLite file: boards, notices, thanks, roles, forgetting.

The clock starts on 2026-05-10 12:00 UTC. Aiko and Bunta ask; Ben and Chika answer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.credit import (
    CreditDigest,
    CreditError,
    CreditKind,
    CreditSettings,
    NoticeState,
    RoleState,
    ThanksState,
)
from knowledge.engine import KnowledgeBase
from knowledge.models import Author, FeedbackKind, Message, Thread
from tests.builders import FORUM, GUILD, OTHER_GUILD, Clock, next_id

pytestmark = pytest.mark.usefixtures("on_each_database")

AIKO = Author(5_000_000_000_000_000_001, "Aiko")
BUNTA = Author(5_000_000_000_000_000_002, "Bunta")
BEN = Author(5_000_000_000_000_000_003, "Ben")
CHIKA = Author(5_000_000_000_000_000_004, "Chika")
T0 = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def kb(tmp_path: Path, clock: Clock):
    base = await KnowledgeBase.open(tmp_path / "data", HashingEncoder(), clock=clock)
    yield base
    await base.close()


async def solved(
    kb: KnowledgeBase,
    title: str,
    *answerers: Author,
    asker: Author = AIKO,
    at: datetime | None = None,
    guild_id: int = GUILD,
) -> tuple[int, int]:
    """A captured post answered by one message of each of ``answerers``: (entry, thread)."""
    at = at or kb.store.db.clock()
    thread_id = next_id()
    messages = [Message(thread_id, asker, f"{title}: how do I fix this?", at - timedelta(hours=1))]
    for n, author in enumerate(answerers, start=1):
        text = f"Answer {n} for {title}: change the setting."
        messages.append(Message(next_id(), author, text, at - timedelta(minutes=10 - n)))
    post = Thread(guild_id, FORUM, thread_id, title, tuple(messages))
    result = await kb.capture(post, [m.id for m in messages[1:]], solved_at=at)
    return result.entry_id, thread_id


async def solved_it(kb: KnowledgeBase, entry_id: int, asker: Author = BUNTA) -> int:
    """A later post by ``asker`` marked solved by ``entry_id``'s "solved it"."""
    later = next_id()
    await kb.record_feedback(
        entry_id,
        guild_id=GUILD,
        thread_id=later,
        user_id=asker.id,
        kind=FeedbackKind.SOLVED_BY_SUGGESTION,
    )
    return later


async def digests(kb: KnowledgeBase) -> list[CreditDigest]:
    """Every credit message due now (each claimed)."""
    return [digest async for digest in kb.credit_digests()]


async def test_the_migration_creates_the_credit_tables(kb):
    for table in ("credit_settings", "credit_prefs", "credit_notices", "credit_thanks"):
        async with kb.store.db.reader.execute(f"SELECT COUNT(*) FROM {table}") as cur:
            assert (await cur.fetchone())[0] == 0
    async with kb.store.db.reader.execute("SELECT COUNT(*) FROM credit_roles") as cur:
        assert (await cur.fetchone())[0] == 0


async def test_the_board_counts_accepted_answers_and_reuses_and_respects_listed(kb, clock):
    sso, _ = await solved(kb, "SSO loop", BEN)
    await solved(kb, "CSV export", BEN, CHIKA)
    await solved(kb, "Own answer", AIKO, asker=AIKO)  # an asker's own answer credits nobody
    await solved(kb, "Old", CHIKA, at=T0 - timedelta(days=40))
    await solved_it(kb, sso)
    await solved_it(kb, sso, asker=CHIKA)
    await solved(kb, "Elsewhere", BEN, guild_id=OTHER_GUILD)

    board = await kb.helpers_board(GUILD, "30d")
    assert [(h.name, h.accepted, h.reused) for h in board] == [("Ben", 2, 2), ("Chika", 1, 0)]
    everything = await kb.helpers_board(GUILD, "all")
    assert [(h.name, h.accepted) for h in everything] == [("Ben", 2), ("Chika", 2)]
    clock.now = T0 + timedelta(days=8)
    assert await kb.helpers_board(GUILD, "7d") == []
    assert [h.name for h in await kb.helpers_board(GUILD, "month")] == ["Ben", "Chika"]

    await kb.set_credit_prefs(BEN.id, listed=False)
    assert [h.name for h in await kb.helpers_board(GUILD, "all")] == ["Chika"]
    with pytest.raises(CreditError):
        await kb.helpers_board(GUILD, "yesterday")


async def test_an_author_is_told_at_once_then_at_most_once_a_day_with_reuses_gathered(kb, clock):
    entry, thread = await solved(kb, "SSO loop", BEN)
    (digest,) = await digests(kb)
    assert digest.user_id == BEN.id and digest.guild_id == GUILD
    assert [(line.kind, line.entry_id, line.count) for line in digest.lines] == [
        (CreditKind.ACCEPTED, entry, 1)
    ]
    await kb.credit_digest_done(digest, sent=True)
    assert await digests(kb) == []  # nothing new

    clock.now += timedelta(hours=2)
    for _ in range(3):
        await solved_it(kb, entry)
    assert await digests(kb) == []  # told less than a day ago: they wait
    clock.now += timedelta(days=1)
    (later,) = await digests(kb)
    assert [(line.kind, line.title, line.count) for line in later.lines] == [
        (CreditKind.REUSED, "SSO loop", 3)
    ]
    assert len(later.events) == 3
    await kb.credit_digest_done(later, sent=True)
    states = await kb.credit_notices(BEN.id)
    assert [s for _, _, s in states] == [NoticeState.SENT] * 4
    assert states[0][:2] == (CreditKind.ACCEPTED, thread)


async def test_a_restart_neither_repeats_nor_loses_a_notice(tmp_path, clock):
    first = await KnowledgeBase.open(tmp_path / "data", HashingEncoder(), clock=clock)
    await solved(first, "SSO loop", BEN)
    await solved(first, "CSV export", CHIKA)
    (claimed, waiting) = sorted(await digests(first), key=lambda d: d.user_id)
    assert (claimed.user_id, waiting.user_id) == (BEN.id, CHIKA.id)
    await first.credit_digest_done(claimed, sent=True)  # Chika's was claimed, not yet sent
    await first.close()
    second = await KnowledgeBase.open(tmp_path / "data", HashingEncoder(), clock=clock)
    try:
        assert await digests(second) == []  # never twice, not even Chika's
        states = dict(((k, t), s) for k, t, s in await second.credit_notices(CHIKA.id))
        assert list(states.values()) == [NoticeState.SENDING]
    finally:
        await second.close()


async def test_notices_off_records_credits_unsent_and_never_sends_them_later(kb, clock):
    await kb.set_credit_prefs(BEN.id, notices=False)
    entry, _ = await solved(kb, "SSO loop", BEN)
    assert await digests(kb) == []
    assert [s for _, _, s in await kb.credit_notices(BEN.id)] == [NoticeState.OFF]
    prefs = await kb.set_credit_prefs(BEN.id, notices=True)
    assert prefs.notices and prefs.listed
    assert await digests(kb) == []  # the old credit stays untold
    await solved_it(kb, entry)
    (digest,) = await digests(kb)  # a new one is told (no message sent for a day)
    assert [line.kind for line in digest.lines] == [CreditKind.REUSED]


async def test_closed_direct_messages_are_recorded_and_not_retried(kb):
    await solved(kb, "SSO loop", BEN)
    (digest,) = await digests(kb)
    await kb.credit_digest_done(digest, sent=False)
    assert [s for _, _, s in await kb.credit_notices(BEN.id)] == [NoticeState.FAILED]
    assert await digests(kb) == []


async def test_old_posts_captured_by_an_import_are_never_announced(kb):
    await solved(kb, "Ancient", BEN, at=T0 - timedelta(days=300))
    assert await digests(kb) == []
    assert await kb.credit_notices(BEN.id) == []


async def test_the_monthly_thanks_is_claimed_once_for_the_month_that_ended(tmp_path, clock):
    kb = await KnowledgeBase.open(tmp_path / "data", HashingEncoder(), clock=clock)
    other = await KnowledgeBase.open(tmp_path / "data", HashingEncoder(), clock=clock)
    try:
        saved = await kb.save_credit_settings(CreditSettings(GUILD, thanks_channel=55))
        assert saved.thanks_since == T0
        assert await kb.due_thanks() == []  # May has not ended
        await solved(kb, "SSO loop", BEN)
        clock.now = datetime(2026, 6, 1, 0, 5, tzinfo=UTC)
        (due,) = await kb.due_thanks()
        assert (due.month, due.channel_id) == ("2026-05", 55)
        board = await kb.helpers_between(GUILD, due.start, due.end)
        assert [h.name for h in board] == ["Ben"]
        assert await kb.claim_thanks(due, ThanksState.POSTING)
        assert not await other.claim_thanks(due, ThanksState.POSTING)  # a second process
        assert await other.due_thanks() == []
        await kb.thanks_done(due, ThanksState.POSTED, 999)
        assert await other.thanks_state(GUILD, "2026-05") is ThanksState.POSTED
        # Choosing the same channel again keeps its date; another channel dates from now.
        again = await kb.save_credit_settings(CreditSettings(GUILD, thanks_channel=55))
        assert again.thanks_since == T0
        moved = await kb.save_credit_settings(CreditSettings(GUILD, thanks_channel=56))
        assert moved.thanks_since == clock.now
        unset = await kb.save_credit_settings(CreditSettings(GUILD))
        assert unset.thanks_since is None
    finally:
        await other.close()
        await kb.close()


async def test_a_role_is_due_after_n_accepted_answers_and_recorded_once(kb):
    with pytest.raises(CreditError):
        await kb.save_credit_settings(CreditSettings(GUILD, role_id=77, role_after=-1))
    await kb.save_credit_settings(CreditSettings(GUILD, role_id=77, role_after=2))
    await solved(kb, "One", BEN, CHIKA)
    assert await kb.due_role_grants() == []
    await solved(kb, "Two", BEN)
    (grant,) = await kb.due_role_grants()
    assert (grant.user_id, grant.role_id, grant.accepted) == (BEN.id, 77, 2)
    assert await kb.record_role(grant, RoleState.GRANTED)
    assert not await kb.record_role(grant, RoleState.GRANTED)
    assert await kb.due_role_grants() == []
    await solved(kb, "Three", CHIKA)
    await kb.set_credit_prefs(CHIKA.id, listed=False)
    assert await kb.due_role_grants() == []  # not listed: no public role either
    assert await kb.role_state(GUILD, BEN.id, 77) is RoleState.GRANTED


async def test_forgetting_a_member_removes_their_credit_and_credits_for_their_posts(kb):
    entry, _ = await solved(kb, "SSO loop", BEN)
    await solved(kb, "CSV", CHIKA, asker=BUNTA)
    later = await solved_it(kb, entry, asker=BUNTA)
    for digest in await digests(kb):
        await kb.credit_digest_done(digest, sent=True)
    await kb.set_credit_prefs(BEN.id, listed=False)
    await kb.save_credit_settings(CreditSettings(GUILD, role_id=77, role_after=1))
    (grant,) = await kb.due_role_grants()  # Chika (Ben is not listed)
    await kb.record_role(grant, RoleState.GRANTED)

    await kb.forget_member(BEN.id)
    assert await kb.credit_notices(BEN.id) == []
    assert (await kb.credit_prefs(BEN.id)).listed  # the choice row is gone too
    assert [h.name for h in await kb.helpers_board(GUILD, "all")] == ["Chika"]

    await kb.forget_member(BUNTA.id)  # asked Chika's post and the later post
    assert await kb.credit_notices(CHIKA.id) == []
    assert later not in {t for _, t, _ in await kb.credit_notices(BEN.id)}
    await kb.forget_member(CHIKA.id)
    assert await kb.role_state(GUILD, CHIKA.id, 77) is None


async def test_forgetting_a_server_removes_its_credit_settings_thanks_and_notices(kb, clock):
    await kb.save_credit_settings(
        CreditSettings(GUILD, thanks_channel=55, role_id=77, role_after=1)
    )
    await solved(kb, "SSO loop", BEN)
    (digest,) = await digests(kb)
    await kb.credit_digest_done(digest, sent=True)
    (grant,) = await kb.due_role_grants()
    await kb.record_role(grant, RoleState.GRANTED)
    clock.now = datetime(2026, 6, 2, tzinfo=UTC)
    (due,) = await kb.due_thanks()
    await kb.claim_thanks(due, ThanksState.POSTING)

    await kb.forget_guild(GUILD)
    assert await kb.credit_settings(GUILD) == CreditSettings(GUILD)
    assert await kb.thanks_state(GUILD, "2026-05") is None
    assert await kb.credit_notices(BEN.id) == []
    assert await kb.role_state(GUILD, BEN.id, 77) is None
