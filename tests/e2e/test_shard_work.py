"""Each shard's process does its own servers' timed work, once, over one shared store.

Two auto-sharded bots (shard 0 and shard 1 of 2), each with its own knowledge base
opened on one data directory as two processes would, run in this test's event loop
so that the test clock drives their polls (every 0.2 s). The local Discord routes
each guild's events to its shard only, so a process does not even have the other
shard's channels in its cache: it must leave that shard's rows in the database to
the other process (not skip them, not send them twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cogs.bot import ShardedSenpaiBot
from cogs.services import Services
from index.encoder import Encoder, HashingEncoder
from knowledge.importer import import_exports
from knowledge.models import EscalationState, GuildSettings
from knowledge.shards import Shards
from localdiscord import Channel, Guild, LocalDiscord, Member, Message, point_discord_py_at
from senpai.app import Settings, close_services, open_services
from tests.e2e.test_scenarios import eventually, wait_quiet
from tests.e2e.test_shards import export_for


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    """The model-free encoder: this test is about who does the work, not about ranking."""
    return HashingEncoder()


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Side:
    """One shard's guild and the process serving it."""

    guild: Guild
    forum: Channel
    mods: Channel
    asker: Member
    helper: Member
    services: Services
    bot: ShardedSenpaiBot


def is_listing(message: Message) -> bool:
    return bool(message.embeds)


def is_nudge(message: Message) -> bool:
    return "senpai:later" in message.custom_ids()


@pytest.fixture
async def sides(
    encoder: Encoder, tmp_path: Path
) -> AsyncIterator[tuple[LocalDiscord, Clock, list[Side]]]:
    server = LocalDiscord(heartbeat_interval=1.0)
    worlds = []
    for shard in (0, 1):
        guild = server.add_guild(f"Shard {shard}", shard=(shard, 2))
        mod_role = server.add_role(guild, "Moderator")
        worlds.append(
            (
                guild,
                server.add_forum(guild, "help", tags=["Solved"]),
                server.add_text_channel(guild, "mods", private=True, allow=[mod_role]),
                server.add_member(guild, f"asker{shard}", nick=f"Asker {shard}"),
                server.add_member(guild, f"helper{shard}", nick=f"Helper {shard}"),
            )
        )
    await server.start()
    restore = point_discord_py_at(server.api_url, server.gateway_url)
    clock = Clock(datetime.now(UTC))
    settings = Settings(data_dir=tmp_path / "data", model=encoder.name, nudge_poll_seconds=0.2)
    opened: list[Services] = []
    bots: list[ShardedSenpaiBot] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        for shard, (guild, forum, mods, *_) in enumerate(worlds):
            services = await open_services(settings, encoder=encoder, clock=clock)
            opened.append(services)
            # Each guild holds an entry (so that a process that wrongly judged the
            # other's guild gone would schedule it for deletion) and a staff channel.
            exports = tmp_path / f"exports{shard}"
            exports.mkdir()
            (exports / "thread.json").write_text(json.dumps(export_for(guild, forum)), "utf-8")
            await import_exports(services.kb, [exports])
            await services.community.save_settings(
                GuildSettings(guild.id, staff_channel=mods.id, escalation_hours=6)
            )
        for shard, services in enumerate(opened):
            bot = ShardedSenpaiBot(
                services, Shards(2, frozenset({shard})), guild_ready_timeout=0.05
            )
            await bot.login(server.bot_user.token)
            tasks.append(asyncio.create_task(bot.connect()))
            bots.append(bot)
        for bot in bots:
            await asyncio.wait_for(bot.wait_until_ready(), 10)
        yield (
            server,
            clock,
            [
                Side(*world, services, bot)
                for world, services, bot in zip(worlds, opened, bots, strict=True)
            ],
        )
    finally:
        for bot in bots:
            await bot.close()
        await asyncio.sleep(0.2)  # let handlers dispatched before the close finish
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)
        for services in opened:
            await close_services(services)
        restore()
        await server.stop()


async def test_each_process_escalates_and_nudges_its_own_guilds_once(
    sides: tuple[LocalDiscord, Clock, list[Side]],
) -> None:
    server, clock, both = sides
    for side in both:  # each process sees its own guild only
        assert [g.id for g in side.bot.guilds] == [side.guild.id]

    lonely = {}
    answered = {}
    for side in both:
        lonely[side.guild.id] = await server.open_post(
            side.asker, side.forum, "Calendar sync stopped", "Nothing syncs since Monday."
        )
        answered[side.guild.id] = post = await server.open_post(
            side.asker, side.forum, "Webhook retries paused", "No webhook events arrive."
        )
        await server.send_message(side.helper, post, "Press Resume on the subscription.")

    async def recorded() -> bool:
        community = both[0].services.community
        for side in both:
            if await community.question(lonely[side.guild.id].id) is None:
                return False
            if await community.nudge(answered[side.guild.id].id) is None:
                return False
        return True

    assert await eventually(recorded, timeout=10)

    clock.now += timedelta(hours=25)  # past the 6-hour escalation and the 24-hour nudge
    for side in both:
        await server.wait_for_bot_message(side.mods, is_listing)
        await server.wait_for_bot_message(answered[side.guild.id], is_nudge)
    clock.now += timedelta(hours=1)
    await wait_quiet(1.0)  # a few more polls of both processes

    for side in both:
        post = lonely[side.guild.id]
        escalation = await side.services.community.escalation(post.id)
        assert escalation is not None and escalation.state is EscalationState.OPEN
        assert [m.id for m in server.bot_messages(side.mods)] == [escalation.message_id]
        assert len([m for m in server.bot_messages(answered[side.guild.id]) if is_nudge(m)]) == 1
    # Nobody left a server: neither process judged the other's guild gone (it is not in
    # its guild list, and would be forgotten after the grace period).
    far = clock.now + timedelta(days=365)
    assert await both[0].services.community.departures_before(far) == []
    server.assert_clean()
