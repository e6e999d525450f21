"""Nothing of removed content stays on display: when an entry leaves the knowledge
base (its asker or answerer was forgotten, its post deleted or no longer solved),
Senpai takes it out of the messages it posted about it.

The core queues one retraction per post that showed the entry (see
:meth:`knowledge.engine.KnowledgeBase.due_retractions`), so this also covers a
``senpai forget`` run from the command line while the bot was offline. Here the
bot finds its own messages in that post and:

* in a suggestion, drops the entry's field (title, answer gist, solver's name)
  and its buttons, renumbering the rest; a suggestion left empty is deleted;
* replaces a "solved by an earlier thread" note that links the entry with a
  line that names nothing;
* in a staff channel, drops the entry's line from the escalation messages that
  listed it as a close solved thread.

An archived post is reopened for the edit and archived again. What cannot be
changed (the post is gone, locked, or Senpai may no longer see it) is logged
with ids and dropped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

import discord
from discord.ext import commands

from cogs.adapt import post_by_id
from cogs.i18n import choose_language, t
from cogs.polling import PollingCog
from cogs.render import NO_PINGS
from cogs.services import services_of
from cogs.shards import shards_of
from cogs.suggest import SolvedButton, suggestion_view
from knowledge.models import Retraction

log = logging.getLogger(__name__)

HISTORY_LIMIT = 100
"""How far back in a post Senpai looks for its own messages (it answers near the top)."""

_FIELD_NUMBER = re.compile(r"^#\d+ ")


def links_to(text: str | None, thread_id: int) -> bool:
    """Whether ``text`` holds a jump link to the thread ``thread_id`` (or a message in it)."""
    pattern = rf"/channels/\d+/{thread_id}(?:/\d+)?\b"
    return text is not None and re.search(pattern, text) is not None


def suggested_ids(components: Sequence[discord.Component]) -> list[int]:
    """The entry ids of a suggestion message, in the order it lists them (its
    "solved it" buttons carry them)."""
    ids: list[int] = []
    for row in components:
        for item in getattr(row, "children", [row]):
            prefix, _, value = (item.custom_id or "").rpartition(":")
            if prefix == SolvedButton.PREFIX and value.isdigit():
                ids.append(int(value))
    return ids


@dataclass(frozen=True, slots=True)
class Edit:
    """What to do with one of Senpai's messages: delete it, or set these parts."""

    delete: bool = False
    content: str | None = None
    embed: discord.Embed | None = None
    entry_ids: tuple[int, ...] | None = None
    """The entries a rewritten suggestion still lists (its buttons are rebuilt)."""


def plan(message: discord.Message, retraction: Retraction, lang: str) -> Edit | None:
    """How ``message`` (one of Senpai's) must change so it no longer shows the removed
    entry, or ``None`` if it does not show it."""
    ids = suggested_ids(message.components)
    if message.embeds and retraction.entry_id in ids:
        return _without_field(message.embeds[0], ids, ids.index(retraction.entry_id))
    if message.embeds:
        fields = message.embeds[0].fields
        for index, field in enumerate(fields):
            if links_to(field.value, retraction.entry_thread_id):
                return _without_field(message.embeds[0], ids, index)
    if links_to(message.content, retraction.entry_thread_id):
        return Edit(content=t("retraction.note", lang))
    return None


def without_lead(message: discord.Message, thread_id: int, lang: str) -> discord.Embed | None:
    """A staff escalation message's embed without its line about the thread
    ``thread_id`` (a lead that left the knowledge base), or ``None`` if it has none."""
    if not message.embeds:
        return None
    copy = message.embeds[0].copy()
    changed = False
    for index, field in enumerate(copy.fields):
        lines = (field.value or "").split("\n")
        kept = [line for line in lines if not links_to(line, thread_id)]
        if len(kept) == len(lines):
            continue
        changed = True
        value = "\n".join(kept) if kept else t("escalation.none", lang)
        copy.set_field_at(index, name=field.name, value=value, inline=bool(field.inline))
    return copy if changed else None


