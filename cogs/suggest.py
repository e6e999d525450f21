"""Members: "someone already faced this" on every new post, and the /senpai group
(search, forget-me, privacy).

The reply never delays posting (it is sent after the post exists), shows at
most three solved threads, and says nothing when Senpai is unsure. Nothing of a
member who opted out is recorded: not their post's question history, not their
feedback on a suggestion.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

from cogs import credit, invitations, privacy, render
from cogs.adapt import is_forum_post, mark_thread_solved
from cogs.checks import may_dismiss, scopes_for_forum, scopes_for_member
from cogs.components import PersistentButton
from cogs.context import PostContext, invocation
from cogs.i18n import choose_language, t
from cogs.render import NO_PINGS
from cogs.services import Services, services_of
from knowledge.engine import IndexNotReady
from knowledge.models import FeedbackKind, MeTooVote, Query

log = logging.getLogger(__name__)
_ = app_commands.locale_str


class SolvedButton(PersistentButton, template=r"senpai:solved:(?P<value>[0-9]+)"):
    """ "This solved it": the asker marks their post solved by an earlier thread."""

    PREFIX = "senpai:solved"
    STYLE = discord.ButtonStyle.success

    async def pressed(self, interaction: discord.Interaction, ctx: PostContext) -> None:
        assert self.value is not None  # the template requires it
        services, thread, lang = ctx.services, ctx.thread, ctx.lang
        if ctx.member.id != thread.owner_id:
            await interaction.response.send_message(t("refuse.asker_only", lang), ephemeral=True)
            return
        entry = await services.kb.entry(self.value)
        if entry is None or entry.guild_id != thread.guild.id:
            await interaction.response.send_message(t("feedback.gone", lang), ephemeral=True)
            return
        # The post is marked solved either way; an opted-out asker's verdict is not kept.
        if not await services.kb.is_opted_out(ctx.member.id):
            await services.kb.record_feedback(
                entry.id,
                guild_id=thread.guild.id,
                thread_id=thread.id,
                user_id=ctx.member.id,
                kind=FeedbackKind.SOLVED_BY_SUGGESTION,
            )
        await services.community.record_solved(
            thread.id, services.clock(), via="suggestion", duplicate_of=entry.id
        )
        private, public = render.solved_by_earlier_thread(entry.title, entry.jump_url, lang)
        await interaction.response.send_message(private, ephemeral=True)
        await thread.send(public, allowed_mentions=NO_PINGS, suppress_embeds=True)
        await mark_thread_solved(thread, ctx.settings)


class IrrelevantButton(PersistentButton, template=r"senpai:irrelevant:(?P<value>[0-9]+)"):
    """ "Not relevant": recorded as feedback for tuning; anyone in the post may say so."""

    PREFIX = "senpai:irrelevant"

    async def pressed(self, interaction: discord.Interaction, ctx: PostContext) -> None:
        assert self.value is not None  # the template requires it
        if not await ctx.services.kb.is_opted_out(ctx.member.id):
            await ctx.services.kb.record_feedback(
                self.value,
                guild_id=ctx.thread.guild.id,
                thread_id=ctx.thread.id,
                user_id=ctx.member.id,
                kind=FeedbackKind.NOT_RELEVANT,
            )
        await interaction.response.send_message(t("feedback.irrelevant", ctx.lang), ephemeral=True)


class DismissButton(PersistentButton, template=r"senpai:dismiss"):
    """ "Dismiss": the asker or a moderator deletes Senpai's reply."""

    PREFIX = "senpai:dismiss"

    async def pressed(self, interaction: discord.Interaction, ctx: PostContext) -> None:
        if not may_dismiss(ctx.member, ctx.thread):
            await interaction.response.send_message(t("refuse.dismiss", ctx.lang), ephemeral=True)
            return
        await interaction.response.defer()
        if interaction.message is not None:
            await interaction.message.delete()


# One "me too" at a time: the count written on the message is never older than the store's.
_counting = asyncio.Lock()


