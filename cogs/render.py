"""Everything a member reads is built here: embeds, message texts, button labels.

Anything a member wrote (titles, answers, display names, channel, role and tag
names) goes through :func:`member_text` before it is placed in a message, an
embed or a label, and nothing here can ping: every message is sent with
:data:`NO_PINGS`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

import discord

from cogs.i18n import t
from knowledge.cleaning import escape_markdown, gist
from knowledge.community import CommunityFigures
from knowledge.learning import MIN_VERDICTS, Calibration
from knowledge.models import (
    Entry,
    EscalationState,
    GuildSettings,
    RemovedContent,
    Stats,
    Suggestion,
)

EMBED_COLOUR = discord.Colour.from_rgb(88, 166, 92)
GIST_CHARS = 160
NO_PINGS = discord.AllowedMentions.none()
"""Senpai never pings: the bot's default, and passed with every message it sends."""

# Discord's limits on the places member text goes.
CONTENT_CHARS = 2000
DESCRIPTION_CHARS = 4096
FIELD_NAME_CHARS = 256
FIELD_VALUE_CHARS = 1024
LABEL_CHARS = 80
NAME_CHARS = 100  # display names, titles, tag names quoted inside a sentence

# Mentions, channel links, timestamps, slash-command links and custom emoji: ``<@1>``,
# ``<@&1>``, ``<#1>``, ``<t:1:R>``, ``</cmd:1>``, ``<:e:1>``. A backslash shows them as text.
_ANGLE_MARKUP = re.compile(r"<(?=[@#/:]|t:|a:)")
_MASS_MENTION = re.compile(r"@(everyone|here)", re.IGNORECASE)
_URL_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*:)//", re.IGNORECASE)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, never ending in half an escape."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip("\\") + "…"


def member_text(text: str, limit: int = NAME_CHARS, *, links: bool = False) -> str:
    """What a member wrote, safe to quote anywhere Senpai writes: on one line, every
    markdown construct (masked links, headings, ``-#``, lists, quotes, spoilers, code)
    escaped, mentions and timestamps shown as text, ``@everyone``/``@here`` defused,
    and at most ``limit`` characters.

    Bare URLs stay clickable only with ``links`` (an answer's gist); in a title or a
    name a zero-width space after the scheme keeps Discord from linking them.
    """
    one_line = " ".join(clip(text, limit).split())
    if not links:
        one_line = _URL_SCHEME.sub("\\1\u200b//", one_line)
    escaped = _ANGLE_MARKUP.sub(r"\\<", escape_markdown(one_line))
    return clip(_MASS_MENTION.sub("@\u200b\\1", escaped), limit)


def label(text: str) -> str:
    """A button label: Discord shows labels literally, but bounds them to 80 characters."""
    return clip(" ".join(text.split()), LABEL_CHARS)


def strength(score: float, lang: str) -> str:
    """A match strength in plain words."""
    if score >= 0.75:
        return t("strength.strong", lang)
    if score >= 0.6:
        return t("strength.good", lang)
    return t("strength.weak", lang)


def suggestion_embed(suggestions: list[Suggestion], lang: str) -> discord.Embed:
    """At most three solved threads: linked title, answer gist, who solved it, strength."""
    embed = discord.Embed(title=t("suggest.title", lang), colour=EMBED_COLOUR)
    for n, s in enumerate(suggestions[:3], start=1):
        entry = s.entry
        credit = t("suggest.solved_by", lang, name=member_text(entry.answerer_name))
        lines = [
            f"[{t('suggest.open', lang)}]({entry.jump_url}) · {credit} · {strength(s.score, lang)}",
            "> "
            + member_text(gist(entry.answer, max_chars=GIST_CHARS), 2 * GIST_CHARS, links=True),
        ]
        if entry.hits == 1:
            lines.append(t("suggest.hit_one", lang))
        elif entry.hits > 1:
            lines.append(t("suggest.hits", lang, count=entry.hits))
        embed.add_field(
            name=clip(f"#{n} {member_text(entry.title)}", FIELD_NAME_CHARS),
            value=clip("\n".join(lines), FIELD_VALUE_CHARS),
            inline=False,
        )
    embed.set_footer(text=t("suggest.footer", lang))
    return embed


def progress_bar(done: int, total: int, width: int = 20) -> str:
    fraction = 1.0 if total <= 0 else min(1.0, done / total)
    filled = round(width * fraction)
    return "█" * filled + "░" * (width - filled)


def rebuild_progress(done: int, total: int, eta: float | None, lang: str) -> str:
    eta_text = (
        t("rebuild.eta", lang, seconds=round(eta)) if eta is not None and done < total else ""
    )
    return t(
        "rebuild.progress",
        lang,
        bar=progress_bar(done, total),
        done=done,
        total=total,
        eta=eta_text,
    )


