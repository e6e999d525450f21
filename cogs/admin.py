"""/senpai-admin: setup, rebuild, backfill, stats, report, forget.

The group is its own top-level command so that Discord can gate it: members
without Manage Server do not see it (a server may change who does in its
integration settings), and every subcommand checks Manage Server again at run
time (:func:`cogs.checks.admin_only`); members keep /senpai search.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import Counter
from datetime import date, timedelta
from typing import Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from cogs import credit as helper_credit
from cogs import render
from cogs.adapt import fetch_thread
from cogs.checks import admin_only
from cogs.components import Confirm
from cogs.context import invocation
from cogs.i18n import choose_language, t
from cogs.render import NO_PINGS
from cogs.reporting import build_report_message, schedule_text
from cogs.services import Services, services_of
from knowledge.engine import CaptureError, RebuildInProgress, RebuildProgress
from knowledge.models import BackfillState
from knowledge.schedule import (
    Rhythm,
    UnknownTimeZone,
    canonical_zone,
    zone_or_utc,
    zone_suggestions,
)

log = logging.getLogger(__name__)
PROGRESS_EDIT_SECONDS = 1.5
_ = app_commands.locale_str

SETUP_OPTIONS = {
    "watch": "A forum to watch (add or remove)",
    "helper_role": "A role whose members may mark solutions (add or remove)",
    "staff_role": "A role counted as staff in the community report (add or remove)",
    "solved_tag": "Name of the forum tag that means solved",
    "threshold": "How sure Senpai must be before suggesting (0.1–0.95)",
    "language": "Language of Senpai's messages",
    "nudge_hours": "Hours before asking the asker if a reply solved it (0 = never)",
    "archive_on_solve": "Archive posts when they are marked solved",
    "staff_channel": "Channel listing posts nobody answered (choose it again to unset)",
    "escalation_hours": "Hours without a reply before a post goes to staff (0 = never)",
    "me_too_on_posts": "Add a Me too button to new posts that got no suggestion",
    "time_zone": "Time zone of reports' days, weeks and months (e.g. Asia/Tokyo)",
}
"""/senpai-admin setup's options and their descriptions (names are localised as-is)."""

REPORT_PERIODS = {
    "7d": "last 7 days",
    "30d": "last 30 days",
    "month": "last calendar month",
}
"""/senpai-admin report's periods and their names (localised as-is)."""

SCHEDULE_RHYTHMS = {
    "weekly": "weekly",
    "monthly": "monthly",
    "off": "off",
}
"""/senpai-admin schedule's rhythms and their names (localised as-is)."""


def toggled(ids: tuple[int, ...], item: int) -> tuple[int, ...]:
    """``ids`` without ``item`` if it is there, else with it added at the end."""
    return tuple(i for i in ids if i != item) if item in ids else (*ids, item)


def report_period(period: str, today: date) -> tuple[date, date]:
    """The calendar days [since, until) a report period names, ``today`` included in the
    rolling ones; the last calendar month is the one before ``today``'s."""
    if period == "month":
        first = today.replace(day=1)
        return (first - timedelta(days=1)).replace(day=1), first
    days = 30 if period == "30d" else 7
    return today - timedelta(days=days - 1), today + timedelta(days=1)


