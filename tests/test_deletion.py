"""Forgetting reaches the bytes: no trace of a forgotten member's words in the data directory."""

from __future__ import annotations

from pathlib import Path

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase
from tests.builders import ASKER, OTHER, reply_ids, thread

SECRET_WORD = "Quokkafjord"
SECRET_PHRASE = "ヤマネコ商会の請求書"


def traces(directory: Path) -> list[str]:
    """Files of ``directory`` that still contain the forgotten words, in any case."""
    needles = [w.encode() for w in (SECRET_WORD, SECRET_WORD.lower(), SECRET_PHRASE)]
    found = []
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in needles if n in data]
    return found


async def capture_many_threads(kb: KnowledgeBase) -> None:
    filler = [
        thread(f"Topic {n}", f"Question number {n} about exports", [f"Answer {n}"], asker=OTHER)
        for n in range(200)
    ]
    mine = thread(
        f"{SECRET_WORD} integration breaks",
        f"Our {SECRET_WORD} sync fails for {SECRET_PHRASE} since Monday",
        [f"Reconnect the {SECRET_WORD} app and resend {SECRET_PHRASE}"],
        asker=ASKER,
    )
    items = [(t, reply_ids(t), None) for t in [*filler[:100], mine, *filler[100:]]]
    await kb.capture_many(items)


async def test_forgetting_a_member_leaves_no_trace_in_any_file(tmp_path: Path):
    directory = tmp_path / "data"
    kb = await KnowledgeBase.open(directory, HashingEncoder())
    await capture_many_threads(kb)
    await kb.flush()
    assert traces(directory), "the test must see the words before they are forgotten"
    removed = await kb.forget_member(ASKER.id)
    assert removed.entries == 1
    await kb.close()
    assert traces(directory) == []


async def test_the_words_are_gone_from_disk_even_while_the_process_keeps_running(
    tmp_path: Path,
):
    directory = tmp_path / "data"
    kb = await KnowledgeBase.open(directory, HashingEncoder())
    try:
        await capture_many_threads(kb)
        await kb.forget_member(ASKER.id)
        assert traces(directory) == []
    finally:
        await kb.close()
