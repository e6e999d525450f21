"""The knowledge store against a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from knowledge import lexical
from knowledge.migrator import Migration, SchemaTooNew, load_migrations, migrate
from knowledge.models import (
    PUBLIC_SCOPE,
    AnswerPart,
    EntryDraft,
    Feedback,
    FeedbackKind,
    private_scope,
)
from knowledge.store import KnowledgeStore, StoreError

GUILD, OTHER_GUILD, FORUM = 10, 20, 30
WHEN = datetime(2026, 4, 1, tzinfo=UTC)


def draft(
    thread_id: int,
    title: str = "Login fails with SAML error",
    question: str = "After enabling SSO nobody can log in.",
    answers: tuple[tuple[int, int, str], ...] = ((101, 7, "Re-upload the IdP certificate."),),
    *,
    guild_id: int = GUILD,
    scope: str = PUBLIC_SCOPE,
    asker_id: int = 5,
) -> EntryDraft:
    return EntryDraft(
        guild_id=guild_id,
        forum_id=FORUM,
        thread_id=thread_id,
        title=title,
        question=question,
        question_message_id=thread_id,
        answer_parts=tuple(
            AnswerPart(message_id, author, f"user{author}", text)
            for message_id, author, text in answers
        ),
        asker_id=asker_id,
        asker_name=f"user{asker_id}",
        tags=("sso",),
        asked_at=WHEN,
        solved_at=WHEN,
        jump_url=f"https://discord.com/channels/{guild_id}/{thread_id}",
        language="en",
        scope=scope,
    )


@pytest.fixture
async def store(tmp_path: Path, database_url: str | None):
    s = await KnowledgeStore.open(tmp_path / "kb.db", database_url=database_url)
    yield s
    await s.close()


async def test_a_new_database_is_created_at_the_latest_schema_in_wal_mode(tmp_path: Path):
    s = await KnowledgeStore.open(tmp_path / "kb.db")
    await s.close()
    with sqlite3.connect(tmp_path / "kb.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == load_migrations()[-1].version
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_keeps_the_store_id_and_content(tmp_path: Path):
    s = await KnowledgeStore.open(tmp_path / "kb.db")
    store_id = s.store_id
    await s.upsert_entry(draft(1))
    await s.close()
    s = await KnowledgeStore.open(tmp_path / "kb.db")
    assert s.store_id == store_id
    assert (await s.get_entry_by_thread(1)) is not None
    await s.close()


async def test_a_database_from_a_newer_version_is_refused_with_a_clear_message(tmp_path: Path):
    with sqlite3.connect(tmp_path / "kb.db") as db:
        db.execute("PRAGMA user_version = 999")
    with pytest.raises(SchemaTooNew, match="upgrade Senpai"):
        await KnowledgeStore.open(tmp_path / "kb.db")


async def test_an_old_database_is_migrated_step_by_step(tmp_path: Path):
    migrations = load_migrations()
    path = tmp_path / "kb.db"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        assert await migrate(db, migrations[:1]) == 1
    s = await KnowledgeStore.open(path)
    await s.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == migrations[-1].version


async def test_a_failing_migration_leaves_the_previous_version_untouched(tmp_path: Path):
    broken = [
        Migration(1, "0001_ok.sql", "CREATE TABLE a (x INTEGER);"),
        Migration(2, "0002_bad.sql", "CREATE TABLE b (x INTEGER);\nINSERT INTO nope VALUES (1);"),
    ]
    async with aiosqlite.connect(tmp_path / "kb.db", isolation_level=None) as db:
        with pytest.raises(sqlite3.OperationalError):
            await migrate(db, broken)
        async with db.execute("PRAGMA user_version") as cur:
            assert (await cur.fetchone())[0] == 1
        async with db.execute("SELECT name FROM sqlite_master WHERE name = 'b'") as cur:
            assert await cur.fetchone() is None


def test_migration_scripts_split_into_complete_statements():
    statements = load_migrations()[0].statements()
    assert all(sqlite3.complete_statement(s + "\n") for s in statements)
    assert any("entries_fts" in s for s in statements)


async def test_recapturing_a_thread_updates_it_in_place_and_keeps_its_hits(store):
    first, created = await store.upsert_entry(draft(1))
    assert created
    await store.record_feedback(
        Feedback(first.id, GUILD, 99, 5, FeedbackKind.SOLVED_BY_SUGGESTION, WHEN)
    )
    second, created = await store.upsert_entry(
        draft(1, answers=((102, 8, "Actually: clock skew on the IdP."),))
    )
    assert not created
    assert second.id == first.id
    assert second.hits == 1
    assert second.answer == "Actually: clock skew on the IdP."
    assert second.answerer_id == 8


async def test_an_entry_without_an_answer_is_refused(store):
    with pytest.raises(StoreError):
        await store.upsert_entry(draft(1, answers=()))


async def test_answer_parts_keep_their_order(store):
    entry, _ = await store.upsert_entry(
        draft(1, answers=((201, 7, "First, open settings."), (202, 7, "Then re-upload.")))
    )
    assert [p.message_id for p in entry.answer_parts] == [201, 202]
    assert entry.answer == "First, open settings.\n\nThen re-upload."


async def test_every_change_bumps_the_revision_and_is_listed_as_a_change(store):
    start = await store.revision()
    a, _ = await store.upsert_entry(draft(1))
    b, _ = await store.upsert_entry(draft(2))
    await store.delete_thread(1)
    changes = await store.changes_since(start)
    assert changes.revision == start + 3
    assert changes.changed == (b.id,)
    assert changes.removed == (a.id,)
    assert (await store.changes_since(changes.revision)).changed == ()
    await store.prune_tombstones(changes.revision)
    assert (await store.changes_since(start)).removed == ()


async def test_deleting_one_part_of_a_multi_message_answer_updates_the_entry(store):
    await store.upsert_entry(draft(1, answers=((201, 7, "Step one."), (202, 8, "Step two."))))
    updated, removed = await store.remove_message(201)
    assert removed == []
    assert [p.message_id for p in updated[0].answer_parts] == [202]
    assert updated[0].answerer_id == 8


async def test_deleting_the_whole_answer_or_the_question_removes_the_entry(store):
    await store.upsert_entry(draft(1))
    await store.upsert_entry(draft(2, answers=((301, 7, "Yes."),)))
    _, removed = await store.remove_message(101)
    assert [e.thread_id for e in removed] == [1]
    _, removed = await store.remove_message(2)
    assert [e.thread_id for e in removed] == [2]
    assert await store.count() == 0


async def test_an_edited_answer_is_stored_and_searchable(store):
    entry, _ = await store.upsert_entry(draft(1))
    [edited] = await store.edit_message(101, "Rotate the signing certificate in the admin console.")
    assert edited.answer.startswith("Rotate")
    hits = await store.term_search(
        lexical.terms("rotate signing certificate"), guild_id=GUILD, scopes={PUBLIC_SCOPE}
    )
    assert [i for i, _ in hits] == [entry.id]
    assert await store.edit_message(999, "unrelated") == []


async def test_forgetting_a_user_removes_what_they_asked_and_answered(store):
    asked, _ = await store.upsert_entry(draft(1, asker_id=5))
    answered, _ = await store.upsert_entry(draft(2, asker_id=6, answers=((401, 5, "Try this."),)))
    kept, _ = await store.upsert_entry(draft(3, asker_id=6, answers=((402, 7, "Other."),)))
    await store.record_feedback(Feedback(kept.id, GUILD, 50, 5, FeedbackKind.NOT_RELEVANT, WHEN))
    removed = await store.forget_user(5)
    assert set(removed.entry_ids) == {asked.id, answered.id}
    assert set(removed.thread_ids) == {1, 2}
    assert removed.feedback_count == 1
    assert await store.get_entry(kept.id) is not None
    assert await store.feedback_for(kept.id) == []
    assert await store.get_entry(asked.id) is None


async def test_filters_are_applied_in_sql_for_guild_scope_and_own_thread(store):
    public, _ = await store.upsert_entry(draft(1))
    private, _ = await store.upsert_entry(draft(2, scope=private_scope(FORUM)))
    other, _ = await store.upsert_entry(draft(3, guild_id=OTHER_GUILD))
    ids = [public.id, private.id, other.id]
    assert set(await store.get_entries(ids, guild_id=GUILD, scopes={PUBLIC_SCOPE})) == {public.id}
    both = await store.get_entries(ids, guild_id=GUILD, scopes={PUBLIC_SCOPE, private_scope(FORUM)})
    assert set(both) == {public.id, private.id}
    assert (
        await store.get_entries(ids, guild_id=GUILD, scopes={PUBLIC_SCOPE}, exclude_thread_id=1)
        == {}
    )
    assert await store.get_entries(ids, guild_id=GUILD, scopes=set()) == {}
    assert await store.count(GUILD, {PUBLIC_SCOPE}) == 1


async def test_japanese_text_is_found_by_its_two_character_words(store):
    entry, _ = await store.upsert_entry(
        draft(
            1,
            title="CSVインポートで文字化けする",
            question="請求データのCSVを取り込むと日本語が文字化けします。",
            answers=((501, 7, "Shift_JISではなくUTF-8で保存してから取り込んでください。"),),
        )
    )
    await store.upsert_entry(draft(2))
    for query in ("文字化け", "請求", "インポート"):
        hits = await store.term_search(lexical.terms(query), guild_id=GUILD, scopes={PUBLIC_SCOPE})
        assert [i for i, _ in hits] == [entry.id], query


async def test_queries_shorter_than_three_characters_use_a_substring_scan(store):
    entry, _ = await store.upsert_entry(
        draft(1, title="DB接続が切れる", question="DB connection drops every hour")
    )
    await store.upsert_entry(draft(2))
    for needle in ("DB", "db", "接続"):
        hits = await store.substring_search([needle], guild_id=GUILD, scopes={PUBLIC_SCOPE})
        assert [i for i, _ in hits] == [entry.id], needle
    hits = await store.substring_search(["100%"], guild_id=GUILD, scopes={PUBLIC_SCOPE})
    assert hits == []


async def test_identifiers_are_found_by_trigram_substrings(store):
    entry, _ = await store.upsert_entry(
        draft(1, question="Sync fails with error 0x80070005 on Windows")
    )
    hits = await store.substring_search(["0x80070005"], guild_id=GUILD, scopes={PUBLIC_SCOPE})
    assert [i for i, _ in hits] == [entry.id]


async def test_a_hostile_full_text_query_is_quoted_not_executed(store):
    await store.upsert_entry(draft(1))
    hits = await store.term_search(
        ['"); DROP TABLE entries; --', "NEAR(", "*"], guild_id=GUILD, scopes={PUBLIC_SCOPE}
    )
    assert hits == []
    assert await store.count() == 1


async def test_feedback_is_recorded_once_and_solved_counts_a_hit(store):
    entry, _ = await store.upsert_entry(draft(1))
    verdict = Feedback(entry.id, GUILD, 77, 5, FeedbackKind.SOLVED_BY_SUGGESTION, WHEN)
    assert await store.record_feedback(verdict)
    assert not await store.record_feedback(verdict)
    assert (await store.get_entry(entry.id)).hits == 1
    wrong_guild = Feedback(entry.id, OTHER_GUILD, 77, 6, FeedbackKind.HELPFUL, WHEN)
    assert not await store.record_feedback(wrong_guild)


async def test_term_frequencies_count_the_asking_servers_entries_per_term(store):
    await store.upsert_entry(draft(1, question="webhook retries fail"))
    await store.upsert_entry(draft(2, question="webhook signature invalid"))
    terms = ["webhook", "signature", "absent"]
    assert await store.term_frequencies(GUILD, terms) == ({"webhook": 2, "signature": 1}, 2)
    # Another server's threads change nothing for this one, and the reverse.
    for n in range(3, 8):
        await store.upsert_entry(draft(n, question="webhook webhook", guild_id=OTHER_GUILD))
    assert await store.term_frequencies(GUILD, terms) == ({"webhook": 2, "signature": 1}, 2)
    assert await store.term_frequencies(OTHER_GUILD, terms) == ({"webhook": 5}, 5)
    assert await store.term_frequencies(999, terms) == ({}, 0)


async def _recounted(store: KnowledgeStore) -> dict[tuple[int, str], int]:
    """Every server's document frequency of every term, counted from the indexed text."""
    counts: dict[tuple[int, str], int] = {}
    for row in await store.term_documents(limit=10_000):
        for term in set(row.title_terms.split()) | set(row.body_terms.split()):
            counts[(row.guild_id, term)] = counts.get((row.guild_id, term), 0) + 1
    return counts


