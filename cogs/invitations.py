"""Invite someone who solved it before: a direct message to members who opted in.

When Senpai stays silent on a new post (no confident suggestion: the suggestion
cog dispatches ``senpai_silent_post``), members who opted in with
``/senpai invites on`` and solved threads close to it may be invited to it by a
direct message, never by a ping in the post. Whom, and the caps (two per post, a
few per member per day), are decided by the core (:mod:`knowledge.invitations`);
here members who left the server or cannot read the post are skipped, and DMs that
Discord refuses are logged with ids. Replies by invited members are recorded for
the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import discord
from discord.ext import commands

from cogs import invite_render
from cogs.adapt import is_forum_post
from cogs.context import invocation
from cogs.render import NO_PINGS
from cogs.services import Services, services_of
from knowledge.engine import IndexNotReady
from knowledge.invitations import Claim, Invitee
from knowledge.models import Query
from knowledge.ranking import Scored

log = logging.getLogger(__name__)

REPLIES_READ = 50
"""Messages of a new post read to know who already replied in it."""


async def set_invites(interaction: discord.Interaction, on: bool | None) -> None:
    """``/senpai invites on|off``: opt in or out of invitations in this server; without
    a choice, say what the member's choice is. The reply is private."""
    if interaction.guild_id is None:
        return
    where = await invocation(interaction)
    kb, user_id = where.services.kb, interaction.user.id
    choice = None
    if on is not None:
        choice = await kb.set_invites(user_id, interaction.guild_id, on, where.lang)
    enabled = await kb.invites_enabled(user_id, interaction.guild_id)
    text = invite_render.invites_choice(choice, enabled, where.lang)
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


class Invitations(commands.Cog):
    """Invites members who solved similar threads to posts Senpai could not answer."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    @commands.Cog.listener()
    async def on_senpai_silent_post(
        self,
        thread: discord.Thread,
        message: discord.Message,
        query: Query,
        ranked: Sequence[Scored] | None = None,
    ) -> None:
        """A new post got no confident suggestion: invite up to two members who solved
        threads close to it (``ranked``: the post's candidates, when already searched)."""
        kb, policy = self.services.kb, self.services.invite_policy
        asker_id = message.author.id
        try:
            invitees = await kb.invitees(
                query,
                asker_id=asker_id,
                repliers=await self._repliers(thread, asker_id),
                policy=policy,
                ranked=ranked,
            )
        except IndexNotReady:
            log.info("no invitation for post %d: the index is being rebuilt", thread.id)
            return
        sent = 0
        for invitee in invitees:
            if sent >= policy.per_post:
                break
            member = await self._member(thread, invitee.user_id)
            if member is None:
                continue
            claim = await kb.claim_invitation(
                invitee,
                thread_id=thread.id,
                guild_id=thread.guild.id,
                asker_id=asker_id,
                policy=policy,
            )
            if claim is Claim.POST_FULL:
                break
            if claim is not Claim.CLAIMED:
                log.info("member %d not invited to post %d: %s", member.id, thread.id, claim.value)
                continue
            sent += await self._invite(member, thread, invitee)

    async def _repliers(self, thread: discord.Thread, asker_id: int) -> set[int]:
        """Members other than the asker who already wrote in the post."""
        repliers: set[int] = set()
        try:
            async for message in thread.history(limit=REPLIES_READ):
                if not message.author.bot and message.author.id != asker_id:
                    repliers.add(message.author.id)
        except (discord.Forbidden, discord.NotFound) as error:
            log.info("post %d: replies not read (%s)", thread.id, error.status)
        return repliers

    async def _member(self, thread: discord.Thread, user_id: int) -> discord.Member | None:
        """The member, if still in the server and able to read the post's forum."""
        try:
            member = await thread.guild.fetch_member(user_id)
        except discord.NotFound:
            log.info(
                "member %d not invited to post %d: no longer in the server", user_id, thread.id
            )
            return None
        except discord.HTTPException as error:
            log.info(
                "member %d not invited to post %d: not read (%s)", user_id, thread.id, error.status
            )
            return None
        forum = thread.parent
        if forum is None or not forum.permissions_for(member).read_messages:
            log.info("member %d not invited to post %d: cannot read its forum", user_id, thread.id)
            return None
        return member

    async def _invite(
        self, member: discord.Member, thread: discord.Thread, invitee: Invitee
    ) -> int:
        """Send the direct message; record whether it was delivered. Returns 1 if sent."""
        kb = self.services.kb
        text = invite_render.invitation(
            guild=thread.guild.name,
            title=thread.name,
            url=thread.jump_url,
            earlier_title=invitee.earlier.title,
            earlier_url=invitee.earlier.jump_url,
            per_day=self.services.invite_policy.per_member_per_day,
            lang=invitee.lang,
        )
        try:
            await member.send(text, allowed_mentions=NO_PINGS, suppress_embeds=True)
        except discord.HTTPException as error:  # 50007: DMs closed, or no shared server
            log.info(
                "invitation of member %d to post %d not delivered (%s)",
                member.id,
                thread.id,
                error.status,
            )
            await kb.invitation_delivered(thread.id, member.id, False)
            return 0
        await kb.invitation_delivered(thread.id, member.id, True)
        log.info(
            "member %d invited to post %d (their thread %d)",
            member.id,
            thread.id,
            invitee.earlier.thread_id,
        )
        return 1

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A reply in a forum post: if its author was invited to the post, they replied."""
        if message.author.bot or message.guild is None:
            return
        thread = message.channel
        if not is_forum_post(thread) or message.id == thread.id:
            return
        if await self.services.kb.record_invitee_reply(
            thread.id, message.author.id, message.created_at
        ):
            log.info("invited member %d replied in post %d", message.author.id, thread.id)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Invitations(bot, services_of(bot)))
