"""What the local Discord's tests share: a seeded guild and real discord.py bots."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import discord
from discord.ext import commands

from localdiscord import Channel, Guild, LocalDiscord, Member, Permissions, Role, TagSpec


@dataclass
class World:
    """The seeded guild most tests use."""

    guild: Guild
    general: Channel
    forum: Channel
    private_forum: Channel
    helper: Role
    alice: Member
    bob: Member
    mod: Member


def default_intents() -> discord.Intents:
    """What Senpai asks for: guilds, guild messages, message content, reactions."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    return intents


def make_bot(
    *,
    allowed_mentions: discord.AllowedMentions | None = None,
    intents: discord.Intents | None = None,
) -> commands.Bot:
    """A real commands.Bot, quick to become ready (short guild_ready_timeout)."""
    return commands.Bot(
        command_prefix=commands.when_mentioned,
        intents=intents or default_intents(),
        allowed_mentions=allowed_mentions
        if allowed_mentions is not None
        else discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        help_command=None,
    )


ServerFactory = Callable[..., Awaitable[LocalDiscord]]
BotConnector = Callable[..., Awaitable[commands.Bot]]


def seed(server: LocalDiscord) -> World:
    """A Japanese-locale guild with a public forum, a private forum and a text channel."""
    guild = server.add_guild("Senpai Lab", locale="ja")
    helper = server.add_role(guild, "Helper", permissions=Permissions.MANAGE_THREADS)
    alice = server.add_member(guild, "alice", locale="ja")
    bob = server.add_member(guild, "bob", locale="en-US")
    mod = server.add_member(guild, "mod", roles=[helper])
    general = server.add_text_channel(guild, "general")
    forum = server.add_forum(
        guild,
        "help",
        tags=["Solved", "解決済み", TagSpec("Staff pick", moderated=True, emoji="⭐")],
    )
    private_forum = server.add_forum(
        guild, "staff-help", tags=["Solved"], private=True, allow=[helper]
    )
    return World(guild, general, forum, private_forum, helper, alice, bob, mod)
