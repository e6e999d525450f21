"""What a member reads about invitations: the direct message and the opt-in replies.

Member-written text (the post's title, the earlier thread's title, the server's
name) goes through :func:`cogs.render.member_text`; every message is sent with
:data:`cogs.render.NO_PINGS`.
"""

from __future__ import annotations

from cogs.i18n import t
from cogs.render import CONTENT_CHARS, clip, member_text
from knowledge.invitations import InviteChoice


def invitation(
    *,
    guild: str,
    title: str,
    url: str,
    earlier_title: str,
    earlier_url: str,
    per_day: int,
    lang: str,
) -> str:
    """The direct message inviting a member to a new post like one they solved: the
    post's title (escaped) with a jump link, and which of their threads it resembles."""
    text = t(
        "invite.message",
        lang,
        guild=member_text(guild),
        title=member_text(title),
        url=url,
        earlier=member_text(earlier_title),
        earlier_url=earlier_url,
        per_day=per_day,
    )
    return clip(text, CONTENT_CHARS)


def invites_choice(choice: InviteChoice | None, enabled: bool, lang: str) -> str:
    """The reply to ``/senpai invites``: what changed, or (without a choice) the
    member's current choice."""
    if choice is None:
        return t("invite.status_on" if enabled else "invite.status_off", lang)
    return t(f"invite.{choice.value}", lang)
