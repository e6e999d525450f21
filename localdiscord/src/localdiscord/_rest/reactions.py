"""REST: reactions on a message."""

from __future__ import annotations

from urllib.parse import unquote

from localdiscord._rest.base import NO_CONTENT, Call, Endpoint, Reply, Resource, ok
from localdiscord.errors import ApiError
from localdiscord.models import Channel, Message, Thread
from localdiscord.permissions import Permissions


class ReactionsResource(Resource):
    """``/channels/{channel_id}/messages/{message_id}/reactions/{emoji}``."""

    def endpoints(self) -> list[Endpoint]:
        """The reaction routes."""
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"
        return [
            Endpoint("PUT", reaction + "/@me", self.add_reaction),
            Endpoint("DELETE", reaction + "/@me", self.remove_own_reaction),
            Endpoint("DELETE", reaction + "/{user_id}", self.remove_user_reaction),
            Endpoint("GET", reaction, self.get_reactions),
        ]

    def _reaction_target(self, call: Call) -> tuple[Channel, Message, str]:
        channel = self._channel(
            call, need=Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY
        )
        message = self._message(channel, call.params["message_id"])
        emoji = unquote(call.params["emoji"])
        return channel, message, emoji

    async def add_reaction(self, call: Call) -> Reply:
        """PUT /channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me."""
        channel, message, emoji = self._reaction_target(call)
        if isinstance(channel, Thread) and channel.archived:
            raise ApiError(400, 50083, "Thread is archived")
        if emoji not in message.reactions:
            self._require(channel, Permissions.ADD_REACTIONS)
        self.world.add_reaction(message, self.world.bot, emoji)
        return NO_CONTENT

    async def remove_own_reaction(self, call: Call) -> Reply:
        """DELETE .../reactions/{emoji}/@me."""
        _, message, emoji = self._reaction_target(call)
        self.world.remove_reaction(message, self.world.bot.id, emoji)
        return NO_CONTENT

    async def remove_user_reaction(self, call: Call) -> Reply:
        """DELETE .../reactions/{emoji}/{user_id} (MANAGE_MESSAGES)."""
        channel, message, emoji = self._reaction_target(call)
        self._require(channel, Permissions.MANAGE_MESSAGES)
        self.world.remove_reaction(message, int(call.params["user_id"]), emoji)
        return NO_CONTENT

    async def get_reactions(self, call: Call) -> Reply:
        """GET .../reactions/{emoji}."""
        _, message, emoji = self._reaction_target(call)
        users = [
            self.world.users[u] for u in message.reactions.get(emoji, []) if u in self.world.users
        ]
        return ok([self.world.user_payload(u) for u in users])
