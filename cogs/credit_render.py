"""Everything a member reads about credit for helpers: the direct message, the boards,
the monthly thanks post, the settings. Member-written text (titles, server names) is
escaped; members appear as mentions, which Discord shows as names and which never
ping (every message is sent with ``NO_PINGS``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cogs.i18n import t
from cogs.render import CONTENT_CHARS, clip, member_text
from knowledge.credit import CreditDigest, CreditKind, CreditPrefs, CreditSettings, HelperScore

DIGEST_LINES = 5
"""Entries named in one credit message; the rest are counted."""

_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def digest_message(digest: CreditDigest, guild_name: str, lang: str) -> str:
    """The direct message telling a member their answers helped (no ping, no embed)."""
    lines = [t("credit.dm.intro", lang, guild=member_text(guild_name))]
    for line in digest.lines[:DIGEST_LINES]:
        title, url = member_text(line.title), line.jump_url
        if line.kind is CreditKind.ACCEPTED:
            lines.append(t("credit.dm.accepted", lang, title=title, url=url))
        elif line.count == 1:
            lines.append(t("credit.dm.reused_one", lang, title=title, url=url))
        else:
            lines.append(t("credit.dm.reused", lang, title=title, url=url, count=line.count))
    if len(digest.lines) > DIGEST_LINES:
        lines.append(t("credit.dm.more", lang, count=len(digest.lines) - DIGEST_LINES))
    lines.append(t("credit.dm.footer", lang))
    return clip("\n".join(lines), CONTENT_CHARS)


def prefs_text(prefs: CreditPrefs, lang: str, *, saved: bool = False) -> str:
    """A member's credit choices, in words."""
    text = t(
        "credit.prefs",
        lang,
        notices=t("credit.on" if prefs.notices else "credit.off", lang),
        listed=t("credit.on" if prefs.listed else "credit.off", lang),
    )
    return f"{t('credit.saved', lang)}\n{text}" if saved else text


def board_lines(board: Sequence[HelperScore], lang: str) -> list[str]:
    """One line per member, by rank; members as mentions (shown as names, no ping)."""
    return [
        t(
            "credit.board.line",
            lang,
            rank=rank,
            name=f"<@{helper.user_id}>",
            accepted=helper.accepted,
            reused=helper.reused,
        )
        for rank, helper in enumerate(board, start=1)
    ]


def board_message(board: Sequence[HelperScore], period: str, lang: str) -> str:
    """/senpai helpers: the board for a period, or why it is empty."""
    title = t("credit.board.title", lang, period=t(f"credit.period.{period}", lang))
    body = board_lines(board, lang) if board else [t("credit.board.empty", lang)]
    return clip("\n".join([title, *body, t("credit.board.footer", lang)]), CONTENT_CHARS)


def month_name(start: datetime, lang: str) -> str:
    """A calendar month in words: "May 2026", "2026年5月"."""
    if lang == "ja":
        return f"{start.year}年{start.month}月"
    return f"{_MONTHS_EN[start.month - 1]} {start.year}"


def thanks_message(board: Sequence[HelperScore], start: datetime, lang: str) -> str:
    """The monthly thanks post."""
    title = t("credit.thanks.title", lang, month=month_name(start, lang))
    lines = [title, *board_lines(board, lang), t("credit.board.footer", lang)]
    return clip("\n".join(lines), CONTENT_CHARS)


def settings_text(settings: CreditSettings, lang: str, *, saved: bool = False) -> str:
    """/senpai-admin credit: the thanks channel and the automatic role."""
    unset = t("credit.admin.unset", lang)
    channel = unset if settings.thanks_channel is None else f"<#{settings.thanks_channel}>"
    if settings.role_id is None:
        role = unset
    elif settings.grants_role:
        role = t(
            "credit.admin.role", lang, role=f"<@&{settings.role_id}>", count=settings.role_after
        )
    else:
        role = t("credit.admin.role_off", lang, role=f"<@&{settings.role_id}>")
    text = t("credit.admin.settings", lang, channel=channel, role=role)
    return f"{t('credit.saved', lang)}\n{text}" if saved else text


def role_warning(role_id: int, lang: str, *, grantable_kind: bool) -> str:
    """Why Senpai cannot grant the role (yet, or ever)."""
    key = "credit.admin.role_forbidden" if grantable_kind else "credit.admin.bad_role"
    return t(key, lang, role=f"<@&{role_id}>")
