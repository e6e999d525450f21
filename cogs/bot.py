"""The runner's bot: intents, wiring, extensions, clean shutdown.

A host bot can load Senpai's extensions itself instead: attach
:class:`~cogs.services.Services`, set the translator, and load
:data:`EXTENSIONS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from cogs.i18n import SenpaiTranslator, locale_language, t
from cogs.services import Services, attach

log = logging.getLogger(__name__)

EXTENSIONS = ("cogs.suggest", "cogs.solve", "cogs.admin")


def intents() -> discord.Intents:
    """Only what Senpai needs: guilds, guild messages and their content."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


class SenpaiBot(commands.Bot):
    """A bot that runs Senpai's extensions over a knowledge base."""

    def __init__(self, services: Services, *, sync_commands: bool = True, **options: Any) -> None:
        """``options`` go to :class:`discord.Client` (e.g. ``guild_ready_timeout``)."""
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.services = services
        self.sync_commands = sync_commands
        self._flusher: asyncio.Task[None] | None = None
        attach(self, services)

    async def setup_hook(self) -> None:
        self.tree.on_error = self._on_command_error  # type: ignore[method-assign]
        await self.tree.set_translator(SenpaiTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.sync_commands:
            synced = await self.tree.sync()
            log.info("synced %d application commands", len(synced))
        self._flusher = asyncio.create_task(self._flush_loop(), name="senpai-flush")

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.services.flush_every_seconds)
            try:
                await self.services.kb.flush()
            except OSError:
                log.exception("saving the index failed; will retry")

    async def _on_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """The one place unexpected errors end: logged with the traceback, and the member
        gets a short, localised apology instead of "the application did not respond"."""
        name = interaction.command.qualified_name if interaction.command else "?"
        log.error("command %s failed", name, exc_info=error)
        lang = locale_language(interaction.locale)
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(t("error.generic", lang), ephemeral=True)
            else:
                await interaction.response.send_message(t("error.generic", lang), ephemeral=True)

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("logged in as %s (%d) in %d guilds", self.user, self.user.id, len(self.guilds))

    async def close(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
        await super().close()


async def run_bot(services: Services, token: str) -> None:
    """Run until SIGINT/SIGTERM, then close the gateway (the caller closes the services)."""
    bot = SenpaiBot(services)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    runner = asyncio.create_task(bot.start(token))
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({runner, waiter}, return_when=asyncio.FIRST_COMPLETED)
    log.info("shutting down")
    await bot.close()
    waiter.cancel()
    if runner in done:
        runner.result()
    else:
        await asyncio.gather(runner, return_exceptions=True)
