"""REST: starting threads and forum posts, thread membership, archived-thread lists."""

from __future__ import annotations

import datetime as dt

from localdiscord._rest.base import NO_CONTENT, Call, Endpoint, Reply, Resource, ok, tag_problems
from localdiscord.errors import ApiError, invalid_form_body
from localdiscord.models import ChannelFlag, ChannelType, Thread
from localdiscord.permissions import Permissions
from localdiscord.validation import Problem, check_message


class ThreadsResource(Resource):
    """Threads under a channel: forum posts, members, archives."""

    def endpoints(self) -> list[Endpoint]:
        """The thread routes."""
        channel = "/channels/{channel_id}"
        return [
            Endpoint("POST", channel + "/threads", self.start_thread),
            Endpoint(
                "POST",
                channel + "/messages/{message_id}/threads",
                self.start_thread_from_message,
            ),
            Endpoint("PUT", channel + "/thread-members/@me", self.join_thread),
            Endpoint("DELETE", channel + "/thread-members/@me", self.leave_thread),
            Endpoint("GET", channel + "/thread-members", self.get_thread_members),
            Endpoint("GET", channel + "/threads/archived/public", self.archived_public),
            Endpoint("GET", channel + "/threads/archived/private", self.archived_private),
            Endpoint(
                "GET",
                channel + "/users/@me/threads/archived/private",
                self.archived_joined_private,
            ),
        ]

    async def start_thread(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/threads: a forum post (with message) or a thread."""
        channel = self._channel(call)
        body = call.json if isinstance(call.json, dict) else {}
        name = str(body.get("name") or "")
        problems: list[tuple[str, str, str]] = []
        if not 1 <= len(name) <= 100:
            problems.append(
                ("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
            )
        if not channel.is_forum:
            self._require(channel, Permissions.CREATE_PUBLIC_THREADS)
            if problems:
                raise invalid_form_body(problems)
            thread = self.world.create_thread(
                channel,
                self.world.bot,
                name,
                auto_archive_duration=body.get("auto_archive_duration"),
            )
            return ok(self.world.thread_payload(thread), 201)
        self._require(channel, Permissions.SEND_MESSAGES)
        message_body = body.get("message")
        if not isinstance(message_body, dict):
            problems.append(("message", "BASE_TYPE_REQUIRED", "This field is required"))
            message_body = {}
        tags = [int(t) for t in body.get("applied_tags") or []]
        known = {t.id: t for t in channel.available_tags}
        problems.extend(tag_problems(tags, known))
        if channel.flags & ChannelFlag.REQUIRE_TAG and not tags:
            problems.append(
                ("applied_tags", "REQUIRED_TAG_MISSING", "A tag is required in this forum.")
            )
        if any(known[t].moderated for t in tags if t in known):
            self._require(channel, Permissions.MANAGE_THREADS)
        checked = [Problem("thread_invalid", path, code, text) for path, code, text in problems]
        for problem in check_message(
            message_body,
            creating=True,
            has_files=bool(call.files),
            require_safe_mentions=self.server.ping_safety,
        ):
            field_path = f"message.{problem.field}" if problem.field else "message"
            checked.append(
                Problem(problem.rule, field_path, problem.code, problem.message, problem.hard)
            )
        self._reject(checked, call)
        thread = self.world.create_thread(
            channel,
            self.world.bot,
            name,
            applied_tags=tags,
            auto_archive_duration=body.get("auto_archive_duration"),
        )
        message = self.world.add_message(
            thread,
            self.world.bot,
            content=message_body.get("content") or "",
            embeds=message_body.get("embeds") or [],
            components=message_body.get("components") or [],
            attachments=self._attachments(call, message_body, thread.id),
            allowed_mentions=message_body.get("allowed_mentions"),
            message_id=thread.id,
        )
        data = self.world.thread_payload(thread)
        data["message"] = self.world.message_payload(message, with_member=False)
        data["member"] = self.world.thread_member_payload(thread, self.world.bot.id)
        return ok(data, 201)

    async def start_thread_from_message(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/messages/{message_id}/threads."""
        channel = self._channel(
            call, need=Permissions.VIEW_CHANNEL | Permissions.CREATE_PUBLIC_THREADS
        )
        message = self._message(channel, call.params["message_id"])
        body = call.json if isinstance(call.json, dict) else {}
        name = str(body.get("name") or "")
        if not 1 <= len(name) <= 100:
            raise invalid_form_body(
                [("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")]
            )
        if message.id in self.world.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        thread = self.world.create_thread(
            channel,
            self.world.bot,
            name,
            auto_archive_duration=body.get("auto_archive_duration"),
            thread_id=message.id,
        )
        return ok(self.world.thread_payload(thread), 201)

    async def join_thread(self, call: Call) -> Reply:
        """PUT /channels/{channel_id}/thread-members/@me."""
        channel = self._channel(call)
        if not isinstance(channel, Thread):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if channel.archived:
            raise ApiError(400, 50083, "Thread is archived")
        channel.member_ids.add(self.world.bot.id)
        return NO_CONTENT

    async def leave_thread(self, call: Call) -> Reply:
        """DELETE /channels/{channel_id}/thread-members/@me."""
        channel = self._channel(call)
        if isinstance(channel, Thread):
            channel.member_ids.discard(self.world.bot.id)
        return NO_CONTENT

    async def get_thread_members(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/thread-members."""
        channel = self._channel(call)
        if not isinstance(channel, Thread):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        return ok(
            [self.world.thread_member_payload(channel, u) for u in sorted(channel.member_ids)]
        )

    def _archived(self, call: Call, *, private: bool, joined_only: bool) -> Reply:
        channel = self._channel(
            call, need=Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY
        )
        if private and not joined_only:
            self._require(channel, Permissions.MANAGE_THREADS)
        guild = self.world.guild_of(channel)
        wanted = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        threads = [
            t
            for t in guild.threads.values()
            if t.parent_id == channel.id and t.archived and not t.deleted and t.type == wanted
        ]
        if joined_only:
            threads = [t for t in threads if self.world.bot.id in t.member_ids]
            threads.sort(key=lambda t: t.id, reverse=True)
            if "before" in call.query:
                threads = [t for t in threads if t.id < int(call.query["before"])]
        else:
            threads.sort(key=lambda t: (t.archive_timestamp, t.id), reverse=True)
            if "before" in call.query:
                before = _parse_before(call.query["before"])
                threads = [t for t in threads if t.archive_timestamp < before]
        limit = int(call.query.get("limit", "50"))
        if limit < 2:
            raise invalid_form_body([("limit", "NUMBER_TYPE_MIN", "Must be 2 or more.")])
        page = threads[:limit]
        bot_id = self.world.bot.id
        return ok(
            {
                "threads": [self.world.thread_payload(t) for t in page],
                "members": [
                    self.world.thread_member_payload(t, bot_id)
                    for t in page
                    if bot_id in t.member_ids
                ],
                "has_more": len(threads) > limit,
            }
        )

    async def archived_public(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/threads/archived/public (before: ISO8601, limit)."""
        return self._archived(call, private=False, joined_only=False)

    async def archived_private(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/threads/archived/private (MANAGE_THREADS)."""
        return self._archived(call, private=True, joined_only=False)

    async def archived_joined_private(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/users/@me/threads/archived/private (before: id)."""
        return self._archived(call, private=True, joined_only=True)


def _parse_before(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise invalid_form_body(
            [("before", "DATE_TYPE_INVALID", "Invalid ISO8601 timestamp.")]
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