def _without_field(embed: discord.Embed, ids: list[int], index: int) -> Edit:
    """The suggestion embed without its ``index``-th entry, the rest renumbered."""
    kept = [f for i, f in enumerate(embed.fields) if i != index]
    if not kept:
        return Edit(delete=True)
    copy = embed.copy()
    copy.clear_fields()
    for n, field in enumerate(kept, start=1):
        name = _FIELD_NUMBER.sub(f"#{n} ", field.name or "", count=1)
        copy.add_field(name=name, value=field.value, inline=bool(field.inline))
    remaining = tuple(entry_id for i, entry_id in enumerate(ids) if i != index)
    return Edit(embed=copy, entry_ids=remaining if ids else None)


class Retractions(PollingCog):
    """Takes removed or forgotten threads out of Senpai's messages in other posts."""

    POLL_NAME = "retraction"

    async def run_once(self) -> None:
        """One pass over the queued retractions of the servers this bot is in."""
        kb = self.services.kb
        async with self._running:
            for retraction in await kb.due_retractions(shards=shards_of(self.bot)):
                guild = self.bot.get_guild(retraction.guild_id)
                if guild is None:
                    # A server the bot left (its rows go when it is forgotten).
                    continue
                await self._retract(guild, retraction)
                await kb.finish_retraction(retraction)

    async def _retract(self, guild: discord.Guild, retraction: Retraction) -> None:
        staff = guild.get_channel(retraction.channel_id)
        if isinstance(staff, discord.TextChannel):
            await self._retract_leads(staff, retraction)
            return
        post = await post_by_id(self.bot, retraction.channel_id)
        if post is None:
            log.info("entry %d: post %d is gone", retraction.entry_id, retraction.channel_id)
            return
        settings = await self.services.community.settings(guild.id)
        lang = choose_language(settings.language, locale=guild.preferred_locale)
        me = self.bot.user
        edits: list[tuple[discord.Message, Edit]] = []
        async for message in post.history(limit=HISTORY_LIMIT):
            if me is not None and message.author.id == me.id:
                edit = plan(message, retraction, lang)
                if edit is not None:
                    edits.append((message, edit))
        if not edits:
            return
        reopened = post.archived
        try:
            if reopened:
                await post.edit(archived=False)
            for message, edit in edits:
                await self._apply(message, edit, lang)
            if reopened:
                await post.edit(archived=True)
        except (discord.Forbidden, discord.NotFound) as error:
            log.info(
                "retraction of entry %d in post %d not done (%s)",
                retraction.entry_id,
                post.id,
                error.status,
            )
            return
        log.info(
            "entry %d taken out of %d message(s) in post %d",
            retraction.entry_id,
            len(edits),
            post.id,
        )

    async def _retract_leads(self, staff: discord.TextChannel, retraction: Retraction) -> None:
        """Take the entry's line out of the staff escalation messages that listed it."""
        settings = await self.services.community.settings(staff.guild.id)
        lang = choose_language(settings.language, locale=staff.guild.preferred_locale)
        listed = await self.services.community.lead_messages(staff.id, retraction.entry_id)
        edited = 0
        for message_id in listed:
            try:
                message = await staff.fetch_message(message_id)
                embed = without_lead(message, retraction.entry_thread_id, lang)
                if embed is not None:
                    await message.edit(embed=embed, allowed_mentions=NO_PINGS)
                    edited += 1
            except (discord.Forbidden, discord.NotFound) as error:
                log.info(
                    "entry %d: staff message %d not edited (%s)",
                    retraction.entry_id,
                    message_id,
                    error.status,
                )
        log.info(
            "entry %d taken out of %d staff message(s) in channel %d",
            retraction.entry_id,
            edited,
            staff.id,
        )

    @staticmethod
    async def _apply(message: discord.Message, edit: Edit, lang: str) -> None:
        if edit.delete:
            await message.delete()
        elif edit.embed is not None:
            view = (
                suggestion_view(list(edit.entry_ids), lang) if edit.entry_ids is not None else None
            )
            await message.edit(
                embed=edit.embed,
                allowed_mentions=NO_PINGS,
                **({"view": view} if view is not None else {}),
            )
        else:
            await message.edit(content=edit.content, allowed_mentions=NO_PINGS)


async def setup(bot: commands.Bot) -> None:
    """discord.py extension entry point."""
    await bot.add_cog(Retractions(bot, services_of(bot)))