async def _kept(store: KnowledgeStore, vocabulary: set[str]) -> dict[tuple[int, str], int]:
    """What the store answers for every term of ``vocabulary`` in both servers."""
    kept: dict[tuple[int, str], int] = {}
    for guild in (GUILD, OTHER_GUILD):
        freqs, total = await store.term_frequencies(guild, sorted(vocabulary))
        assert total == await store.count(guild)
        kept.update({(guild, term): n for term, n in freqs.items()})
    return kept


async def test_term_frequencies_follow_recaptures_moves_removals_and_forgets(store):
    await store.upsert_entry(draft(1, title="SAML login fails", asker_id=5))
    await store.upsert_entry(
        draft(
            2,
            title="Webhook retries",
            answers=((201, 8, "Check the signature."), (202, 9, "Rotate the secret.")),
        )
    )
    await store.upsert_entry(draft(3, title="Zanzibarite quirk", asker_id=7, guild_id=OTHER_GUILD))
    steps = [
        store.remove_message(202),  # one answer part of thread 2 goes
        # A re-capture with other words moves the counts and never counts a term twice.
        store.upsert_entry(draft(2, title="Webhook webhook expired")),
        # A re-capture that moves the thread to another server moves its counts there.
        store.upsert_entry(draft(1, title="SAML login fails", guild_id=OTHER_GUILD)),
        store.delete_thread(2),
        store.forget_user(7),
        store.delete_guild(OTHER_GUILD),
    ]
    vocabulary: set[str] = set()  # every term held so far: the gone ones must count 0
    expected = await _recounted(store)
    for step in [*steps, None]:
        expected = await _recounted(store)
        vocabulary |= {term for _, term in expected}
        assert await _kept(store, vocabulary) == expected
        if step is not None:
            await step
    assert expected == {}
    assert {"rotate", "secret", "zanzibarite"} <= vocabulary


