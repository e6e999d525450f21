"""Who may do what, in one place (used by runtime checks and command defaults)."""

from __future__ import annotations

import discord

from knowledge.models import PUBLIC_SCOPE, GuildSettings, private_scope

ADMIN_PERMISSIONS = discord.Permissions(manage_guild=True)


def is_moderator(member: discord.Member) -> bool:
    """Manage Threads (or more) in the guild."""
    perms = member.guild_permissions
    return perms.administrator or perms.manage_threads or perms.manage_guild


def is_admin(member: discord.Member) -> bool:
    perms = member.guild_permissions
    return perms.administrator or perms.manage_guild


def is_helper(member: discord.Member, settings: GuildSettings) -> bool:
    return any(role.id in settings.helper_roles for role in member.roles)


def may_mark_solution(
    member: discord.Member, thread: discord.Thread, settings: GuildSettings
) -> bool:
    """The asker, a configured helper, or anyone who can manage threads."""
    return member.id == thread.owner_id or is_helper(member, settings) or is_moderator(member)


def may_dismiss(member: discord.Member, thread: discord.Thread) -> bool:
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
