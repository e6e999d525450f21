"""Forgetting with the term index: forgotten entries leave lookups at once, their terms
leave the index's files by a scrub that runs beside the lookups (never blocking them),
forgets in a row share a scrub, and a scrub left undone by a stopped process runs at
the next start (or in another process sharing the data directory)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import tantivy

from index.encoder import HashingEncoder
from knowledge import lexical
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.live_terms import SCRUB_FILE, TERMS_DIR, LiveTermIndex
from knowledge.models import PUBLIC_SCOPE, Author, Query
from tests.builders import ASKER, GUILD, OTHER, reply_ids, thread

CONFIG = SearchConfig(threshold=0.35, dense_weight=0.5)
SECRET = "quuxfrobnicator"
"""A term no other entry holds, so its bytes in the index files are the forgotten entry's."""


async def open_kb(data: Path) -> KnowledgeBase:
    kb = await KnowledgeBase.open(data, HashingEncoder(), CONFIG)
    kb.terms.serve_from = 0  # serve from the first entry (the product waits for 50k)
    return kb


@pytest.fixture
async def kb(tmp_path: Path) -> AsyncIterator[KnowledgeBase]:
    base = await open_kb(tmp_path)
    yield base
    await base.close()


async def capture(kb: KnowledgeBase, title: str, question: str, asker: Author = ASKER) -> int:
    t = thread(title, question, ["Reinstall the plugin from the admin page."], asker=asker)
    result = await kb.capture(t, reply_ids(t))
    assert result.entry_id is not None
    return result.entry_id


async def hits(kb: KnowledgeBase, text: str) -> list[int]:
    index = await kb.terms.current()
    assert index is not None
    found = index.search(lexical.terms(text), guild_id=GUILD, scopes={PUBLIC_SCOPE})
    return [i for i, _ in found]


def files_hold(data: Path, term: str) -> bool:
    """Whether the term index's files still list ``term`` in the server's term dictionary.

    Read by a fresh reader of the files; a document deleted but not merged away
    still counts there (tantivy's document frequency includes it). The raw bytes
    cannot be searched instead: the dictionary is a compressed automaton."""
    index = tantivy.Index.open(str(data / TERMS_DIR))
    return int(index.searcher().doc_freq("text", f"{GUILD}:{term}")) > 0


def deleted_documents(data: Path) -> int:
    """Deleted documents still held by the index's segments (tantivy's meta.json)."""
    meta = json.loads((data / TERMS_DIR / "meta.json").read_text())
    return sum((seg.get("deletes") or {}).get("num_deleted_docs", 0) for seg in meta["segments"])


async def seed(kb: KnowledgeBase) -> int:
    """Three entries: the asker's secret one and two of another member."""
    secret = await capture(kb, f"The {SECRET} plugin crashes", f"{SECRET} crashes on start.")
    await capture(kb, "Calendar sync stopped", "The calendar sync stopped.", asker=OTHER)
    await capture(kb, "Invoice export is slow", "The invoice export is slow.", asker=OTHER)
    return secret


