"""End-to-end fixtures: Senpai's real bot, unpatched discord.py, against LocalDiscord.

The community used by the scenarios: guild "Flowdesk" with a public forum
"help" (tags Solved / 解決済み / Bug), a staff-only forum "staff", a helper
role and a moderator role, and a second guild "Other" with its own forum.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cogs.bot import SenpaiBot
from cogs.services import Services
from knowledge.engine import KnowledgeBase
from localdiscord import (
    Channel,
    Guild,
    LocalDiscord,
    Member,
    Permissions,
    Role,
    point_discord_py_at,
)
from senpai.app import Settings, close_services, open_services


@dataclass
class Community:
    server: LocalDiscord
    guild: Guild
    help: Channel
    staff: Channel
    helper_role: Role
    mod_role: Role
    aiko: Member
    ben: Member
    chika: Member
    dan: Member
    mod: Member
    maya: Member
    other_guild: Guild
    other_forum: Channel
    eve: Member


@dataclass
class Clock:
    """A clock the test moves forward (for nudges)."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def community() -> AsyncIterator[Community]:
    server = LocalDiscord(heartbeat_interval=1.0)
    guild = server.add_guild("Flowdesk")
    helper_role = server.add_role(guild, "Helper")
    mod_role = server.add_role(guild, "Moderator", permissions=Permissions.MANAGE_THREADS)
    help_forum = server.add_forum(guild, "help", tags=["Solved", "解決済み", "Bug"])
    staff = server.add_forum(guild, "staff", tags=["Solved"], private=True, allow=[mod_role])
    other_guild = server.add_guild("Other")
    other_forum = server.add_forum(other_guild, "help", tags=["Solved"])
    world = Community(
        server=server,
        guild=guild,
        help=help_forum,
        staff=staff,
        helper_role=helper_role,
        mod_role=mod_role,
        aiko=server.add_member(guild, "aiko", nick="Aiko"),
        ben=server.add_member(guild, "ben", nick="Ben", roles=[helper_role]),
        chika=server.add_member(guild, "chika", nick="Chika", locale="ja"),
        dan=server.add_member(guild, "dan", nick="Dan"),
        mod=server.add_member(guild, "mod", nick="Mod", roles=[mod_role]),
        maya=server.add_member(guild, "maya", nick="Maya", roles=[mod_role]),
        other_guild=other_guild,
        other_forum=other_forum,
        eve=server.add_member(other_guild, "eve", nick="Eve"),
    )
    await server.start()
    restore = point_discord_py_at(server.api_url, server.gateway_url)
    try:
        yield world
    finally:
        restore()
        await server.stop()


@dataclass
class Senpai:
    """The running bot and what it stands on; ``restart()`` replaces the bot process."""

    kb: KnowledgeBase
    services: Services
    bot: SenpaiBot
    clock: Clock
    start: Callable[[], object]

    async def restart(self) -> None:
        await self.stop_bot()
        await self.start()  # type: ignore[misc]

    async def stop_bot(self) -> None:
        await self.bot.close()


@pytest.fixture
async def senpai(community: Community, encoder, tmp_path: Path) -> AsyncIterator[Senpai]:
    clock = Clock()
    settings = Settings(data_dir=tmp_path / "data", model=encoder.name, nudge_poll_seconds=0.2)
    services = await open_services(settings, encoder=encoder, clock=clock)
    kb = services.kb
    tasks: list[asyncio.Task[None]] = []
    holder: dict[str, SenpaiBot] = {}

    async def start() -> SenpaiBot:
        bot = SenpaiBot(services, guild_ready_timeout=0.05)
        await bot.login(community.server.bot_user.token)
        tasks.append(asyncio.create_task(bot.connect()))
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        holder["bot"] = bot
        state.bot = bot
        return bot

    state = Senpai(kb=kb, services=services, bot=None, clock=clock, start=start)  # type: ignore[arg-type]
    await start()
    try:
        yield state
    finally:
        await state.bot.close()
        await asyncio.sleep(0.2)  # let handlers dispatched before the close finish
        for task in tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 5)
        await close_services(services)
