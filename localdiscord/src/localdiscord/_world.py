"""The simulated world: state, Discord-shaped payloads, and state-changing operations.

Operations emit gateway events through ``World.emit`` (wired to the gateway hub by
the server). Both the REST API (the bot acting) and the scenario API (members
acting) go through the same operations, so the events are the same either way.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from localdiscord import permissions as perm
from localdiscord._snowflake import SnowflakeFactory
from localdiscord.models import (
    ApplicationCommand,
    Attachment,
    BotUser,
    Channel,
    ChannelFlag,
    ChannelType,
    DMChannel,
    Guild,
    Member,
    Message,
    MessageFlag,
    MessageType,
    Role,
    Thread,
    User,
    utcnow,
)

EmitFn = Callable[[str, dict[str, Any], "int | None", "Channel | None"], None]

APPLICATION_FLAGS = (1 << 13) | (1 << 15) | (1 << 19)
"""GATEWAY_GUILD_MEMBERS_LIMITED, GATEWAY_MESSAGE_CONTENT_LIMITED, APPLICATION_COMMAND_BADGE."""

DM_PERMISSIONS = int(
    perm.Permissions.VIEW_CHANNEL
    | perm.Permissions.SEND_MESSAGES
    | perm.Permissions.EMBED_LINKS
    | perm.Permissions.ATTACH_FILES
    | perm.Permissions.READ_MESSAGE_HISTORY
    | perm.Permissions.ADD_REACTIONS
    | perm.Permissions.USE_EXTERNAL_EMOJIS
)
"""What the bot and the recipient may do in their direct-message channel."""

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_EVERYONE = re.compile(r"@(everyone|here)\b")


def iso(value: dt.datetime | None) -> str | None:
    """Discord's timestamp format (ISO 8601 with offset)."""
    return None if value is None else value.astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class Mentions:
    """Mentions found in a message's content, and the pings they cause."""

    users: list[int]
    roles: list[int]
    pinged_users: list[int]
    pinged_roles: list[int]
    pings_everyone: bool


def emoji_payload(key: str) -> dict[str, Any]:
    """``{"id", "name"}`` for a unicode emoji or a ``name:id`` custom emoji key."""
    name, _, emoji_id = key.partition(":")
    if emoji_id.isdigit():
        return {"id": emoji_id, "name": name, "animated": False}
    return {"id": None, "name": key}


def _noop_emit(
    event: str, data: dict[str, Any], guild_id: int | None, channel: Channel | None
) -> None:
    del event, data, guild_id, channel


