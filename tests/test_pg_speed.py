"""What keeps PostgreSQL's lookups near SQLite's: one statement per shape, few round trips."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from knowledge import lexical
from knowledge.db_postgres import statement, translate
from knowledge.store import KnowledgeStore
from tests.databases import fresh_postgres
from tests.test_store import GUILD, OTHER_GUILD, draft

# -- IN lists as one array parameter (pure) ---------------------------------------------


def test_an_in_list_becomes_one_array_parameter_whatever_its_length():
    three = statement("SELECT id FROM entries e WHERE e.guild_id = ? AND e.id IN (?, ?, ?)")
    forty = statement(
        "SELECT id FROM entries e WHERE e.guild_id = ? AND e.id IN (" + ", ".join(["?"] * 40) + ")"
    )
    assert (
        three.sql
        == forty.sql
        == ("SELECT id FROM entries e WHERE e.guild_id = $1 AND e.id = ANY($2)")
    )
    assert three.bind((7, 1, 2, 3)) == (7, [1, 2, 3])
    assert forty.bind((7, *range(40))) == (7, list(range(40)))


def test_not_in_becomes_all_and_lists_mix_with_single_values_in_order():
    native = statement("DELETE FROM t WHERE a NOT IN (?,?) AND b = ? AND c IN (?) AND d = ?")
    assert native.sql == "DELETE FROM t WHERE a <> ALL($1) AND b = $2 AND c = ANY($3) AND d = $4"
    assert native.bind(("x", "y", 1, 2, 3)) == (["x", "y"], 1, [2], 3)


def test_lists_inside_literals_comments_and_subqueries_are_left_alone():
    sql = (
        "SELECT 'IN (?, ?)' FROM t -- IN (?, ?)\n"
        'WHERE a IN (SELECT b FROM u WHERE c = ?) AND "IN (?)" = ?'
    )
    native = statement(sql)
    assert native.sql == translate(sql)
    assert native.lists is None
    assert native.bind((1, 2)) == (1, 2)


def test_a_statement_without_lists_is_exactly_the_translation():
    for sql in (
        "INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING id",
        "UPDATE kb_meta SET value = ? WHERE key = 'revision'",
        "SELECT x FROM t JOIN (SELECT 1) s ON TRUE WHERE y = ?",
    ):
        assert statement(sql).sql == translate(sql)
        assert statement(sql).lists is None


# -- on a server ------------------------------------------------------------------------


async def test_lookups_by_lists_of_ids_answer_as_before_on_postgresql(tmp_path: Path):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            ids = []
            for n in range(1, 8):
                entry, _ = await store.upsert_entry(draft(n, title=f"topic {n}"))
                ids.append(entry.id)
            for wanted in (ids[:1], ids[2:5], ids):
                found = await store.get_entries(wanted, guild_id=10, scopes=["public"])
                assert sorted(found) == sorted(wanted)
                assert [found[i].title for i in wanted] == [
                    f"topic {ids.index(i) + 1}" for i in wanted
                ]
            assert await store.get_entries([*ids, 10_000]) == await store.get_entries(ids)
            assert await store.get_entries([ids[0]], guild_id=99) == {}
        finally:
            await store.close()


async def test_reads_through_the_pool_cost_one_round_trip_and_no_jit(tmp_path: Path):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            async with store.db.reader.execute("SHOW jit") as cur:
                assert (await cur.fetchone())[0] == "off"
            # A session setting made through the pool survives the release: the pool
            # does not reset sessions (the reads never change them).
            await store.db.reader.execute("SELECT set_config('application_name', 'probe', false)")
            names = set()
            for _ in range(8):
                async with store.db.reader.execute("SHOW application_name") as cur:
                    names.add((await cur.fetchone())[0])
            assert "probe" in names
        finally:
            await store.close()


# -- document frequencies kept with the postings ----------------------------------------


async def _counts(url: str, sql: str) -> dict[tuple[int, str], int]:
    """{(server, term): count} from ``sql``, which selects a server, a term and a count."""
    conn = await asyncpg.connect(url)
    try:
        return {(int(r[0]), str(r[1])): int(r[2]) for r in await conn.fetch(sql)}
    finally:
        await conn.close()


async def _recount(url: str) -> dict[tuple[int, str], int]:
    """Every server's document frequency of every term, counted from the postings."""
    return await _counts(
        url, "SELECT guild_id, term, COUNT(*) FROM entry_terms GROUP BY guild_id, term"
    )


