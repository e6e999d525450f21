"""Each server's own glossary terms against a real database (both engines): saving,
limits, imports that apply all or nothing, versions, forgetting, and what a term does
to its server's questions (and not to another server's)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge import bridge
from knowledge.engine import KnowledgeBase
from knowledge.glossary_store import (
    GlossaryImportError,
    GlossaryInputError,
    GlossaryStore,
    TermProblem,
    export_tsv,
    parse_term,
    parse_tsv,
)
from knowledge.models import Query
from tests.builders import ASKER, GUILD, HELPER, OTHER_GUILD, reply_ids, thread

pytestmark = pytest.mark.usefixtures("on_each_database")


@pytest.fixture
async def kb(tmp_path: Path):
    base = await KnowledgeBase.open(tmp_path / "data", HashingEncoder())
    yield base
    await base.close()


# -- the store ------------------------------------------------------------------------


async def test_terms_are_saved_listed_and_exported_per_server(kb: KnowledgeBase) -> None:
    added = await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=ASKER.id)
    assert (added.added, added.updated) == (1, 0)
    await kb.add_glossary_term(OTHER_GUILD, "承認フロー", "approval flow", added_by=None)
    terms = await kb.glossary_terms(GUILD)
    assert [(t.japanese, t.english, t.added_by) for t in terms] == [
        ("スマート配信", ("Smart Send",), ASKER.id)
    ]
    exported = await kb.export_glossary(GUILD)
    assert parse_tsv(exported) == [("スマート配信", ("Smart Send",))]
    assert export_tsv([]).count("\n") == 1  # the header alone


async def test_adding_a_term_again_changes_its_english(kb: KnowledgeBase) -> None:
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=ASKER.id)
    again = await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=ASKER.id)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    changed = await kb.add_glossary_term(
        GUILD, "スマート配信", "Smart Send|smart delivery", added_by=HELPER.id
    )
    assert (changed.added, changed.updated) == (0, 1)
    (term,) = await kb.glossary_terms(GUILD)
    assert term.english == ("Smart Send", "smart delivery")
    assert term.added_by == HELPER.id


async def test_removing_a_term(kb: KnowledgeBase) -> None:
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=None)
    assert not await kb.remove_glossary_term(OTHER_GUILD, "スマート配信")
    assert not await kb.remove_glossary_term(GUILD, "承認フロー")
    assert await kb.remove_glossary_term(GUILD, " ｽﾏｰﾄ配信 ")  # found as it was stored
    assert await kb.glossary_terms(GUILD) == []


async def test_an_import_with_a_bad_line_saves_nothing(kb: KnowledgeBase) -> None:
    with pytest.raises(GlossaryImportError):
        await kb.import_glossary(GUILD, "スマート配信\tSmart Send\nbad line\n", added_by=None)
    assert await kb.glossary_terms(GUILD) == []
    result = await kb.import_glossary(
        GUILD, "スマート配信\tSmart Send\n承認フロー\tapproval flow\n", added_by=ASKER.id
    )
    assert (result.added, result.updated, result.unchanged) == (2, 0, 0)
    result = await kb.import_glossary(
        GUILD, "スマート配信\tSmart Send\n承認フロー\tapproval workflow\n", added_by=ASKER.id
    )
    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)


async def test_a_server_holds_at_most_the_limit(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("knowledge.glossary_store.MAX_TERMS", 2)
    await kb.import_glossary(GUILD, "スマート配信\tSmart Send\n承認フロー\tflow\n", added_by=None)
    with pytest.raises(GlossaryInputError) as caught:
        await kb.add_glossary_term(GUILD, "配信予約", "scheduled send", added_by=None)
    assert caught.value.code == TermProblem.FULL
    assert caught.value.limit == 2
    with pytest.raises(GlossaryInputError):
        await kb.import_glossary(GUILD, "配信予約\tscheduled send\n", added_by=None)
    # Changing a term it holds is not one more, nor is another server's.
    await kb.add_glossary_term(GUILD, "承認フロー", "approval flow", added_by=None)
    await kb.add_glossary_term(OTHER_GUILD, "配信予約", "scheduled send", added_by=None)
    assert len(await kb.glossary_terms(GUILD)) == 2


async def test_every_change_gives_the_server_a_new_version(kb: KnowledgeBase) -> None:
    store = kb.glossary
    assert await store.version(GUILD) == 0
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=None)
    first = await store.version(GUILD)
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=None)  # no change
    assert await store.version(GUILD) == first
    await kb.add_glossary_term(OTHER_GUILD, "承認フロー", "approval flow", added_by=None)
    assert await store.version(GUILD) == first
    await kb.remove_glossary_term(GUILD, "スマート配信")
    second = await store.version(GUILD)
    assert second > first
    # Forgotten and added again, the server never gets back a version seen before.
    await kb.forget_guild(GUILD)
    assert await store.version(GUILD) == 0
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=None)
    assert await store.version(GUILD) > second


async def test_forgetting_a_member_keeps_their_terms_without_their_name(
    kb: KnowledgeBase,
) -> None:
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=ASKER.id)
    await kb.add_glossary_term(GUILD, "承認フロー", "approval flow", added_by=HELPER.id)
    await kb.forget_member(ASKER.id)
    terms = {t.japanese: t.added_by for t in await kb.glossary_terms(GUILD)}
    assert terms == {"スマート配信": None, "承認フロー": HELPER.id}


async def test_forgetting_a_server_removes_its_terms_only(kb: KnowledgeBase) -> None:
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=ASKER.id)
    await kb.add_glossary_term(OTHER_GUILD, "承認フロー", "approval flow", added_by=ASKER.id)
    await kb.forget_guild(GUILD)
    assert await kb.glossary_terms(GUILD) == []
    assert [t.japanese for t in await kb.glossary_terms(OTHER_GUILD)] == ["承認フロー"]


# -- what the terms do to questions ------------------------------------------------------


async def test_a_servers_terms_extend_only_its_own_bridge(kb: KnowledgeBase) -> None:
    base = bridge.Glossary.parse(["請求書\tinvoice"])
    kb.configure(dataclasses.replace(kb.config, glossary=base))
    assert await kb.glossary_for(GUILD) is base
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=None)
    mine = await kb.glossary_for(GUILD)
    assert mine is not None and len(mine) == 2
    assert [e.surface for e in mine.find("スマート配信の請求書")] == ["スマート配信", "請求書"]
    assert await kb.glossary_for(OTHER_GUILD) is base
    assert await kb.glossary_for(GUILD) is mine  # cached while nothing changed


async def test_a_change_by_another_process_is_seen_at_the_next_question(
    kb: KnowledgeBase,
) -> None:
    assert await kb.glossary_for(GUILD) is None  # the default profile has no bridge
    other = GlossaryStore(kb.store.db)  # another process's writes, through the same tables
    await other.save(GUILD, [parse_term("スマート配信", "Smart Send")], None)
    found = await kb.glossary_for(GUILD)
    assert found is not None and [c.english for c in found.concepts] == [("Smart Send",)]
    await other.save(GUILD, [parse_term("スマート配信", "Smart Delivery")], None)
    found = await kb.glossary_for(GUILD)
    assert found is not None and [c.english for c in found.concepts] == [("Smart Delivery",)]
    await other.remove(GUILD, "スマート配信")
    assert await kb.glossary_for(GUILD) is None


async def _english_thread(kb: KnowledgeBase, guild_id: int) -> int:
    t = thread(
        "Smart Send skips some contacts",
        "Smart Send skips contacts who opened last week, why?",
        ["Smart Send holds back contacts inside the quiet period: shorten it in settings."],
        guild_id=guild_id,
    )
    result = await kb.capture(t, reply_ids(t))
    return result.entry_id


async def _lexical(kb: KnowledgeBase, guild_id: int, entry_id: int) -> float:
    found, _ = await kb.candidates(Query(guild_id, "スマート配信で一部の連絡先が送られない"))
    return next((s.lexical for s in found if s.candidate.entry.id == entry_id), 0.0)


async def test_a_servers_term_brings_its_english_thread_to_a_japanese_question(
    kb: KnowledgeBase,
) -> None:
    mine = await _english_thread(kb, GUILD)
    theirs = await _english_thread(kb, OTHER_GUILD)
    assert await _lexical(kb, GUILD, mine) == 0.0
    await kb.add_glossary_term(GUILD, "スマート配信", "Smart Send", added_by=None)
    assert await _lexical(kb, GUILD, mine) > 0.0
    assert await _lexical(kb, OTHER_GUILD, theirs) == 0.0
    await kb.remove_glossary_term(GUILD, "スマート配信")
    assert await _lexical(kb, GUILD, mine) == 0.0
