"""Senpai's background work, as an extension a host bot gets by loading it:
saving the index every few minutes, the servers' lifecycle (a server Senpai left
is forgotten after a grace period), and the one handler where failed commands end.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Coroutine
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from cogs.checks import NotAdmin
from cogs.context import invocation
from cogs.i18n import choose_language, t
from cogs.services import Services, services_of
from cogs.shards import shards_of
from knowledge.db import DatabaseError
from knowledge.shards import serving

log = logging.getLogger(__name__)

ErrorHandler = Callable[
    [discord.Interaction, app_commands.AppCommandError], Coroutine[Any, Any, None]
]


class Background(commands.Cog):
    """Flushes the index on a timer, forgets the servers Senpai left once their grace
    period is over, and answers every failed application command."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self._previous_handler: ErrorHandler | None = None
        self.flusher = tasks.loop(seconds=services.flush_every_seconds)(self._flush)
        self.purger = tasks.loop(seconds=services.guild_purge_seconds)(self._purge)
        self.purger.before_loop(self._reconcile_guilds)

    async def cog_load(self) -> None:
        self._previous_handler = self.bot.tree.on_error
        self.bot.tree.on_error = self.on_app_command_error  # type: ignore[method-assign]
        self.flusher.start()
        if self.bot.is_ready():  # loaded into a running bot: no ready event will come
            self.purger.start()

    async def cog_unload(self) -> None:
        self.flusher.cancel()
        self.purger.cancel()
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

    # -- servers joined and left ----------------------------------------------------

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        """Added to a server (or back in one): nothing of it is scheduled for deletion."""
        await self.services.kb.guild_joined(guild.id)
        log.info("joined guild %d", guild.id)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """Removed from a server (kicked, or the server was deleted): its data goes once
        the grace period is over, unless Senpai is added back before."""
        await self.services.kb.guild_left(guild.id)
        log.info("left guild %d; its data goes in %s", guild.id, self.services.guild_grace)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Connected: every server Senpai is in keeps its data. The purge starts now,
        once the servers Senpai is in are known (it counts them in first)."""
        if self.purger.is_running():
            await self._reconcile_guilds()
        else:
            self.purger.start()

    async def _reconcile_guilds(self) -> None:
        """Servers Senpai is in are not scheduled for deletion; a server it holds entries
        for but is no longer in (removed while it was offline) is, from now. A process
        that runs only some shards judges only the servers of its shards: the others'
        are in the guild lists of other processes."""
        present = {guild.id for guild in self.bot.guilds}
        for guild_id in present:
            if self.bot.get_guild(guild_id) is not None:  # not removed meanwhile
                await self.services.kb.guild_joined(guild_id)
        shards = shards_of(self.bot)
        for guild_id in await self.services.kb.guild_ids():
            if guild_id not in present and serving(shards, guild_id):
                await self.services.kb.guild_left(guild_id)
                grace = self.services.guild_grace
                log.info("guild %d is gone; its data goes in %s", guild_id, grace)

    async def _purge(self) -> None:
        try:
            purged = await self.services.kb.purge_departed_guilds(
                self.services.guild_grace, shards=shards_of(self.bot)
            )
        except (OSError, sqlite3.Error, DatabaseError):
            log.exception("forgetting departed guilds failed; will retry")
            return
        if purged:
            log.info("forgot departed guilds %s", ", ".join(str(g) for g in purged))

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
