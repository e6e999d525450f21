"""The vector index's per-server id sets and per-server exact dense search: the sets
against a model of the store (capture, forget, a scope change, another process's
change), and search results against brute force over the server's vectors."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from index.encoder import HashingEncoder
from index.vectors import VectorIndex
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import PUBLIC_SCOPE, Query, Thread
from knowledge.retrieval import PreparedQuery
from knowledge.server_sets import ServerSets, ServerVectors
from knowledge.store import EntryPlace
from tests.builders import ASKER, GUILD, OTHER, OTHER_GUILD, reply_ids, thread

ROOT = Path(__file__).resolve().parents[1]
CONFIG = SearchConfig(threshold=0.35, dense_weight=0.5)
PRIVATE = "private"
DIM = 16

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


def ids_of(sets: ServerSets, guild: int, scopes: set[str], exclude: int | None = None) -> list:
    return sets.ids(guild, scopes, exclude).tolist()


def test_sets_follow_captures_moves_and_removals() -> None:
    sets = ServerSets()
    sets.reset(
        [
            EntryPlace(3, GUILD, PUBLIC_SCOPE, 30),
            EntryPlace(1, GUILD, PUBLIC_SCOPE, 10),
            EntryPlace(2, OTHER_GUILD, PUBLIC_SCOPE, 20),
            EntryPlace(4, GUILD, PRIVATE, 40),
        ]
    )
    assert ids_of(sets, GUILD, {PUBLIC_SCOPE}) == [1, 3]
    assert ids_of(sets, GUILD, {PUBLIC_SCOPE, PRIVATE}) == [1, 3, 4]
    assert ids_of(sets, GUILD, {PUBLIC_SCOPE}, exclude=30) == [1]
    assert ids_of(sets, OTHER_GUILD, {PUBLIC_SCOPE}) == [2]
    assert sets.count(GUILD, {PUBLIC_SCOPE, PRIVATE}) == 3
    # Entry 3 moves to the private scope, 5 is new, 1 and 2 are removed.
    sets.apply([EntryPlace(3, GUILD, PRIVATE, 30), EntryPlace(5, GUILD, PUBLIC_SCOPE, 50)], [1, 2])
    assert ids_of(sets, GUILD, {PUBLIC_SCOPE}) == [5]
    assert ids_of(sets, GUILD, {PRIVATE}) == [3, 4]
    assert ids_of(sets, OTHER_GUILD, {PUBLIC_SCOPE}) == []
    assert len(sets) == 3
    # Removing what is not there, and changing nothing, changes nothing.
    sets.apply([], [99])
    assert ids_of(sets, GUILD, {PUBLIC_SCOPE, PRIVATE}) == [3, 4, 5]


def test_sets_agree_with_a_model_over_random_changes() -> None:
    rng = np.random.default_rng(7)
    model: dict[int, EntryPlace] = {}
    sets = ServerSets()
    guilds, scopes = [GUILD, OTHER_GUILD, 5], [PUBLIC_SCOPE, PRIVATE]

    def place(i: int) -> EntryPlace:
        return EntryPlace(i, int(rng.choice(guilds)), str(rng.choice(scopes)), 1000 + i)

    for i in range(1, 200):
        model[i] = place(i)
    sets.reset(model.values())
    for _ in range(50):
        changed = [place(int(i)) for i in rng.integers(1, 300, size=5)]
        removed = [int(i) for i in rng.integers(1, 300, size=3)]
        changed = [p for p in {p.id: p for p in changed}.values() if p.id not in removed]
        for i in removed:
            model.pop(i, None)
        model.update({p.id: p for p in changed})
        sets.apply(changed, removed)
        for guild in guilds:
            for scope in scopes:
                expected = sorted(
                    p.id for p in model.values() if (p.guild_id, p.scope) == (guild, scope)
                )
                assert ids_of(sets, guild, {scope}) == expected
    assert len(sets) == len(model)


def brute_force(
    vectors: dict[int, np.ndarray], ids: list[int], query: np.ndarray, k: int
) -> list[int]:
    scored = sorted(ids, key=lambda i: (-float(vectors[i] @ query), i))
    return scored[:k]


@pytest.mark.parametrize("kind", ["flat", "ivf-sq8"])
def test_server_search_equals_brute_force_over_the_servers_vectors(kind: str) -> None:
    rng = np.random.default_rng(11)
    n = 3000
    raw = rng.normal(size=(n, DIM)).astype(np.float32)
    raw /= np.linalg.norm(raw, axis=1, keepdims=True)
    ids = np.arange(1, n + 1, dtype=np.int64)
    index = VectorIndex.build(ids, raw, kind=kind)
    stored = dict(zip(ids.tolist(), index.vectors(ids), strict=True))
    places = [
        EntryPlace(
            int(i),
            GUILD if i % 10 == 0 else OTHER_GUILD,
            PUBLIC_SCOPE if i % 20 else PRIVATE,
            int(i) * 7,
        )
        for i in ids
    ]
    sets = ServerSets()
    sets.reset(places)
    search = ServerVectors(sets)
    for _ in range(20):
        query = rng.normal(size=DIM).astype(np.float32)
        query /= np.linalg.norm(query)
        for scopes, exclude in (({PUBLIC_SCOPE}, None), ({PUBLIC_SCOPE, PRIVATE}, 70)):
            allowed = [
                p.id
                for p in places
                if p.guild_id == GUILD and p.scope in scopes and p.thread_id != exclude
            ]
            found = search.search(
                index, query, 10, guild_id=GUILD, scopes=scopes, exclude_thread_id=exclude
            )
            assert found is not None
            assert [i for i, _ in found] == brute_force(stored, allowed, query, 10)
            if kind == "flat":  # the index's own filtered search agrees (exact there)
                assert [i for i, _ in found] == [
                    i for i, _ in index.search(query, 10, allowed_ids=allowed)
                ]
    # A server too large for exact scoring is left to the index.
    assert (
        ServerVectors(sets, exact_max=100).search(
            index, query, 10, guild_id=GUILD, scopes={PUBLIC_SCOPE}
        )
        is None
    )


def test_a_servers_matrix_is_made_again_after_its_entries_change() -> None:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(4, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex.build([1, 2, 3, 4], vectors)
    sets = ServerSets()
    sets.reset(
        [EntryPlace(i, GUILD, PUBLIC_SCOPE, i) for i in (1, 2, 3)]
        + [EntryPlace(4, OTHER_GUILD, PUBLIC_SCOPE, 4)]
    )
    search = ServerVectors(sets)
    query = vectors[2]
    assert search.search(index, query, 1, guild_id=GUILD, scopes={PUBLIC_SCOPE}) == [
        (3, pytest.approx(1.0))
    ]
    assert search.cached_rows == 3
    # Entry 3's vector changes (re-captured), then entry 3 is removed.
    index.add([3], vectors[[0]])
    sets.apply([EntryPlace(3, GUILD, PUBLIC_SCOPE, 3)], [])
    assert search.search(index, vectors[0], 1, guild_id=GUILD, scopes={PUBLIC_SCOPE})[0][0] in (
        1,
        3,
    )
    assert search.search(index, query, 3, guild_id=GUILD, scopes={PUBLIC_SCOPE})[0][1] < 0.999
    index.remove([3])
    sets.apply([], [3])
    found = search.search(index, query, 3, guild_id=GUILD, scopes={PUBLIC_SCOPE})
    assert sorted(i for i, _ in found) == [1, 2]


@pytest.fixture
async def kb(tmp_path: Path) -> AsyncIterator[KnowledgeBase]:
    base = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    yield base
    await base.close()


async def capture(kb: KnowledgeBase, title: str, **kwargs) -> tuple[int, int]:
    t = thread(title, f"{title}: it fails since the update.", ["Reinstall it."], **kwargs)
    result = await kb.capture(t, reply_ids(t))
    assert result.entry_id is not None
    captured[result.entry_id] = t
    return t.thread_id, result.entry_id


captured: dict[int, Thread] = {}


async def sets_of(kb: KnowledgeBase, guild: int, scopes: set[str]) -> list[int]:
    await kb.live.current()  # caught up with the store first
    found = kb.live.server_ids(guild, scopes)
    assert found is not None
    return found.tolist()


async def test_the_live_sets_follow_capture_forget_and_a_scope_change(kb, tmp_path):
    _, a = await capture(kb, "Calendar sync stops")
    _, b = await capture(kb, "Invoice export slow", asker=OTHER)
    _, c = await capture(kb, "Webhook retried twice", guild_id=OTHER_GUILD, asker=OTHER)
    assert await sets_of(kb, GUILD, {PUBLIC_SCOPE}) == sorted([a, b])
    assert await sets_of(kb, OTHER_GUILD, {PUBLIC_SCOPE}) == [c]
    # The same thread captured again in a private forum: it moves scope.
    moved = dataclasses.replace(captured[b], scope=PRIVATE)
    result = await kb.capture(moved, reply_ids(moved))
    assert result.entry_id == b
    assert await sets_of(kb, GUILD, {PRIVATE}) == [b]
    assert await sets_of(kb, GUILD, {PUBLIC_SCOPE}) == [a]
    await kb.forget_member(ASKER.id)
    assert await sets_of(kb, GUILD, {PUBLIC_SCOPE}) == []
    assert await sets_of(kb, GUILD, {PRIVATE}) == [b]
    # A new process loads the same sets from the store.
    again = await KnowledgeBase.open(tmp_path, HashingEncoder(), CONFIG)
    try:
        assert await sets_of(again, GUILD, {PRIVATE}) == [b]
        assert await sets_of(again, OTHER_GUILD, {PUBLIC_SCOPE}) == [c]
    finally:
        await again.close()


async def test_the_live_sets_see_another_processs_removal(kb, tmp_path):
    thread_id, a = await capture(kb, "Calendar sync stops")
    _, b = await capture(kb, "Invoice export slow")
    assert await sets_of(kb, GUILD, {PUBLIC_SCOPE}) == sorted([a, b])
    subprocess.run(
        [sys.executable, "-c", DELETE_ELSEWHERE, str(kb.store.path), str(thread_id)],
        check=True,
        cwd=ROOT,
    )
    assert await sets_of(kb, GUILD, {PUBLIC_SCOPE}) == [b]


async def test_dense_search_of_a_small_server_equals_the_indexs_exact_search(kb):
    for n in range(12):
        await capture(kb, f"Crowd topic {n} breaks", guild_id=OTHER_GUILD)
    mine = [await capture(kb, f"Calendar sync {n} stops") for n in range(4)]
    index = await kb.live.current()
    for text in ("calendar sync stops after update", "crowd topic breaks"):
        query = Query(GUILD, text, frozenset({PUBLIC_SCOPE}), exclude_thread_id=mine[0][0])
        prepared = PreparedQuery.of(query)
        assert prepared is not None
        vector, _ = await kb.retriever._query_vector(prepared)
        allowed = await kb.store.allowed_ids(GUILD, {PUBLIC_SCOPE}, mine[0][0])
        found = await kb.retriever._dense_search(index, vector, prepared, len(allowed) + 1)
        expected = index.search(vector, kb.config.candidates, allowed_ids=allowed)
        assert [i for i, _ in found] == [i for i, _ in expected]
        assert {i for i, _ in found} == {e for _, e in mine[1:]}
    assert kb.live.server_vectors.cached_rows == 4