def settings_text(
    settings: GuildSettings, guild: discord.Guild, default_threshold: float, lang: str
) -> str:
    def channel_name(channel_id: int) -> str:
        channel = guild.get_channel(channel_id)
        return f"#{member_text(channel.name)}" if channel else str(channel_id)

    def role_name(role_id: int) -> str:
        role = guild.get_role(role_id)
        return f"@\u200b{member_text(role.name)}" if role else str(role_id)

    forums = ", ".join(channel_name(c) for c in settings.watched_forums) or t(
        "setup.all_forums", lang
    )
    roles = ", ".join(role_name(r) for r in settings.helper_roles) or t("setup.none", lang)
    staff_roles = ", ".join(role_name(r) for r in settings.staff_roles) or t("setup.none", lang)
    threshold = (
        f"{settings.threshold:.2f}"
        if settings.threshold is not None
        else t("setup.default", lang, value=f"{default_threshold:.2f}")
    )
    language = t("setup.auto", lang) if settings.language == "auto" else settings.language
    nudge = (
        t("setup.off", lang)
        if settings.nudge_hours <= 0
        else t("setup.hours", lang, hours=f"{settings.nudge_hours:g}")
    )
    tag = member_text(settings.solved_tag) if settings.solved_tag else "Solved / 解決済み"
    community = t(
        "setup.community",
        lang,
        staff=channel_name(settings.staff_channel)
        if settings.staff_channel
        else t("setup.none", lang),
        escalation=t("setup.off", lang)
        if settings.escalation_hours <= 0
        else t("setup.hours", lang, hours=f"{settings.escalation_hours:g}"),
        me_too=t("setup.yes" if settings.me_too_on_posts else "setup.no", lang),
        staff_roles=staff_roles,
    )
    current = t(
        "setup.current",
        lang,
        forums=forums,
        roles=roles,
        tag=tag,
        threshold=threshold,
        language=language,
        nudge=nudge,
        archive=t("setup.yes" if settings.archive_on_solve else "setup.no", lang),
    )
    return f"{current}\n{community}\n" + t("setup.time_zone", lang, zone=settings.time_zone)


def calibration_line(calibration: Calibration, setting: float | None, lang: str) -> str:
    """How sure Senpai must be in this server, and where that threshold comes from."""
    if setting is not None:
        source = t("stats.calibration.setting", lang)
        return t("stats.calibration", lang, threshold=setting, source=source)
    if calibration.calibrated:
        precision = f"{calibration.precision:.0%}" if calibration.precision is not None else "—"
        source = t(
            "stats.calibration.learned",
            lang,
            verdicts=calibration.verdicts,
            precision=precision,
            base=calibration.base,
        )
    else:
        source = t(
            "stats.calibration.pending",
            lang,
            needed=MIN_VERDICTS,
            verdicts=calibration.verdicts,
        )
    return t("stats.calibration", lang, threshold=calibration.threshold, source=source)


def stats_embed(
    stats: Stats, figures: CommunityFigures, lang: str, calibration: str = ""
) -> discord.Embed:
    none = t("stats.none", lang)
    rate = f"{figures.solved_rate:.0%}" if figures.solved_rate is not None else none
    reply = (
        t("stats.minutes", lang, value=figures.median_first_reply_minutes)
        if figures.median_first_reply_minutes is not None
        else none
    )
    solve = (
        t("stats.hours", lang, value=figures.median_solve_hours)
        if figures.median_solve_hours is not None
        else none
    )
    embed = discord.Embed(title=t("stats.title", lang), colour=EMBED_COLOUR)
    embed.description = "\n".join(
        [
            t(
                "stats.kb",
                lang,
                entries=stats.entries,
                answerers=stats.answerers,
                hits=stats.total_hits,
            ),
            t(
                "stats.period",
                lang,
                questions=figures.questions,
                answered=figures.answered,
                rate=rate,
                reply=reply,
                solve=solve,
            ),
            *([calibration] if calibration else []),
        ]
    )
    _add_ranking(embed, t("stats.leaders", lang), [(n, c) for _, n, c in stats.top_answerers])
    _add_ranking(embed, t("stats.recurring", lang), [(ti, h) for _, ti, h in figures.recurring])
    return embed


@dataclass(frozen=True, slots=True)
class ReportReply:
    """How the community report is sent: as the message text when it fits, else in an
    embed, and when even that is too short, also as a text file (``attach_text``)."""

    content: str | None
    embed: discord.Embed | None
    attach_text: bool


def report_reply(text: str, chart: bool, lang: str) -> ReportReply:
    """The report's text (already rendered by the core) laid out within Discord's limits,
    with a line saying the chart is missing when it could not be drawn."""
    notes = [] if chart else [t("report.no_chart", lang)]
    text = text.rstrip()
    if len(text) + sum(len(n) + 1 for n in notes) <= CONTENT_CHARS:
        return ReportReply("\n".join([text, *notes]), None, False)
    attach = len(text) > DESCRIPTION_CHARS
    if attach:
        notes.append(t("report.attached", lang))
    embed = discord.Embed(description=clip(text, DESCRIPTION_CHARS), colour=EMBED_COLOUR)
    return ReportReply("\n".join(notes) or None, embed, attach)


def _add_ranking(embed: discord.Embed, name: str, rows: list[tuple[str, int]]) -> None:
    """A field listing member-written names with a count each, when there are any."""
    if rows:
        lines = "\n".join(f"{member_text(text)} — {count}" for text, count in rows)
        embed.add_field(name=name, value=clip(lines, FIELD_VALUE_CHARS), inline=False)


