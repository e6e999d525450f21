"""REST: one channel or thread: read, edit (thread tags, archive, lock), delete, typing."""

from __future__ import annotations

from typing import Any

from localdiscord import errors
from localdiscord._rest.base import NO_CONTENT, Call, Endpoint, Reply, Resource, ok, tag_problems
from localdiscord.errors import ApiError, invalid_form_body
from localdiscord.models import ChannelFlag, Thread
from localdiscord.permissions import Permissions, has


class ChannelsResource(Resource):
    """``/channels/{channel_id}`` itself (threads are channels too)."""

    def endpoints(self) -> list[Endpoint]:
        """The channel routes."""
        return [
            Endpoint("GET", "/channels/{channel_id}", self.get_channel),
            Endpoint("PATCH", "/channels/{channel_id}", self.edit_channel),
            Endpoint("DELETE", "/channels/{channel_id}", self.delete_channel),
            Endpoint("POST", "/channels/{channel_id}/typing", self.typing),
        ]

    async def get_channel(self, call: Call) -> Reply:
        """GET /channels/{channel_id}."""
        channel = self._channel(call)
        data = self.world.channel_payload(channel)
        if isinstance(channel, Thread) and self.world.bot.id in channel.member_ids:
            data["member"] = self.world.thread_member_payload(channel, self.world.bot.id)
        return ok(data)

    async def edit_channel(self, call: Call) -> Reply:
        """PATCH /channels/{channel_id}: edit a thread (tags, archive, lock, name) or a channel."""
        channel = self._channel(call)
        body = call.json if isinstance(call.json, dict) else {}
        if isinstance(channel, Thread):
            return ok(self.world.thread_payload(self._edit_thread(call, channel, body)))
        self._require(channel, Permissions.MANAGE_CHANNELS)
        problems: list[tuple[str, str, str]] = []
        if "name" in body and not 1 <= len(str(body["name"])) <= 100:
            problems.append(
                ("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            )
        if "topic" in body and body["topic"] is not None and len(str(body["topic"])) > 4096:
            problems.append(("topic", "BASE_TYPE_MAX_LENGTH", "Must be 4096 or fewer in length."))
        if problems:
            raise invalid_form_body(problems)
        for key in (
            "name",
            "topic",
            "nsfw",
            "rate_limit_per_user",
            "position",
            "default_auto_archive_duration",
            "default_thread_rate_limit_per_user",
        ):
            if key in body:
                setattr(channel, key, body[key])
        if "flags" in body:
            channel.flags = int(body["flags"] or 0)
        if "available_tags" in body and channel.is_forum:
            channel.available_tags = self.server.tags_from_payload(
                channel, body["available_tags"] or []
            )
        if "permission_overwrites" in body:
            self._require(channel, Permissions.MANAGE_ROLES)
            channel.overwrites = self.server.overwrites_from_payload(
                body["permission_overwrites"] or []
            )
        payload = self.world.channel_payload(channel)
        self.world.emit("CHANNEL_UPDATE", payload, channel.guild_id, channel)
        return ok(payload)

    def _edit_thread(self, call: Call, thread: Thread, body: dict[str, Any]) -> Thread:
        """Discord's thread-edit rules (docs: topics/threads, Modify Channel for threads)."""
        keys = set(body)
        if thread.archived and body.get("archived") is not False:
            raise ApiError(400, 50083, "Thread is archived")
        moderator = has(self._perms(thread), Permissions.MANAGE_THREADS)
        if not moderator:
            owner = thread.owner_id == self.world.bot.id
            owner_editable = {"name", "applied_tags", "auto_archive_duration", "archived"}
            only_unarchive = keys == {"archived"} and body["archived"] is False
            if keys - owner_editable:
                allowed = False  # locked, rate_limit_per_user, flags: moderators only
            elif only_unarchive:
                allowed = owner or not thread.locked
            else:
                allowed = owner and not (thread.locked and keys - {"archived"})
            if not allowed:
                raise ApiError(403, errors.MISSING_PERMISSIONS, "Missing Permissions")
        changes: dict[str, Any] = {}
        problems: list[tuple[str, str, str]] = []
        if "name" in body:
            if not 1 <= len(str(body["name"])) <= 100:
                problems.append(
                    ("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
                )
            changes["name"] = body["name"]
        if "applied_tags" in body:
            parent = self.world.parent_of(thread)
            tags = [int(t) for t in body["applied_tags"] or []]
            known = {t.id: t for t in parent.available_tags}
            problems.extend(tag_problems(tags, known))
            touched = set(tags) ^ set(thread.applied_tags)
            if any(known[t].moderated for t in touched if t in known) and not moderator:
                raise ApiError(403, errors.MISSING_PERMISSIONS, "Missing Permissions")
            if parent.flags & ChannelFlag.REQUIRE_TAG and not tags:
                problems.append(
                    ("applied_tags", "REQUIRED_TAG_MISSING", "A tag is required in this forum.")
                )
            changes["applied_tags"] = tags
        if "auto_archive_duration" in body:
            if body["auto_archive_duration"] not in (60, 1440, 4320, 10080):
                problems.append(
                    (
                        "auto_archive_duration",
                        "BASE_TYPE_CHOICES",
                        "Value must be one of {60, 1440, 4320, 10080}.",
                    )
                )
            changes["auto_archive_duration"] = body["auto_archive_duration"]
        for key in ("archived", "locked", "rate_limit_per_user", "flags", "invitable"):
            if key in body:
                changes[key] = body[key]
        if problems:
            raise invalid_form_body(problems)
        return self.world.update_thread(thread, changes)

    async def delete_channel(self, call: Call) -> Reply:
        """DELETE /channels/{channel_id}: MANAGE_THREADS for threads, MANAGE_CHANNELS otherwise."""
        channel = self._channel(call)
        self._require(
            channel,
            Permissions.MANAGE_THREADS if channel.is_thread else Permissions.MANAGE_CHANNELS,
        )
        payload = self.world.channel_payload(channel)
        self.world.delete_channel(channel)
        return ok(payload)

    async def typing(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/typing."""
        self._channel(call)
        return NO_CONTENT
