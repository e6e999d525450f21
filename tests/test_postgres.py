"""PostgreSQL as the shared store: statement translation, migrations, lexical search
that scores as FTS5 does, several processes on one database, and deletion.

The pure tests always run; the others need a server (``SENPAI_TEST_DATABASE_URL``,
which ``scripts/test.sh`` provides) and skip without one, except in CI.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.db import DatabaseError, redact
from knowledge.db_postgres import UnsupportedStatement, translate
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.migrator import SchemaTooNew, load_migrations
from knowledge.migrator_pg import load_pg_migrations
from knowledge.models import Query
from knowledge.store import KnowledgeStore
from senpai.cli import main
from tests.builders import GUILD, HELPER, OTHER_GUILD, reply_ids, thread
from tests.databases import fresh_postgres
from tests.test_store import GUILD as DRAFT_GUILD
from tests.test_store import draft

CONFIG = SearchConfig(threshold=0.35, dense_weight=0.5)
SSO = (
    "SAML login fails after enabling single sign-on",
    "Since we enabled SAML single sign-on, every login fails with an invalid signature error.",
    ["Re-upload the IdP signing certificate in Admin > Security; the old one expired."],
)
CSV = (
    "CSVインポートで文字化けする",
    "顧客データのCSVをインポートすると日本語が文字化けしてしまいます。",
    ["ExcelでShift_JISのまま保存されています。UTF-8で保存し直してからインポートしてください。"],
)

# -- translation (pure) ----------------------------------------------------------------


def test_placeholders_are_numbered_outside_literals_quoted_names_and_comments():
    sql = "SELECT '?', \"a?b\", x FROM t -- why?\nWHERE a = ? AND b IN (?, ?) AND c = 'it''s ?'"
    assert translate(sql) == (
        "SELECT '?', \"a?b\", x FROM t -- why?\nWHERE a = $1 AND b IN ($2, $3) AND c = 'it''s ?'"
    )


def test_insert_or_ignore_becomes_on_conflict_do_nothing_before_returning():
    assert translate("INSERT OR IGNORE INTO t (a) VALUES (?)") == (
        "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING"
    )
    assert translate("INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING id") == (
        "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id"
    )


def test_insert_or_replace_is_refused_with_what_to_write_instead():
    with pytest.raises(UnsupportedStatement, match="ON CONFLICT"):
        translate("INSERT OR REPLACE INTO t (a) VALUES (?)")


def test_the_stores_statements_need_no_sqlite_only_upsert():
    for module in ("store", "community"):
        source = (Path(__file__).parents[1] / "knowledge" / f"{module}.py").read_text("utf-8")
        assert "INSERT OR" not in source, module


def test_a_url_is_shown_without_its_password():
    assert redact("postgresql://bot:s3cret@db.example:5433/senpai") == (
        "postgresql://bot:***@db.example:5433/senpai"
    )
    assert redact("postgresql://bot@/senpai?host=/tmp/x") == "postgresql://bot@/senpai?host=/tmp/x"


def test_every_sqlite_migration_has_a_postgresql_counterpart_with_the_same_number():
    sqlite = {m.version: m.name for m in load_migrations()}
    postgres = {m.version: m.name for m in load_pg_migrations()}
    missing = sorted(set(sqlite) - set(postgres))
    assert not missing, f"port these migrations to knowledge/migrations_pg/: {missing}"
    assert postgres == sqlite


# -- clear one-line errors -------------------------------------------------------------


async def test_a_url_that_is_not_postgresql_is_refused(tmp_path: Path):
    with pytest.raises(DatabaseError, match="not a PostgreSQL URL"):
        await KnowledgeStore.open(tmp_path / "kb.db", database_url="mysql://bot@db/senpai")


async def test_an_unreachable_server_gets_one_line_without_the_password(tmp_path: Path):
    url = "postgresql://bot:s3cret@127.0.0.1:1/senpai"
    with pytest.raises(DatabaseError) as caught:
        await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
    message = str(caught.value)
    assert message.startswith("cannot use PostgreSQL at postgresql://bot:***@127.0.0.1:1/senpai")
    assert "s3cret" not in message and "\n" not in message


async def test_a_missing_driver_says_which_extra_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(DatabaseError, match=r"senpai\[postgres\]"):
        await KnowledgeStore.open(tmp_path / "kb.db", database_url="postgresql://bot@db/senpai")


# -- migrations --------------------------------------------------------------------------


async def _schema_version(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT version FROM senpai_schema"))
    finally:
        await conn.close()


async def test_a_new_database_is_migrated_to_the_latest_version_once(tmp_path: Path):
    async with fresh_postgres() as url:
        # Two processes opening a new database at once: each migration applies once.
        first, second = await asyncio.gather(
            KnowledgeStore.open(tmp_path / "a.db", database_url=url),
            KnowledgeStore.open(tmp_path / "b.db", database_url=url),
        )
        assert first.store_id == second.store_id
        await first.close()
        await second.close()
        assert await _schema_version(url) == len(load_pg_migrations())
        assert not (tmp_path / "a.db").exists()


async def test_a_database_from_a_newer_version_is_refused(tmp_path: Path):
    import asyncpg

    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        await store.close()
        conn = await asyncpg.connect(url)
        await conn.execute("UPDATE senpai_schema SET version = 999")
        await conn.close()
        with pytest.raises(SchemaTooNew, match="upgrade Senpai"):
            await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)


async def test_a_read_only_open_cannot_write(tmp_path: Path):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        await store.upsert_entry(draft(1))
        await store.close()
        reader = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url, readonly=True)
        try:
            assert (await reader.get_entry_by_thread(1)) is not None
            with pytest.raises(DatabaseError, match="read-only"):
                await reader.upsert_entry(draft(2))
        finally:
            await reader.close()


# -- lexical search scores as FTS5 does ------------------------------------------------

DOCS = [
    ("SAML login fails", "Re-upload the IdP certificate, the SAML signature expired."),
    ("CSVインポートで文字化け", "Shift_JISのCSVをUTF-8で保存し直してからインポートしてください。"),
    ("Webhook retries", "Respond within 5 seconds or the webhook retries the delivery."),
    ("SSO loop on mobile", "Clear the app cache; the SAML session cookie is stale."),
    ("請求書の再発行", "管理画面の請求書タブから再発行できます。CSVでも出力できます。"),
]


async def _ranked(store: KnowledgeStore, text: str) -> list[tuple[int, float]]:
    from knowledge import lexical

    return await store.term_search(lexical.terms(text), guild_id=10, scopes=["public"])


async def test_bm25_on_postgresql_equals_fts5_bm25_for_one_server(tmp_path: Path):
    async with fresh_postgres() as url:
        stores = [
            await KnowledgeStore.open(tmp_path / "kb.db"),
            await KnowledgeStore.open(tmp_path / "pg.db", database_url=url),
        ]
        try:
            for store in stores:
                for n, (title, body) in enumerate(DOCS, start=1):
                    await store.upsert_entry(draft(n, title=title, question=body))
            for text in ("SAML signature certificate", "CSVの文字化け", "請求書をCSVで出力"):
                sqlite, postgres = [await _ranked(s, text) for s in stores]
                assert [i for i, _ in postgres] == [i for i, _ in sqlite], text
                for (_, a), (_, b) in zip(sqlite, postgres, strict=True):
                    assert b == pytest.approx(a, rel=1e-6), text
        finally:
            for store in stores:
                await store.close()


async def test_lexical_statistics_are_the_asking_servers_own(tmp_path: Path):
    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            for n, (title, body) in enumerate(DOCS, start=1):
                await store.upsert_entry(draft(n, title=title, question=body))
            # Another server full of SAML threads changes nothing for server 10.
            before = await _ranked(store, "SAML signature certificate")
            for n in range(100, 130):
                await store.upsert_entry(draft(n, title="SAML SAML", guild_id=20))
            assert await _ranked(store, "SAML signature certificate") == before
            hits = await store.term_search(["saml"], guild_id=20, scopes=["public"], limit=50)
            assert len(hits) == 30
            await store.delete_guild(20)
            assert await store.term_search(["saml"], guild_id=20, scopes=["public"]) == []
            assert await store.term_frequencies(DRAFT_GUILD, ["saml"]) == ({"saml": 2}, len(DOCS))
        finally:
            await store.close()


# -- many processes, one truth -----------------------------------------------------------


def _ask(text: str, guild_id: int = GUILD) -> Query:
    return Query(guild_id=guild_id, text=text)


async def test_processes_sharing_one_database_see_each_others_captures_and_forgets(
    tmp_path: Path,
):
    async with fresh_postgres() as url:
        one = await KnowledgeBase.open(tmp_path / "one", HashingEncoder(), CONFIG, database_url=url)
        two = await KnowledgeBase.open(tmp_path / "two", HashingEncoder(), CONFIG, database_url=url)
        try:
            sso = thread(*SSO)
            captured = await one.capture(sso, reply_ids(sso))
            other = thread(*CSV, guild_id=OTHER_GUILD)
            await one.capture(other, reply_ids(other))
            found = await two.suggest(_ask("SAML single sign-on login error: invalid signature"))
            assert [s.entry.id for s in found][:1] == [captured.entry_id]

            # A process started later, with an empty data directory, builds its index
            # from the database.
            three = await KnowledgeBase.open(
                tmp_path / "three", HashingEncoder(), CONFIG, database_url=url
            )
            try:
                assert (await three.index_status()).entries == 2
                found = await three.suggest(_ask("SAML login fails with invalid signature"))
                assert [s.entry.id for s in found][:1] == [captured.entry_id]
            finally:
                await three.close()

            await one.forget_member(HELPER.id)
            assert await two.suggest(_ask("SAML single sign-on login error")) == []
            assert (await two.index_status()).entries == 0
            assert await two.suggest(_ask("CSVを取り込むと文字化けします", OTHER_GUILD)) == []
        finally:
            await one.close()
            await two.close()


# -- deletion ----------------------------------------------------------------------------


async def test_a_forget_leaves_no_rows_and_vacuums_the_tables(tmp_path: Path):
    import asyncpg

    async with fresh_postgres() as url:
        kb = await KnowledgeBase.open(tmp_path / "data", HashingEncoder(), database_url=url)
        try:
            csv = thread(*CSV)
            await kb.capture(csv, reply_ids(csv))
            await kb.forget_member(HELPER.id)
        finally:
            await kb.close()
        conn = await asyncpg.connect(url)
        try:
            for table in ("entries", "answer_parts", "entry_terms", "entry_text"):
                assert await conn.fetchval(f"SELECT COUNT(*) FROM {table}") == 0, table
            assert await conn.fetchval("SELECT COUNT(*) FROM lexical_stats") == 0
            vacuumed = await conn.fetch(
                "SELECT relname FROM pg_stat_user_tables "
                "WHERE last_vacuum IS NOT NULL AND schemaname = current_schema()"
            )
            assert {"entries", "answer_parts", "entry_terms", "entry_text"} <= {
                r["relname"] for r in vacuumed
            }
        finally:
            await conn.close()


# -- the command line --------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "community"


def test_the_command_line_refuses_a_bad_url_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    code = main(["--data-dir", str(tmp_path), "--database-url", "mysql://bot@db/x", "stats"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.startswith("senpai: the database URL 'mysql://bot@db/x' is not a PostgreSQL URL")
    assert err.count("\n") == 1


async def test_the_command_line_keeps_the_knowledge_base_in_postgresql(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    async with fresh_postgres() as url:
        data = str(tmp_path / "data")
        monkeypatch.setenv("SENPAI_DATABASE_URL", url)
        code = await asyncio.to_thread(main, ["--data-dir", data, "import", str(SAMPLES)])
        assert code == 0
        monkeypatch.delenv("SENPAI_DATABASE_URL")
        # The option after the subcommand works as well as the variable.
        argv = ["stats", "--data-dir", data, "--database-url", url]
        code = await asyncio.to_thread(main, argv)
        out, _ = capsys.readouterr()
        assert code == 0
        assert "entries: 13 in 2 guild(s)" in out
        assert "database: postgresql://" in out
        assert not (tmp_path / "data" / "senpai.db").exists()
        assert (tmp_path / "data" / "index").is_dir()


async def test_a_refused_statement_surfaces_as_a_database_error(tmp_path: Path):
    from knowledge.db_postgres import StatementFailed

    async with fresh_postgres() as url:
        store = await KnowledgeStore.open(tmp_path / "kb.db", database_url=url)
        try:
            with pytest.raises(StatementFailed, match="UndefinedTable"):
                async with store.db.reader.execute("SELECT * FROM no_such_table"):
                    pass
            assert isinstance(StatementFailed("x"), DatabaseError)
        finally:
            await store.close()
