"""Giving a member a role, through a real discord.py client: Discord's permission rules."""

from __future__ import annotations

import discord
import pytest

from localdiscord import LocalDiscord, Permissions
from support import BotConnector, World


async def test_a_bot_without_manage_roles_is_refused(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    low = server.add_role(world.guild, "Regular")
    server.bot_role(world.guild).position = low.position + 1  # above, but no permission
    bot = await connect(server)
    member = await bot.get_guild(world.guild.id).fetch_member(world.alice.id)  # type: ignore[union-attr]
    with pytest.raises(discord.Forbidden) as refused:
        await member.add_roles(discord.Object(low.id))
    assert refused.value.code == 50013
    assert low.id not in world.alice.role_ids


async def test_a_role_at_or_above_the_bots_highest_is_refused_and_one_below_is_given(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    below = server.add_role(world.guild, "Regular")
    bot_role = server.bot_role(world.guild)
    bot_role.permissions |= Permissions.MANAGE_ROLES
    bot_role.position = below.position + 1
    above = server.add_role(world.guild, "Admins")  # created above every role
    bot = await connect(server)
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    member = await guild.fetch_member(world.alice.id)

    with pytest.raises(discord.Forbidden):
        await member.add_roles(discord.Object(above.id))
    with pytest.raises(discord.Forbidden):
        await member.add_roles(discord.Object(bot_role.id))  # a managed role
    await member.add_roles(discord.Object(below.id), reason="three accepted answers")
    assert world.alice.role_ids == [below.id]
    await member.add_roles(discord.Object(below.id))  # giving it again changes nothing
    assert world.alice.role_ids == [below.id]
    refreshed = await guild.fetch_member(world.alice.id)
    assert [r.id for r in refreshed.roles if not r.is_default()] == [below.id]
