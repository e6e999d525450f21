"""Who may do what, in one place: the runtime checks and the commands' default permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import discord
from discord import app_commands

from knowledge.models import PUBLIC_SCOPE, GuildSettings, private_scope

T = TypeVar("T")

ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)
"""What an admin command needs by default; a server may change it in its settings."""


class NotAdmin(app_commands.CheckFailure):
    """An admin command reached someone without Manage Server (a server opened it to
    them in its integration settings, or the synced permissions are stale)."""


def admin_only() -> Callable[[T], T]:
    """Manage Server, in both places: the default permission Discord applies (members
    without it do not see the command; a top-level command or group must carry it), and
    a runtime check that raises :class:`NotAdmin`, answered by the one error handler.

    Usable on app commands and on :class:`app_commands.Group` instances; a group has no
    checks of its own, so decorate its subcommands too.
    """

    def decorator(command: T) -> T:
        app_commands.default_permissions(ADMIN_PERMISSIONS)(command)
        if isinstance(command, app_commands.Group):
            return command
        return app_commands.check(require_admin)(command)

    return decorator


def require_admin(interaction: discord.Interaction) -> bool:
    """The runtime half of :func:`admin_only`."""
    member = interaction.user
    if isinstance(member, discord.Member) and is_admin(member):
        return True
    raise NotAdmin("this command needs Manage Server")


def is_moderator(member: discord.Member) -> bool:
    """Manage Threads (or more) in the guild."""
    perms = member.guild_permissions
    return perms.administrator or perms.manage_threads or perms.manage_guild


def is_admin(member: discord.Member) -> bool:
    """Manage Server (or Administrator) in the guild."""
    perms = member.guild_permissions
    return perms.administrator or perms.manage_guild


def is_helper(member: discord.Member, settings: GuildSettings) -> bool:
    """Holds one of the guild's configured helper roles."""
    return any(role.id in settings.helper_roles for role in member.roles)


def may_mark_solution(
    member: discord.Member, thread: discord.Thread, settings: GuildSettings
) -> bool:
    """The asker, a configured helper, or anyone who can manage threads."""
    return member.id == thread.owner_id or is_helper(member, settings) or is_moderator(member)


def may_dismiss(member: discord.Member, thread: discord.Thread) -> bool:
    """The asker or a moderator may delete Senpai's suggestion in a post."""
    return member.id == thread.owner_id or is_moderator(member)


def forum_scope(forum: discord.ForumChannel) -> str:
    """An entry from a forum @everyone can read is public; else it stays in its forum."""
    if forum.permissions_for(forum.guild.default_role).view_channel:
        return PUBLIC_SCOPE
    return private_scope(forum.id)


def scopes_for_forum(forum: discord.ForumChannel) -> frozenset[str]:
    """What a reply posted in ``forum`` may show: public entries, and its own if private."""
    return frozenset({PUBLIC_SCOPE, forum_scope(forum)})


def scopes_for_member(member: discord.Member) -> frozenset[str]:
    """What a member may be shown privately: public entries and every private forum
    they can read themselves."""
    scopes = {PUBLIC_SCOPE}
    for channel in member.guild.channels:
        if (
            isinstance(channel, discord.ForumChannel)
            and channel.permissions_for(member).view_channel
        ):
            scopes.add(forum_scope(channel))
    return frozenset(scopes)
