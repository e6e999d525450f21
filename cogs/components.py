"""Persistent buttons: their state lives in the custom_id, so they keep working
after a restart (discord.py matches them by template, no view to re-register).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import discord

from cogs.i18n import choose_language
from cogs.services import Services, services_of
from knowledge.models import GuildSettings


class PersistentButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose custom_id is ``PREFIX`` or ``PREFIX:<number>``.

    Subclasses set ``PREFIX`` and ``STYLE`` and pass a ``template`` matching
    their ids (with a ``value`` group when they carry a number).
    """

    PREFIX: ClassVar[str]
    STYLE: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, value: int | None = None, label: str = "…") -> None:
        custom_id = self.PREFIX if value is None else f"{self.PREFIX}:{value}"
        super().__init__(discord.ui.Button(label=label, style=self.STYLE, custom_id=custom_id))
        self.value = value

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> Self:
        value = match.groupdict().get("value")
        return cls(None if value is None else int(value), item.label or "…")


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
    services = services_of(interaction.client)  # type: ignore[arg-type]
    settings = await services.community.settings(thread.guild.id)
    lang = choose_language(settings.language, locale=interaction.locale)
    return PostContext(services, thread, member, settings, lang)
