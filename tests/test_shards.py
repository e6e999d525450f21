"""Sharded bots: which servers a process serves, and the work it leaves to the others.

The arithmetic is pure; the store's filters and claims run against a real SQLite
file, with two connections standing for two processes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.community import CommunityStore
from knowledge.models import DueEscalation, GuildSettings, MeTooNotice
from knowledge.shards import ShardError, Shards, and_served, parse_shard_ids, serving, shard_of
from knowledge.store import KnowledgeStore
from tests.builders import Clock

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
SHARD_0 = 81_384_788_765_712_384  # serenity's documented example: shard 7 of 17
SNOWFLAKE_MS = 1 << 22


def guild_on(shard: int, count: int, base: int = 900_000_000_000_000_000) -> int:
    """A realistic guild id that Discord sends to ``shard`` of ``count``."""
    guild_id = base
    while shard_of(guild_id, count) != shard:
        guild_id += SNOWFLAKE_MS
    return guild_id


# -- the arithmetic -------------------------------------------------------------------


def test_shard_of_follows_discords_formula() -> None:
    assert shard_of(SHARD_0, 17) == 7
    assert shard_of(SHARD_0, 1) == 0
    assert shard_of((5 << 22) | 0x3FFFFF, 3) == 2  # the low 22 bits never matter


def test_a_process_owns_the_guilds_of_its_shards_only() -> None:
    shards = Shards(3, frozenset({0, 2}))
    owned = [shards.owns(guild_on(n, 3)) for n in range(3)]
    assert owned == [True, False, True]
    assert not shards.every_shard
    assert Shards(2, frozenset({0, 1})).every_shard
    assert serving(None, guild_on(1, 3))  # unsharded: every server
    assert shards.describe() == "shards 0, 2 of 3"


@pytest.mark.parametrize(
    ("text", "ids"), [("0", (0,)), ("0,1", (0, 1)), (" 3 , 1 ", (3, 1)), ("12", (12,))]
)
def test_shard_ids_are_read_from_comma_separated_numbers(text: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(text) == ids


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "no shard id"),
        ("a", "not a shard id: 'a'"),
        ("0,,1", "not a shard id: ''"),
        ("1.5", "not a shard id"),
        ("-1", "negative"),
        ("0,1,0", "shard 0 is given twice"),
    ],
)
def test_bad_shard_ids_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(ShardError, match=reason):
        parse_shard_ids(text)


@pytest.mark.parametrize(
    ("count", "ids", "reason"),
    [
        (2, (2,), "shard id 2 is out of range: with 2 shard\\(s\\) the ids are 0 to 1"),
        (2, (0, 5), "shard id 5 is out of range"),
        (0, None, "at least 1"),
        (-3, (0,), "at least 1"),
        (None, (0,), "--shard-ids needs --shard-count"),
        (2, (), "at least one shard"),
    ],
)
def test_shards_that_cannot_be_right_are_refused(
    count: int | None, ids: tuple[int, ...] | None, reason: str
) -> None:
    with pytest.raises(ShardError, match=reason):
        Shards.of(count, ids)


def test_no_option_means_unsharded_and_a_count_alone_means_every_shard() -> None:
    assert Shards.of(None, None) is None
    every = Shards.of(4)
    assert every == Shards(4, frozenset({0, 1, 2, 3})) and every.every_shard
    assert and_served(every, "guild_id") == ("", ())
    assert and_served(None, "guild_id") == ("", ())


# -- the store: each process reads its own servers' rows ------------------------------


@pytest.fixture
async def two_processes(tmp_path: Path):
    """Two connections to one SQLite file, as two ``senpai run`` processes have."""
    clock = Clock(T0)
    first = await KnowledgeStore.open(tmp_path / "kb.db", clock=clock)
    second = await KnowledgeStore.open(tmp_path / "kb.db", clock=clock)
    yield CommunityStore(first.db), CommunityStore(second.db), clock
    await first.close()
    await second.close()


SHARD_0_OF_2 = Shards(2, frozenset({0}))
SHARD_1_OF_2 = Shards(2, frozenset({1}))
GUILD_0, GUILD_1 = guild_on(0, 2), guild_on(1, 2)


def test_the_sql_condition_matches_the_python_formula_in_sqlite(tmp_path: Path) -> None:
    import sqlite3

    ids = [guild_on(n % 5, 5, base=700_000_000_000_000_000 + n * 977) for n in range(40)]
    ids += [SHARD_0, (1 << 63) - 1, 1]
    shards = Shards(5, frozenset({1, 3}))
    condition, params = shards.where("guild_id")
    with sqlite3.connect(tmp_path / "x.db") as db:
        db.execute("CREATE TABLE t (guild_id INTEGER NOT NULL)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in ids])
        found = {r[0] for r in db.execute(f"SELECT guild_id FROM t WHERE {condition}", params)}
    assert found == {i for i in ids if shards.owns(i)}
    assert found and found != set(ids)


async def test_each_process_polls_only_its_servers_due_work(two_processes) -> None:
    first, second, clock = two_processes
    for thread_id, guild_id in ((10, GUILD_0), (11, GUILD_1)):
        await first.save_settings(GuildSettings(guild_id, staff_channel=99, escalation_hours=1))
        await first.record_question(
            thread_id=thread_id, guild_id=guild_id, forum_id=2, asker_id=3, asked_at=T0
        )
        await first.schedule_nudge(
            thread_id=thread_id, guild_id=guild_id, asker_id=3, due_at=T0, candidate_id=7
        )
        await first.add_me_too(thread_id=thread_id, guild_id=guild_id, asker_id=3, user_id=4)
        await first.record_departure(guild_id, T0)
    clock.now = T0 + timedelta(hours=2)

    def threads(rows) -> list[int]:
        return sorted(r.thread_id for r in rows)

    assert threads(await first.due_nudges(clock.now, shards=SHARD_0_OF_2)) == [10]
    assert threads(await second.due_nudges(clock.now, shards=SHARD_1_OF_2)) == [11]
    assert threads(await first.due_nudges(clock.now)) == [10, 11]
    assert threads(await first.due_escalations(clock.now, shards=SHARD_0_OF_2)) == [10]
    assert threads(await second.due_escalations(clock.now, shards=SHARD_1_OF_2)) == [11]
    assert await first.departures_before(clock.now, shards=SHARD_0_OF_2) == [GUILD_0]
    assert await second.departures_before(clock.now, shards=SHARD_1_OF_2) == [GUILD_1]

    for thread_id in (10, 11):
        due = (await first.due_escalations(clock.now, shards=None))[0]
        assert await first.claim_escalation(due)
        await first.record_reply(thread_id, clock.now)
        await first.record_solved(thread_id, clock.now, via="marked")
    closing = await second.escalations_to_close(shards=SHARD_1_OF_2)
    assert [e.thread_id for e, _ in closing] == [11]
    notices = await second.due_me_too_notices(shards=SHARD_1_OF_2)
    assert [n.thread_id for n in notices] == [11]
    assert [n.thread_id for n in await first.due_me_too_notices(shards=SHARD_0_OF_2)] == [10]


async def test_a_claim_is_won_by_one_process_only(two_processes) -> None:
    first, second, _ = two_processes
    await first.record_question(thread_id=10, guild_id=GUILD_0, forum_id=2, asker_id=3, asked_at=T0)
    await first.schedule_nudge(
        thread_id=10, guild_id=GUILD_0, asker_id=3, due_at=T0, candidate_id=7
    )
    due = DueEscalation(10, GUILD_0, 2, 3, T0, 99)
    notice = MeTooNotice(10, GUILD_0, 1)

    for claim in (
        lambda c: c.claim_nudge(10),
        lambda c: c.claim_escalation(due),
        lambda c: c.claim_me_too_notice(notice),
    ):
        won = await asyncio.gather(claim(first), claim(second))
        assert sorted(won) == [False, True]
        assert not await claim(first) and not await claim(second)  # and never again
    assert (await second.nudge(10)).state == "sent"  # type: ignore[union-attr]
