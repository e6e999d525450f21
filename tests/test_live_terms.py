"""The live term index over a real store: rebuilt from it, caught up from its change
log (also after another process wrote), forgetting, and lookups scoped to a server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tantivy

from index.encoder import HashingEncoder
from knowledge import lexical
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.live_terms import TERMS_DIR, LiveTermIndex
from knowledge.models import PUBLIC_SCOPE, Query
from knowledge.store import KnowledgeStore
from tests.builders import ASKER, GUILD, OTHER_GUILD, reply_ids, thread

ROOT = Path(__file__).resolve().parents[1]
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

# Another process: delete one thread's entry through its own store connection.
DELETE_ELSEWHERE = (
    "import asyncio, sys\n"
    "from pathlib import Path\n"
    "from knowledge.store import KnowledgeStore\n"
    "async def main():\n"
    "    store = await KnowledgeStore.open(Path(sys.argv[1]))\n"
    "    try:\n"
    "        assert await store.delete_thread(int(sys.argv[2])) is not None\n"
    "    finally:\n"
    "        await store.close()\n"
    "asyncio.run(main())\n"
)


@pytest.fixture
async def kb(tmp_path: Path):
    base = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    base.terms.serve_from = 0  # serve from the first entry (the product waits for 50k)
    yield base
    await base.close()


async def capture(kb: KnowledgeBase, spec, **kwargs):
    title, question, answers = spec
    t = thread(title, question, answers, **kwargs)
    result = await kb.capture(t, reply_ids(t))
    assert result.entry_id is not None
    return t, result.entry_id


async def term_hits(kb: KnowledgeBase, text: str, guild: int = GUILD) -> list[int]:
    index = await kb.terms.current()
    assert index is not None
    hits = index.search(lexical.terms(text), guild_id=guild, scopes={PUBLIC_SCOPE})
    return [i for i, _ in hits]


async def test_the_term_index_is_built_from_the_store_and_serves_suggestions(kb, tmp_path):
    _, sso = await capture(kb, SSO)
    _, csv = await capture(kb, CSV)
    assert await term_hits(kb, "SAML signing certificate") == [sso]
    assert await term_hits(kb, "CSVが文字化け") == [csv]
    # A new process with the same data directory finds the index saved, at the revision.
    other = LiveTermIndex(kb.store, tmp_path / TERMS_DIR, serve_from=0)
    await other.load()
    assert other.applied_revision == await kb.store.revision()
    # A lost directory is rebuilt from the store.
    lost = LiveTermIndex(kb.store, tmp_path / "elsewhere" / TERMS_DIR, serve_from=0)
    await lost.load()
    index = await lost.current()
    assert index is not None and len(index) == 2
    suggestions = await kb.suggest(Query(GUILD, SSO[1]))
    assert [s.entry.id for s in suggestions] == [sso]


async def test_the_index_catches_up_after_another_process_removes_an_entry(kb, tmp_path):
    sso_thread, sso = await capture(kb, SSO)
    assert await term_hits(kb, "SAML") == [sso]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            DELETE_ELSEWHERE,
            str(tmp_path / "senpai.db"),
            str(sso_thread.thread_id),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert await term_hits(kb, "SAML") == []
    assert await kb.suggest(Query(GUILD, SSO[1])) == []


async def test_two_knowledge_bases_on_one_data_directory_see_each_others_captures(kb, tmp_path):
    second = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    try:
        second.terms.serve_from = 0
        _, sso = await capture(second, SSO)
        assert await term_hits(kb, "SAML") == [sso]
        _, csv = await capture(kb, CSV)
        assert await term_hits(second, "CSV") == [csv]
        assert await term_hits(second, "SAML") == [sso]
    finally:
        await second.close()


async def test_a_forgotten_members_entries_leave_the_index_and_its_files(kb, tmp_path):
    await capture(
        kb, ("Zyxwvut plugin crashes", "The zyxwvut plugin crashes on start.", ["Update it."])
    )
    assert len(await term_hits(kb, "zyxwvut")) == 1
    await kb.forget_member(ASKER.id)
    assert await term_hits(kb, "zyxwvut") == []
    await kb.terms.scrubbed()  # the files are rewritten in the background
    # Read from the files by a fresh reader (their bytes cannot be searched: the term
    # dictionary is a compressed automaton); a deleted, unmerged document would count.
    on_disk = tantivy.Index.open(str(tmp_path / TERMS_DIR)).searcher()
    assert on_disk.doc_freq("text", f"{GUILD}:zyxwvut") == 0


async def test_a_big_other_server_does_not_change_a_small_servers_suggestions(tmp_path):
    async def suggestions_with(crowd: int) -> list[tuple[str, float]]:
        kb = await KnowledgeBase.open(tmp_path / f"crowd{crowd}", HashingEncoder(), CONFIG)
        try:
            kb.terms.serve_from = 0
            await capture(kb, SSO)
            await capture(kb, CSV)
            for n in range(crowd):
                await capture(kb, (f"{SSO[0]} {n}", SSO[1], SSO[2]), guild_id=OTHER_GUILD)
            found = await kb.suggest(Query(GUILD, SSO[1]))
            return [(s.entry.title, round(s.score, 6)) for s in found]
        finally:
            await kb.close()

    alone = await suggestions_with(0)
    assert alone and alone[0][0] == SSO[0]
    assert await suggestions_with(40) == alone


async def test_store_lookups_of_a_server_use_its_index_not_the_whole_base(tmp_path):
    store = await KnowledgeStore.open(tmp_path / "senpai.db")
    try:
        plans = []
        for sql, params in (
            ("SELECT COUNT(*) FROM entries e WHERE e.guild_id = ? AND e.scope IN (?)", (1, "p")),
            ("SELECT e.id FROM entries e WHERE e.guild_id = ? AND e.scope IN (?)", (1, "p")),
            (
                "SELECT f.rowid FROM entries e JOIN entries_fts f ON f.rowid = e.id "
                "WHERE e.guild_id = ? AND e.scope IN (?) AND f.title LIKE ?",
                (1, "p", "%x%"),
            ),
        ):
            async with store.db.reader.execute("EXPLAIN QUERY PLAN " + sql, params) as cur:
                plans.append(" / ".join(str(r[-1]) for r in await cur.fetchall()))
        for plan in plans:
            assert "entries_guild_scope" in plan, plan
            assert "SCAN e" not in plan and "SCAN entries" not in plan, plan
    finally:
        await store.close()


async def test_an_error_code_finds_its_entry_through_the_term_index(kb):
    _, coded = await capture(
        kb,
        (
            "Sync stops with an error",
            "The nightly sync stops with error 0x80070005 on Windows.",
            ["Run the agent as an administrator."],
        ),
    )
    await capture(kb, SSO)
    index = await kb.terms.current()
    assert index is not None
    hits = index.search_codes(["0x80070005"], guild_id=GUILD, scopes={PUBLIC_SCOPE})
    assert [i for i, _ in hits] == [coded]
    assert index.scope_count(GUILD, {PUBLIC_SCOPE}) == 2
    suggestions = await kb.suggest(Query(GUILD, "what does 0x80070005 mean for the sync?"))
    assert suggestions and suggestions[0].entry.id == coded


async def test_an_index_older_than_the_pruned_change_log_is_rebuilt(kb, tmp_path):
    sso_thread, _ = await capture(kb, SSO)
    _, csv = await capture(kb, CSV)
    assert await term_hits(kb, "CSV") == [csv]
    other = await KnowledgeStore.open(tmp_path / "senpai.db")
    try:
        await other.delete_thread(sso_thread.thread_id)
        await other.prune_tombstones(await other.revision())  # the removal is forgotten
    finally:
        await other.close()
    assert await term_hits(kb, "SAML") == []
    assert await term_hits(kb, "CSV") == [csv]
    assert kb.terms.applied_revision == await kb.store.revision()
