"""Consent, identity and retention in the knowledge base, over real files."""

from __future__ import annotations

import dataclasses
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.engine import CaptureError, KnowledgeBase
from knowledge.models import PUBLIC_SCOPE, Query, private_scope
from tests.builders import (
    ASKER,
    GUILD,
    HELPER,
    OTHER,
    OTHER_GUILD,
    PRIVATE_FORUM,
    START,
    Clock,
    reply_ids,
    thread,
)


@pytest.fixture
async def clock() -> Clock:
    return Clock(START)


@pytest.fixture
async def kb(tmp_path: Path, clock: Clock, database_url: str | None):
    base = await KnowledgeBase.open(
        tmp_path / "data", HashingEncoder(), clock=clock, database_url=database_url
    )
    yield base
    await base.close()


def query(text: str, guild: int = GUILD, scopes: frozenset[str] = frozenset({PUBLIC_SCOPE})):
    return Query(guild_id=guild, text=text, allowed_scopes=scopes, threshold=0.0)


async def test_a_thread_from_another_servers_export_never_moves_the_entry(kb):
    original = thread("Webhook retries", "The webhook retries forever", ["Answer in 5 s"])
    await kb.capture(original, reply_ids(original))
    forged = dataclasses.replace(original, guild_id=OTHER_GUILD, title="Moved!")
    with pytest.raises(CaptureError) as raised:
        await kb.capture(forged, reply_ids(forged))
    assert raised.value.code == "conflict"
    entry = await kb.entry_for_thread(original.thread_id)
    assert entry is not None and entry.guild_id == GUILD and entry.title == "Webhook retries"
    assert await kb.suggest(query("webhook retries forever", OTHER_GUILD)) == []


async def test_a_private_entry_is_widened_only_on_purpose(kb):
    staff = thread(
        "Refund policy exceptions",
        "Which refunds may staff approve?",
        ["Up to 30 days, with a manager's note"],
        forum_id=PRIVATE_FORUM,
        scope=private_scope(PRIVATE_FORUM),
    )
    await kb.capture(staff, reply_ids(staff))
    public = dataclasses.replace(staff, scope=PUBLIC_SCOPE)
    with pytest.raises(CaptureError) as raised:
        await kb.capture(public, reply_ids(public))
    assert raised.value.code == "scope"
    assert await kb.suggest(query("which refunds may staff approve")) == []
    await kb.capture(public, reply_ids(public), widen_scope=True)
    assert await kb.suggest(query("which refunds may staff approve"))


async def test_an_opted_out_member_is_never_captured_as_asker_or_answerer(kb):
    assert await kb.set_opt_out(ASKER.id, True)
    assert not await kb.set_opt_out(ASKER.id, True)
    asked = thread("Export fails", "CSV export times out", ["Use the async export"])
    with pytest.raises(CaptureError) as raised:
        await kb.capture(asked, reply_ids(asked))
    assert raised.value.code == "opted_out"

    await kb.set_opt_out(ASKER.id, False)
    await kb.set_opt_out(HELPER.id, True)
    answered = thread("Export fails", "CSV export times out", ["Use the async export"])
    with pytest.raises(CaptureError):
        await kb.capture(answered, reply_ids(answered))
    # A two-part answer keeps only the part of the member who did not opt out.
    mixed = thread("Slack alerts", "Slack alerts stopped", ["Reconnect the app"], answerer=OTHER)
    helper_part = thread("x", "y", ["Then re-invite the bot"]).messages[1]
    mixed = dataclasses.replace(
        mixed, messages=(*mixed.messages, dataclasses.replace(helper_part, author=HELPER))
    )
    await kb.capture(mixed, reply_ids(mixed))
    entry = await kb.entry_for_thread(mixed.thread_id)
    assert entry is not None
    assert [p.author_id for p in entry.answer_parts] == [OTHER.id]


async def test_a_departed_server_is_forgotten_after_the_grace_period_unless_it_returns(kb, clock):
    kept = thread("SSO", "SAML login fails", ["Re-upload the certificate"])
    gone = thread("SSO", "SAML login fails", ["Re-upload the certificate"], guild_id=OTHER_GUILD)
    await kb.capture_many([(kept, reply_ids(kept), None), (gone, reply_ids(gone), None)])
    await kb.community.record_question(
        thread_id=gone.thread_id,
        guild_id=OTHER_GUILD,
        forum_id=gone.forum_id,
        asker_id=ASKER.id,
        asked_at=START,
    )
    await kb.guild_left(OTHER_GUILD)
    await kb.guild_left(GUILD)
    clock.now = START + timedelta(days=5)
    await kb.guild_joined(GUILD)  # came back: nothing of it goes
    assert await kb.purge_departed_guilds(timedelta(days=30)) == []
    clock.now = START + timedelta(days=31)
    assert await kb.purge_departed_guilds(timedelta(days=30)) == [OTHER_GUILD]
    assert await kb.entry_for_thread(gone.thread_id) is None
    assert await kb.entry_for_thread(kept.thread_id) is not None
    figures = await kb.community.figures(OTHER_GUILD, since=START - timedelta(days=1))
    assert figures.questions == 0
    assert await kb.purge_departed_guilds(timedelta(days=30)) == []


async def test_the_data_directory_and_database_are_private(tmp_path: Path):
    directory = tmp_path / "fresh"
    kb = await KnowledgeBase.open(directory, HashingEncoder())
    t = thread("Webhook retries", "The webhook retries forever", ["Answer in 5 s"])
    await kb.capture(t, reply_ids(t))
    await kb.close()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for path in directory.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
