"""The community report as a Discord message: text, chart and, when long, a text file.

One builder for both places the report appears, so they never drift apart:
``/senpai-admin report`` (an admin asks) and the scheduled report in a staff
channel (:mod:`cogs.schedule`). The figures come from the core
(:meth:`~knowledge.engine.KnowledgeBase.report`), the text from
:mod:`knowledge.report_format`; member-written titles and names are escaped.
"""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from zoneinfo import ZoneInfo

import discord

from cogs import render
from cogs.i18n import t
from knowledge import report_format
from knowledge.engine import KnowledgeBase, Report
from knowledge.schedule import ReportSchedule, period_start

log = logging.getLogger(__name__)

REPORT_FILE = "senpai-report.txt"
CHART_FILE = "senpai-report.png"


@dataclass(frozen=True, slots=True)
class ReportMessage:
    """What to send: pass ``content``, ``embed`` and ``files`` to a send or an edit."""

    content: str | None
    embed: discord.Embed | None
    files: list[discord.File]


async def report_message(report: Report, lang: str) -> ReportMessage:
    """The report's text in ``lang`` with the weekly chart attached (a line says so
    when matplotlib is missing), laid out within Discord's limits."""
    files: list[discord.File] = []
    try:
        png = await asyncio.to_thread(report_format.chart_png, report)
    except report_format.ChartUnavailable:
        log.info("report for guild %d: no chart (matplotlib missing)", report.guild_id)
    else:
        files.append(discord.File(io.BytesIO(png), CHART_FILE))
    text = report_format.render_text(report, lang, member_text=render.member_text)
    reply = render.report_reply(text, bool(files), lang)
    if reply.attach_text:
        files.append(discord.File(io.BytesIO(text.encode()), REPORT_FILE))
    return ReportMessage(reply.content, reply.embed, files)


async def build_report_message(
    kb: KnowledgeBase, guild_id: int, since: date, until: date, zone: tzinfo, lang: str
) -> ReportMessage:
    """The community report of [since, until) in ``zone``, ready to send."""
    report = await kb.report(guild_id, since, until, zone=zone)
    return await report_message(report, lang)


def schedule_text(schedule: ReportSchedule, guild: discord.Guild, zone: ZoneInfo, lang: str) -> str:
    """The server's report schedule, for the admin: rhythm, channel, and when the next
    report comes (in the server's time zone) with the days it covers."""
    channel = guild.get_channel(schedule.channel_id)
    where = f"#{render.member_text(channel.name)}" if channel else str(schedule.channel_id)
    due = schedule.next_due.astimezone(zone)
    last_day = due.date() - timedelta(days=1)
    return t(
        "schedule.current",
        lang,
        rhythm=t(f"schedule.rhythm.{schedule.rhythm.value}", lang),
        channel=where,
        due=due.strftime("%Y-%m-%d %H:%M"),
        zone=zone.key,
        since=period_start(schedule.rhythm, last_day).isoformat(),
        last=last_day.isoformat(),
    )
