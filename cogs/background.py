"""Senpai's background work, as an extension a host bot gets by loading it:
saving the index every few minutes, and the one handler where failed commands end.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from cogs.checks import NotAdmin
from cogs.context import invocation
from cogs.i18n import choose_language, t
from cogs.services import Services, services_of

log = logging.getLogger(__name__)

ErrorHandler = Callable[
    [discord.Interaction, app_commands.AppCommandError], Coroutine[Any, Any, None]
]


class Background(commands.Cog):
    """Flushes the index on a timer, and answers every failed application command."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self._previous_handler: ErrorHandler | None = None
        self.flusher = tasks.loop(seconds=services.flush_every_seconds)(self._flush)

    async def cog_load(self) -> None:
        self._previous_handler = self.bot.tree.on_error
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self.flusher.start()

    async def cog_unload(self) -> None:
        self.flusher.cancel()
        if self._previous_handler is not None:
            self.bot.tree.on_error = self._previous_handler  # type: ignore[method-assign]

    async def _flush(self) -> None:
        # The first run comes one interval after loading, like every later one.
        if self.flusher.current_loop == 0:
            return
        try:
            await self.services.kb.flush()
        except OSError:
            log.exception("saving the index failed; will retry")

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """The one place failed commands end. A member without Manage Server gets a short
        refusal; the unexpected is logged with the traceback, and the member gets a
        short, localised apology instead of "the application did not respond"."""
        if isinstance(error, NotAdmin):
            text = t("refuse.admin", (await invocation(interaction)).lang)
        else:
            name = interaction.command.qualified_name if interaction.command else "?"
            log.error("command %s failed", name, exc_info=error)
            # Only the locale: the settings may be what failed.
            text = t("error.generic", choose_language(locale=interaction.locale))
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Background(bot, services_of(bot)))