class Gate:
    """Holds every term-index build at its start until opened (a scrub in progress)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = asyncio.Event()
        self.opened = asyncio.Event()
        self.builds = 0
        original = LiveTermIndex._build

        async def gated(index: LiveTermIndex, fresh_dir: Path, snapshot: int, **kw: int) -> int:
            self.builds += 1
            self.entered.set()
            await self.opened.wait()
            return await original(index, fresh_dir, snapshot, **kw)

        monkeypatch.setattr(LiveTermIndex, "_build", gated)


async def test_a_forget_removes_the_entry_at_once_and_its_terms_from_the_files_after_the_scrub(
    kb, tmp_path
):
    secret = await seed(kb)
    assert await hits(kb, SECRET) == [secret]
    assert files_hold(tmp_path, SECRET)
    await kb.forget_member(ASKER.id)
    assert await hits(kb, SECRET) == []  # before any scrub: gone from lookups
    assert files_hold(tmp_path, SECRET)  # deleted, not merged away: still in the files
    await kb.terms.scrubbed()
    assert not files_hold(tmp_path, SECRET)
    assert deleted_documents(tmp_path) == 0
    assert not (tmp_path / SCRUB_FILE).exists()
    assert kb.terms.scrubs == 1
    # The other member's entries are still found after the swap.
    assert len(await hits(kb, "calendar sync")) == 1


async def test_questions_are_answered_while_a_scrub_builds(kb, tmp_path, monkeypatch):
    secret = await seed(kb)
    gate = Gate(monkeypatch)
    await kb.forget_member(ASKER.id)
    await gate.entered.wait()  # the scrub is building its new index now
    assert not kb.terms.lock.locked()
    assert (tmp_path / SCRUB_FILE).exists()
    # Lookups, suggestions and captures go on against the current index.
    assert await hits(kb, SECRET) == []
    found = await kb.suggest(Query(GUILD, "calendar sync stopped", frozenset({PUBLIC_SCOPE})))
    assert found and all(s.entry.id != secret for s in found)
    await capture(kb, "Webhook retries twice", "Each webhook is retried twice.", asker=OTHER)
    assert len(await hits(kb, "webhook retries")) == 1
    gate.opened.set()
    await kb.terms.scrubbed()
    assert not files_hold(tmp_path, SECRET)
    # The entry captured during the build was caught up into the swapped index.
    assert len(await hits(kb, "webhook retries")) == 1


async def test_forgets_during_a_scrub_share_one_more_scrub(kb, tmp_path, monkeypatch):
    await seed(kb)
    members = [Author(3_000_000_000_000_000_100 + n, f"m{n}") for n in range(3)]
    for n, member in enumerate(members):
        await capture(kb, f"Zorblax{n} fails", f"Zorblax{n} fails on save.", asker=member)
    gate = Gate(monkeypatch)
    await kb.forget_member(ASKER.id)
    await gate.entered.wait()
    for member in members:  # three more forgets while the first scrub is under way
        await kb.forget_member(member.id)
    gate.opened.set()
    await kb.terms.scrubbed()
    assert gate.builds == 2 and kb.terms.scrubs == 2
    assert not (tmp_path / SCRUB_FILE).exists()
    for n in range(3):
        assert not files_hold(tmp_path, f"zorblax{n}")
    assert not files_hold(tmp_path, SECRET)


async def test_a_scrub_left_undone_by_a_stopped_process_runs_at_the_next_start(tmp_path):
    kb = await open_kb(tmp_path)
    try:
        secret = await seed(kb)
        assert await hits(kb, SECRET) == [secret]  # in the term index's files now
        await kb.forget_member(ASKER.id)
    finally:
        await kb.close()  # stops the scrub before it could rewrite the files
    assert (tmp_path / SCRUB_FILE).exists()
    assert files_hold(tmp_path, SECRET)  # deleted, but its terms still in a segment
    again = await open_kb(tmp_path)
    try:
        assert await hits(again, SECRET) == []
        await again.terms.scrubbed()
        assert not files_hold(tmp_path, SECRET)
        assert not (tmp_path / SCRUB_FILE).exists()
        assert secret not in await hits(again, "plugin crashes")
    finally:
        await again.close()


async def test_a_start_that_finds_the_scrub_mark_scrubs_an_index_it_could_keep(tmp_path):
    kb = await open_kb(tmp_path)
    try:
        entry_id = await capture(kb, f"The {SECRET} plugin", f"{SECRET} crashes.")
        await capture(kb, "Calendar sync stopped", "The calendar sync stopped.", asker=OTHER)
        assert len(await hits(kb, SECRET)) == 1
        entry = await kb.entry(entry_id)
        assert entry is not None
        await kb.remove_thread(entry.thread_id)  # a removal that is no forget: no scrub
        assert await hits(kb, SECRET) == []  # the term index is at the store's revision
    finally:
        await kb.close()
    # As a process stopped right after a forget leaves it: the mark, the index current.
    (tmp_path / SCRUB_FILE).write_text("1")
    assert files_hold(tmp_path, SECRET)
    again = await open_kb(tmp_path)
    try:
        await again.terms.scrubbed()
        assert again.terms.scrubs == 1
        assert not files_hold(tmp_path, SECRET)
        assert not (tmp_path / SCRUB_FILE).exists()
        assert len(await hits(again, "calendar sync")) == 1
    finally:
        await again.close()


async def test_another_process_sharing_the_directory_carries_out_a_scrub_left_due(tmp_path):
    first = await open_kb(tmp_path)
    second = await open_kb(tmp_path)
    try:
        secret = await seed(first)
        assert await hits(first, SECRET) == [secret]
        await second.forget_member(ASKER.id)
        await second.close()  # it stops before scrubbing: the mark stays
        assert (tmp_path / SCRUB_FILE).exists()
        assert await hits(first, SECRET) == []  # its catch-up starts the scrub
        await first.terms.scrubbed()
        assert not files_hold(tmp_path, SECRET)
        assert not (tmp_path / SCRUB_FILE).exists()
    finally:
        await first.close()
