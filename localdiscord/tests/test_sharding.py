"""Gateway sharding: IDENTIFY's shard, READY's shard, and events routed by guild.

Discord sends a guild's events to shard ``(guild_id >> 22) % num_shards`` only, and
events without a guild to shard 0; an invalid shard closes the connection with 4010.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from localdiscord import LocalDiscord, shard_for
from localdiscord._gateway import Session
from support import BotConnector, ServerFactory, default_intents


def sharded_bot(shard_id: int, shard_count: int) -> commands.Bot:
    """A plain discord.py bot identifying as one shard."""
    return commands.Bot(
        command_prefix=commands.when_mentioned,
        intents=default_intents(),
        allowed_mentions=discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        help_command=None,
        shard_id=shard_id,
        shard_count=shard_count,
    )


async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py waits 5 s between two shards' IDENTIFYs; the local gateway need not."""


def test_guilds_can_be_placed_on_a_shard(server: LocalDiscord) -> None:
    guilds = [server.add_guild(f"g{n}", shard=(n % 3, 3)) for n in range(6)]

    assert [shard_for(g.id, 3) for g in guilds] == [0, 1, 2, 0, 1, 2]
    assert [g.id for g in guilds] == sorted(g.id for g in guilds)  # still time-ordered


async def test_each_shard_gets_only_its_guilds_and_their_events(
    server: LocalDiscord, connect: BotConnector
) -> None:
    first = server.add_guild("On shard 0", shard=(0, 2))
    second = server.add_guild("On shard 1", shard=(1, 2))
    forums = {g.id: server.add_forum(g, "help") for g in (first, second)}
    members = {g.id: server.add_member(g, f"member-{g.name}") for g in (first, second)}
    bot0 = await connect(server, sharded_bot(0, 2))
    bot1 = await connect(server, sharded_bot(1, 2))

    assert [g.id for g in bot0.guilds] == [first.id]
    assert [g.id for g in bot1.guilds] == [second.id]
    readies = {
        shard: [d for t, d in server.dispatched_to_shard(shard) if t == "READY"] for shard in (0, 1)
    }
    assert [r["shard"] for r in readies[0]] == [[0, 2]]
    assert [r["shard"] for r in readies[1]] == [[1, 2]]
    assert [r["guilds"] for r in readies[1]] == [[{"id": str(second.id), "unavailable": True}]]

    created: dict[int, list[int]] = {0: [], 1: []}
    for shard, bot in ((0, bot0), (1, bot1)):

        async def on_thread_create(thread: discord.Thread, shard: int = shard) -> None:
            created[shard].append(thread.id)

        bot.add_listener(on_thread_create)
    posts = {
        g.id: await server.open_post(members[g.id], forums[g.id], "question", "body")
        for g in (first, second)
    }
    await server.wait_for(lambda: created[0] and created[1], timeout=5)

    assert created == {0: [posts[first.id].id], 1: [posts[second.id].id]}
    for shard, guild in ((0, second), (1, first)):  # never sent to the other shard
        assert all(
            d.get("guild_id") != str(guild.id) and d.get("id") != str(guild.id)
            for _, d in server.dispatched_to_shard(shard)
            if isinstance(d, dict)
        )
    server.assert_clean()


async def test_a_guild_added_later_is_created_on_its_shard_only(
    server: LocalDiscord, connect: BotConnector
) -> None:
    server.add_guild("Seed", shard=(0, 2))
    bot0 = await connect(server, sharded_bot(0, 2))
    bot1 = await connect(server, sharded_bot(1, 2))

    later = server.add_guild("Later", shard=(1, 2))
    await server.wait_for(lambda: bot1.get_guild(later.id), timeout=5)

    assert bot0.get_guild(later.id) is None
    creates = [d["id"] for t, d in server.dispatched_to_shard(0) if t == "GUILD_CREATE"]
    assert later.id not in {int(i) for i in creates}


