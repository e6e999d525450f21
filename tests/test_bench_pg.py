"""The PostgreSQL bulk loader and bench/pg_speed.py, on a small base.

Run against the server named by ``SENPAI_TEST_DATABASE_URL`` (``scripts/test.sh``
starts a throw-away one); skipped without it locally, failed without it in CI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench import pg_speed, synthetic
from knowledge import lexical
from knowledge.models import PUBLIC_SCOPE
from knowledge.store import KnowledgeStore
from tests.databases import fresh_postgres

SEED = 5
COUNT = 60
SHARE = 0.7


async def _dump(url: str) -> dict[str, list[Any]]:
    columns = (
        "id, guild_id, forum_id, thread_id, title, question, question_message_id, "
        "asker_id, asker_name, tags, asked_at, solved_at, jump_url, language, scope, "
        "hits, revision"
    )
    conn = await asyncpg.connect(url)
    try:
        queries = {
            "entries": f"SELECT {columns} FROM entries ORDER BY id",
            "parts": "SELECT * FROM answer_parts ORDER BY entry_id, position",
            "text": "SELECT * FROM entry_text ORDER BY entry_id",
            "terms": "SELECT * FROM entry_terms ORDER BY entry_id, term",
            "stats": "SELECT * FROM lexical_stats ORDER BY guild_id",
            "frequencies": "SELECT * FROM term_frequencies ORDER BY guild_id, term",
            "scopes": "SELECT * FROM lexical_scopes ORDER BY guild_id, scope",
            "revision": "SELECT value FROM kb_meta WHERE key = 'revision'",
            "tombstones": "SELECT * FROM tombstones",
        }
        return {name: [tuple(r) for r in await conn.fetch(sql)] for name, sql in queries.items()}
    finally:
        await conn.close()


async def _lookups(store: KnowledgeStore) -> list[Any]:
    """What the retriever asks the store, for a few questions in two servers."""
    answers: list[Any] = []
    for text in synthetic.queries(SEED, 6):
        terms = lexical.terms(text)
        for guild in (synthetic.GUILD_MAIN, synthetic.other_guild(1)):
            options: dict[str, Any] = {
                "guild_id": guild,
                "scopes": [PUBLIC_SCOPE],
                "exclude_thread_id": None,
                "limit": 20,
            }
            answers.append(await store.term_search(terms, **options))
            answers.append(await store.substring_search(["E1042", "429", "SAML"], **options))
            answers.append(await store.term_frequencies(guild, terms))
    return answers


async def test_a_bulk_loaded_postgresql_base_holds_and_answers_what_the_write_path_gives(
    tmp_path: Path,
):
    items = list(synthetic.entries(SEED, 0, COUNT, main_share=SHARE))
    async with fresh_postgres() as api_url, fresh_postgres() as bulk_url:
        api = await KnowledgeStore.open(tmp_path / "api.db", database_url=api_url)
        try:
            await synthetic.insert_via_api(api, items)
            api_answers = await _lookups(api)
        finally:
            await api.close()
        bulk = await KnowledgeStore.open(tmp_path / "bulk.db", database_url=bulk_url)
        await bulk.close()
        await synthetic.bulk_insert_pg(bulk_url, SEED, COUNT, main_share=SHARE, chunk=25)

        assert await _dump(bulk_url) == await _dump(api_url)
        bulk = await KnowledgeStore.open(tmp_path / "bulk.db", database_url=bulk_url)
        try:
            assert await _lookups(bulk) == api_answers
            assert any(api_answers), "the lookups found nothing: the comparison proves little"
            assert await bulk.revision() == COUNT
            # The identity sequence moved past the loaded ids: the next capture gets a new one.
            extra = synthetic.entry(SEED, COUNT, main_share=SHARE)
            entry, created = await bulk.upsert_entry(extra.draft())
            assert created and entry.id == COUNT + 1
            assert await bulk.revision() == COUNT + 1
        finally:
            await bulk.close()


async def test_the_bulk_loader_refuses_a_database_that_already_holds_entries(tmp_path: Path):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            await synthetic.insert_via_api(store, list(synthetic.entries(SEED, 0, 3)))
        finally:
            await store.close()
        with pytest.raises(ValueError, match="already holds 3 entries"):
            await synthetic.bulk_insert_pg(url, SEED, 10)


async def test_a_tiny_bulk_run_times_each_engine_and_step_and_reuses_its_bases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    async with fresh_postgres() as url:
        argv = [
            "--database-url",
            url,
            "--size",
            "80",
            "--queries",
            "12",
            "--shape",
            "multi",
            "--bulk",
            "--data-dir",
            str(tmp_path),
        ]
        first = await pg_speed.main(argv)
        for engine in ("sqlite", "postgresql"):
            for server in ("main_server", "small_server"):
                figures = first[engine][server]
                assert figures["p99_ms"] >= figures["p50_ms"] > 0
                assert set(figures["steps"]) == {*pg_speed.STEPS, "other"}
                assert figures["entries"] == first["sqlite"][server]["entries"]
            main = first[engine]["main_server"]
            assert main["entries"] > 0
            assert main["steps"]["lexical"]["p50_ms"] > 0  # the steps were timed
            assert first[engine]["fill_seconds"] > 0
        assert "| main server (" in capsys.readouterr().out

        again = await pg_speed.main(argv)
        assert again["sqlite"]["fill_seconds"] == again["postgresql"]["fill_seconds"] == 0

        with pytest.raises(SystemExit, match="not a 'one' base of 80"):
            await pg_speed.main([*argv[:6], "--shape", "one", "--bulk", "--engines", "postgresql"])


def test_the_shapes_put_ten_thousand_entries_in_the_main_server_of_a_multi_server_base():
    assert pg_speed.spread("multi", 100_000) == (0.1, 999)
    assert pg_speed.spread("one", 100_000) == (0.9, 39)
    with pytest.raises(SystemExit, match="unknown shape"):
        pg_speed.spread("ring", 10)
