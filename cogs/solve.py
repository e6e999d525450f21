"""Moderators, helpers and the asker: mark solutions, and nudges to do so.

``/solved`` (optionally with a message link), the "Mark as solution" message
command, and the one-tap answer to a nudge all capture the post with its answer
into the knowledge base at once and tag it solved. People rarely mark posts
solved, so Senpai asks the asker once, with one tap, when a post has replies
but no solution after a while, when the asker says thanks, or when a moderator
tags the post solved by hand.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import discord
from discord import app_commands
from discord.ext import commands

from cogs import render
from cogs.adapt import (
    display_name,
    fetch_thread,
    is_forum_post,
    mark_thread_solved,
    parse_message_link,
    post_by_id,
    solved_tag,
    unmark_thread_solved,
)
from cogs.checks import may_mark_solution
from cogs.components import PersistentButton
from cogs.context import PostContext, invocation, post_context
from cogs.i18n import choose_language, t
from cogs.polling import poll
from cogs.privacy import capture_refusal
from cogs.render import NO_PINGS
from cogs.services import Services, services_of
from knowledge.engine import CaptureError, likely_answer
from knowledge.models import Nudge
from knowledge.solution_inference import is_thanks

log = logging.getLogger(__name__)


async def solve(
    services: Services,
    thread: discord.Thread,
    answer_id: int | None,
    lang: str,
    member_id: int | None = None,
) -> tuple[bool, str]:
    """Capture ``thread`` with ``answer_id`` (or its most likely answer) and tag it solved.

    Returns (success, message for ``member_id``, the person who asked for it): when the
    post cannot be saved (e.g. its asker or answerer opted out), why, and nothing changes.
    """
    domain = await fetch_thread(thread)
    if answer_id is None:
        answer_id = likely_answer(domain)
        if answer_id is None:
            return False, t("solve.no_answer", lang)
    try:
        await services.kb.capture(domain, [answer_id])
    except CaptureError as error:
        log.info("post %d not captured: %s", thread.id, error.code)
        return False, await capture_refusal(services, error, member_id, lang)
    settings = await services.community.settings(thread.guild.id)
    await services.community.record_solved(thread.id, services.clock(), via="marked")
    answer = domain.message(answer_id)
    public, done = render.solved_with_answer(answer.author.name if answer else None, lang)
    await thread.send(public, allowed_mentions=NO_PINGS)
    await mark_thread_solved(thread, settings)
    log.info("post %d solved with message %d", thread.id, answer_id)
    return True, done


class NudgeButton(PersistentButton, template=r"(?!)"):
    """A button on a nudge: only who may mark a solution may press it."""

    async def context(self, interaction: discord.Interaction) -> PostContext | None:
        ctx = await post_context(interaction)
        if ctx is not None and not may_mark_solution(ctx.member, ctx.thread, ctx.settings):
            await interaction.response.send_message(t("refuse.solve", ctx.lang), ephemeral=True)
            return None
        return ctx


class AcceptButton(NudgeButton, template=r"senpai:accept:(?P<value>[0-9]+)"):
    """One tap on a nudge: "yes, this reply solved it"."""

    PREFIX = "senpai:accept"
    STYLE = discord.ButtonStyle.success

    async def pressed(self, interaction: discord.Interaction, ctx: PostContext) -> None:
        assert self.value is not None  # the template requires it
        await interaction.response.defer()
        ok, text = await solve(ctx.services, ctx.thread, self.value, ctx.lang, ctx.member.id)
        if ok and interaction.message is not None:
            await interaction.message.edit(view=None, allowed_mentions=NO_PINGS)
        await interaction.followup.send(text, ephemeral=True)


class LaterButton(NudgeButton, template=r"senpai:later"):
    """ "Not yet": the nudge goes away; /solved stays available."""

    PREFIX = "senpai:later"

    async def pressed(self, interaction: discord.Interaction, ctx: PostContext) -> None:
        await interaction.response.edit_message(
            content=t("nudge.later", ctx.lang), view=None, allowed_mentions=NO_PINGS
        )


def nudge_view(candidate_id: int, lang: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(AcceptButton(candidate_id, t("button.yes_this", lang)))
    view.add_item(LaterButton(label=t("button.not_yet", lang)))
    return view


@app_commands.context_menu(name=app_commands.locale_str("Mark as solution"))
@app_commands.guild_only()
async def mark_as_solution(interaction: discord.Interaction, message: discord.Message) -> None:
    """Save this reply as the solution of its forum post."""
    await _solve_command(interaction, message.id)


async def _post_for_marking(interaction: discord.Interaction) -> PostContext | None:
    """The post a /solved, /unsolved or "Mark as solution" is about, if the member may
    mark its solution; else a short ephemeral refusal and None."""
    where = await invocation(interaction)
    thread, member = interaction.channel, interaction.user
    if not is_forum_post(thread) or not isinstance(member, discord.Member):
        await interaction.response.send_message(t("refuse.not_post", where.lang), ephemeral=True)
        return None
    assert isinstance(thread, discord.Thread)
    if not may_mark_solution(member, thread, where.settings):
        await interaction.response.send_message(t("refuse.solve", where.lang), ephemeral=True)
        return None
    return PostContext(where.services, thread, member, where.settings, where.lang)


async def _solve_command(interaction: discord.Interaction, answer_id: int | None) -> None:
    ctx = await _post_for_marking(interaction)
    if ctx is None:
        return
    await interaction.response.defer(ephemeral=True, thinking=True)
    _, text = await solve(ctx.services, ctx.thread, answer_id, ctx.lang, ctx.member.id)
    await interaction.followup.send(text, ephemeral=True)


class Solving(commands.Cog):
    """Marks solutions, nudges askers, and keeps entries in sync with edits and deletions."""

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services
        self._nudger: asyncio.Task[None] | None = None
        # The poll loop, a thank-you and a hand-tag each check that a nudge is still
        # pending before sending it; one at a time, so a post is never nudged twice.
        self._nudging = asyncio.Lock()

    async def cog_load(self) -> None:
        self._nudger = poll(
            self.bot, self.send_due_nudges, lambda: self.services.nudge_poll_seconds, "nudges"
        )

    async def cog_unload(self) -> None:
        if self._nudger is not None:
            self._nudger.cancel()

    # -- commands ------------------------------------------------------------------

    @app_commands.command(
        name=app_commands.locale_str("solved"),
        description=app_commands.locale_str(
            "Mark this post solved and save its answer to the knowledge base"
        ),
    )
    @app_commands.rename(message=app_commands.locale_str("message"))
    @app_commands.describe(
        message=app_commands.locale_str(
            "Link to the reply that solved it (default: the most likely reply)"
        )
    )
    @app_commands.guild_only()
    async def solved(self, interaction: discord.Interaction, message: str | None = None) -> None:
        """Mark this post solved and save its answer to the knowledge base."""
        answer_id: int | None = None
        if message is not None and isinstance(interaction.channel, discord.Thread):
            answer_id = parse_message_link(message, interaction.channel)
            if answer_id is None:
                lang = (await invocation(interaction)).lang
                await interaction.response.send_message(t("solve.bad_link", lang), ephemeral=True)
                return
        await _solve_command(interaction, answer_id)

    @app_commands.command(
        name=app_commands.locale_str("unsolved"),
        description=app_commands.locale_str("Remove this post's solution from the knowledge base"),
    )
    @app_commands.guild_only()
    async def unsolved(self, interaction: discord.Interaction) -> None:
        """Remove this post's solution from the knowledge base."""
        ctx = await _post_for_marking(interaction)
        if ctx is None:
            return
        removed = await self.services.kb.remove_thread(ctx.thread.id)
        await self.services.community.record_unsolved(ctx.thread.id)
        await interaction.response.send_message(
            t("unsolve.done" if removed else "unsolve.none", ctx.lang), ephemeral=True
        )
        await unmark_thread_solved(ctx.thread, ctx.settings)

    # -- nudges --------------------------------------------------------------------

    @commands.Cog.listener("on_message")
    async def watch_replies(self, message: discord.Message) -> None:
        """Replies schedule a nudge; the asker's thank-you brings it forward."""
        if message.author.bot or message.guild is None or not is_forum_post(message.channel):
            return
        thread = message.channel
        assert isinstance(thread, discord.Thread) and thread.parent is not None
        if message.id == thread.id:
            return
        settings = await self.services.community.settings(message.guild.id)
        if not settings.watches(thread.parent.id):
            return
        community = self.services.community
        if await self.services.kb.is_opted_out(thread.owner_id or 0):
            # Nothing of the post is kept (no question history, see cogs.suggest), and it
            # would not be saved: nothing to date, nothing to ask.
            return
        if message.author.id != thread.owner_id:
            # Dates the first answer, for the community's figures, nudges or not. The
            # reply may be handled before the post's own message: the post is
            # recorded here too (once; whichever comes first).
            await community.record_question(
                thread_id=thread.id,
                guild_id=message.guild.id,
                forum_id=thread.parent.id,
                asker_id=thread.owner_id or 0,
                asked_at=discord.utils.snowflake_time(thread.id),
                title=thread.name,
            )
            author = message.author
            roles = [r.id for r in author.roles] if isinstance(author, discord.Member) else None
            await community.record_reply(thread.id, message.created_at, roles=roles)
        if settings.nudge_hours <= 0:
            return
        if await self.services.kb.entry_for_thread(thread.id) is not None:
            return
        if message.author.id != thread.owner_id:
            await community.schedule_nudge(
                thread_id=thread.id,
                guild_id=message.guild.id,
                asker_id=thread.owner_id or 0,
                due_at=self.services.clock() + timedelta(hours=settings.nudge_hours),
                candidate_id=message.id,
            )
            return
        if not is_thanks(message.content) or await community.is_solved(thread.id):
            return
        candidate = await self._thanked_reply(message, thread)
        if candidate is None:
            return
        await community.schedule_nudge(
            thread_id=thread.id,
            guild_id=message.guild.id,
            asker_id=message.author.id,
            due_at=self.services.clock(),
            candidate_id=candidate,
        )
        await self.send_nudge_now(thread.id)

    async def _thanked_reply(self, message: discord.Message, thread: discord.Thread) -> int | None:
        """The reply a thank-you refers to, else the latest reply by someone else."""
        if message.reference and message.reference.message_id:
            referenced = message.reference.resolved
            if (
                isinstance(referenced, discord.Message)
                and not referenced.author.bot
                and referenced.author.id != thread.owner_id
            ):
                return referenced.id
        async for earlier in thread.history(limit=25, before=message):
            if not earlier.author.bot and earlier.author.id != thread.owner_id:
                return earlier.id
        return None

    async def send_due_nudges(self) -> int:
        """Ask the askers of due posts, once each. Returns how many were sent."""
        sent = 0
        async with self._nudging:
            for nudge in await self.services.community.due_nudges(self.services.clock()):
                sent += await self._send_nudge(nudge)
        return sent

    async def send_nudge_now(self, thread_id: int) -> bool:
        """Send the post's nudge at once if it is still pending (the asker said thanks),
        whatever its due time."""
        async with self._nudging:
            nudge = await self.services.community.nudge(thread_id)
            if nudge is None or nudge.state != "pending":
                return False
            return await self._send_nudge(nudge)

    async def _nudged_thread(self, thread_id: int) -> discord.Thread | None:
        """The post to nudge in. Discord auto-archives idle posts (often after a day,
        the default nudge delay too) and discord.py drops them from its cache, so an
        archived post is fetched; sending into it reopens it. Locked posts are left be."""
        post = await post_by_id(self.bot, thread_id)
        return None if post is None or post.locked else post

    async def _send_nudge(self, nudge: Nudge) -> bool:
        solved = await self.services.kb.entry_for_thread(nudge.thread_id) is not None
        thread = None if solved else await self._nudged_thread(nudge.thread_id)
        if thread is None or nudge.candidate_id is None:
            await self.services.community.set_nudge_state(nudge.thread_id, "done")
            return False
        settings = await self.services.community.settings(nudge.guild_id)
        await self.services.community.set_nudge_state(nudge.thread_id, "sent")
        await _ask_asker(thread, "nudge.ask", settings.language, nudge.asker_id, nudge.candidate_id)
        return True

    @commands.Cog.listener()
    async def on_thread_update(self, before: discord.Thread, after: discord.Thread) -> None:
        """A moderator tagged a post solved by hand: ask which reply solved it."""
        if not isinstance(after.parent, discord.ForumChannel):
            return
        settings = await self.services.community.settings(after.guild.id)
        tag = solved_tag(after.parent, settings)
        if tag is None or not settings.watches(after.parent.id):
            return
        had = any(t_.id == tag.id for t_ in before.applied_tags)
        has = any(t_.id == tag.id for t_ in after.applied_tags)
        if had or not has:
            return
        if await self.services.kb.entry_for_thread(after.id) is not None:
            return
        if await self.services.community.is_solved(after.id):
            return  # solved by an earlier thread: nothing to capture
        if await self.services.kb.is_opted_out(after.owner_id or 0):
            return  # the asker opted out: their post would not be saved
        async with self._nudging:
            nudge = await self.services.community.nudge(after.id)
            if nudge is not None and nudge.state != "pending":
                return
            candidate = likely_answer(await fetch_thread(after))
            if candidate is None:
                return
            await self.services.community.schedule_nudge(
                thread_id=after.id,
                guild_id=after.guild.id,
                asker_id=after.owner_id or 0,
                due_at=self.services.clock(),
                candidate_id=candidate,
            )
            await self.services.community.set_nudge_state(after.id, "sent")
        await _ask_asker(after, "nudge.tag", settings.language, after.owner_id or 0, candidate)


async def _ask_asker(
    thread: discord.Thread, key: str, configured: str, asker_id: int, candidate_id: int
) -> None:
    """Ask the asker, by name (never a mention), whether ``candidate_id`` solved the post:
    a reply to that message with the one-tap buttons, in the post's language."""
    lang = choose_language(configured, text=thread.name)
    name = await display_name(thread.guild, asker_id)
    await thread.send(
        render.addressed(key, lang, name),
        view=nudge_view(candidate_id, lang),
        reference=discord.MessageReference(
            message_id=candidate_id, channel_id=thread.id, fail_if_not_exists=False
        ),
        mention_author=False,
        allowed_mentions=NO_PINGS,
    )


async def setup(bot: commands.Bot) -> None:
    bot.add_dynamic_items(AcceptButton, LaterButton)
    bot.tree.add_command(mark_as_solution)
    await bot.add_cog(Solving(bot, services_of(bot)))


async def teardown(bot: commands.Bot) -> None:
    bot.tree.remove_command(mark_as_solution.name, type=discord.AppCommandType.message)
