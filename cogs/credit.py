"""Credit for helpers: authors hear that their answer helped, a monthly thanks post, a role.

A polling pass (like the nudges') asks the knowledge base what is due and does it:
credit messages (direct messages, one per member per day at most, each with a button
that turns them off), the month's thanks post in the channel an admin chose, and the
automatic role after N accepted answers. Everything is claimed in SQLite before it is
done, so a restart neither repeats nor floods. The commands (``/senpai helpers``,
``/senpai credit``, ``/senpai-admin credit``) live in their groups and call the
functions here.
"""

from __future__ import annotations

import dataclasses
import logging

import discord
from discord.ext import commands

from cogs import credit_render
from cogs.components import PersistentButton
from cogs.context import invocation
from cogs.i18n import choose_language, t
from cogs.polling import PollingCog
from cogs.render import NO_PINGS, member_text
from cogs.services import Services, services_of
from knowledge.credit import (
    CreditDigest,
    RoleGrant,
    RoleState,
    ThanksDue,
    ThanksState,
)

log = logging.getLogger(__name__)

ThanksChannel = discord.TextChannel | discord.Thread
"""Where Senpai can post the monthly thanks."""

HELPER_PERIODS = {
    "7d": "last 7 days",
    "30d": "last 30 days",
    "month": "this month",
    "all": "all time",
}
"""/senpai helpers' periods (:data:`~knowledge.credit.BOARD_PERIODS`) and their names
(localised as-is)."""


def can_grant(me: discord.Member, role: discord.Role) -> bool:
    """Whether the bot may give ``role``: Manage Roles, and the role below its own."""
    return (
        me.guild_permissions.manage_roles
        and role < me.top_role
        and not role.managed
        and not role.is_default()
    )


class CreditOffButton(PersistentButton, template=r"senpai:credit:off"):
    """ "Stop these messages", on a credit message: works in direct messages."""

    PREFIX = "senpai:credit:off"

    async def callback(self, interaction: discord.Interaction) -> None:
        services = services_of(interaction.client)  # type: ignore[arg-type]
        await services.kb.set_credit_prefs(interaction.user.id, notices=False)
        # The message's own language: the one its button label was written in.
        lang = "ja" if self.item.label == t("button.credit_off", "ja") else "en"
        await interaction.response.edit_message(view=None)
        await interaction.followup.send(t("credit.off_done", lang), ephemeral=True)


def credit_view(lang: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(CreditOffButton(label=t("button.credit_off", lang)))
    return view


class Credit(PollingCog):
    """Tells authors their answers helped, thanks helpers monthly, grants the role."""

    POLL_NAME = "credit"

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        super().__init__(bot, services)
        self._refused: set[tuple[int, int]] = set()
        """(guild, role) Discord refused to grant: not tried again (nor logged again)
        until an admin saves the credit settings."""

    def settings_changed(self, guild_id: int) -> None:
        """An admin saved the credit settings: try a refused role again."""
        self._refused = {key for key in self._refused if key[0] != guild_id}

    async def run_once(self) -> None:
        """One pass: credit messages, then due thanks posts, then due roles."""
        kb = self.services.kb
        async with self._running:
            async for digest in kb.credit_digests():
                await self._tell(digest)
            for due in await kb.due_thanks():
                await self._thank(due)
            for grant in await kb.due_role_grants():
                await self._grant(grant)

    # -- credit messages -----------------------------------------------------------

    async def _tell(self, digest: CreditDigest) -> None:
        kb = self.services.kb
        if not digest.lines:  # the entries went between the claim and now
            await kb.credit_digest_done(digest, sent=False)
            return
        guild = self.bot.get_guild(digest.guild_id)
        settings = await self.services.community.settings(digest.guild_id)
        titles = " ".join(line.title for line in digest.lines)
        lang = choose_language(settings.language, text=titles)
        content = credit_render.digest_message(digest, guild.name if guild else "Discord", lang)
        try:
            user = self.bot.get_user(digest.user_id) or await self.bot.fetch_user(digest.user_id)
            await user.send(
                content,
                view=credit_view(lang),
                allowed_mentions=NO_PINGS,
                suppress_embeds=True,
            )
        except (discord.Forbidden, discord.NotFound) as error:
            log.info(
                "credit message to user %d not delivered (%s %s); dropped",
                digest.user_id,
                error.status,
                error.code,
            )
            await kb.credit_digest_done(digest, sent=False)
            return
        await kb.credit_digest_done(digest, sent=True)
        log.info("credit message sent to user %d: %d credits", digest.user_id, len(digest.events))

    # -- thanks --------------------------------------------------------------------

    async def _thank(self, due: ThanksDue) -> None:
        kb = self.services.kb
        channel = self._thanks_channel(due.channel_id)
        if channel is None:
            if await kb.claim_thanks(due, ThanksState.SKIPPED):
                log.info(
                    "thanks for %s not posted: guild %d's channel %d is gone or closed",
                    due.month,
                    due.guild_id,
                    due.channel_id,
                )
            return
        board = await kb.helpers_between(due.guild_id, due.start, due.end)
        if not board:
            if await kb.claim_thanks(due, ThanksState.EMPTY):
                log.info("thanks for %s in guild %d: nobody to thank", due.month, due.guild_id)
            return
        if not await kb.claim_thanks(due, ThanksState.POSTING):
            return
        settings = await self.services.community.settings(due.guild_id)
        lang = choose_language(settings.language, locale=channel.guild.preferred_locale)
        try:
            sent = await channel.send(
                credit_render.thanks_message(board, due.start, lang), allowed_mentions=NO_PINGS
            )
        except (discord.Forbidden, discord.NotFound) as error:
            log.info(
                "thanks for %s not posted in channel %d (%s)", due.month, channel.id, error.status
            )
            await kb.thanks_done(due, ThanksState.SKIPPED)
            return
        await kb.thanks_done(due, ThanksState.POSTED, sent.id)
        log.info(
            "thanks for %s posted in channel %d: %d members", due.month, channel.id, len(board)
        )

    def _thanks_channel(self, channel_id: int) -> ThanksChannel | None:
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, ThanksChannel):
            return None
        if not channel.permissions_for(channel.guild.me).send_messages:
            return None
        return channel

    # -- roles ---------------------------------------------------------------------

    async def _grant(self, grant: RoleGrant) -> None:
        key = (grant.guild_id, grant.role_id)
        guild = self.bot.get_guild(grant.guild_id)
        role = None if guild is None else guild.get_role(grant.role_id)
        if guild is None or role is None or key in self._refused:
            return
        member = guild.get_member(grant.user_id)
        if member is None:
            try:
                member = await guild.fetch_member(grant.user_id)
            except discord.NotFound:
                return  # not (or no longer) in the server
        if role in member.roles:
            await self.services.kb.record_role(grant, RoleState.HAD)
            return
        if not can_grant(guild.me, role):
            self._refused.add(key)
            log.warning(
                "role %d of guild %d cannot be granted: Senpai needs Manage Roles and a "
                "higher role",
                role.id,
                guild.id,
            )
            return
        try:
            await member.add_roles(role, reason=f"Senpai: {grant.accepted} accepted answers")
        except discord.Forbidden as error:
            self._refused.add(key)
            log.warning(
                "role %d of guild %d refused by Discord (%s)", role.id, guild.id, error.code
            )
            return
        await self.services.kb.record_role(grant, RoleState.GRANTED)