class World:
    """All state, with lookups, payload builders and operations."""

    def __init__(self, bot: BotUser, ids: SnowflakeFactory) -> None:
        self.bot = bot
        self.ids = ids
        self.emit: EmitFn = _noop_emit
        self.attachment_base = ""
        self.users: dict[int, User] = {bot.id: bot}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.uploads: dict[int, Attachment] = {}
        """Files attached to slash commands' ATTACHMENT options, by id."""
        self.channel_messages: dict[int, list[Message]] = {}
        self.commands: dict[int | None, list[ApplicationCommand]] = {}

    # ------------------------------------------------------------------ lookups

    def guild_of(self, channel: Channel) -> Guild:
        """The guild a channel belongs to."""
        return self.guilds[channel.guild_id]

    def member(self, guild: Guild, user_id: int) -> Member | None:
        """The member with ``user_id`` in ``guild``, if any."""
        return guild.members.get(user_id)

    def permissions(self, user_id: int, channel: Channel) -> int:
        """Permissions of a user in a channel (0 when not a member)."""
        if isinstance(channel, DMChannel):
            return DM_PERMISSIONS if user_id in (self.bot.id, channel.recipient_id) else 0
        guild = self.guild_of(channel)
        member = guild.members.get(user_id)
        if member is None:
            return 0
        return perm.channel_permissions(guild, member, channel)

    def guild_permissions(self, guild: Guild, user_id: int) -> int:
        """Guild-level permissions of a user (0 when not a member)."""
        member = guild.members.get(user_id)
        return 0 if member is None else perm.base_permissions(guild, member)

    def can_view(self, user_id: int, channel: Channel) -> bool:
        """Whether the user can see the channel (VIEW_CHANNEL)."""
        return bool(self.permissions(user_id, channel) & perm.Permissions.VIEW_CHANNEL)

    def visible_messages(self, channel_id: int) -> list[Message]:
        """Non-deleted, non-ephemeral messages of a channel, oldest first."""
        return [
            m
            for m in self.channel_messages.get(channel_id, [])
            if not m.deleted and not m.ephemeral
        ]

    def parent_of(self, thread: Thread) -> Channel:
        """The channel a thread lives in."""
        assert thread.parent_id is not None
        return self.channels[thread.parent_id]

    # ------------------------------------------------------------------ payloads

    def user_payload(self, user: User) -> dict[str, Any]:
        """A user object."""
        data: dict[str, Any] = {
            "id": str(user.id),
            "username": user.username,
            "discriminator": "0",
            "global_name": user.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if user.bot:
            data["bot"] = True
        return data

    def role_payload(self, role: Role) -> dict[str, Any]:
        """A role object."""
        data: dict[str, Any] = {
            "id": str(role.id),
            "name": role.name,
            "permissions": str(role.permissions),
            "position": role.position,
            "color": role.color,
            "colors": {
                "primary_color": role.color,
                "secondary_color": None,
                "tertiary_color": None,
            },
            "hoist": role.hoist,
            "managed": role.managed,
            "mentionable": role.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }
        if role.bot_id is not None:
            data["tags"] = {"bot_id": str(role.bot_id)}
        return data

    def member_payload(
        self,
        member: Member,
        *,
        with_user: bool = True,
        permissions: int | None = None,
    ) -> dict[str, Any]:
        """A guild member object (optionally with computed ``permissions``)."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in member.role_ids],
            "nick": member.nick,
            "avatar": None,
            "banner": None,
            "joined_at": iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user_payload(member.user)
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def overwrites_payload(self, channel: Channel) -> list[dict[str, Any]]:
        """A channel's ``permission_overwrites``."""
        return [
            {"id": str(o.id), "type": o.type, "allow": str(o.allow), "deny": str(o.deny)}
            for o in channel.overwrites
        ]

    def channel_payload(self, channel: Channel) -> dict[str, Any]:
        """A channel object (thread- and DM-aware)."""
        if isinstance(channel, Thread):
            return self.thread_payload(channel)
        if isinstance(channel, DMChannel):
            return {
                "id": str(channel.id),
                "type": int(ChannelType.DM),
                "last_message_id": None
                if channel.last_message_id is None
                else str(channel.last_message_id),
                "recipients": [self.user_payload(self.users[channel.recipient_id])],
                "flags": 0,
            }
        data: dict[str, Any] = {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(channel.guild_id),
            "name": channel.name,
            "position": channel.position,
            "permission_overwrites": self.overwrites_payload(channel),
            "parent_id": None if channel.parent_id is None else str(channel.parent_id),
            "topic": channel.topic,
            "nsfw": channel.nsfw,
            "rate_limit_per_user": channel.rate_limit_per_user,
            "last_message_id": None
            if channel.last_message_id is None
            else str(channel.last_message_id),
            "flags": channel.flags,
            "default_auto_archive_duration": channel.default_auto_archive_duration,
        }
        if channel.is_forum:
            data["available_tags"] = [
                {
                    "id": str(tag.id),
                    "name": tag.name,
                    "moderated": tag.moderated,
                    "emoji_id": None if tag.emoji_id is None else str(tag.emoji_id),
                    "emoji_name": tag.emoji_name,
                }
                for tag in channel.available_tags
            ]
            data["default_reaction_emoji"] = None
            data["default_sort_order"] = None
            data["default_forum_layout"] = 0
            data["default_thread_rate_limit_per_user"] = channel.default_thread_rate_limit_per_user
            data["template"] = ""
        return data

    def thread_payload(self, thread: Thread, *, newly_created: bool = False) -> dict[str, Any]:
        """A thread channel object."""
        metadata: dict[str, Any] = {
            "archived": thread.archived,
            "auto_archive_duration": thread.auto_archive_duration,
            "archive_timestamp": iso(thread.archive_timestamp),
            "locked": thread.locked,
            "create_timestamp": iso(thread.create_timestamp),
        }
        if thread.type == ChannelType.PRIVATE_THREAD:
            metadata["invitable"] = thread.invitable
        data: dict[str, Any] = {
            "id": str(thread.id),
            "type": thread.type,
            "guild_id": str(thread.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "last_message_id": None
            if thread.last_message_id is None
            else str(thread.last_message_id),
            "rate_limit_per_user": thread.rate_limit_per_user,
            "flags": thread.flags,
            "applied_tags": [str(t) for t in thread.applied_tags],
            "message_count": thread.message_count,
            "total_message_sent": thread.total_message_sent,
            "member_count": min(len(thread.member_ids), 50),
            "thread_metadata": metadata,
        }
        if newly_created:
            data["newly_created"] = True
        return data

    def thread_member_payload(self, thread: Thread, user_id: int) -> dict[str, Any]:
        """A thread member object."""
        return {
            "id": str(thread.id),
            "user_id": str(user_id),
            "join_timestamp": iso(thread.create_timestamp),
            "flags": 0,
        }

    def attachment_payload(self, attachment: Attachment) -> dict[str, Any]:
        """An attachment object."""
        return {
            "id": str(attachment.id),
            "filename": attachment.filename,
            "size": len(attachment.data),
            "url": attachment.url,
            "proxy_url": attachment.url,
            "content_type": attachment.content_type,
            "description": attachment.description,
        }

    def message_payload(
        self,
        message: Message,
        *,
        with_member: bool = True,
        with_reference: bool = True,
    ) -> dict[str, Any]:
        """A message object as Discord sends it (MESSAGE_CREATE shape when ``with_member``)."""
        data: dict[str, Any] = {
            "id": str(message.id),
            "channel_id": str(message.channel_id),
            "author": self.user_payload(message.author),
            "content": message.content,
            "timestamp": iso(message.timestamp),
            "edited_timestamp": iso(message.edited_timestamp),
            "tts": message.tts,
            "mention_everyone": message.mention_everyone,
            "mentions": [],
            "mention_roles": [str(r) for r in message.mention_role_ids],
            "attachments": [self.attachment_payload(a) for a in message.attachments],
            "embeds": [dict(e) for e in message.embeds],
            "reactions": self._reactions_payload(message),
            "pinned": message.pinned,
            "type": int(message.type),
            "flags": message.flags,
            "components": [dict(c) for c in message.components],
        }
        guild = self.guilds.get(message.guild_id) if message.guild_id is not None else None
        if guild is not None:
            data["guild_id"] = str(guild.id)
            author_member = guild.members.get(message.author.id)
            if with_member and author_member is not None and message.webhook_id is None:
                data["member"] = self.member_payload(author_member, with_user=False)
        for user_id in message.mention_ids:
            user = self.users.get(user_id)
            if user is None:
                continue
            mentioned = self.user_payload(user)
            if guild is not None and user_id in guild.members:
                mentioned["member"] = self.member_payload(guild.members[user_id], with_user=False)
            data["mentions"].append(mentioned)
        if message.nonce is not None:
            data["nonce"] = message.nonce
        if message.webhook_id is not None:
            data["webhook_id"] = str(message.webhook_id)
        if message.application_id is not None:
            data["application_id"] = str(message.application_id)
        if message.interaction_metadata is not None:
            data["interaction_metadata"] = dict(message.interaction_metadata)
        channel = self.channels.get(message.channel_id)
        if isinstance(channel, Thread):
            data["position"] = self._position(message)
        if message.reference is not None:
            data["message_reference"] = dict(message.reference)
            if with_reference:
                ref_id = message.reply_to_id
                referenced = self.messages.get(ref_id) if ref_id is not None else None
                if referenced is not None and not referenced.deleted:
                    data["referenced_message"] = self.message_payload(
                        referenced, with_member=False, with_reference=False
                    )
                else:
                    data["referenced_message"] = None
        return data

    def _position(self, message: Message) -> int:
        messages = self.channel_messages.get(message.channel_id, [])
        for index, candidate in enumerate(messages):
            if candidate is message:
                return index
        return 0

    def _reactions_payload(self, message: Message) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for key, users in message.reactions.items():
            if not users:
                continue
            out.append(
                {
                    "count": len(users),
                    "count_details": {"burst": 0, "normal": len(users)},
                    "me": self.bot.id in users,
                    "me_burst": False,
                    "burst_colors": [],
                    "emoji": emoji_payload(key),
                }
            )
        return out

    def guild_create_payload(self, guild: Guild, *, all_members: bool = True) -> dict[str, Any]:
        """The full GUILD_CREATE payload for the bot.

        Without the GUILD_PRESENCES intent Discord lists only the bot itself in
        ``members`` (``all_members=False``); ``member_count`` is always the total.
        """
        members = [m for m in guild.members.values() if all_members or m.id == self.bot.id]
        threads = [
            self.thread_payload(t)
            for t in guild.threads.values()
            if not t.deleted and not t.archived and self.can_view(self.bot.id, t)
        ]
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": guild.description,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 1,
            "default_message_notifications": 1,
            "explicit_content_filter": 2,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "preferred_locale": guild.locale,
            "features": list(guild.features),
            "max_members": 500000,
            "max_video_channel_users": 25,
            "application_id": None,
            "roles": [self.role_payload(r) for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "joined_at": iso(guild.members[self.bot.id].joined_at),
            "large": len(guild.members) >= 250,
            "unavailable": False,
            "member_count": len(guild.members),
            "voice_states": [],
            "members": [self.member_payload(m) for m in members],
            "channels": [self.channel_payload(c) for c in guild.channels.values() if not c.deleted],
            "threads": threads,
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "lazy": True,
        }

    def application_payload(self) -> dict[str, Any]:
        """The application object (GET /oauth2/applications/@me)."""
        owner = next(
            (u for u in self.users.values() if not u.bot),
            User(id=self.bot.id + 1, username="owner"),
        )
        return {
            "id": str(self.bot.application_id),
            "name": self.bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": APPLICATION_FLAGS,
            "owner": self.user_payload(owner),
            "team": None,
            "bot": self.user_payload(self.bot),
            "redirect_uris": [],
            "interactions_endpoint_url": None,
            "tags": [],
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    # --------------------------------------------------------------- mentions

    def resolve_mentions(
        self,
        content: str,
        allowed: dict[str, Any] | None,
        reply_author_id: int | None,
    ) -> Mentions:
        """Who the content mentions, and who actually gets pinged.

        Without ``allowed_mentions`` Discord parses everything and pings the replied
        user. Role mentionability is not modelled: an allowed role mention pings.
        """
        users = [int(x) for x in _USER_MENTION.findall(content)]
        roles = [int(x) for x in _ROLE_MENTION.findall(content)]
        everyone = bool(_EVERYONE.search(content))
        if allowed is None:
            parse = {"users", "roles", "everyone"}
            users_allowed: set[int] = set()
            roles_allowed: set[int] = set()
            replied = True
        else:
            parse = set(allowed.get("parse") or [])
            users_allowed = {int(x) for x in allowed.get("users") or []}
            roles_allowed = {int(x) for x in allowed.get("roles") or []}
            replied = bool(allowed.get("replied_user"))
        pinged_users = [u for u in users if "users" in parse or u in users_allowed]
        pinged_roles = [r for r in roles if "roles" in parse or r in roles_allowed]
        if reply_author_id is not None and replied:
            if reply_author_id not in users:
                users.append(reply_author_id)
            if reply_author_id not in pinged_users:
                pinged_users.append(reply_author_id)
        return Mentions(
            users=list(dict.fromkeys(users)),
            roles=list(dict.fromkeys(roles)),
            pinged_users=list(dict.fromkeys(pinged_users)),
            pinged_roles=list(dict.fromkeys(pinged_roles)),
            pings_everyone=everyone and "everyone" in parse,
        )

    def _apply_mentions(self, message: Message) -> None:
        reply_author: int | None = None
        ref_id = message.reply_to_id
        if ref_id is not None and ref_id in self.messages:
            reply_author = self.messages[ref_id].author.id
        found = self.resolve_mentions(message.content, message.allowed_mentions, reply_author)
        message.mention_ids = found.users
        message.mention_role_ids = found.roles
        message.mention_everyone = found.pings_everyone
        message.pinged_user_ids = found.pinged_users
        message.pinged_role_ids = found.pinged_roles

    # --------------------------------------------------------------- operations

    def add_message(
        self,
        channel: Channel,
        author: User,
        *,
        content: str = "",
        embeds: Iterable[dict[str, Any]] = (),
        components: Iterable[dict[str, Any]] = (),
        attachments: Iterable[Attachment] = (),
        reference: dict[str, Any] | None = None,
        flags: int = 0,
        type_: int | None = None,
        webhook_id: int | None = None,
        application_id: int | None = None,
        interaction_metadata: dict[str, Any] | None = None,
        interaction_id: int | None = None,
        allowed_mentions: dict[str, Any] | None = None,
        tts: bool = False,
        nonce: str | int | None = None,
        at: dt.datetime | None = None,
        message_id: int | None = None,
        emit: bool = True,
    ) -> Message:
        """Store a new message in ``channel`` and (unless ephemeral) dispatch MESSAGE_CREATE."""
        if type_ is None:
            type_ = MessageType.REPLY if reference is not None else MessageType.DEFAULT
        message = Message(
            id=message_id if message_id is not None else self.ids.next(at),
            channel_id=channel.id,
            guild_id=None if channel.is_dm else channel.guild_id,
            author=author,
            content=content,
            embeds=[_with_rich_type(e) for e in embeds],
            components=_number_components(list(components)),
            attachments=list(attachments),
            type=type_,
            flags=flags,
            timestamp=at or utcnow(),
            reference=reference,
            webhook_id=webhook_id,
            application_id=application_id,
            interaction_metadata=interaction_metadata,
            interaction_id=interaction_id,
            tts=tts,
            nonce=nonce,
            allowed_mentions=allowed_mentions,
        )
        self._apply_mentions(message)
        self.messages[message.id] = message
        self.channel_messages.setdefault(channel.id, []).append(message)
        if message.ephemeral:
            return message
        channel.last_message_id = message.id
        if isinstance(channel, Thread):
            if message.id != channel.id:
                channel.message_count += 1
            channel.total_message_sent += 1
            channel.member_ids.add(author.id)
        if emit:
            self.emit("MESSAGE_CREATE", self.message_payload(message), message.guild_id, channel)
        return message

    def dm_channel(self, user: User) -> DMChannel:
        """The bot's direct-message channel with ``user``, opened on first use."""
        for channel in self.channels.values():
            if isinstance(channel, DMChannel) and channel.recipient_id == user.id:
                return channel
        channel = DMChannel(
            id=self.ids.next(), guild_id=0, type=ChannelType.DM, name="", recipient_id=user.id
        )
        self.channels[channel.id] = channel
        return channel

    def shares_guild_with_bot(self, user_id: int) -> bool:
        """Whether ``user_id`` is a member of a guild the bot is in (Discord's DM rule)."""
        return any(
            user_id in guild.members and self.bot.id in guild.members
            for guild in self.guilds.values()
        )

    def edit_message(self, message: Message, changes: dict[str, Any]) -> Message:
        """Apply an edit and dispatch MESSAGE_UPDATE (full message, as Discord does)."""
        if "allowed_mentions" in changes:
            message.allowed_mentions = changes["allowed_mentions"]
        if "content" in changes:
            message.content = changes["content"] or ""
            self._apply_mentions(message)
        if "embeds" in changes:
            message.embeds = [_with_rich_type(e) for e in changes["embeds"] or []]
        if "components" in changes:
            message.components = _number_components(list(changes["components"] or []))
        if "flags" in changes and changes["flags"] is not None:
            keep = message.flags & (MessageFlag.EPHEMERAL | MessageFlag.IS_COMPONENTS_V2)
            message.flags = (int(changes["flags"]) & ~MessageFlag.LOADING) | keep
        if "attachments" in changes and changes["attachments"] is not None:
            message.attachments = list(changes["attachments"])
        message.flags &= ~MessageFlag.LOADING
        message.edited_timestamp = utcnow()
        channel = self.channels.get(message.channel_id)
        if not message.ephemeral and channel is not None:
            self.emit("MESSAGE_UPDATE", self.message_payload(message), message.guild_id, channel)
        return message

    def delete_message(self, message: Message) -> None:
        """Delete a message and dispatch MESSAGE_DELETE."""
        if message.deleted:
            return
        message.deleted = True
        channel = self.channels.get(message.channel_id)
        if isinstance(channel, Thread) and message.id != channel.id and not message.ephemeral:
            channel.message_count = max(0, channel.message_count - 1)
        if message.ephemeral or channel is None:
            return
        data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self.emit("MESSAGE_DELETE", data, message.guild_id, channel)

    def create_thread(
        self,
        parent: Channel,
        owner: User,
        name: str,
        *,
        applied_tags: Iterable[int] = (),
        auto_archive_duration: int | None = None,
        at: dt.datetime | None = None,
        thread_id: int | None = None,
        emit: bool = True,
    ) -> Thread:
        """Create a public thread (a forum post when ``parent`` is a forum)."""
        guild = self.guild_of(parent)
        created = at or utcnow()
        thread = Thread(
            id=thread_id if thread_id is not None else self.ids.next(created),
            guild_id=guild.id,
            type=ChannelType.PUBLIC_THREAD,
            name=name,
            parent_id=parent.id,
            owner_id=owner.id,
            applied_tags=list(applied_tags),
            auto_archive_duration=auto_archive_duration or parent.default_auto_archive_duration,
            archive_timestamp=created,
            create_timestamp=created,
            rate_limit_per_user=parent.default_thread_rate_limit_per_user,
            member_ids={owner.id},
        )
        guild.threads[thread.id] = thread
        self.channels[thread.id] = thread
        self.channel_messages[thread.id] = []
        parent.last_message_id = thread.id
        if emit:
            self.emit(
                "THREAD_CREATE", self.thread_payload(thread, newly_created=True), guild.id, thread
            )
        return thread

    def update_thread(self, thread: Thread, changes: dict[str, Any]) -> Thread:
        """Apply thread changes and dispatch THREAD_UPDATE."""
        if "name" in changes:
            thread.name = str(changes["name"])
        if "applied_tags" in changes:
            thread.applied_tags = [int(t) for t in changes["applied_tags"] or []]
        if "locked" in changes:
            thread.locked = bool(changes["locked"])
        if "auto_archive_duration" in changes:
            thread.auto_archive_duration = int(changes["auto_archive_duration"])
            thread.archive_timestamp = utcnow()
        if "rate_limit_per_user" in changes:
            thread.rate_limit_per_user = int(changes["rate_limit_per_user"] or 0)
        if "flags" in changes:
            thread.flags = int(changes["flags"] or 0)
        if "archived" in changes and bool(changes["archived"]) != thread.archived:
            thread.archived = bool(changes["archived"])
            thread.archive_timestamp = utcnow()
            if thread.archived:
                thread.flags &= ~ChannelFlag.PINNED
        self.emit("THREAD_UPDATE", self.thread_payload(thread), thread.guild_id, thread)
        return thread

    def delete_channel(self, channel: Channel) -> None:
        """Delete a channel or thread and dispatch CHANNEL_DELETE / THREAD_DELETE."""
        channel.deleted = True
        guild = self.guild_of(channel)
        for message in self.channel_messages.get(channel.id, []):
            message.deleted = True
        if isinstance(channel, Thread):
            guild.threads.pop(channel.id, None)
            data = {
                "id": str(channel.id),
                "guild_id": str(guild.id),
                "parent_id": str(channel.parent_id),
                "type": channel.type,
            }
            self.emit("THREAD_DELETE", data, guild.id, channel)
        else:
            self.emit("CHANNEL_DELETE", self.channel_payload(channel), guild.id, channel)

    def add_reaction(self, message: Message, user: User, key: str) -> bool:
        """Add a reaction; dispatch MESSAGE_REACTION_ADD. False if it was already there."""
        users = message.reactions.setdefault(key, [])
        if user.id in users:
            return False
        users.append(user.id)
        channel = self.channels[message.channel_id]
        data: dict[str, Any] = {
            "user_id": str(user.id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": emoji_payload(key),
            "message_author_id": str(message.author.id),
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
            member = self.guilds[message.guild_id].members.get(user.id)
            if member is not None:
                data["member"] = self.member_payload(member)
        self.emit("MESSAGE_REACTION_ADD", data, message.guild_id, channel)
        return True

    def remove_reaction(self, message: Message, user_id: int, key: str) -> bool:
        """Remove a reaction; dispatch MESSAGE_REACTION_REMOVE. False if absent."""
        users = message.reactions.get(key, [])
        if user_id not in users:
            return False
        users.remove(user_id)
        if not users:
            message.reactions.pop(key, None)
        channel = self.channels[message.channel_id]
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": emoji_payload(key),
            "burst": False,
            "type": 0,
        }
        if message.guild_id is not None:
            data["guild_id"] = str(message.guild_id)
        self.emit("MESSAGE_REACTION_REMOVE", data, message.guild_id, channel)
        return True


def _with_rich_type(embed: dict[str, Any]) -> dict[str, Any]:
    out = dict(embed)
    out.setdefault("type", "rich")
    return out


def _number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copy components, giving each an ``id`` like Discord does (1, 2, 3... in order)."""
    counter = 0
    used: set[int] = set()

    def collect(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, dict):
                if isinstance(item.get("id"), int) and item["id"]:
                    used.add(item["id"])
                collect(item.get("components") or [])
                for key in ("accessory", "component"):
                    if isinstance(item.get(key), dict):
                        collect([item[key]])

    def number(items: list[Any]) -> list[Any]:
        nonlocal counter
        out: list[Any] = []
        for item in items:
            if not isinstance(item, dict):
                out.append(item)
                continue
            copy = dict(item)
            if not copy.get("id"):
                counter += 1
                while counter in used:
                    counter += 1
                copy["id"] = counter
            if isinstance(copy.get("components"), list):
                copy["components"] = number(copy["components"])
            for key in ("accessory", "component"):
                if isinstance(copy.get(key), dict):
                    copy[key] = number([copy[key]])[0]
            out.append(copy)
        return out

    collect(components)
    return number(components)
