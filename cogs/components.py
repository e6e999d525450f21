"""Persistent buttons: their state lives in the custom_id, so they keep working
after a restart (discord.py matches them by template, no view to re-register).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Self

import discord

from cogs.context import PostContext, post_context
from cogs.render import label as bounded_label


class PersistentButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"(?!)"):
    """A button whose custom_id is ``PREFIX`` or ``PREFIX:<number>``.

    Subclasses set ``PREFIX`` and ``STYLE``, pass a ``template`` matching their ids
    (with a ``value`` group when they carry a number), and implement :meth:`pressed`.
    """

    PREFIX: ClassVar[str]
    STYLE: ClassVar[discord.ButtonStyle] = discord.ButtonStyle.secondary

    def __init__(self, value: int | None = None, label: str = "…") -> None:
        custom_id = self.PREFIX if value is None else f"{self.PREFIX}:{value}"
        button = discord.ui.Button[Any](
            label=bounded_label(label), style=self.STYLE, custom_id=custom_id
        )
        super().__init__(button)
        self.value = value

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button[Any], match: re.Match[str], /
    ) -> Self:
        value = match.groupdict().get("value")
        return cls(None if value is None else int(value), item.label or "…")

    async def callback(self, interaction: discord.Interaction) -> None:
        ctx = await self.context(interaction)
        if ctx is not None:
            await self.pressed(interaction, ctx)

    async def context(self, interaction: discord.Interaction) -> PostContext | None:
        """Where the button was pressed; None (and no answer) outside a guild thread."""
        return await post_context(interaction)

    async def pressed(self, interaction: discord.Interaction, ctx: PostContext) -> None:
        """What the button does once its context is known."""
        raise NotImplementedError
