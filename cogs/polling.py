"""Work a cog repeats on a timer once the bot is ready (nudges, escalations)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import discord
from discord.ext import commands

from cogs.services import Services

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


class PollingCog(commands.Cog):
    """A cog whose work (:meth:`run_once`) runs on a timer once the bot is ready,
    every ``nudge_poll_seconds``, one pass at a time (``_running``).

    Unloading (``bot.close()`` unloads the cogs) waits for a pass in progress before
    stopping the loop, so no pass is cut in the middle of its work.
    """

    POLL_NAME = "poll"
    """The loop's name in logs and task names."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self._task: asyncio.Task[None] | None = None
        self._running = asyncio.Lock()

    async def run_once(self) -> None:
        """One pass of the cog's work (subclasses hold ``_running`` while they work)."""
        raise NotImplementedError

    async def cog_load(self) -> None:
        self._task = poll(
            self.bot, self.run_once, lambda: self.services.nudge_poll_seconds, self.POLL_NAME
        )

    async def cog_unload(self) -> None:
        if self._task is not None:
            async with self._running:
                self._task.cancel()
