"""LocalDiscord: a local stand-in for Discord's API v10 for end-to-end tests and demos.

The real, unpatched discord.py connects to it over loopback HTTP and WebSocket.
See ``README.md`` next to this file for the scenario API and what is validated.
"""

from localdiscord._gateway import GatewayClose, shard_for
from localdiscord._ratelimit import RateLimitInjection
from localdiscord.discordpy import discord_py_pointed_at, point_discord_py_at
from localdiscord.errors import ApiError, ScenarioError
from localdiscord.models import (
    ApplicationCommand,
    Attachment,
    BotUser,
    Channel,
    ChannelType,
    ForumTag,
    Guild,
    InteractionCallbackType,
    InteractionType,
    Member,
    Message,
    MessageFlag,
    Overwrite,
    Role,
    Thread,
    User,
)
from localdiscord.permissions import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    Permissions,
)
from localdiscord.records import (
    InteractionRecord,
    InteractionResponse,
    RecordedRequest,
    Violation,
)
from localdiscord.server import LocalDiscord, TagSpec

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "ApiError",
    "ApplicationCommand",
    "Attachment",
    "BotUser",
    "Channel",
    "ChannelType",
    "ForumTag",
    "GatewayClose",
    "Guild",
    "InteractionCallbackType",
    "InteractionRecord",
    "InteractionResponse",
    "InteractionType",
    "LocalDiscord",
    "Member",
    "Message",
    "MessageFlag",
    "Overwrite",
    "Permissions",
    "RateLimitInjection",
    "RecordedRequest",
    "Role",
    "ScenarioError",
    "TagSpec",
    "Thread",
    "User",
    "Violation",
    "discord_py_pointed_at",
    "point_discord_py_at",
    "shard_for",
]