class MeTooButton(PersistentButton, template=r"senpai:metoo"):
    """ "Me too": another member has the same problem. One vote per member, never the
    asker's own; the count is shown by editing Senpai's message in place (no ping)."""

    PREFIX = "senpai:metoo"

    async def pressed(self, interaction: discord.Interaction, ctx: PostContext) -> None:
        thread = ctx.thread
        async with _counting:
            result = await ctx.services.community.add_me_too(
                thread_id=thread.id,
                guild_id=thread.guild.id,
                asker_id=thread.owner_id,
                user_id=ctx.member.id,
            )
            if result.vote is not MeTooVote.COUNTED:
                await interaction.response.send_message(
                    t(f"me_too.{result.vote.value}", ctx.lang), ephemeral=True
                )
                return
            # The message's own language: the one its button label was written in.
            shown = "ja" if self.item.label == t("button.me_too", "ja") else "en"
            message = interaction.message
            content = (
                render.me_too_count(result.count, shown)
                if message is not None and message.embeds
                else render.me_too_message(result.count, shown)
            )
            await interaction.response.edit_message(content=content, allowed_mentions=NO_PINGS)
        log.info("me too on post %d: %d members", thread.id, result.count)
        await interaction.followup.send(t("me_too.counted", ctx.lang), ephemeral=True)