async def test_the_migration_counts_what_an_older_sqlite_database_holds(tmp_path: Path):
    s = await KnowledgeStore.open(tmp_path / "kb.db")
    for n in range(1, 4):
        await s.upsert_entry(draft(n, title=f"SAML login fails {n}"))
    await s.upsert_entry(draft(9, title="SAML again", guild_id=OTHER_GUILD))
    expected = await _recounted(s)
    await s.close()
    with sqlite3.connect(tmp_path / "kb.db") as db:  # back to the schema before it
        db.execute("DROP TABLE term_frequencies")
        db.execute("PRAGMA user_version = 13")
    s = await KnowledgeStore.open(tmp_path / "kb.db")
    try:
        saml = lexical.terms("SAML")[0]
        assert await s.term_frequencies(GUILD, [saml]) == ({saml: 3}, 3)
        assert await s.term_frequencies(OTHER_GUILD, [saml]) == ({saml: 1}, 1)
        vocabulary = {term for _, term in expected}
        assert await _kept(s, vocabulary) == expected
    finally:
        await s.close()


async def test_stats_count_entries_languages_answerers_and_feedback(store):
    a, _ = await store.upsert_entry(draft(1))
    await store.upsert_entry(draft(2, answers=((601, 7, "x"), (602, 8, "y"))))
    await store.upsert_entry(draft(3, guild_id=OTHER_GUILD))
    await store.record_feedback(Feedback(a.id, GUILD, 9, 5, FeedbackKind.HELPFUL, WHEN))
    stats = await store.stats(GUILD)
    assert stats.entries == 2
    assert stats.guilds == 1
    assert stats.answerers == 2
    assert stats.feedback == {"helpful": 1}
    assert stats.top_answerers[0] == (7, "user7", 2)
    assert (await store.stats()).entries == 3


async def test_iterating_documents_visits_every_entry_once_in_batches(store):
    for thread_id in range(1, 8):
        await store.upsert_entry(draft(thread_id))
    seen = [doc.id async for batch in store.iter_documents(batch_size=3) for doc in batch]
    assert len(seen) == len(set(seen)) == 7


async def test_a_writer_cancelled_at_any_point_of_its_transaction_leaves_none_open(
    tmp_path: Path,
):
    """A cog unloading mid-pass cancels its task wherever it is; every later write
    must still work (a BEGIN left open would fail them all)."""
    import asyncio

    store = await KnowledgeStore.open(tmp_path / "kb.db")
    db = store.db

    async def write(n: int) -> None:
        async with db.transaction() as conn:
            await conn.execute("UPDATE kb_meta SET value = value WHERE key = ?", (f"k{n}",))
            await asyncio.sleep(0)

    try:
        for n in range(40):
            task = asyncio.create_task(write(n))
            for _ in range(n % 5):  # cancel at a different point each time
                await asyncio.sleep(0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await write(n)  # the next transaction starts cleanly
    finally:
        await store.close()