# -- commands (registered in their groups: cogs.suggest and cogs.admin) ------------------


async def show_helpers(interaction: discord.Interaction, period: str) -> None:
    """/senpai helpers: the board, only for the member who asked."""
    if interaction.guild is None:
        return
    where = await invocation(interaction)
    board = await where.services.kb.helpers_board(interaction.guild.id, period)
    await interaction.response.send_message(
        credit_render.board_message(board, period, where.lang),
        ephemeral=True,
        allowed_mentions=NO_PINGS,
    )


async def set_choices(
    interaction: discord.Interaction, notices: str | None, listed: str | None
) -> None:
    """/senpai credit: change the member's choices, or show them."""
    where = await invocation(interaction)
    kb = where.services.kb
    if notices is None and listed is None:
        prefs = await kb.credit_prefs(interaction.user.id)
        text = credit_render.prefs_text(prefs, where.lang)
    else:
        prefs = await kb.set_credit_prefs(
            interaction.user.id,
            notices=None if notices is None else notices == "on",
            listed=None if listed is None else listed == "on",
        )
        text = credit_render.prefs_text(prefs, where.lang, saved=True)
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def configure(
    interaction: discord.Interaction,
    thanks_channel: discord.TextChannel | None,
    role: discord.Role | None,
    role_after: int | None,
) -> None:
    """/senpai-admin credit: the thanks channel and the automatic role (choosing the same
    channel or role again unsets it); without options, show them. A role Senpai cannot
    grant is refused (managed, @everyone) or saved with a warning (too high, or Manage
    Roles missing)."""
    guild = interaction.guild
    if guild is None:
        return
    where = await invocation(interaction)
    lang, kb = where.lang, where.services.kb
    settings = await kb.credit_settings(guild.id)
    changes: dict[str, object] = {}
    if thanks_channel is not None:
        if thanks_channel.id == settings.thanks_channel:
            changes["thanks_channel"] = None
        elif not thanks_channel.permissions_for(guild.me).send_messages:
            channel = f"#{member_text(thanks_channel.name)}"
            await interaction.response.send_message(
                t("setup.not_text", lang, channel=channel),
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        else:
            changes["thanks_channel"] = thanks_channel.id
    if role is not None:
        if role.managed or role.is_default():
            await interaction.response.send_message(
                credit_render.role_warning(role.id, lang, grantable_kind=False),
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        changes["role_id"] = None if role.id == settings.role_id else role.id
    if role_after is not None:
        changes["role_after"] = role_after
    if changes:
        settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
        settings = await kb.save_credit_settings(settings)
        cog = interaction.client.get_cog("Credit")  # type: ignore[attr-defined]
        if isinstance(cog, Credit):
            cog.settings_changed(guild.id)
        log.info("credit settings of guild %d saved", guild.id)
    text = credit_render.settings_text(settings, lang, saved=bool(changes))
    chosen = guild.get_role(settings.role_id) if settings.role_id is not None else None
    if chosen is not None and settings.grants_role and not can_grant(guild.me, chosen):
        log.warning("role %d of guild %d cannot be granted by Senpai", chosen.id, guild.id)
        text += "\n" + credit_render.role_warning(chosen.id, lang, grantable_kind=True)
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(CreditOffButton)
    await bot.add_cog(Credit(bot, services_of(bot)))