class Admin(commands.Cog):
    """/senpai-admin: configuration and maintenance, for members with Manage Server."""

    admin = admin_only()(
        app_commands.Group(
            name=_("senpai-admin"),
            description=_("Senpai's settings and upkeep (Manage Server)"),
            guild_only=True,
        )
    )

    def __init__(self, bot: commands.Bot, services: Services) -> None:
        self.bot = bot
        self.services = services

    @admin.command(name=_("setup"), description=_("Configure Senpai for this server (admins)"))
    @app_commands.rename(**{option: _(option) for option in SETUP_OPTIONS})
    @app_commands.describe(**{option: _(text) for option, text in SETUP_OPTIONS.items()})
    @admin_only()
    async def setup_command(
        self,
        interaction: discord.Interaction,
        watch: discord.ForumChannel | None = None,
        helper_role: discord.Role | None = None,
        staff_role: discord.Role | None = None,
        solved_tag: app_commands.Range[str, 1, 20] | None = None,
        threshold: float | None = None,
        language: Literal["auto", "ja", "en"] | None = None,
        nudge_hours: app_commands.Range[float, 0, 720] | None = None,
        archive_on_solve: bool | None = None,
        staff_channel: discord.TextChannel | None = None,
        escalation_hours: app_commands.Range[float, 0, 720] | None = None,
        me_too_on_posts: bool | None = None,
        time_zone: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        """Configure Senpai for this server; without options, show the settings."""
        where = await invocation(interaction)
        lang, settings = where.lang, where.settings
        if interaction.guild is None:
            return
        changes: dict[str, object] = {}
        if watch is not None:
            changes["watched_forums"] = toggled(settings.watched_forums, watch.id)
        if helper_role is not None:
            changes["helper_roles"] = toggled(settings.helper_roles, helper_role.id)
        if staff_role is not None:
            changes["staff_roles"] = toggled(settings.staff_roles, staff_role.id)
        if solved_tag is not None:
            changes["solved_tag"] = solved_tag
        if threshold is not None:
            if not 0.1 <= threshold <= 0.95:
                await interaction.response.send_message(
                    t("setup.bad_threshold", lang), ephemeral=True
                )
                return
            changes["threshold"] = threshold
        if language is not None:
            changes["language"] = language
        if nudge_hours is not None:
            changes["nudge_hours"] = float(nudge_hours)
        if archive_on_solve is not None:
            changes["archive_on_solve"] = archive_on_solve
        if staff_channel is not None:
            if staff_channel.id == settings.staff_channel:
                changes["staff_channel"] = None
            elif not staff_channel.permissions_for(interaction.guild.me).send_messages:
                await interaction.response.send_message(
                    t("setup.not_text", lang, channel=f"#{render.member_text(staff_channel.name)}"),
                    ephemeral=True,
                    allowed_mentions=NO_PINGS,
                )
                return
            else:
                changes["staff_channel"] = staff_channel.id
        if escalation_hours is not None:
            changes["escalation_hours"] = float(escalation_hours)
        if me_too_on_posts is not None:
            changes["me_too_on_posts"] = me_too_on_posts
        if time_zone is not None:
            try:
                changes["time_zone"] = canonical_zone(time_zone)
            except UnknownTimeZone:
                await interaction.response.send_message(
                    t("setup.bad_time_zone", lang, zone=render.member_text(time_zone)),
                    ephemeral=True,
                    allowed_mentions=NO_PINGS,
                )
                return
        if changes:
            settings = dataclasses.replace(settings, **changes)  # type: ignore[arg-type]
            await self.services.community.save_settings(settings)
            if settings.time_zone != where.settings.time_zone:
                await self.services.kb.reschedule_reports(interaction.guild.id)
            lang = choose_language(settings.language, locale=interaction.locale)
        text = render.settings_text(
            settings, interaction.guild, self.services.kb.config.threshold, lang
        )
        prefix = t("setup.saved", lang) + "\n" if changes else ""
        await interaction.response.send_message(
            prefix + text, ephemeral=True, allowed_mentions=NO_PINGS
        )

    @admin.command(
        name=_("rebuild"),
        description=_("Rebuild the search index from the knowledge base (admins)"),
    )
    @admin_only()
    async def rebuild(self, interaction: discord.Interaction) -> None:
        """Rebuild the search index from the knowledge base, with live progress."""
        lang = (await invocation(interaction)).lang
        await interaction.response.send_message(
            render.rebuild_progress(0, 0, None, lang), ephemeral=True, allowed_mentions=NO_PINGS
        )
        last = 0.0
        pending: asyncio.Task[Any] | None = None

        def progress(p: RebuildProgress) -> None:
            nonlocal last, pending
            now = time.monotonic()
            if now - last < PROGRESS_EDIT_SECONDS or (pending is not None and not pending.done()):
                return
            last = now
            pending = asyncio.create_task(
                interaction.edit_original_response(
                    content=render.rebuild_progress(p.done, p.total, p.eta, lang)
                )
            )

        try:
            report = await self.services.kb.rebuild(progress)
        except RebuildInProgress:
            await interaction.edit_original_response(content=t("rebuild.busy", lang))
            return
        if pending is not None:
            await asyncio.gather(pending, return_exceptions=True)
        await interaction.edit_original_response(
            content=t("rebuild.done", lang, entries=report.entries, seconds=report.seconds)
        )

    @admin.command(
        name=_("backfill"),
        description=_("Capture solved threads from the watched forums' history (admins)"),
    )
    @admin_only()
    async def backfill(self, interaction: discord.Interaction) -> None:
        """Read the watched forums' active and archived posts and capture the solved ones."""
        where = await invocation(interaction)
        lang, settings = where.lang, where.settings
        if interaction.guild is None:
            return
        await interaction.response.send_message(
            t("backfill.progress", lang, seen=0, captured=0), ephemeral=True
        )
        forums = [
            c
            for c in interaction.guild.channels
            if isinstance(c, discord.ForumChannel) and settings.watches(c.id)
        ]
        seen = captured = 0
        skipped: Counter[str] = Counter()  # posts not saved, by reason
        names: dict[int, str] = {}  # display names, looked up once per member
        last = time.monotonic()
        for forum in forums:
            state = await self.services.community.backfill_state(forum.id) or BackfillState(
                forum.id, interaction.guild.id, None, False, 0, 0
            )
            threads: list[discord.Thread] = list(forum.threads)
            if not state.finished:
                async for archived in forum.archived_threads(limit=None, before=state.before):
                    threads.append(archived)
            for thread in threads:
                seen += 1
                got = 0
                post = await fetch_thread(thread, names)
                # Every post read counts in the report, solved or not.
                await self.services.kb.record_history([post])
                if await self.services.kb.entry_for_thread(thread.id) is None:
                    try:
                        result = await self.services.kb.capture_inferred(post)
                    except CaptureError as error:
                        # e.g. the marked answer is an image with no text, or its author
                        # opted out: skip the post, or every run would stop here again.
                        log.info("backfill: post %d not captured: %s", thread.id, error.code)
                        skipped[error.code] += 1
                        result = None
                    got = int(result is not None)
                captured += got
                archived_at = thread.archive_timestamp if thread.archived else None
                state = dataclasses.replace(
                    state,
                    before=archived_at or state.before,
                    seen=state.seen + 1,
                    captured=state.captured + got,
                )
                await self.services.community.save_backfill_state(state)
                if time.monotonic() - last >= PROGRESS_EDIT_SECONDS:
                    last = time.monotonic()
                    # An interaction token lasts 15 minutes; a long backfill goes on
                    # (and stays resumable) even when its progress can no longer show.
                    with contextlib.suppress(discord.HTTPException):
                        await interaction.edit_original_response(
                            content=t("backfill.progress", lang, seen=seen, captured=captured)
                        )
            await self.services.community.save_backfill_state(
                dataclasses.replace(state, finished=True)
            )
        await self.services.kb.flush()
        with contextlib.suppress(discord.HTTPException):
            await interaction.edit_original_response(
                content=render.backfill_done(seen, captured, skipped, lang)
            )

    @admin.command(
        name=_("stats"),
        description=_("What the knowledge base holds and how the community is doing (admins)"),
    )
    @admin_only()
    async def stats(self, interaction: discord.Interaction) -> None:
        """What the knowledge base holds, with the community's figures for the last 30 days."""
        where = await invocation(interaction)
        lang = where.lang
        if interaction.guild is None:
            return
        stats = await self.services.kb.stats(interaction.guild.id)
        figures = await self.services.community.figures(
            interaction.guild.id, since=self.services.clock() - timedelta(days=30)
        )
        calibration = await self.services.kb.calibration(interaction.guild.id)
        line = render.calibration_line(calibration, where.settings.threshold, lang)
        await interaction.response.send_message(
            embed=render.stats_embed(stats, figures, lang, line),
            ephemeral=True,
            allowed_mentions=NO_PINGS,
        )

    @admin.command(
        name=_("report"),
        description=_("The community report: questions, replies, solved, with a chart (admins)"),
    )
    @app_commands.rename(period=_("period"))
    @app_commands.describe(period=_("Which days to report on (default: the last 7 days)"))
    @app_commands.choices(
        period=[
            app_commands.Choice(name=_(name), value=value) for value, name in REPORT_PERIODS.items()
        ]
    )
    @admin_only()
    async def report(
        self, interaction: discord.Interaction, period: app_commands.Choice[str] | None = None
    ) -> None:
        """The community report for a period beside the one before, with a weekly chart."""
        where = await invocation(interaction)
        lang = where.lang
        if interaction.guild is None:
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        # Days, weeks and months are the server's own (its time_zone setting).
        zone = zone_or_utc(where.settings.time_zone)
        since, until = report_period(
            period.value if period else "7d", self.services.clock().astimezone(zone).date()
        )
        message = await build_report_message(
            self.services.kb, interaction.guild.id, since, until, zone, lang
        )
        await interaction.edit_original_response(
            content=message.content,
            embed=message.embed,
            attachments=message.files,
            allowed_mentions=NO_PINGS,
        )

    @admin.command(
        name=_("forget"), description=_("Remove everything a member asked and answered (admins)")
    )
    @app_commands.rename(user=_("user"))
    @app_commands.describe(user=_("The member whose content to remove"))
    @admin_only()
    async def forget(self, interaction: discord.Interaction, user: discord.User) -> None:
        """Remove everything a member asked and answered, after a confirmation."""
        lang = (await invocation(interaction)).lang

        async def forget() -> str:
            removed = await self.services.kb.forget_member(user.id)
            return t("forget.done", lang, entries=removed.entries, feedback=removed.feedback_count)

        view = Confirm(
            interaction.user.id,
            lang,
            forget,
            confirm_label=t("button.confirm", lang),
            timeout=self.services.confirm_seconds,
        )
        await view.send(interaction, render.forget_confirmation(user.display_name, lang))

    @setup_command.autocomplete("time_zone")
    async def time_zone_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        """Common time zones first, then any IANA name containing what was typed."""
        return [app_commands.Choice(name=z, value=z) for z in zone_suggestions(current)]

    @admin.command(
        name=_("schedule"),
        description=_("Post the community report in a staff channel every week or month (admins)"),
    )
    @app_commands.rename(rhythm=_("rhythm"), channel=_("channel"))
    @app_commands.describe(
        rhythm=_("How often: weekly, monthly, or off (default: show the schedule)"),
        channel=_("The staff channel the report is posted in"),
    )
    @app_commands.choices(
        rhythm=[
            app_commands.Choice(name=_(name), value=value)
            for value, name in SCHEDULE_RHYTHMS.items()
        ]
    )
    @admin_only()
    async def schedule(
        self,
        interaction: discord.Interaction,
        rhythm: app_commands.Choice[str] | None = None,
        channel: discord.TextChannel | None = None,
    ) -> None:
        """Post the community report (the same as /senpai-admin report) in a channel after
        every week (Monday to Sunday) or calendar month, in the server's time zone; "off"
        stops it; without options, show the schedule."""
        where = await invocation(interaction)
        lang, guild = where.lang, interaction.guild
        if guild is None:
            return
        kb = self.services.kb
        current = await kb.report_schedule(guild.id)
        if rhythm is not None and rhythm.value == "off":
            stopped = await kb.stop_scheduled_reports(guild.id)
            await interaction.response.send_message(
                t("schedule.off" if stopped else "schedule.none", lang), ephemeral=True
            )
            return
        if rhythm is None and channel is None:
            text = (
                t("schedule.none", lang)
                if current is None
                else schedule_text(current, guild, await kb.guild_zone(guild.id), lang)
            )
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
            return
        chosen = Rhythm(rhythm.value) if rhythm is not None else None
        chosen = chosen or (current.rhythm if current else None)
        if chosen is None:
            await interaction.response.send_message(t("schedule.need_rhythm", lang), ephemeral=True)
            return
        kept = current.channel_id if current else where.settings.staff_channel
        target = channel or (None if kept is None else guild.get_channel(kept))
        if not isinstance(target, discord.TextChannel):
            await interaction.response.send_message(
                t("schedule.need_channel", lang), ephemeral=True
            )
            return
        allowed = target.permissions_for(guild.me)
        if not (allowed.send_messages and allowed.attach_files):
            await interaction.response.send_message(
                t("setup.not_text", lang, channel=f"#{render.member_text(target.name)}"),
                ephemeral=True,
                allowed_mentions=NO_PINGS,
            )
            return
        schedule = await kb.schedule_reports(guild.id, chosen, target.id)
        text = schedule_text(schedule, guild, await kb.guild_zone(guild.id), lang)
        await interaction.response.send_message(
            t("schedule.saved", lang) + "\n" + text, ephemeral=True, allowed_mentions=NO_PINGS
        )

    @admin.command(
        name=_("credit"),
        description=_("Monthly thanks post and automatic helper role (admins)"),
    )
    @app_commands.rename(
        thanks_channel=_("thanks_channel"), role=_("role"), role_after=_("role_after")
    )
    @app_commands.describe(
        thanks_channel=_("Channel for the monthly thanks post (choose it again to unset)"),
        role=_("Role given after enough accepted answers (choose it again to unset)"),
        role_after=_("Accepted answers before the role is given (0 = never)"),
    )
    @admin_only()
    async def credit(
        self,
        interaction: discord.Interaction,
        thanks_channel: discord.TextChannel | None = None,
        role: discord.Role | None = None,
        role_after: app_commands.Range[int, 0, 1000] | None = None,
    ) -> None:
        """The monthly thanks channel and the automatic helper role; without options,
        show them."""
        await helper_credit.configure(interaction, thanks_channel, role, role_after)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Admin(bot, services_of(bot)))
