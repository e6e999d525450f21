"""Fixtures: a LocalDiscord server with a seeded guild, and real discord.py bots on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import discord
import pytest
from discord.ext import commands

from localdiscord import (
    Channel,
    Guild,
    LocalDiscord,
    Member,
    Permissions,
    Role,
    TagSpec,
    point_discord_py_at,
)


@dataclass
class World:
    """The seeded guild most tests use."""

    guild: Guild
    general: Channel
    forum: Channel
    private_forum: Channel
    helper: Role
    alice: Member
    bob: Member
    mod: Member


def default_intents() -> discord.Intents:
    """What Senpai asks for: guilds, guild messages, message content, reactions."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    return intents


def make_bot(
    *,
    allowed_mentions: discord.AllowedMentions | None = None,
    intents: discord.Intents | None = None,
) -> commands.Bot:
    """A real commands.Bot, quick to become ready (short guild_ready_timeout)."""
    return commands.Bot(
        command_prefix=commands.when_mentioned,
        intents=intents or default_intents(),
        allowed_mentions=allowed_mentions
        if allowed_mentions is not None
        else discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        help_command=None,
    )


ServerFactory = Callable[..., Awaitable[LocalDiscord]]
BotConnector = Callable[..., Awaitable[commands.Bot]]


@pytest.fixture
async def make_server() -> AsyncIterator[ServerFactory]:
    """Start LocalDiscord servers (stopped at teardown)."""
    started: list[LocalDiscord] = []

    async def factory(**options: object) -> LocalDiscord:
        options.setdefault("heartbeat_interval", 1.0)
        server = LocalDiscord(**options)  # type: ignore[arg-type]
        await server.start()
        started.append(server)
        return server

    yield factory
    for server in started:
        await server.stop()


@pytest.fixture
async def server(make_server: ServerFactory) -> LocalDiscord:
    """A started server with default settings."""
    return await make_server()


def seed(server: LocalDiscord) -> World:
    """A Japanese-locale guild with a public forum, a private forum and a text channel."""
    guild = server.add_guild("Senpai Lab", locale="ja")
    helper = server.add_role(guild, "Helper", permissions=Permissions.MANAGE_THREADS)
    alice = server.add_member(guild, "alice", locale="ja")
    bob = server.add_member(guild, "bob", locale="en-US")
    mod = server.add_member(guild, "mod", roles=[helper])
    general = server.add_text_channel(guild, "general")
    forum = server.add_forum(
        guild,
        "help",
        tags=["Solved", "解決済み", TagSpec("Staff pick", moderated=True, emoji="⭐")],
    )
    private_forum = server.add_forum(
        guild, "staff-help", tags=["Solved"], private=True, allow=[helper]
    )
    return World(guild, general, forum, private_forum, helper, alice, bob, mod)


@pytest.fixture
def world(server: LocalDiscord) -> World:
    """The default seeded world on ``server``."""
    return seed(server)


@pytest.fixture
async def connect() -> AsyncIterator[BotConnector]:
    """Log real bots in to a server and wait until they are ready.

    discord.py is redirected with ``point_discord_py_at`` and restored at teardown;
    every bot is closed and its connect task awaited.
    """
    running: list[tuple[commands.Bot, asyncio.Task[None]]] = []
    restores: list[Callable[[], None]] = []

    async def connector(
        server: LocalDiscord,
        bot: commands.Bot | None = None,
        *,
        before_connect: Callable[[commands.Bot], Awaitable[None]] | None = None,
    ) -> commands.Bot:
        restores.append(point_discord_py_at(server.api_url, server.gateway_url))
        bot = bot or make_bot()
        await bot.login(server.bot_user.token)
        if before_connect is not None:
            await before_connect(bot)
        task = asyncio.create_task(bot.connect(reconnect=True))
        running.append((bot, task))
        await asyncio.wait_for(bot.wait_until_ready(), timeout=10)
        return bot

    yield connector
    for bot, task in reversed(running):
        await bot.close()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
    for restore in reversed(restores):
        restore()
