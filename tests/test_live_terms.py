"""The live term index over a real store (SQLite, then PostgreSQL): rebuilt from it,
caught up from its change log (also after another process wrote), forgetting, and
lookups scoped to a server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
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
from tests.databases import fresh_postgres

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
    "    url = sys.argv[3] if len(sys.argv) > 3 else None\n"
    "    store = await KnowledgeStore.open(Path(sys.argv[1]), database_url=url)\n"
    "    try:\n"
    "        assert await store.delete_thread(int(sys.argv[2])) is not None\n"
    "    finally:\n"
    "        await store.close()\n"
    "asyncio.run(main())\n"
)


@pytest.fixture
async def kb(tmp_path: Path, database_url: str | None):
    base = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG, database_url=database_url)
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


async def test_the_index_catches_up_after_another_process_removes_an_entry(
    kb, tmp_path, database_url
):
    sso_thread, sso = await capture(kb, SSO)
    assert await term_hits(kb, "SAML") == [sso]
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            DELETE_ELSEWHERE,
            str(tmp_path / "senpai.db"),
            str(sso_thread.thread_id),
            *([database_url] if database_url else []),
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


async def test_two_knowledge_bases_on_one_data_directory_see_each_others_captures(
    kb, tmp_path, database_url
):
    second = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG, database_url=database_url)
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


async def test_an_index_older_than_the_pruned_change_log_is_rebuilt(kb, tmp_path, database_url):
    sso_thread, _ = await capture(kb, SSO)
    _, csv = await capture(kb, CSV)
    assert await term_hits(kb, "CSV") == [csv]
    other = await KnowledgeStore.open(tmp_path / "senpai.db", database_url=database_url)
    try:
        await other.delete_thread(sso_thread.thread_id)
        await other.prune_tombstones(await other.revision())  # the removal is forgotten
    finally:
        await other.close()
    assert await term_hits(kb, "SAML") == []
    assert await term_hits(kb, "CSV") == [csv]
    assert kb.terms.applied_revision == await kb.store.revision()


async def test_postgres_gives_the_term_index_what_sqlite_gives_it(tmp_path):
    """The derived term index reads each engine's own tables: the same entries give it
    the same terms (as many times each), guild, scope, thread and identifier tokens."""
    code = ("Export fails with ERR-4471", "The export fails with ERR-4471 again.", ["Retry."])

    async def documents(url: str | None) -> list[tuple]:
        kb = await KnowledgeBase.open(
            tmp_path / ("pg" if url else "lite"), HashingEncoder(), CONFIG, database_url=url
        )
        try:
            for spec in (SSO, CSV, code):
                await capture(kb, spec)
            ids = [row.id for row in await kb.store.term_documents()]
            assert [row.id for row in await kb.store.term_documents(ids=ids[1:])] == ids[1:]
            assert [row.id for row in await kb.store.term_documents(after=ids[0])] == ids[1:]
            return [
                (
                    row.guild_id,
                    row.scope,
                    sorted(row.title_terms.split()),
                    sorted(row.body_terms.split()),
                    sorted(lexical.substring_needles(row.text, limit=256)),
                )
                for row in await kb.store.term_documents()
            ]
        finally:
            await kb.close()

    async with fresh_postgres() as url:
        on_sqlite, on_postgres = await documents(None), await documents(url)
    assert on_postgres == on_sqlite
    assert any("ERR-4471" in needles or "err-4471" in needles for *_, needles in on_sqlite)


async def test_a_build_cut_off_at_shutdown_leaves_no_writer_thread_behind(kb, tmp_path):
    """A build cancelled while the loop's executor is already shut down (as when a
    process stops mid-scrub) cannot hand its writer thread an end marker through a
    worker: the writer must stop by itself, or the executor's shutdown (which waits
    for its threads) never ends. The index served before is still served."""
    _, sso = await capture(kb, SSO)
    await capture(kb, CSV)
    real = kb.store.term_documents
    reached = asyncio.Event()

    async def stalling(*, after: int = 0, limit: int = 2048, ids=None):
        if after:  # the second read never returns
            reached.set()
            await asyncio.Event().wait()
        return await real(after=after, limit=1, ids=ids)

    loop = asyncio.get_running_loop()
    workers = ThreadPoolExecutor(thread_name_prefix="build-under-test")
    loop.set_default_executor(workers)
    kb.store.term_documents = stalling  # type: ignore[method-assign]
    try:
        build = asyncio.create_task(kb.terms._build(tmp_path / "cut-off", 0))
        await reached.wait()
        workers.shutdown(wait=False)  # running threads go on; nothing new starts
        build.cancel()
        with pytest.raises(asyncio.CancelledError):
            await build
    finally:
        kb.store.term_documents = real  # type: ignore[method-assign]
        loop.set_default_executor(ThreadPoolExecutor())
    for _ in range(600):  # a guard against a hang, not a timing: it ends at once
        if not any(t.name.startswith("build-under-test") for t in threading.enumerate()):
            break
        await asyncio.sleep(0.1)
    stuck = [t.name for t in threading.enumerate() if t.name.startswith("build-under-test")]
    assert stuck == []
    assert await term_hits(kb, "SAML") == [sso]


async def test_builds_left_by_stopped_processes_are_removed_at_the_next_start(kb, tmp_path):
    """A process killed mid-build leaves its build directory (as large as the index)
    beside the index: the next start removes it, and leaves a live process's alone."""
    await capture(kb, SSO)
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(gone.stdout)  # exited: its pid is free (reused only by chance)
    live_pid = os.getppid()
    terms = tmp_path / TERMS_DIR
    left = [
        terms.with_name(f"{TERMS_DIR}.new-{dead_pid}-0f0f"),
        terms.with_name(f"{TERMS_DIR}.old-{dead_pid}-1e1e"),
        terms.with_name(f"{TERMS_DIR}.new-3c5a9e0b4d2f4a6b8c1d2e3f4a5b6c7d"),  # no pid
    ]
    running = terms.with_name(f"{TERMS_DIR}.new-{live_pid}-2d2d")
    for path in (*left, running):
        path.mkdir()
        (path / "segment").write_bytes(b"x" * 1024)
    other = LiveTermIndex(kb.store, terms, serve_from=0)
    await other.load()
    assert [p.exists() for p in left] == [False, False, False]
    assert running.exists()
    assert len(await other.current() or []) == 1
