"""No question left alone: unanswered posts go to the staff, "me too" members hear back.

A post with no reply from anyone but its asker after the guild's escalation delay
is listed once in the staff channel (title, age, link, closest solved threads);
when someone else replies, or it is solved, or deleted, that staff message says so.
When a post that members said "me too" to is solved, one line in the post tells
them, naming and mentioning nobody. Everything is driven by the store, polled like
the nudges, so a restart neither repeats nor loses anything.
"""

from __future__ import annotations

import contextlib
import logging

import discord
from discord.ext import commands

from cogs import render
from cogs.adapt import post_by_id
from cogs.checks import scopes_for_forum
from cogs.i18n import choose_language
from cogs.polling import PollingCog
from cogs.render import NO_PINGS
from cogs.services import services_of
from cogs.shards import shards_of
from knowledge.engine import IndexNotReady
from knowledge.models import (
    DueEscalation,
    Entry,
    Escalation,
    EscalationState,
    MeTooNotice,
    Query,
)

log = logging.getLogger(__name__)

StaffChannel = discord.TextChannel | discord.Thread
"""Where Senpai can list posts for the staff."""


class Escalations(PollingCog):
    """Lists unanswered posts for the staff and tells "me too" members when solved."""

    POLL_NAME = "escalation"

    async def run_once(self) -> None:
        """One pass: list posts that became due, close those answered since, and tell
        the "me too" members of posts solved since. Only the servers of this process's
        shards: another process's are not in its cache (its staff channel would look
        missing), and that process does their work."""
        community = self.services.community
        shards = shards_of(self.bot)
        async with self._running:
            for due in await community.due_escalations(self.services.clock(), shards=shards):
                await self._escalate(due)
            for escalation, why in await community.escalations_to_close(shards=shards):
                await self._close(escalation, why)
            for notice in await community.due_me_too_notices(shards=shards):
                await self._tell_voters(notice)

    # -- escalation ----------------------------------------------------------------

    async def _escalate(self, due: DueEscalation) -> None:
        community = self.services.community
        staff = self._staff_channel(due.staff_channel)
        if staff is None:
            if await community.claim_escalation(due, skipped=True):
                log.info(
                    "post %d not escalated: guild %d has no usable staff channel (%s)",
                    due.thread_id,
                    due.guild_id,
                    due.staff_channel,
                )
            return
        thread = await self._thread(due.thread_id)
        if thread is None or not isinstance(thread.parent, discord.ForumChannel):
            if await community.claim_escalation(due, skipped=True):
                log.info("post %d not escalated: it cannot be read", due.thread_id)
            return
        if not await community.claim_escalation(due):
            return
        settings = await community.settings(due.guild_id)
        lang = choose_language(settings.language, locale=thread.guild.preferred_locale)
        hours = (self.services.clock() - due.asked_at).total_seconds() / 3600
        leads = await self._leads(thread, thread.parent)
        content, embed = render.escalation_message(thread.name, thread.jump_url, hours, leads, lang)
        try:
            sent = await staff.send(content, embed=embed, allowed_mentions=NO_PINGS)
        except (discord.Forbidden, discord.NotFound) as error:
            log.info(
                "post %d not escalated: staff channel %d refused (%s)",
                due.thread_id,
                staff.id,
                error.status,
            )
            await community.close_escalation(due.thread_id, EscalationState.SKIPPED)
            return
        shown = [(entry.id, entry.thread_id) for entry, _ in leads[: render.STAFF_LEADS]]
        await community.set_escalation_message(due.thread_id, staff.id, sent.id, shown)
        log.info("post %d escalated to staff channel %d", due.thread_id, staff.id)

    async def _leads(
        self, thread: discord.Thread, forum: discord.ForumChannel
    ) -> list[tuple[Entry, float]]:
        """Up to three close solved threads the post's forum may show."""
        body = ""  # the opening message may be gone: the title alone then
        with contextlib.suppress(discord.NotFound, discord.Forbidden):
            body = (await thread.fetch_message(thread.id)).content
        query = Query(
            guild_id=thread.guild.id,
            text=f"{thread.name}\n{body}",
            allowed_scopes=scopes_for_forum(forum),
            exclude_thread_id=thread.id,
            limit=render.STAFF_LEADS,
            title=thread.name,
        )
        try:
            return await self.services.kb.closest_solved(query)
        except IndexNotReady:
            return []

    async def _close(self, escalation: Escalation, why: EscalationState) -> None:
        """Say on the staff message that the post left the list, then record it."""
        staff = self._staff_channel(escalation.channel_id)
        if staff is not None and escalation.message_id is not None:
            settings = await self.services.community.settings(escalation.guild_id)
            lang = choose_language(settings.language, locale=staff.guild.preferred_locale)
            try:
                # A deleted (or forgotten) post's title and leads go with it.
                gone = why is EscalationState.DELETED
                await staff.get_partial_message(escalation.message_id).edit(
                    content=render.escalation_closed(why, lang),
                    allowed_mentions=NO_PINGS,
                    **({"embeds": []} if gone else {}),
                )
            except (discord.Forbidden, discord.NotFound) as error:
                log.info(
                    "staff message %d of post %d not updated (%s)",
                    escalation.message_id,
                    escalation.thread_id,
                    error.status,
                )
        await self.services.community.close_escalation(escalation.thread_id, why)
        log.info("post %d left the staff list: %s", escalation.thread_id, why.value)

    # -- "me too" ------------------------------------------------------------------

    async def _tell_voters(self, notice: MeTooNotice) -> None:
        """One line in the solved post for those who said "me too": it names and
        mentions nobody; members who follow the post see it."""
        if not await self.services.community.claim_me_too_notice(notice):
            return
        thread = await self._thread(notice.thread_id)
        if thread is None or thread.locked:
            log.info(
                "me-too members of post %d not told: the post is gone or locked", notice.thread_id
            )
            return
        settings = await self.services.community.settings(notice.guild_id)
        lang = choose_language(settings.language, text=thread.name)
        archived = thread.archived
        try:
            await thread.send(render.me_too_notice(notice.voters, lang), allowed_mentions=NO_PINGS)
            if archived:  # archived on solve: sending reopened it
                await thread.edit(archived=True)
        except (discord.Forbidden, discord.NotFound) as error:
            log.info("me-too members of post %d not told (%s)", notice.thread_id, error.status)
            return
        log.info("told %d me-too members that post %d is solved", notice.voters, notice.thread_id)

    # -- lookups -------------------------------------------------------------------

    def _staff_channel(self, channel_id: int | None) -> StaffChannel | None:
        channel = None if channel_id is None else self.bot.get_channel(channel_id)
        if not isinstance(channel, StaffChannel):
            return None
        if not channel.permissions_for(channel.guild.me).send_messages:
            return None
        return channel

    async def _thread(self, thread_id: int) -> discord.Thread | None:
        """The post, fetched when discord.py dropped it from its cache (archived)."""
        return await post_by_id(self.bot, thread_id)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Escalations(bot, services_of(bot)))