# -- messages quoting a member ----------------------------------------------------------


def solved_by_earlier_thread(title: str, url: str, lang: str) -> tuple[str, str]:
    """The asker's confirmation and the public note when an earlier thread solved a post."""
    quoted = member_text(title)
    return (
        t("feedback.solved", lang, title=quoted),
        t("feedback.solved_public", lang, title=quoted, url=url),
    )


def solved_with_answer(answerer: str | None, lang: str) -> tuple[str, str]:
    """The public note on a post just solved, and the confirmation for who marked it."""
    name = member_text(answerer) if answerer else "?"
    return t("solve.public", lang, name=name), t("solve.done", lang, name=name)


def addressed(key: str, lang: str, name: str | None) -> str:
    """The message ``key`` addressed to a member by name (never a mention); the
    ``.anonymous`` variant when the name is unknown."""
    if name is None:
        return t(f"{key}.anonymous", lang)
    return t(key, lang, asker=member_text(name))


def backfill_done(seen: int, captured: int, skipped: Mapping[str, int], lang: str) -> str:
    """A backfill's summary, with the posts it did not save counted by reason
    (``skipped`` maps :class:`~knowledge.errors.CaptureError` codes to counts)."""
    text = t("backfill.done", lang, seen=seen, captured=captured)
    by_reason: Counter[str] = Counter()
    for code, count in skipped.items():
        by_reason[code if code in SKIP_REASONS else "other"] += count
    if not by_reason:
        return text
    reasons = ", ".join(
        t("backfill.reason", lang, count=by_reason[code], reason=t(f"skipped.{code}", lang))
        for code in (*SKIP_REASONS, "other")
        if by_reason[code]
    )
    return f"{text}\n{t('backfill.skipped', lang, reasons=reasons)}"


SKIP_REASONS = ("opted_out", "conflict", "scope")
"""Reasons a backfill names; other capture errors count as "no usable question or answer"."""


def forget_confirmation(name: str, lang: str) -> str:
    return t("forget.confirm", lang, user=member_text(name))


# -- a member's own data ----------------------------------------------------------------


def forgotten_member(removed: RemovedContent, opted_out: bool, lang: str) -> str:
    """What forget-me removed, and (unless they opted out) how to stop future capture."""
    text = t(
        "forget_me.done",
        lang,
        entries=removed.entries,
        feedback=removed.feedback_count,
        questions=removed.questions,
    )
    return text if opted_out else f"{text}\n{t('forget_me.hint', lang)}"


def privacy_choice(opted_out: bool, changed: bool | None, lang: str) -> str:
    """The member's capture choice in plain words, after "Saved." when it just changed."""
    text = t("privacy.out" if opted_out else "privacy.in", lang)
    if changed is None:
        return text
    return t("privacy.changed" if changed else "privacy.unchanged", lang, text=text)


# -- escalation and "me too" ----------------------------------------------------------

STAFF_LEADS = 3


def age(hours: float, lang: str) -> str:
    """How long ago, in plain words: hours under two days, else whole days."""
    whole = max(1, int(hours))
    if whole == 1:
        return t("age.hour", lang)
    if whole < 48:
        return t("age.hours", lang, n=whole)
    return t("age.days", lang, n=whole // 24)


def escalation_message(
    title: str, url: str, hours: float, leads: list[tuple[Entry, float]], lang: str
) -> tuple[str, discord.Embed]:
    """The staff's note about a post nobody answered: its title (escaped), its age in
    plain words, a link, and up to three close solved threads. Mentions nobody."""
    embed = discord.Embed(title=clip(member_text(title), 256), url=url, colour=EMBED_COLOUR)
    embed.description = t("escalation.asked", lang, age=age(hours, lang), url=url)
    lines = [
        f"[{member_text(entry.title)}]({entry.jump_url}) · {strength(score, lang)}"
        for entry, score in leads[:STAFF_LEADS]
    ]
    embed.add_field(
        name=t("escalation.closest", lang),
        value=clip("\n".join(lines), FIELD_VALUE_CHARS) if lines else t("escalation.none", lang),
        inline=False,
    )
    return t("escalation.waiting", lang), embed


def escalation_closed(state: EscalationState, lang: str) -> str:
    """The staff message's new first line once the post left the list."""
    return t(f"escalation.{state.value}", lang)


def me_too_count(count: int, lang: str) -> str:
    """The count shown on Senpai's own message (edited in place)."""
    if count == 1:
        return t("me_too.count_one", lang)
    return t("me_too.count", lang, count=count)


def me_too_message(count: int, lang: str) -> str:
    """The small "me too" message on a post without suggestions: the prompt, and the
    count once someone said so."""
    prompt = t("me_too.prompt", lang)
    return prompt if count <= 0 else f"{me_too_count(count, lang)}\n{prompt}"


def me_too_notice(count: int, lang: str) -> str:
    """The one line in a solved post for those who had the same problem (names nobody)."""
    if count == 1:
        return t("me_too.notice_one", lang)
    return t("me_too.notice", lang, count=count)
