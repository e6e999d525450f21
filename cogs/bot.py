"""The runner's bot: intents, wiring, extensions, clean shutdown.

A host bot can load Senpai's extensions itself instead: attach
:class:`~cogs.services.Services`, set the translator, and load
:data:`EXTENSIONS`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

import discord
from discord.ext import commands

from cogs.i18n import SenpaiTranslator
from cogs.render import NO_PINGS
from cogs.services import Services, attach
from cogs.shards import shards_of
from knowledge.shards import Shards

log = logging.getLogger(__name__)

EXTENSIONS = (
    "cogs.background",
    "cogs.suggest",
    "cogs.solve",
    "cogs.sync",
    "cogs.admin",
    "cogs.escalation",
    "cogs.retraction",
    "cogs.schedule",
    "cogs.credit",
    "cogs.invitations",
    "cogs.glossary",
)
"""What a host bot loads to run Senpai (after attaching :class:`Services` and setting
:class:`~cogs.i18n.SenpaiTranslator` on its command tree)."""


def intents() -> discord.Intents:
    """Only what Senpai needs: guilds, guild messages and their content."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    return wanted


class SenpaiBot(commands.Bot):
    """A bot that runs Senpai's extensions over a knowledge base: intents, the
    translator, the extensions, and the command sync. Everything else is in them."""

    def __init__(self, services: Services, *, sync_commands: bool = True, **options: Any) -> None:
        """``options`` go to :class:`discord.Client` (e.g. ``guild_ready_timeout``)."""
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents(),
            allowed_mentions=NO_PINGS,
            help_command=None,
            **options,
        )
        self.sync_commands = sync_commands
        attach(self, services)

    async def setup_hook(self) -> None:
        await self.tree.set_translator(SenpaiTranslator())
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        if self.sync_commands:
            synced = await self.tree.sync()
            log.info("synced %d application commands", len(synced))

    async def on_ready(self) -> None:
        assert self.user is not None
        log.info("logged in as %s (%d) in %d guilds", self.user, self.user.id, len(self.guilds))
        shards = shards_of(self)
        if shards is not None:
            log.info("serving the guilds of %s", shards.describe())


class ShardedSenpaiBot(SenpaiBot, commands.AutoShardedBot):
    """:class:`SenpaiBot` over several gateway connections, one per shard, each
    receiving the events of its share of the servers. Several processes may each run
    some of the shards over one shared store; each does the work of its own servers."""

    def __init__(
        self, services: Services, shards: Shards, *, sync_commands: bool = True, **options: Any
    ) -> None:
        """``shards``: the shard count and the shards this process runs. Application
        commands are global: only the process that runs shard 0 syncs them."""
        super().__init__(
            services,
            sync_commands=sync_commands and 0 in shards.ids,
            shard_count=shards.count,
            shard_ids=sorted(shards.ids),
            **options,
        )


def make_bot(services: Services, shards: Shards | None = None, **options: Any) -> SenpaiBot:
    """The runner's bot: a plain one, or an auto-sharded one running ``shards``."""
    if shards is None:
        return SenpaiBot(services, **options)
    return ShardedSenpaiBot(services, shards, **options)


async def run_bot(services: Services, token: str, shards: Shards | None = None) -> None:
    """Run until SIGINT/SIGTERM, then close the gateway (the caller closes the services).
    ``shards``: run only these shards (``senpai run --shard-count N --shard-ids a,b``)."""
    bot = make_bot(services, shards)
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
