"""The world LocalDiscord simulates: users, guilds, roles, channels, threads, messages.

These are plain mutable dataclasses owned by the server. Scenario code receives them
from the ``add_*`` and action methods and passes them back; reading their fields is
fine, mutating them directly bypasses the gateway events Discord would send.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

from localdiscord._snowflake import snowflake_time


def utcnow() -> dt.datetime:
    """Current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


class ChannelType(enum.IntEnum):
    """Channel types LocalDiscord knows."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15


class MessageType(enum.IntEnum):
    """Message types LocalDiscord produces."""

    DEFAULT = 0
    REPLY = 19
    CHAT_INPUT_COMMAND = 20
    CONTEXT_MENU_COMMAND = 23


class MessageFlag(enum.IntFlag):
    """Message flags LocalDiscord interprets."""

    SUPPRESS_EMBEDS = 1 << 2
    EPHEMERAL = 1 << 6
    LOADING = 1 << 7
    SUPPRESS_NOTIFICATIONS = 1 << 12
    IS_COMPONENTS_V2 = 1 << 15


class ChannelFlag(enum.IntFlag):
    """Channel flags LocalDiscord interprets."""

    PINNED = 1 << 1
    REQUIRE_TAG = 1 << 4


class InteractionType(enum.IntEnum):
    """What the member did (Discord's interaction types)."""

    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class InteractionCallbackType(enum.IntEnum):
    """How the bot answers an interaction (Discord's interaction callback types)."""

    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9
    PREMIUM_REQUIRED = 10
    LAUNCH_ACTIVITY = 12


@dataclass(eq=False)
class User:
    """A Discord user (human or bot)."""

    id: int
    username: str
    global_name: str | None = None
    bot: bool = False
    locale: str = "en-US"
    accepts_dms: bool = True
    """Whether the user lets servers' members (and bots) message them directly."""

    @property
    def mention(self) -> str:
        """The ``<@id>`` mention string."""
        return f"<@{self.id}>"

    @property
    def created_at(self) -> dt.datetime:
        """When the account was created (from the snowflake)."""
        return snowflake_time(self.id)


@dataclass(eq=False)
class BotUser(User):
    """The bot's own identity: its user, token and application id."""

    token: str = ""
    application_id: int = 0


@dataclass(eq=False)
class Role:
    """A guild role. The @everyone role has ``id == guild_id``."""

    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    color: int = 0
    hoist: bool = False
    mentionable: bool = False
    managed: bool = False
    bot_id: int | None = None

    @property
    def is_everyone(self) -> bool:
        """Whether this is the guild's @everyone role."""
        return self.id == self.guild_id

    @property
    def mention(self) -> str:
        """The ``<@&id>`` mention string."""
        return "@everyone" if self.is_everyone else f"<@&{self.id}>"


@dataclass(eq=False)
class Member:
    """A user's membership in a guild."""

    guild_id: int
    user: User
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: dt.datetime = field(default_factory=utcnow)

    @property
    def id(self) -> int:
        """The user id."""
        return self.user.id

    @property
    def display_name(self) -> str:
        """Nick, else global name, else username."""
        return self.nick or self.user.global_name or self.user.username

    @property
    def mention(self) -> str:
        """The ``<@id>`` mention string."""
        return self.user.mention


@dataclass(eq=False)
class Overwrite:
    """A permission overwrite: ``type`` 0 targets a role, 1 a member."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0


@dataclass(eq=False)
class ForumTag:
    """A tag a forum offers for its posts."""

    id: int
    name: str
    moderated: bool = False
    emoji_name: str | None = None
    emoji_id: int | None = None


@dataclass(eq=False)
class Channel:
    """A guild channel (text, forum, category). Threads use :class:`Thread`."""

    id: int
    guild_id: int
    type: int
    name: str
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    nsfw: bool = False
    rate_limit_per_user: int = 0
    last_message_id: int | None = None
    flags: int = 0
    available_tags: list[ForumTag] = field(default_factory=list)
    default_auto_archive_duration: int = 4320
    default_thread_rate_limit_per_user: int = 0
    deleted: bool = False

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return False

    @property
    def is_dm(self) -> bool:
        """Whether this is a direct-message channel between the bot and one user."""
        return self.type == ChannelType.DM

    @property
    def is_forum(self) -> bool:
        """Whether this is a forum channel (only threads may be created in it)."""
        return self.type == ChannelType.GUILD_FORUM

    @property
    def mention(self) -> str:
        """The ``<#id>`` mention string."""
        return f"<#{self.id}>"

    def tag(self, name: str) -> ForumTag:
        """The forum tag called ``name`` (KeyError if the forum has none)."""
        for tag in self.available_tags:
            if tag.name == name:
                return tag
        raise KeyError(f"forum {self.name!r} has no tag {name!r}")


@dataclass(eq=False)
class DMChannel(Channel):
    """The direct-message channel between the bot and ``recipient_id`` (no guild: id 0)."""

    recipient_id: int = 0


@dataclass(eq=False)
class Thread(Channel):
    """A thread; in a forum, a post (its starter message has the thread's id)."""

    owner_id: int = 0
    applied_tags: list[int] = field(default_factory=list)
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 4320
    archive_timestamp: dt.datetime = field(default_factory=utcnow)
    create_timestamp: dt.datetime = field(default_factory=utcnow)
    message_count: int = 0
    total_message_sent: int = 0
    member_ids: set[int] = field(default_factory=set)

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return True


@dataclass(eq=False)
class Attachment:
    """A file attached to a message."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None
    url: str = ""


@dataclass(eq=False)
class Message:
    """A message as the server stores it."""

    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    type: int = MessageType.DEFAULT
    flags: int = 0
    timestamp: dt.datetime = field(default_factory=utcnow)
    edited_timestamp: dt.datetime | None = None
    reference: dict[str, Any] | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    interaction_id: int | None = None
    pinned: bool = False
    tts: bool = False
    nonce: str | int | None = None
    reactions: dict[str, list[int]] = field(default_factory=dict)
    mention_ids: list[int] = field(default_factory=list)
    mention_role_ids: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    pinged_user_ids: list[int] = field(default_factory=list)
    pinged_role_ids: list[int] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Whether only the invoking user can see this message."""
        return bool(self.flags & MessageFlag.EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Whether this is a deferred ("thinking") interaction response not yet edited."""
        return bool(self.flags & MessageFlag.LOADING)

    @property
    def reply_to_id(self) -> int | None:
        """The id of the message this one replies to, if any."""
        if self.reference is None:
            return None
        value = self.reference.get("message_id")
        return int(value) if value is not None else None

    def custom_ids(self) -> list[str]:
        """Every component ``custom_id`` on the message, in order."""
        found: list[str] = []

        def walk(items: list[dict[str, Any]]) -> None:
            for item in items:
                if "custom_id" in item:
                    found.append(str(item["custom_id"]))
                walk(item.get("components", []))
                for key in ("accessory", "component"):
                    child = item.get(key)
                    if isinstance(child, dict):
                        walk([child])

        walk(self.components)
        return found


@dataclass(eq=False)
class Guild:
    """A guild with its roles, members, channels and threads."""

    id: int
    name: str
    owner_id: int
    locale: str = "en-US"
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    threads: dict[int, Thread] = field(default_factory=dict)
    features: list[str] = field(default_factory=lambda: ["COMMUNITY", "NEWS"])
    description: str | None = None

    @property
    def everyone(self) -> Role:
        """The @everyone role."""
        return self.roles[self.id]

    def role(self, name: str) -> Role:
        """The role called ``name``."""
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(f"guild {self.name!r} has no role {name!r}")

    def channel(self, name: str) -> Channel:
        """The (non-thread) channel called ``name``."""
        for channel in self.channels.values():
            if channel.name == name and not channel.deleted:
                return channel
        raise KeyError(f"guild {self.name!r} has no channel {name!r}")


@dataclass(eq=False)
class ApplicationCommand:
    """An application command the bot registered (global or for one guild)."""

    id: int
    application_id: int
    guild_id: int | None
    name: str
    type: int
    payload: dict[str, Any]
    version: int

    @property
    def description(self) -> str:
        """The command's description (empty for context menus)."""
        return str(self.payload.get("description", ""))

    @property
    def options(self) -> list[dict[str, Any]]:
        """The command's options as registered."""
        return list(self.payload.get("options") or [])

    @property
    def default_member_permissions(self) -> int | None:
        """Permissions a member needs to see the command, if restricted."""
        value = self.payload.get("default_member_permissions")
        return None if value is None else int(value)
