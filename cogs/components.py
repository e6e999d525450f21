"""Buttons. Persistent ones keep their state in the custom_id, so they keep working
after a restart (discord.py matches them by template, no view to re-register);
a Confirm / Cancel prompt lives only as long as it waits for its member.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Self

import discord

from cogs.context import PostContext, invocation, post_context
from cogs.i18n import t
from cogs.render import NO_PINGS
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


class Confirm(discord.ui.View):
    """Confirm / Cancel before something that cannot be undone.

    Only ``owner_id`` may press (anyone else gets a short private refusal). Confirm
    shows a "working" line, runs ``action`` and shows the text it returns; Cancel, or
    no answer within ``timeout`` seconds, says that nothing was done. Call
    :meth:`send` to show the prompt as the answer to ``interaction``.
    """

    def __init__(
        self,
        owner_id: int,
        lang: str,
        action: Callable[[], Awaitable[str]],
        *,
        confirm_label: str,
        timeout: float,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.lang = lang
        self.action = action
        self._prompt: discord.Interaction | None = None
        self._answered = False
        confirm = discord.ui.Button[Any](
            label=bounded_label(confirm_label), style=discord.ButtonStyle.danger
        )
        cancel = discord.ui.Button[Any](
            label=bounded_label(t("button.cancel", lang)), style=discord.ButtonStyle.secondary
        )
        confirm.callback = self._confirm  # type: ignore[method-assign]
        cancel.callback = self._cancel  # type: ignore[method-assign]
        self.add_item(confirm)
        self.add_item(cancel)

    async def send(self, interaction: discord.Interaction, text: str) -> None:
        """Answer ``interaction`` with the prompt (ephemeral, pinging no one)."""
        self._prompt = interaction
        await interaction.response.send_message(
            text, view=self, ephemeral=True, allowed_mentions=NO_PINGS
        )

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id and not self._answered:
            self._answered = True
            return True
        if interaction.user.id == self.owner_id:
            # A second press while the first is being handled: acknowledge, do nothing.
            await interaction.response.defer()
            return False
        lang = (await invocation(interaction)).lang
        await interaction.response.send_message(t("refuse.not_yours", lang), ephemeral=True)
        return False

    async def _confirm(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=t("confirm.working", self.lang), view=None, allowed_mentions=NO_PINGS
        )
        text = await self.action()
        await interaction.edit_original_response(content=text, allowed_mentions=NO_PINGS)

    async def _cancel(self, interaction: discord.Interaction) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=t("confirm.cancelled", self.lang), view=None, allowed_mentions=NO_PINGS
        )

    async def on_timeout(self) -> None:
        if self._answered or self._prompt is None:
            return
        self._answered = True
        with contextlib.suppress(discord.HTTPException):
            await self._prompt.edit_original_response(
                content=t("confirm.expired", self.lang), view=None, allowed_mentions=NO_PINGS
            )
