"""The preamble every handler shares: services, the guild's settings, the language.

A slash command asks :func:`invocation`; a button pressed in a forum post asks
:func:`post_context`, which adds the post and the member who pressed.
"""

from __future__ import annotations

from dataclasses import dataclass

import discord

from cogs.i18n import choose_language
from cogs.services import Services, services_of
from knowledge.models import GuildSettings


@dataclass(frozen=True, slots=True)
class Invocation:
    """Where an interaction happens: the guild's settings and the language to answer in."""

    services: Services
    settings: GuildSettings
    lang: str


async def invocation(interaction: discord.Interaction) -> Invocation:
    """The guild's settings, and its language or else the member's Discord locale."""
    services = services_of(interaction.client)  # type: ignore[arg-type]
    settings = await services.community.settings(interaction.guild_id or 0)
    lang = choose_language(settings.language, locale=interaction.locale)
    return Invocation(services, settings, lang)


@dataclass(frozen=True, slots=True)
class PostContext:
    """Who pressed, in which forum post, and in which language to answer."""

    services: Services
    thread: discord.Thread
    member: discord.Member
    settings: GuildSettings
    lang: str


async def post_context(interaction: discord.Interaction) -> PostContext | None:
    """The context of a button pressed inside a guild thread, else None."""
    thread = interaction.channel
    member = interaction.user
    if not isinstance(thread, discord.Thread) or not isinstance(member, discord.Member):
        return None
    where = await invocation(interaction)
    return PostContext(where.services, thread, member, where.settings, where.lang)
