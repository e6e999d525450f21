"""Edits and deletions in Discord, mirrored in the knowledge base.

An edited question or answer updates its entry; a deleted answer, question or
post removes (or trims) it, so what Senpai suggests is never older than the
thread it points to.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from cogs.services import Services, services_of

log = logging.getLogger(__name__)


class Sync(commands.Cog):
    """Keeps entries in step with edited and deleted messages and posts."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """An edited question or answer updates its entry."""
        content = payload.data.get("content")
        author = payload.data.get("author") or {}
        if content is None or author.get("bot"):
            return
        if await self.services.kb.edit_message(payload.message_id, str(content)):
            log.info("entry updated after message %d was edited", payload.message_id)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """A deleted answer or question removes (or trims) its entry."""
        removed = await self.services.kb.remove_message(payload.message_id)
        if removed.entries:
            log.info(
                "removed %d entries after message %d was deleted",
                removed.entries,
                payload.message_id,
            )

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """A moderator's bulk delete: each message as if deleted alone."""
        for message_id in payload.message_ids:
            await self.services.kb.remove_message(message_id)

    @commands.Cog.listener()
    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A deleted post leaves the knowledge base and the unanswered list."""
        if await self.services.kb.post_deleted(payload.thread_id):
            log.info("removed the entry of deleted post %d", payload.thread_id)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Sync(bot, services_of(bot)))
