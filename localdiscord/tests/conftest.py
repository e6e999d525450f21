"""Fixtures: a LocalDiscord server with a seeded guild, and real discord.py bots on it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from discord.ext import commands

from localdiscord import LocalDiscord, point_discord_py_at
from support import BotConnector, ServerFactory, World, make_bot, seed


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
