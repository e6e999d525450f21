"""Scheduled community reports: after each week or month, the report in a staff channel.

An admin sets the schedule with ``/senpai-admin schedule``; this cog polls the due
schedules (the core's clock, like the escalations) and posts the same message as
``/senpai-admin report`` (:mod:`cogs.reporting`) for the week or month just ended in
the server's time zone, in the server's language, pinging nobody. The core claims
each period before it is posted (:mod:`knowledge.schedule`), so a restart or a
second process never posts it twice. A channel that is gone or refuses Senpai is
skipped with a log line, and the schedule moves on.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from cogs.i18n import choose_language
from cogs.polling import PollingCog
from cogs.render import NO_PINGS
from cogs.reporting import build_report_message
from cogs.services import services_of
from knowledge.schedule import ReportSchedule, ScheduledReport

log = logging.getLogger(__name__)


class ScheduledReports(PollingCog):
    """Posts each server's community report when its week or month ends."""

    POLL_NAME = "report-schedule"

    async def run_once(self) -> None:
        """One pass: post the report of every schedule that became due."""
        async with self._running:
            for schedule in await self.services.kb.due_scheduled_reports():
                await self._post(schedule)

    async def _post(self, schedule: ReportSchedule) -> None:
        kb = self.services.kb
        claim = await kb.claim_scheduled_report(schedule)
        if claim is None:
            return  # another process posts it, or the schedule changed meanwhile
        channel = self._channel(claim.channel_id)
        if channel is None:
            await self._skip(claim, "it is gone or Senpai may not post there")
            return
        settings = await self.services.community.settings(claim.guild_id)
        lang = choose_language(settings.language, locale=channel.guild.preferred_locale)
        message = await build_report_message(
            kb, claim.guild_id, claim.period.since, claim.period.until, claim.zone, lang
        )
        try:
            sent = await channel.send(
                content=message.content,
                embed=message.embed,  # type: ignore[arg-type]
                files=message.files,
                allowed_mentions=NO_PINGS,
            )
        except (discord.Forbidden, discord.NotFound) as error:
            await self._skip(claim, f"Discord refused ({error.status})")
            return
        await kb.scheduled_report_done(claim, sent.id)
        log.info(
            "guild %d: %s report for %s to %s posted in channel %d as message %d",
            claim.guild_id,
            claim.rhythm.value,
            claim.period.since,
            claim.period.until,
            channel.id,
            sent.id,
        )

    async def _skip(self, claim: ScheduledReport, why: str) -> None:
        await self.services.kb.scheduled_report_done(claim, None)
        log.info(
            "guild %d: %s report for %s to %s skipped: channel %d: %s",
            claim.guild_id,
            claim.rhythm.value,
            claim.period.since,
            claim.period.until,
            claim.channel_id,
            why,
        )

    def _channel(self, channel_id: int) -> discord.TextChannel | None:
        """The channel, when it exists and Senpai may post the report (with its chart)."""
        channel = self.bot.get_channel(channel_id)
        if not isinstance(channel, discord.TextChannel):
            return None
        allowed = channel.permissions_for(channel.guild.me)
        return channel if allowed.send_messages and allowed.attach_files else None


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(ScheduledReports(bot, services_of(bot)))
