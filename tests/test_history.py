"""Question history read from whole threads: the pure reading, the merge with live
records, and what `senpai import` records for every thread it reads."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase
from knowledge.history import question_history
from knowledge.importer import import_exports
from knowledge.models import Author, Message, Thread
from tests.builders import ASKER, BOT, FORUM, GUILD, HELPER, OTHER, START, next_id

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "community"
STAFF = 7_000_000_000_000_000_001
STAFF_HELPER = dataclasses.replace(HELPER, roles=(STAFF,))


def post(*replies: tuple[Author, int, str], title: str = "Login loop") -> Thread:
    """A post asked at START whose replies come ``minutes`` after it."""
    thread_id = next_id()
    messages = [Message(thread_id, ASKER, "I cannot log in, it loops", START)]
    for author, minutes, text in replies:
        messages.append(Message(next_id(), author, text, START + timedelta(minutes=minutes)))
    return Thread(GUILD, FORUM, thread_id, title, tuple(messages))


def test_the_first_reply_is_the_earliest_by_someone_else_and_not_a_bot():
    thread = post(
        (BOT, 1, "Someone already faced this"),
        (ASKER, 2, "Any idea?"),
        (STAFF_HELPER, 9, "Clear the cookies."),
        (OTHER, 12, "Same here"),
    )
    history = question_history(thread)
    assert history is not None
    assert history.asked_at == START and history.asker_id == ASKER.id
    assert history.first_reply_at == START + timedelta(minutes=9)
    assert history.first_reply_roles == (STAFF,)
    assert history.solved_at is None


def test_a_solved_thread_is_solved_when_its_answer_was_written_and_titles_are_masked():
    thread = post(
        (HELPER, 5, "Try again"),
        (OTHER, 20, "Clear the cookies."),
        (ASKER, 30, "Thanks, that fixed it!"),
        title="Login loop for aiko@example.com",
    )
    answer = thread.messages[2].id
    history = question_history(thread, [answer])
    assert history is not None
    assert history.solved_at == START + timedelta(minutes=20)
    assert history.first_reply_roles is None  # the source did not say
    assert "aiko@example.com" not in history.title and history.title.startswith("Login loop")


def test_a_thread_with_no_replies_is_asked_and_nothing_else():
    history = question_history(post())
    assert history is not None
    assert (history.first_reply_at, history.first_reply_roles, history.solved_at) == (
        None,
        None,
        None,
    )


@pytest.fixture
async def kb(tmp_path: Path, database_url: str | None):
    base = await KnowledgeBase.open(tmp_path / "data", HashingEncoder(), database_url=database_url)
    yield base
    await base.close()


async def test_history_fills_what_live_records_lack_and_never_overwrites_them(kb):
    live = post((STAFF_HELPER, 5, "Clear the cookies."), (ASKER, 30, "Thanks, that fixed it!"))
    await kb.community.record_question(
        thread_id=live.thread_id,
        guild_id=GUILD,
        forum_id=FORUM,
        asker_id=ASKER.id,
        asked_at=START,
        title="Live title",
    )
    await kb.community.record_reply(live.thread_id, START + timedelta(minutes=7), roles=())
    await kb.record_history([live])
    record = await kb.community.question(live.thread_id)
    assert record is not None
    assert record.title == "Live title"
    assert record.first_reply_at == START + timedelta(minutes=7)  # the bot saw it
    assert record.first_reply_roles == ()
    assert record.solved_at == START + timedelta(minutes=5)  # the history knew it
    assert record.solved_via == "history"

    await kb.community.record_solved(live.thread_id, START + timedelta(hours=2), via="marked")
    await kb.record_history([live])
    record = await kb.community.question(live.thread_id)
    assert record is not None
    assert (record.solved_at, record.solved_via) == (START + timedelta(hours=2), "marked")


async def test_recording_the_same_history_twice_changes_nothing(kb):
    open_post = post((HELPER, 4, "Which browser?"))
    assert await kb.record_history([open_post]) == 1
    first = await kb.community.question(open_post.thread_id)
    assert first is not None and first.solved_at is None and first.solved_via is None
    await kb.record_history([open_post])
    assert await kb.community.question(open_post.thread_id) == first


async def test_a_history_from_another_server_leaves_the_record_alone(kb):
    original = post((HELPER, 4, "Which browser?"))
    await kb.record_history([original])
    moved = dataclasses.replace(
        original,
        guild_id=GUILD + 1,
        messages=(*original.messages, Message(next_id(), OTHER, "x", START)),
    )
    await kb.record_history([moved])
    record = await kb.community.question(original.thread_id)
    assert record is not None and record.first_reply_at == START + timedelta(minutes=4)
    assert await kb.community.questions_asked(GUILD + 1, START, START + timedelta(1)) == []


async def test_nothing_of_an_opted_out_askers_post_is_kept(kb):
    await kb.set_opt_out(ASKER.id, True)
    thread = post((HELPER, 4, "Which browser?"))
    assert await kb.record_history([thread]) == 0
    assert await kb.community.question(thread.thread_id) is None


async def test_import_records_the_history_of_every_thread_read_solved_or_not(kb):
    report = await import_exports(kb, [SAMPLES])
    assert report.read == 16 and report.histories == 16
    wide = (START - timedelta(days=3650), START + timedelta(days=3650))

    async def stored() -> list:
        rows = []
        for guild in await kb.report_guild_ids():
            rows += await kb.community.questions_asked(guild, *wide)
        return rows

    rows = await stored()
    assert len(rows) == 16
    solved = [r for r in rows if r.solved_at is not None]
    assert len(solved) == report.captured == 13
    assert {r.solved_via for r in solved} == {"history"}
    for row in solved:
        entry = await kb.entry_for_thread(row.thread_id)
        assert entry is not None and entry.solved_at == row.solved_at
        assert row.first_reply_at is not None and row.asked_at < row.first_reply_at
    assert any(r.first_reply_roles for r in rows)  # the exports list authors' roles
    again = await import_exports(kb, [SAMPLES])
    assert again.histories == 16
    assert await stored() == rows