async def _kept(url: str) -> dict[tuple[int, str], int]:
    """Every server's document frequency of every term, as the store keeps it."""
    return await _counts(url, "SELECT guild_id, term, documents FROM term_frequencies")


async def test_document_frequencies_follow_captures_edits_and_every_kind_of_forget(
    tmp_path: Path,
):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            await store.upsert_entry(draft(1, title="SAML login fails", asker_id=5))
            await store.upsert_entry(draft(2, title="Webhook retries", asker_id=6))
            await store.upsert_entry(
                draft(3, title="Zanzibarite quirk", asker_id=7, guild_id=OTHER_GUILD)
            )
            saml, webhook, rare = (lexical.terms(w)[0] for w in ("SAML", "Webhook", "Zanzibarite"))
            assert await _kept(url) == await _recount(url)
            terms = [saml, webhook, rare, "absent"]
            assert await store.term_frequencies(GUILD, terms) == ({saml: 1, webhook: 1}, 2)
            assert await store.term_frequencies(OTHER_GUILD, terms) == ({rare: 1}, 1)

            # Re-capturing with another title moves the counts, never double-counts.
            await store.upsert_entry(draft(2, title="Webhook webhook retries", asker_id=6))
            assert await _kept(url) == await _recount(url)
            assert await store.term_frequencies(GUILD, [webhook]) == ({webhook: 1}, 2)

            await store.delete_thread(1)
            assert await _kept(url) == await _recount(url)
            await store.forget_user(7)  # the only entry holding "zanzibarit"
            kept = await _kept(url)
            assert kept == await _recount(url)
            assert (OTHER_GUILD, rare) not in kept  # a forgotten member's words leave no count
            await store.delete_guild(GUILD)
            assert await _kept(url) == {}
        finally:
            await store.close()


async def test_the_migration_counts_what_an_older_database_already_holds(
    tmp_path: Path,
):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            for n in range(1, 6):
                await store.upsert_entry(draft(n, title=f"SAML login fails {n}"))
        finally:
            await store.close()
        expected = await _recount(url)
        conn = await asyncpg.connect(url)
        try:  # back to the schema before these migrations (13 and 14)
            await conn.execute("DROP TABLE term_frequencies, lexical_scopes")
            await conn.execute("DROP INDEX entry_text_guild")
            await conn.execute("UPDATE senpai_schema SET version = 12")
        finally:
            await conn.close()
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            assert await _kept(url) == expected
            saml = lexical.terms("SAML")[0]
            assert await store.term_frequencies(GUILD, [saml]) == ({saml: 5}, 5)
            assert await store.count(GUILD, ["public"]) == 5
        finally:
            await store.close()


async def test_the_count_of_visible_entries_follows_captures_scope_changes_and_forgets(
    tmp_path: Path,
):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:

            async def counted() -> list[int]:
                return [
                    await store.count(GUILD, ["public"]),
                    await store.count(GUILD, ["public", "private:30"]),
                    await store.count(GUILD, []),
                    await store.count(OTHER_GUILD, ["public"]),
                ]

            async def recounted() -> list[int]:
                conn = await asyncpg.connect(url)
                try:
                    return [
                        await conn.fetchval(
                            "SELECT COUNT(*) FROM entries WHERE guild_id = $1 "
                            "AND scope = ANY($2::text[])",
                            guild,
                            scopes,
                        )
                        for guild, scopes in (
                            (GUILD, ["public"]),
                            (GUILD, ["public", "private:30"]),
                            (GUILD, []),
                            (OTHER_GUILD, ["public"]),
                        )
                    ]
                finally:
                    await conn.close()

            await store.upsert_entry(draft(1, asker_id=5))
            await store.upsert_entry(draft(2, asker_id=6, scope="private:30"))
            await store.upsert_entry(draft(3, asker_id=7, guild_id=OTHER_GUILD))
            assert await counted() == await recounted() == [1, 2, 0, 1]
            await store.upsert_entry(draft(1, asker_id=5, scope="private:30"))  # moved
            assert await counted() == await recounted() == [0, 2, 0, 1]
            await store.forget_user(6)
            assert await counted() == await recounted() == [0, 1, 0, 1]
            await store.delete_guild(OTHER_GUILD)
            assert await counted() == await recounted() == [0, 1, 0, 0]
        finally:
            await store.close()
