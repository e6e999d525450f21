"""Direct messages between the bot and a member, through a real discord.py client."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
import pytest

from localdiscord import LocalDiscord, ScenarioError
from support import BotConnector, World, default_intents, make_bot


class StopView(discord.ui.View):
    """A persistent button a DM can carry (e.g. "stop these messages")."""

    def __init__(self, seen: list[discord.Interaction]) -> None:
        super().__init__(timeout=None)
        self.seen = seen

    @discord.ui.button(label="Stop", custom_id="test:stop")
    async def stop_button(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        self.seen.append(interaction)
        await interaction.response.edit_message(content="stopped", view=None)


async def test_the_bot_opens_a_dm_and_sends(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    user = await bot.fetch_user(world.alice.id)
    sent = await user.send("your answer helped", allowed_mentions=discord.AllowedMentions.none())

    assert isinstance(sent.channel, discord.DMChannel)
    assert sent.guild is None
    [message] = server.direct_messages(world.alice)
    assert message.content == "your answer helped"
    assert message.guild_id is None
    assert server.direct_messages(world.bob) == []
    again = await user.send("twice")
    assert again.channel.id == sent.channel.id  # one DM channel per user
    server.assert_clean()


@pytest.mark.parametrize("reason", ["closed", "no shared guild"])
async def test_a_dm_the_user_does_not_accept_is_refused_with_50007(
    server: LocalDiscord, world: World, connect: BotConnector, reason: str
) -> None:
    if reason == "closed":
        server.set_accepts_dms(world.alice, False)
        target = world.alice.user
    else:
        other = server.add_guild("Elsewhere")
        target = server.add_member(other, "stranger").user
        other.members.pop(server.bot_user.id)  # the bot is not in that guild
    bot = await connect(server)
    user = await bot.fetch_user(target.id)

    with pytest.raises(discord.Forbidden) as refused:
        await user.send("hello")
    assert refused.value.code == 50007
    assert server.direct_messages(target) == []


async def test_a_button_in_a_dm_reaches_the_bot_without_a_guild(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    seen: list[discord.Interaction] = []
    bot = make_bot()

    async def register(client: Any) -> None:
        client.add_view(StopView(seen))

    bot = await connect(server, bot, before_connect=register)
    user = await bot.fetch_user(world.alice.id)
    await user.send("notices", view=StopView(seen))
    message = await server.wait_for_direct_message(world.alice)

    with pytest.raises(ScenarioError, match="recipient"):
        await server.press_button(world.bob, message, "test:stop")
    record = await server.press_button(world.alice, message, "test:stop")
    await server.wait_for(lambda: record.callback)

    [interaction] = seen
    assert interaction.guild_id is None
    assert interaction.user.id == world.alice.id
    assert record.payload["context"] == 1
    assert "member" not in record.payload
    assert server.message(message.id).content == "stopped"
    server.assert_clean()


async def test_dm_events_need_the_direct_messages_intent(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    intents = default_intents()
    intents.dm_messages = True
    listening = make_bot(intents=intents)
    seen: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message)

    listening.add_listener(on_message)
    bot = await connect(server, listening)
    user = await bot.fetch_user(world.bob.id)
    await user.send("with the intent")
    await server.wait_for(lambda: seen or None)
    assert seen[0].guild is None
    assert isinstance(seen[0].channel, discord.DMChannel)

    deaf = make_bot()  # guild messages only
    heard: list[discord.Message] = []

    async def on_any(message: discord.Message) -> None:
        heard.append(message)

    deaf.add_listener(on_any, "on_message")
    other = await connect(server, deaf)
    await (await other.fetch_user(world.bob.id)).send("without it")
    await asyncio.sleep(0.2)
    assert heard == []