def suggestion_view(entry_ids: list[int], lang: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for n, entry_id in enumerate(entry_ids, start=1):
        view.add_item(SolvedButton(entry_id, t("button.solved", lang, n=n)))
        view.add_item(IrrelevantButton(entry_id, t("button.irrelevant", lang, n=n)))
    view.add_item(MeTooButton(label=t("button.me_too", lang)))
    view.add_item(DismissButton(label=t("button.dismiss", lang)))
    return view


def me_too_view(lang: str) -> discord.ui.View:
    """The buttons of the small "me too" message on a post without suggestions."""
    view = discord.ui.View(timeout=None)
    view.add_item(MeTooButton(label=t("button.me_too", lang)))
    view.add_item(DismissButton(label=t("button.dismiss", lang)))
    return view


class Suggestions(commands.Cog):
    """Suggests solved threads for new forum posts, and answers the members' /senpai
    commands: search, forget-me, privacy."""

    senpai = app_commands.Group(
        name=_("senpai"), description=_("Senpai: find solved threads"), guild_only=True
    )

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A new forum post (its opening message has the thread's id): reply with suggestions."""
        if message.author.bot or message.guild is None:
            return
        thread = message.channel
        if not is_forum_post(thread) or message.id != thread.id:
            return
        assert isinstance(thread, discord.Thread) and isinstance(
            thread.parent, discord.ForumChannel
        )
        settings = await self.services.community.settings(message.guild.id)
        if not settings.watches(thread.parent.id):
            return
        if not await self.services.kb.is_opted_out(message.author.id):
            await self.services.community.record_question(
                thread_id=thread.id,
                guild_id=message.guild.id,
                forum_id=thread.parent.id,
                asker_id=message.author.id,
                asked_at=message.created_at,
                title=thread.name,
            )
        text = f"{thread.name}\n{message.content}"
        query = Query(
            guild_id=message.guild.id,
            text=text,
            allowed_scopes=scopes_for_forum(thread.parent),
            exclude_thread_id=thread.id,
            threshold=settings.threshold,
            title=thread.name,
        )
        lang = choose_language(settings.language, text=text)
        try:
            answer = await self.services.kb.answer(query)
        except IndexNotReady:
            log.info("no suggestion for post %d: the index is being rebuilt", thread.id)
            answer = None
        suggestions = answer.suggestions if answer is not None else []
        if not suggestions:
            # The candidates go with the event, so that inviting helpers does not
            # search (and encode the post) a second time.
            ranked = answer.ranked if answer is not None else None
            self.bot.dispatch("senpai_silent_post", thread, message, query, ranked)
            if settings.me_too_on_posts:
                await thread.send(
                    render.me_too_message(0, lang),
                    view=me_too_view(lang),
                    allowed_mentions=NO_PINGS,
                )
            return
        await thread.send(
            embed=render.suggestion_embed(suggestions, lang),
            view=suggestion_view([s.entry.id for s in suggestions], lang),
            allowed_mentions=NO_PINGS,
        )
        await self.services.community.record_suggested(thread.id)
        await self.services.kb.record_shown(query, suggestions, asker_id=message.author.id)
        log.info("suggested %d entries for post %d", len(suggestions), thread.id)

    @senpai.command(
        name=_("search"),
        description=_("Find solved threads about a problem (only you see the answer)"),
    )
    @app_commands.rename(query=_("query"))
    @app_commands.describe(query=_("Describe the problem in a few words"))
    async def search(
        self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 500]
    ) -> None:
        """The same retrieval on demand, answered so that only the member sees it: public
        entries and those of private forums they can read."""
        if interaction.guild is None or not isinstance(interaction.user, discord.Member):
            return
        where = await invocation(interaction)
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel = interaction.channel
        try:
            suggestions = await self.services.kb.suggest(
                Query(
                    guild_id=interaction.guild.id,
                    text=query,
                    allowed_scopes=scopes_for_member(interaction.user),
                    exclude_thread_id=channel.id if isinstance(channel, discord.Thread) else None,
                    threshold=where.settings.threshold,
                )
            )
        except IndexNotReady:
            await interaction.followup.send(t("error.not_ready", where.lang), ephemeral=True)
            return
        if not suggestions:
            await interaction.followup.send(t("search.none", where.lang), ephemeral=True)
            return
        await interaction.followup.send(
            embed=render.suggestion_embed(suggestions, where.lang),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @senpai.command(
        name=_("forget-me"),
        description=_("Delete everything Senpai keeps about you (asks first)"),
    )
    async def forget_me(self, interaction: discord.Interaction) -> None:
        """Delete everything Senpai keeps about the member, in every server, once they
        confirm: the solved threads they asked or answered, their feedback, their
        question history."""
        await privacy.forget_me(interaction)

    @senpai.command(
        name=_("privacy"), description=_("Whether Senpai may keep your questions and answers")
    )
    @app_commands.rename(capture=_("capture"))
    @app_commands.describe(
        capture=_(
            "Stop or allow keeping your future questions and answers (default: show your choice)"
        )
    )
    @app_commands.choices(
        capture=[
            app_commands.Choice(name=_("Stop: do not keep my questions and answers"), value="stop"),
            app_commands.Choice(name=_("Allow: keep my questions and answers"), value="allow"),
        ]
    )
    async def privacy_command(
        self, interaction: discord.Interaction, capture: str | None = None
    ) -> None:
        """Stop (or allow again) capturing the member's future questions and answers;
        without a choice, say what their choice is and what it means."""
        await privacy.set_privacy(interaction, None if capture is None else capture == "stop")

    @senpai.command(
        name=_("helpers"),
        description=_("The members whose answers helped most (only you see it)"),
    )
    @app_commands.rename(period=_("period"))
    @app_commands.describe(period=_("Which days to count (default: the last 30 days)"))
    @app_commands.choices(
        period=[
            app_commands.Choice(name=_(name), value=value)
            for value, name in credit.HELPER_PERIODS.items()
        ]
    )
    async def helpers(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        """The members whose answers were chosen or solved later posts most, over a
        period; members who asked not to be listed are left out."""
        await credit.show_helpers(interaction, period.value if period else "30d")

    @senpai.command(
        name=_("credit"),
        description=_("Messages when your answers help, and being listed on helper boards"),
    )
    @app_commands.rename(notices=_("notices"), listed=_("listed"))
    @app_commands.describe(
        notices=_("Direct messages when your answer is chosen or solves a later post"),
        listed=_("Your name on /senpai helpers and the monthly thanks post"),
    )
    @app_commands.choices(
        notices=[app_commands.Choice(name=_(v), value=v) for v in ("on", "off")],
        listed=[app_commands.Choice(name=_(v), value=v) for v in ("on", "off")],
    )
    async def credit_choices(
        self,
        interaction: discord.Interaction,
        notices: app_commands.Choice[str] | None = None,
        listed: app_commands.Choice[str] | None = None,
    ) -> None:
        """Turn credit messages and being listed on or off; without options, show them."""
        await credit.set_choices(
            interaction, notices.value if notices else None, listed.value if listed else None
        )

    @senpai.command(
        name=_("invites"), description=_("Be invited to new posts like ones you solved")
    )
    @app_commands.rename(choice=_("choice"))
    @app_commands.describe(choice=_("On or off (default: show your choice)"))
    @app_commands.choices(
        choice=[
            app_commands.Choice(name=_("on"), value="on"),
            app_commands.Choice(name=_("off"), value="off"),
        ]
    )
    async def invites_command(
        self, interaction: discord.Interaction, choice: str | None = None
    ) -> None:
        """Opt in (or out) of being invited, by direct message and at most a few times a
        day, to new posts Senpai could not answer that look like ones the member solved;
        off by default. Without a choice, say what the member's choice is."""
        await invitations.set_invites(interaction, None if choice is None else choice == "on")


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(SolvedButton, IrrelevantButton, MeTooButton, DismissButton)
    await bot.add_cog(Suggestions(bot, services_of(bot)))
