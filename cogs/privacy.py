"""Members' control of their own data: delete it, and stop (or allow) its capture.

The handlers behind ``/senpai forget-me`` and ``/senpai privacy`` (the member
group is declared with the other member commands in :mod:`cogs.suggest`), and
the one rule every capturing surface applies: a member who opted out is never
kept, and is told why when their post is not saved.
"""

from __future__ import annotations

import logging

import discord

from cogs import render
from cogs.components import Confirm
from cogs.context import invocation
from cogs.i18n import t
from cogs.render import NO_PINGS
from cogs.services import Services
from knowledge.engine import CaptureError

log = logging.getLogger(__name__)


async def forget_me(interaction: discord.Interaction) -> None:
    """Ask the member to confirm, then remove everything Senpai keeps about them."""
    where = await invocation(interaction)
    kb, lang, user_id = where.services.kb, where.lang, interaction.user.id

    async def forget() -> str:
        removed = await kb.forget_member(user_id)
        log.info("member %d deleted their data: %d entries", user_id, removed.entries)
        return render.forgotten_member(removed, await kb.is_opted_out(user_id), lang)

    view = Confirm(
        user_id,
        lang,
        forget,
        confirm_label=t("button.forget_me", lang),
        timeout=where.services.confirm_seconds,
    )
    await view.send(interaction, t("forget_me.confirm", lang))


async def set_privacy(interaction: discord.Interaction, stop: bool | None) -> None:
    """Stop (``stop``) or allow capturing the member's messages; with None, show their
    choice."""
    where = await invocation(interaction)
    kb, user_id = where.services.kb, interaction.user.id
    changed: bool | None = None
    if stop is not None:
        changed = await kb.set_opt_out(user_id, stop)
        if changed:
            log.info("member %d %s capture", user_id, "stopped" if stop else "allowed")
    text = render.privacy_choice(await kb.is_opted_out(user_id), changed, where.lang)
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def capture_refusal(
    services: Services, error: CaptureError, member_id: int | None, lang: str
) -> str:
    """Why a post was not saved, for the member who asked for it: in their own words
    when it is they who opted out."""
    if (
        error.code == "opted_out"
        and member_id is not None
        and await services.kb.is_opted_out(member_id)
    ):
        return t("capture.opted_out_self", lang)
    return t(f"capture.{error.code}", lang)
