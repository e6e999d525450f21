"""Discord permission bits and the permission computation Discord performs.

The computation follows Discord's documented algorithm: base permissions from the
@everyone role and the member's roles (the owner and ADMINISTRATOR get everything),
then the channel's overwrites in order @everyone, roles, member. Threads use their
parent channel's overwrites.
"""

from __future__ import annotations

import enum
import functools
import operator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localdiscord.models import Channel, Guild, Member


class Permissions(enum.IntFlag):
    """Permission bits (a subset of Discord's, enough for text and forum guilds)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_AUDIT_LOG = 1 << 7
    PRIORITY_SPEAKER = 1 << 8
    STREAM = 1 << 9
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    SEND_TTS_MESSAGES = 1 << 12
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    VIEW_GUILD_INSIGHTS = 1 << 19
    CONNECT = 1 << 20
    SPEAK = 1 << 21
    MUTE_MEMBERS = 1 << 22
    DEAFEN_MEMBERS = 1 << 23
    MOVE_MEMBERS = 1 << 24
    USE_VAD = 1 << 25
    CHANGE_NICKNAME = 1 << 26
    MANAGE_NICKNAMES = 1 << 27
    MANAGE_ROLES = 1 << 28
    MANAGE_WEBHOOKS = 1 << 29
    MANAGE_GUILD_EXPRESSIONS = 1 << 30
    USE_APPLICATION_COMMANDS = 1 << 31
    REQUEST_TO_SPEAK = 1 << 32
    MANAGE_EVENTS = 1 << 33
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    USE_EXTERNAL_STICKERS = 1 << 37
    SEND_MESSAGES_IN_THREADS = 1 << 38
    USE_EMBEDDED_ACTIVITIES = 1 << 39
    MODERATE_MEMBERS = 1 << 40
    VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41
    USE_SOUNDBOARD = 1 << 42
    CREATE_GUILD_EXPRESSIONS = 1 << 43
    CREATE_EVENTS = 1 << 44
    USE_EXTERNAL_SOUNDS = 1 << 45
    SEND_VOICE_MESSAGES = 1 << 46
    SEND_POLLS = 1 << 49
    USE_EXTERNAL_APPS = 1 << 50
    PIN_MESSAGES = 1 << 51


ALL_PERMISSIONS = functools.reduce(operator.or_, (flag.value for flag in Permissions), 0)
"""Every bit above: what the guild owner and ADMINISTRATOR holders get."""

DEFAULT_EVERYONE_PERMISSIONS = int(
    Permissions.CREATE_INSTANT_INVITE
    | Permissions.ADD_REACTIONS
    | Permissions.VIEW_CHANNEL
    | Permissions.SEND_MESSAGES
    | Permissions.EMBED_LINKS
    | Permissions.ATTACH_FILES
    | Permissions.READ_MESSAGE_HISTORY
    | Permissions.USE_EXTERNAL_EMOJIS
    | Permissions.CONNECT
    | Permissions.SPEAK
    | Permissions.CHANGE_NICKNAME
    | Permissions.USE_APPLICATION_COMMANDS
    | Permissions.CREATE_PUBLIC_THREADS
    | Permissions.SEND_MESSAGES_IN_THREADS
)
"""What a fresh guild's @everyone role allows (roughly Discord's defaults)."""

DEFAULT_BOT_PERMISSIONS = int(
    Permissions.VIEW_CHANNEL
    | Permissions.SEND_MESSAGES
    | Permissions.SEND_MESSAGES_IN_THREADS
    | Permissions.EMBED_LINKS
    | Permissions.ATTACH_FILES
    | Permissions.READ_MESSAGE_HISTORY
    | Permissions.ADD_REACTIONS
    | Permissions.USE_APPLICATION_COMMANDS
    | Permissions.MANAGE_THREADS
)
"""What the bot's managed role allows unless the scenario says otherwise."""

_TEXT_DEPENDENT = int(
    Permissions.SEND_TTS_MESSAGES
    | Permissions.MENTION_EVERYONE
    | Permissions.EMBED_LINKS
    | Permissions.ATTACH_FILES
    | Permissions.SEND_POLLS
)


def base_permissions(guild: Guild, member: Member) -> int:
    """Guild-level permissions of ``member`` (roles only, no channel overwrites)."""
    if member.id == guild.owner_id:
        return ALL_PERMISSIONS
    perms = guild.roles[guild.id].permissions
    for role_id in member.role_ids:
        role = guild.roles.get(role_id)
        if role is not None:
            perms |= role.permissions
    if perms & Permissions.ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def channel_permissions(guild: Guild, member: Member, channel: Channel) -> int:
    """Permissions of ``member`` in ``channel`` (threads inherit their parent's)."""
    perms = base_permissions(guild, member)
    if perms & Permissions.ADMINISTRATOR:
        return ALL_PERMISSIONS
    source = channel
    if channel.is_thread and channel.parent_id is not None:
        parent = guild.channels.get(channel.parent_id)
        if parent is not None:
            source = parent
    overwrites = {ow.id: ow for ow in source.overwrites}
    everyone = overwrites.get(guild.id)
    if everyone is not None:
        perms &= ~everyone.deny
        perms |= everyone.allow
    allow = deny = 0
    for role_id in member.role_ids:
        ow = overwrites.get(role_id)
        if ow is not None and ow.type == 0:
            allow |= ow.allow
            deny |= ow.deny
    perms &= ~deny
    perms |= allow
    own = overwrites.get(member.id)
    if own is not None and own.type == 1:
        perms &= ~own.deny
        perms |= own.allow
    if not perms & Permissions.VIEW_CHANNEL:
        return 0
    if not perms & Permissions.SEND_MESSAGES and not channel.is_thread:
        perms &= ~_TEXT_DEPENDENT
    return perms


def has(perms: int, wanted: int) -> bool:
    """Whether ``perms`` includes every bit of ``wanted``."""
    return perms & wanted == wanted
