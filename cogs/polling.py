"""Work a cog repeats on a timer once the bot is ready (nudges, escalations)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import discord
from discord.ext import commands

log = logging.getLogger(__name__)


def poll(
    bot: commands.Bot, work: Callable[[], Awaitable[object]], every: Callable[[], float], name: str
) -> asyncio.Task[None]:
    """Run ``work`` every ``every()`` seconds from when ``bot`` is ready until it closes.

    A failed pass (Discord refused something, the network dropped) is logged and the
    next one comes as usual. Cancel the returned task to stop (a cog's unload).
    """

    async def loop() -> None:
        await bot.wait_until_ready()
        while not bot.is_closed():
            try:
                await work()
            except (discord.HTTPException, OSError):
                log.exception("%s pass failed; will retry", name)
            await asyncio.sleep(every())

    return asyncio.create_task(loop(), name=f"senpai-{name}")
