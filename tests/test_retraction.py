"""Removed entries are queued for retraction from the posts that showed them, and the
bot's plan for each of its messages takes out exactly the removed entry."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import discord
import pytest

from cogs.retraction import plan, suggested_ids, without_lead
from cogs.suggest import suggestion_view
from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase
from knowledge.models import DueEscalation, Entry, FeedbackKind, Query, Retraction, Suggestion
from tests.builders import ASKER, GUILD, HELPER, OTHER, OTHER_GUILD, next_id, reply_ids, thread

pytestmark = pytest.mark.usefixtures("on_each_database")

NEW_POST = 5_000_000_000_000_000_001
OTHER_POST = 5_000_000_000_000_000_002


async def open_kb(tmp_path: Path) -> KnowledgeBase:
    return await KnowledgeBase.open(tmp_path / "data", HashingEncoder())


async def two_members_entries(kb: KnowledgeBase) -> tuple[Entry, Entry]:
    """Two solved threads: one the asker's (to be forgotten), one another member's."""
    mine = thread("CSV export breaks", "Export fails", ["Use UTF-8"], asker=ASKER)
    theirs = thread("SSO loop", "Login loops", ["Clear cookies"], asker=OTHER, answerer=OTHER)
    for t in (mine, theirs):
        await kb.capture(t, reply_ids(t))
    mine_entry = await kb.entry_for_thread(mine.thread_id)
    theirs_entry = await kb.entry_for_thread(theirs.thread_id)
    assert mine_entry is not None and theirs_entry is not None
    return mine_entry, theirs_entry


async def show(kb: KnowledgeBase, post: int, entry_ids: list[int], guild: int = GUILD) -> None:
    query = Query(guild_id=guild, text="how do I export", exclude_thread_id=post)
    entries = [await kb.entry(i) for i in entry_ids]
    suggestions = [
        Suggestion(entry=e, score=0.8, dense=0.8, lexical=0.5, signals=("dense",))
        for e in entries
        if e is not None
    ]
    await kb.record_shown(query, suggestions, asker_id=OTHER.id)


async def test_forgetting_queues_every_post_that_showed_the_member_s_entries(tmp_path: Path):
    kb = await open_kb(tmp_path)
    try:
        mine_entry, theirs_entry = await two_members_entries(kb)
        await show(kb, NEW_POST, [mine_entry.id, theirs_entry.id])
        await show(kb, OTHER_POST, [theirs_entry.id])
        solved_post = next_id()
        await kb.record_feedback(
            mine_entry.id,
            guild_id=GUILD,
            thread_id=solved_post,
            user_id=OTHER.id,
            kind=FeedbackKind.SOLVED_BY_SUGGESTION,
        )
        assert await kb.due_retractions() == []

        await kb.forget_member(ASKER.id)

        due = await kb.due_retractions()
        assert {(r.channel_id, r.entry_id, r.entry_thread_id) for r in due} == {
            (NEW_POST, mine_entry.id, mine_entry.thread_id),
            (solved_post, mine_entry.id, mine_entry.thread_id),
        }
        assert all(r.guild_id == GUILD for r in due)
        for r in due:
            await kb.finish_retraction(r)
        assert await kb.due_retractions() == []
    finally:
        await kb.close()


async def test_a_deleted_post_is_retracted_too_but_a_forgotten_server_is_not(tmp_path: Path):
    kb = await open_kb(tmp_path)
    try:
        here = thread("Webhook retries", "Webhooks stop", ["Re-enable them"], answerer=HELPER)
        there = thread("Webhook retries", "Webhooks stop", ["Re-enable"], guild_id=OTHER_GUILD)
        for t in (here, there):
            await kb.capture(t, reply_ids(t))
        here_entry = await kb.entry_for_thread(here.thread_id)
        there_entry = await kb.entry_for_thread(there.thread_id)
        assert here_entry is not None and there_entry is not None
        await show(kb, NEW_POST, [here_entry.id])
        await show(kb, OTHER_POST, [there_entry.id], guild=OTHER_GUILD)

        await kb.post_deleted(here.thread_id)
        await kb.forget_guild(OTHER_GUILD)

        [due] = await kb.due_retractions()
        assert (due.channel_id, due.entry_id) == (NEW_POST, here_entry.id)

        # Senpai was removed from the server: it cannot edit there, so its rows wait
        # (and go with the server) instead of holding up other servers' retractions.
        await kb.guild_left(GUILD)
        assert await kb.due_retractions() == []
        await kb.guild_joined(GUILD)
        assert [r.id for r in await kb.due_retractions()] == [due.id]
    finally:
        await kb.close()


def suggestion_message(entries: list[tuple[int, int]]) -> discord.Message:
    """A stand-in for Senpai's suggestion message listing (entry id, thread id) pairs,
    with the buttons :func:`cogs.suggest.suggestion_view` gives it."""
    embed = discord.Embed(title="Someone already faced this")
    for n, (_, thread_id) in enumerate(entries, start=1):
        embed.add_field(
            name=f"#{n} Title {thread_id}",
            value=f"[Open](https://discord.com/channels/{GUILD}/{thread_id}) · by Ben",
            inline=False,
        )
    view = suggestion_view([entry_id for entry_id, _ in entries], "en")
    row = SimpleNamespace(children=[SimpleNamespace(custom_id=i.custom_id) for i in view.children])
    return SimpleNamespace(content="", embeds=[embed], components=[row])  # type: ignore[return-value]


def note(content: str) -> discord.Message:
    return SimpleNamespace(content=content, embeds=[], components=[])  # type: ignore[return-value]


def retraction(entry_id: int, thread_id: int) -> Retraction:
    return Retraction(1, GUILD, NEW_POST, entry_id, thread_id)


def test_a_suggestion_loses_the_removed_entry_and_is_renumbered():
    message = suggestion_message([(11, 111), (22, 222), (33, 333)])
    assert suggested_ids(message.components) == [11, 22, 33]

    edit = plan(message, retraction(22, 222), "en")

    assert edit is not None and not edit.delete and edit.embed is not None
    assert [f.name for f in edit.embed.fields] == ["#1 Title 111", "#2 Title 333"]
    assert edit.entry_ids == (11, 33)
    assert edit.embed.title == "Someone already faced this"


def test_a_suggestion_of_only_the_removed_entry_is_deleted():
    edit = plan(suggestion_message([(11, 111)]), retraction(11, 111), "en")
    assert edit is not None and edit.delete


def test_messages_that_do_not_show_the_entry_are_left_alone():
    assert plan(suggestion_message([(11, 111)]), retraction(99, 999), "en") is None

    assert plan(note("Thanks everyone"), retraction(11, 111), "en") is None


def test_a_solved_by_note_linking_the_entry_is_replaced_by_one_that_names_nothing():
    solved = note(
        f"✅ Solved by an earlier thread: [CSV](https://discord.com/channels/{GUILD}/111)"
    )

    edit = plan(solved, retraction(11, 111), "ja")
    assert edit is not None and edit.content is not None
    assert "111" not in edit.content and "CSV" not in edit.content
    assert "削除" in edit.content
    # A link to a thread whose id merely starts the same is not a match.
    assert plan(solved, retraction(11, 11), "en") is None


STAFF, LISTING = 77, 7_000


async def test_a_lead_of_a_staff_message_is_queued_for_its_channel_and_goes_with_the_server(
    tmp_path: Path,
):
    kb = await open_kb(tmp_path)
    try:
        mine_entry, theirs_entry = await two_members_entries(kb)
        waiting = next_id()
        asked = datetime(2026, 5, 1, tzinfo=UTC)
        due = DueEscalation(waiting, GUILD, 3, OTHER.id, asked, STAFF)
        assert await kb.community.claim_escalation(due)
        leads = [(e.id, e.thread_id) for e in (mine_entry, theirs_entry)]
        await kb.community.set_escalation_message(waiting, STAFF, LISTING, leads)
        assert await kb.community.lead_messages(STAFF, mine_entry.id) == [LISTING]

        await kb.forget_member(ASKER.id)

        due_now = await kb.due_retractions()
        assert [(r.channel_id, r.entry_id, r.entry_thread_id) for r in due_now] == [
            (STAFF, mine_entry.id, mine_entry.thread_id)
        ]
        await kb.finish_retraction(due_now[0])
        assert await kb.community.lead_messages(STAFF, mine_entry.id) == []
        assert await kb.community.lead_messages(STAFF, theirs_entry.id) == [LISTING]

        await kb.forget_guild(GUILD)
        assert await kb.community.lead_messages(STAFF, theirs_entry.id) == []
    finally:
        await kb.close()


def staff_message(thread_ids: list[int]) -> discord.Message:
    embed = discord.Embed(title="Cannot log in", url=f"https://discord.com/channels/{GUILD}/5")
    lines = [f"[Title {i}](https://discord.com/channels/{GUILD}/{i}) · close" for i in thread_ids]
    embed.add_field(name="Closest solved threads", value="\n".join(lines), inline=False)
    return SimpleNamespace(content="🔔", embeds=[embed], components=[])  # type: ignore[return-value]


def test_a_staff_message_loses_only_the_removed_lead_s_line():
    embed = without_lead(staff_message([111, 222]), 111, "en")
    assert embed is not None
    assert embed.fields[0].value == f"[Title 222](https://discord.com/channels/{GUILD}/222) · close"
    assert embed.title == "Cannot log in" and embed.url is not None

    alone = without_lead(staff_message([111]), 111, "ja")
    assert alone is not None and alone.fields[0].value == "近い解決済みスレッドはありません。"
    assert without_lead(staff_message([222]), 111, "en") is None
    assert without_lead(note("🗑️"), 111, "en") is None
