"""REST: messages in a channel or thread: history, create, edit, delete, pins."""

from __future__ import annotations

from typing import Any

from localdiscord import errors
from localdiscord._rest.base import NO_CONTENT, Call, Endpoint, Reply, Resource, ok
from localdiscord._world import iso
from localdiscord.errors import ApiError, invalid_form_body
from localdiscord.models import Channel, ChannelType, DMChannel, MessageFlag, Thread
from localdiscord.permissions import Permissions, has
from localdiscord.validation import check_message


class MessagesResource(Resource):
    """``/channels/{channel_id}/messages`` and the pins."""

    def endpoints(self) -> list[Endpoint]:
        """The message and pin routes."""
        pins = "/channels/{channel_id}/messages/pins"
        old_pins = "/channels/{channel_id}/pins"
        messages = "/channels/{channel_id}/messages"
        return [
            Endpoint("GET", pins, self.get_pins),
            Endpoint("PUT", pins + "/{message_id}", self.pin),
            Endpoint("DELETE", pins + "/{message_id}", self.unpin),
            Endpoint("PUT", old_pins + "/{message_id}", self.pin),
            Endpoint("DELETE", old_pins + "/{message_id}", self.unpin),
            Endpoint("GET", messages, self.get_messages),
            Endpoint("POST", messages, self.create_message),
            Endpoint("GET", messages + "/{message_id}", self.get_message),
            Endpoint("PATCH", messages + "/{message_id}", self.edit_message),
            Endpoint("DELETE", messages + "/{message_id}", self.delete_message),
        ]

    async def get_messages(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/messages (limit, before, after, around)."""
        channel = self._channel(call)
        if not has(self._perms(channel), Permissions.READ_MESSAGE_HISTORY):
            return ok([])
        limit = int(call.query.get("limit", "50"))
        if not 1 <= limit <= 100:
            raise invalid_form_body([("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")])
        messages = sorted(self.world.visible_messages(channel.id), key=lambda m: m.id)
        if "around" in call.query:
            around = int(call.query["around"])
            older = [m for m in messages if m.id < around][-(limit // 2) :] if limit > 1 else []
            newer = [m for m in messages if m.id >= around][: limit - len(older)]
            page = older + newer
        elif "after" in call.query:
            after = int(call.query["after"])
            page = [m for m in messages if m.id > after][:limit]
        elif "before" in call.query:
            before = int(call.query["before"])
            page = [m for m in messages if m.id < before][-limit:]
        else:
            page = messages[-limit:]
        page.sort(key=lambda m: m.id, reverse=True)
        return ok(
            [self.server.readable(self.world.message_payload(m, with_member=False)) for m in page]
        )

    async def get_message(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/messages/{message_id}."""
        channel = self._channel(
            call, need=Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY
        )
        message = self._message(channel, call.params["message_id"])
        return ok(self.server.readable(self.world.message_payload(message, with_member=False)))

    async def create_message(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/messages."""
        channel = self._channel(call)
        if channel.is_forum or channel.type == ChannelType.GUILD_CATEGORY:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        self._require(
            channel,
            Permissions.SEND_MESSAGES_IN_THREADS
            if channel.is_thread
            else Permissions.SEND_MESSAGES,
        )
        if isinstance(channel, DMChannel):
            recipient = self.world.users[channel.recipient_id]
            if not recipient.accepts_dms or not self.world.shares_guild_with_bot(recipient.id):
                raise ApiError(403, errors.CANNOT_MESSAGE_USER, "Cannot send messages to this user")
        payload = call.json if isinstance(call.json, dict) else {}
        is_reply = bool(payload.get("message_reference"))
        self._reject(
            check_message(
                payload,
                creating=True,
                has_files=bool(call.files),
                is_reply=is_reply,
                require_safe_mentions=self.server.ping_safety,
            ),
            call,
        )
        reference = self._check_reference(call, channel, payload)
        self._unarchive_for_activity(channel)
        message = self.world.add_message(
            channel,
            self.world.bot,
            content=payload.get("content") or "",
            embeds=payload.get("embeds") or [],
            components=payload.get("components") or [],
            attachments=self._attachments(call, payload, channel.id),
            reference=reference,
            flags=int(payload.get("flags") or 0) & ~MessageFlag.EPHEMERAL,
            allowed_mentions=payload.get("allowed_mentions"),
            tts=bool(payload.get("tts")),
            nonce=payload.get("nonce"),
        )
        return ok(self.world.message_payload(message, with_member=False))

    async def edit_message(self, call: Call) -> Reply:
        """PATCH /channels/{channel_id}/messages/{message_id}."""
        channel = self._channel(call)
        message = self._message(channel, call.params["message_id"])
        payload = call.json if isinstance(call.json, dict) else {}
        # Others' messages: only flags (SUPPRESS_EMBEDS), and only with MANAGE_MESSAGES.
        others = message.author.id != self.world.bot.id
        if others and (
            set(payload) - {"flags"} or not has(self._perms(channel), Permissions.MANAGE_MESSAGES)
        ):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        if isinstance(channel, Thread) and channel.archived:
            raise ApiError(400, 50083, "Thread is archived")
        self._reject(
            check_message(
                payload,
                creating=False,
                has_files=bool(call.files),
                is_reply=message.reference is not None,
                require_safe_mentions=self.server.ping_safety,
            ),
            call,
        )
        self._apply_edit(message, call, payload)
        return ok(self.world.message_payload(message, with_member=False))

    async def delete_message(self, call: Call) -> Reply:
        """DELETE /channels/{channel_id}/messages/{message_id}."""
        channel = self._channel(call)
        message = self._message(channel, call.params["message_id"])
        if message.author.id != self.world.bot.id:
            self._require(channel, Permissions.MANAGE_MESSAGES)
        self.world.delete_message(message)
        return NO_CONTENT

    async def get_pins(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/messages/pins."""
        channel = self._channel(call)
        pinned = [m for m in self.world.visible_messages(channel.id) if m.pinned]
        pinned.sort(key=lambda m: m.id, reverse=True)
        items = [
            {
                "pinned_at": iso(m.edited_timestamp or m.timestamp),
                "message": self.world.message_payload(m, with_member=False),
            }
            for m in pinned
        ]
        return ok({"items": items, "has_more": False})

    async def pin(self, call: Call) -> Reply:
        """PUT /channels/{channel_id}/messages/pins/{message_id}."""
        return self._set_pinned(call, True)

    async def unpin(self, call: Call) -> Reply:
        """DELETE /channels/{channel_id}/messages/pins/{message_id}."""
        return self._set_pinned(call, False)

    def _set_pinned(self, call: Call, pinned: bool) -> Reply:
        channel = self._channel(call)
        perms = self._perms(channel)
        if not perms & (Permissions.MANAGE_MESSAGES | Permissions.PIN_MESSAGES):
            raise ApiError(403, errors.MISSING_PERMISSIONS, "Missing Permissions")
        message = self._message(channel, call.params["message_id"])
        if message.pinned != pinned:
            message.pinned = pinned
            self.world.emit(
                "CHANNEL_PINS_UPDATE",
                {
                    "guild_id": str(channel.guild_id),
                    "channel_id": str(channel.id),
                    "last_pin_timestamp": iso(message.timestamp),
                },
                channel.guild_id,
                channel,
            )
        return NO_CONTENT

    def _check_reference(
        self, call: Call, channel: Channel, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        ref = payload.get("message_reference")
        if not ref:
            return None
        target_id = ref.get("message_id")
        target = self.world.messages.get(int(target_id)) if target_id is not None else None
        same_channel = target is not None and (
            target.channel_id == channel.id
            or int(ref.get("channel_id") or channel.id) == target.channel_id
        )
        if target is None or target.deleted or not same_channel:
            if ref.get("fail_if_not_exists", True):
                raise invalid_form_body(
                    [("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")]
                )
            return None
        reference = {
            "type": 0,
            "message_id": str(target.id),
            "channel_id": str(target.channel_id),
        }
        if not channel.is_dm:
            reference["guild_id"] = str(channel.guild_id)
        return reference
