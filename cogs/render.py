"""Everything a member reads is built here: embeds, message texts, progress bars.

Member text is escaped before it is quoted, and nothing here can ping: the
bot sends every message with ``AllowedMentions.none()`` as well.
"""

from __future__ import annotations

import discord

from cogs.i18n import t
from knowledge.cleaning import escape_markdown, gist
from knowledge.community import CommunityFigures
from knowledge.models import GuildSettings, Stats, Suggestion

EMBED_COLOUR = discord.Colour.from_rgb(88, 166, 92)
GIST_CHARS = 160


def strength(score: float, lang: str) -> str:
    """A match strength in plain words."""
    if score >= 0.75:
        return t("strength.strong", lang)
    if score >= 0.6:
        return t("strength.good", lang)
    return t("strength.weak", lang)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def suggestion_embed(suggestions: list[Suggestion], lang: str) -> discord.Embed:
    """At most three solved threads: linked title, answer gist, who solved it, strength."""
    embed = discord.Embed(title=t("suggest.title", lang), colour=EMBED_COLOUR)
    for n, s in enumerate(suggestions[:3], start=1):
        entry = s.entry
        credit = t("suggest.solved_by", lang, name=escape_markdown(entry.answerer_name))
        lines = [
            f"[{t('suggest.open', lang)}]({entry.jump_url}) · {credit} · {strength(s.score, lang)}",
            "> " + escape_markdown(gist(entry.answer, max_chars=GIST_CHARS)).replace("\n", " "),
        ]
        if entry.hits == 1:
            lines.append(t("suggest.hit_one", lang))
        elif entry.hits > 1:
            lines.append(t("suggest.hits", lang, count=entry.hits))
        embed.add_field(
            name=_clip(f"#{n} {entry.title}", 256),
            value=_clip("\n".join(lines), 1024),
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
        return f"#{escape_markdown(channel.name)}" if channel else str(channel_id)

    def role_name(role_id: int) -> str:
        role = guild.get_role(role_id)
        return f"@\u200b{escape_markdown(role.name)}" if role else str(role_id)

    forums = ", ".join(channel_name(c) for c in settings.watched_forums) or t(
        "setup.all_forums", lang
    )
    roles = ", ".join(role_name(r) for r in settings.helper_roles) or t("setup.none", lang)
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
    tag = escape_markdown(settings.solved_tag) if settings.solved_tag else "Solved / 解決済み"
    return t(
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


def stats_embed(stats: Stats, figures: CommunityFigures, lang: str) -> discord.Embed:
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
        ]
    )
    if stats.top_answerers:
        embed.add_field(
            name=t("stats.leaders", lang),
            value=_clip(
                "\n".join(
                    f"{escape_markdown(name)} — {count}" for _, name, count in stats.top_answerers
                ),
                1024,
            ),
            inline=False,
        )
    if figures.recurring:
        embed.add_field(
            name=t("stats.recurring", lang),
            value=_clip(
                "\n".join(
                    f"{escape_markdown(title)} — {hits}" for _, title, hits in figures.recurring
                ),
                1024,
            ),
            inline=False,
        )
    return embed