async def test_an_auto_sharded_bot_runs_the_recommended_shards(
    make_server: ServerFactory, connect: BotConnector
) -> None:
    server = await make_server(recommended_shards=2)
    guilds = [server.add_guild(f"g{n}", shard=(n % 2, 2)) for n in range(4)]
    bot = commands.AutoShardedBot(
        command_prefix=commands.when_mentioned,
        intents=default_intents(),
        allowed_mentions=discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        help_command=None,
    )

    async def before_connect(client: commands.Bot) -> None:
        client.before_identify_hook = no_wait  # type: ignore[method-assign]

    await connect(server, bot, before_connect=before_connect)

    assert bot.shard_count == 2
    assert sorted(p["shard"] for p in server.identify_payloads) == [[0, 2], [1, 2]]
    for guild in guilds:
        seen = bot.get_guild(guild.id)
        assert seen is not None and seen.shard_id == shard_for(guild.id, 2)
    server.assert_clean()


async def test_gateway_bot_recommends_the_configured_shard_count(
    make_server: ServerFactory,
) -> None:
    server = await make_server(recommended_shards=3)
    headers = {"Authorization": f"Bot {server.bot_user.token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.api_url}/gateway/bot", headers=headers) as response,
    ):
        body = await response.json()

    assert body["shards"] == 3


def test_events_without_a_guild_go_to_shard_zero_only() -> None:
    def session(shard: tuple[int, int] | None) -> Session:
        return Session(id="s", intents=0, identify={}, shard=shard)

    assert session((0, 2)).wants(None)
    assert not session((1, 2)).wants(None)
    assert session(None).wants(None)  # an unsharded session receives everything
    guild_id = 5 << 22
    assert [session((n, 3)).wants(guild_id) for n in range(3)] == [False, False, True]


async def _identify(server: LocalDiscord, shard: Any) -> int | None:
    """Open a raw gateway connection, IDENTIFY with ``shard``, return the close code."""
    data = {
        "token": server.bot_user.token,
        "intents": default_intents().value,
        "properties": {"os": "linux", "browser": "test", "device": "test"},
        "shard": shard,
    }
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.gateway_url}?v=10&encoding=json") as ws,
    ):
        hello = json.loads((await ws.receive(timeout=5)).data)
        assert hello["op"] == 10
        await ws.send_str(json.dumps({"op": 2, "d": data}))
        while True:
            message = await ws.receive(timeout=5)
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return ws.close_code
            frame = json.loads(message.data)
            if frame.get("t") == "READY":
                return None


@pytest.mark.parametrize(
    "shard",
    [[2, 2], [-1, 2], [0, 0], [0], "0,2", [0, "2"], [True, 2]],
    ids=["id = count", "negative", "no shards", "one item", "a string", "text count", "bool"],
)
async def test_an_invalid_shard_is_closed_with_4010(server: LocalDiscord, shard: Any) -> None:
    assert await _identify(server, shard) == 4010

    [violation] = server.take_violations("gateway_shard")
    assert "invalid shard" in violation.message
    assert server.identify_payloads == []


async def test_a_valid_raw_shard_gets_ready(server: LocalDiscord) -> None:
    assert await _identify(server, [1, 2]) is None
    await asyncio.sleep(0)
    assert server.identify_payloads[0]["shard"] == [1, 2]


async def test_member_requests_are_answered_for_the_sessions_own_guilds_only(
    server: LocalDiscord,
) -> None:
    mine = server.add_guild("Mine", shard=(0, 2))
    theirs = server.add_guild("Theirs", shard=(1, 2))
    identify = {
        "token": server.bot_user.token,
        "intents": default_intents().value,
        "properties": {"os": "linux", "browser": "test", "device": "test"},
        "shard": [0, 2],
    }
    request = {"guild_id": [str(theirs.id), str(mine.id)], "query": "", "limit": 0}
    chunks: list[str] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.gateway_url}?v=10&encoding=json") as ws,
    ):
        await ws.receive(timeout=5)  # HELLO
        await ws.send_str(json.dumps({"op": 2, "d": identify}))
        await ws.send_str(json.dumps({"op": 8, "d": request}))
        while not chunks:
            frame = json.loads((await ws.receive(timeout=5)).data)
            if frame.get("t") == "GUILD_MEMBERS_CHUNK":
                chunks.append(frame["d"]["guild_id"])

    assert chunks == [str(mine.id)]
    assert [
        d["guild_id"] for t, d in server.dispatched_to_shard(0) if t == "GUILD_MEMBERS_CHUNK"
    ] == [str(mine.id)]
