"""The REST API: routing, auth, rate limits, recording, and the endpoint handlers."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web

from localdiscord import errors
from localdiscord._ratelimit import bucket_hash, limit_headers, too_many_requests
from localdiscord._world import iso
from localdiscord.errors import ApiError, invalid_form_body, unknown
from localdiscord.models import (
    ApplicationCommand,
    Attachment,
    Channel,
    ChannelFlag,
    ChannelType,
    Message,
    MessageFlag,
    MessageType,
    Thread,
)
from localdiscord.permissions import Permissions, has
from localdiscord.records import InteractionRecord, InteractionResponse, RecordedRequest, Violation
from localdiscord.validation import (
    MAX_APPLIED_TAGS,
    Problem,
    check_commands,
    check_message,
    check_modal,
)

if TYPE_CHECKING:
    from localdiscord.server import LocalDiscord

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str | None
    data: bytes


@dataclass
class Call:
    """A parsed REST request."""

    method: str
    path: str
    route: str
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    files: list[UploadedFile]
    headers: dict[str, str]
    bucket_state: tuple[int, float] = (0, 1.0)


@dataclass
class Reply:
    """A handler's answer: status and JSON body (``None`` for 204)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass
class _Route:
    method: str
    template: str
    regex: re.Pattern[str]
    handler: Handler
    auth: bool


def _compile(template: str) -> re.Pattern[str]:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        body = r"\d+" if name.endswith("_id") else r"[^/]+"
        return f"(?P<{name}>{body})"

    return re.compile("^" + re.sub(r"\{(\w+)\}", repl, template) + "$")


def _ok(body: Any, status: int = 200) -> Reply:
    return Reply(status=status, body=body)


NO_CONTENT = Reply(status=204)


class RestApi:
    """Discord's REST API v10 over the simulated world."""

    def __init__(self, server: LocalDiscord) -> None:
        self.server = server
        self.world = server.world
        self.routes: list[_Route] = []
        self._register()

    # ------------------------------------------------------------------ routing

    def _add(self, method: str, template: str, handler: Handler, *, auth: bool = True) -> None:
        self.routes.append(_Route(method, template, _compile(template), handler, auth))

    def _register(self) -> None:
        add = self._add
        add("GET", "/users/@me", self.get_me)
        add("GET", "/users/{user_id}", self.get_user)
        add("GET", "/gateway", self.get_gateway, auth=False)
        add("GET", "/gateway/bot", self.get_gateway_bot)
        add("GET", "/oauth2/applications/@me", self.get_application)
        add("GET", "/applications/@me", self.get_application)
        add("GET", "/guilds/{guild_id}", self.get_guild)
        add("GET", "/guilds/{guild_id}/channels", self.get_guild_channels)
        add("GET", "/guilds/{guild_id}/roles", self.get_guild_roles)
        add("GET", "/guilds/{guild_id}/members", self.list_members)
        add("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        add("GET", "/guilds/{guild_id}/threads/active", self.get_active_threads)
        add("GET", "/channels/{channel_id}", self.get_channel)
        add("PATCH", "/channels/{channel_id}", self.edit_channel)
        add("DELETE", "/channels/{channel_id}", self.delete_channel)
        add("POST", "/channels/{channel_id}/typing", self.typing)
        add("GET", "/channels/{channel_id}/messages/pins", self.get_pins)
        add("PUT", "/channels/{channel_id}/messages/pins/{message_id}", self.pin)
        add("DELETE", "/channels/{channel_id}/messages/pins/{message_id}", self.unpin)
        add("PUT", "/channels/{channel_id}/pins/{message_id}", self.pin)
        add("DELETE", "/channels/{channel_id}/pins/{message_id}", self.unpin)
        add("GET", "/channels/{channel_id}/messages", self.get_messages)
        add("POST", "/channels/{channel_id}/messages", self.create_message)
        add("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        add("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        add("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji}"
        add("PUT", reaction + "/@me", self.add_reaction)
        add("DELETE", reaction + "/@me", self.remove_own_reaction)
        add("DELETE", reaction + "/{user_id}", self.remove_user_reaction)
        add("GET", reaction, self.get_reactions)
        add("POST", "/channels/{channel_id}/threads", self.start_thread)
        add(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            self.start_thread_from_message,
        )
        add("PUT", "/channels/{channel_id}/thread-members/@me", self.join_thread)
        add("DELETE", "/channels/{channel_id}/thread-members/@me", self.leave_thread)
        add("GET", "/channels/{channel_id}/thread-members", self.get_thread_members)
        add("GET", "/channels/{channel_id}/threads/archived/public", self.archived_public)
        add("GET", "/channels/{channel_id}/threads/archived/private", self.archived_private)
        add(
            "GET",
            "/channels/{channel_id}/users/@me/threads/archived/private",
            self.archived_joined_private,
        )
        cmds = "/applications/{application_id}/commands"
        guild_cmds = "/applications/{application_id}/guilds/{guild_id}/commands"
        for base in (cmds, guild_cmds):
            add("GET", base, self.get_commands)
            add("PUT", base, self.overwrite_commands)
            add("POST", base, self.upsert_command)
            add("GET", base + "/{command_id}", self.get_command)
            add("PATCH", base + "/{command_id}", self.edit_command)
            add("DELETE", base + "/{command_id}", self.delete_command)
        add("POST", "/interactions/{interaction_id}/{token}/callback", self.callback, auth=False)
        hook = "/webhooks/{webhook_id}/{token}"
        add("POST", hook, self.followup, auth=False)
        add("GET", hook + "/messages/{message}", self.get_webhook_message, auth=False)
        add("PATCH", hook + "/messages/{message}", self.edit_webhook_message, auth=False)
        add("DELETE", hook + "/messages/{message}", self.delete_webhook_message, auth=False)

    def _match(self, method: str, path: str) -> tuple[_Route | None, dict[str, str], bool]:
        path_known = False
        for route in self.routes:
            found = route.regex.match(path)
            if found is None:
                continue
            path_known = True
            if route.method == method:
                return route, found.groupdict(), True
        return None, {}, path_known

    # ------------------------------------------------------------------ entry

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one REST request (everything under ``/api``)."""
        raw_path = request.path
        if raw_path.startswith("/attachments/"):
            return self._serve_attachment(raw_path)
        method = request.method.upper()
        if not raw_path.startswith(API_PREFIX + "/"):
            self.server.record_violation(
                Violation(
                    "unknown_route", f"request outside {API_PREFIX}: {raw_path}", method, raw_path
                )
            )
            return _json_response({"message": "404: Not Found", "code": 0}, 404, {})
        path = raw_path[len(API_PREFIX) :]
        query = dict(request.query)
        headers = dict(request.headers)
        try:
            body, files = await self._read_body(request)
        except ApiError as exc:
            return self._finish(
                method, path, None, query, None, headers, Reply(exc.status, exc.body()), []
            )
        route, params, path_known = self._match(method, path)
        if route is None:
            status, code = (405, 0) if path_known else (404, 0)
            message = "405: Method Not Allowed" if path_known else "404: Not Found"
            self.server.record_violation(
                Violation(
                    "unknown_route",
                    f"LocalDiscord does not implement {method} {path}",
                    method,
                    path,
                )
            )
            return self._finish(
                method,
                path,
                None,
                query,
                body,
                headers,
                Reply(status, {"message": message, "code": code}),
                files,
            )
        call = Call(method, path, route.template, params, query, body, files, headers)
        if route.auth and headers.get("Authorization") != f"Bot {self.world.bot.token}":
            reply = Reply(401, {"message": "401: Unauthorized", "code": 0})
            self.server.record_violation(
                Violation("unauthorized", "missing or wrong bot token", method, path)
            )
            return self._finish(method, path, route.template, query, body, headers, reply, files)
        limited = self._rate_limited(call)
        if limited is not None:
            return self._finish(method, path, route.template, query, body, headers, limited, files)
        try:
            reply = await route.handler(call)
        except ApiError as exc:
            reply = Reply(exc.status, exc.body())
            if exc.status in (400, 401, 403) and not exc.recorded:
                self.server.record_violation(
                    Violation(
                        _rule_for(exc),
                        f"{exc.status} {exc.code} {exc.message}",
                        method,
                        path,
                        exc.body(),
                    )
                )
        reply.headers.update(self._limit_headers(call))
        return self._finish(method, path, route.template, query, body, headers, reply, files)

    def _finish(
        self,
        method: str,
        path: str,
        route: str | None,
        query: dict[str, str],
        body: Any,
        headers: dict[str, str],
        reply: Reply,
        files: list[UploadedFile],
    ) -> web.StreamResponse:
        self.server.requests.append(
            RecordedRequest(
                method=method,
                path=path,
                route=route,
                query=query,
                json=body,
                headers=headers,
                status=reply.status,
                response=reply.body,
                files=tuple(f.filename for f in files),
                response_headers=dict(reply.headers),
            )
        )
        self.server.notify()
        if reply.status == 204 or reply.body is None:
            return web.Response(
                status=204 if reply.status < 300 else reply.status, headers=reply.headers
            )
        return _json_response(reply.body, reply.status, reply.headers)

    async def _read_body(self, request: web.Request) -> tuple[Any, list[UploadedFile]]:
        if not request.can_read_body:
            return None, []
        content_type = request.content_type
        if content_type.startswith("multipart/"):
            files: list[UploadedFile] = []
            payload: Any = None
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read(decode=True)
                if part.name == "payload_json":
                    payload = _loads(bytes(data))
                elif part.filename is not None:
                    files.append(
                        UploadedFile(
                            field=part.name or "",
                            filename=part.filename,
                            content_type=part.headers.get("Content-Type"),
                            data=bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        return _loads(raw), []

    def _rate_limited(self, call: Call) -> Reply | None:
        for injection in self.server.rate_limit_injections:
            if injection.matches(call.method, call.path):
                injection.hits += 1
                headers, body = too_many_requests(
                    injection.retry_after,
                    global_=injection.global_,
                    scope=injection.scope,
                    limit=self.server.rest_rate_limit[0],
                    bucket=bucket_hash(call.method, call.route),
                )
                return Reply(429, body, headers)
        key = f"{bucket_hash(call.method, call.route)}:{_major(call)}"
        remaining, reset_after, exceeded = self.server.buckets.take(key)
        if exceeded:
            self.server.record_violation(
                Violation(
                    "rate_limit_exceeded",
                    "request sent on an exhausted rate-limit bucket",
                    call.method,
                    call.path,
                )
            )
            headers, body = too_many_requests(
                reset_after,
                global_=False,
                scope="user",
                limit=self.server.rest_rate_limit[0],
                bucket=bucket_hash(call.method, call.route),
            )
            return Reply(429, body, headers)
        call.bucket_state = (remaining, reset_after)
        return None

    def _limit_headers(self, call: Call) -> dict[str, str]:
        remaining, reset_after = call.bucket_state
        return limit_headers(
            self.server.rest_rate_limit[0],
            remaining,
            reset_after,
            bucket_hash(call.method, call.route),
        )

    def _serve_attachment(self, path: str) -> web.StreamResponse:
        parts = path.split("/")
        if len(parts) >= 4 and parts[3].isdigit():
            for message in self.world.messages.values():
                for attachment in message.attachments:
                    if attachment.id == int(parts[3]):
                        return web.Response(
                            body=attachment.data,
                            content_type=attachment.content_type or "application/octet-stream",
                        )
        return web.Response(status=404)

    # ------------------------------------------------------------------ helpers

    def _channel(self, call: Call, *, need: int = Permissions.VIEW_CHANNEL) -> Channel:
        channel = self.world.channels.get(int(call.params["channel_id"]))
        if channel is None or channel.deleted:
            raise unknown("Channel", 10003)
        perms = self.world.permissions(self.world.bot.id, channel)
        if not perms & Permissions.VIEW_CHANNEL:
            raise ApiError(403, errors.MISSING_ACCESS, "Missing Access")
        if not has(perms, need):
            raise ApiError(403, errors.MISSING_PERMISSIONS, "Missing Permissions")
        return channel

    def _message(self, channel: Channel, message_id: str) -> Message:
        message = self.world.messages.get(int(message_id))
        if (
            message is None
            or message.deleted
            or message.channel_id != channel.id
            or message.ephemeral
        ):
            raise unknown("Message", 10008)
        return message

    def _perms(self, channel: Channel) -> int:
        return self.world.permissions(self.world.bot.id, channel)

    def _require(self, channel: Channel, wanted: int) -> None:
        if not has(self._perms(channel), wanted):
            raise ApiError(403, errors.MISSING_PERMISSIONS, "Missing Permissions")

    def _guild(self, call: Call) -> Any:
        guild = self.world.guilds.get(int(call.params["guild_id"]))
        if guild is None:
            raise unknown("Guild", 10004)
        return guild

    def _reject(self, problems: list[Problem], call: Call) -> None:
        """Record every problem; raise the 400 Discord would send for hard ones."""
        for problem in problems:
            self.server.record_violation(
                Violation(
                    problem.rule,
                    f"{problem.field or 'payload'}: {problem.message}",
                    call.method,
                    call.path,
                    call.json,
                )
            )
        hard = [p for p in problems if p.hard]
        if not hard:
            return
        if any(p.rule == "empty_message" for p in hard):
            error = ApiError(400, 50006, "Cannot send an empty message")
        else:
            error = invalid_form_body([p.as_form_error() for p in hard])
        error.recorded = True
        raise error

    def _attachments(
        self, call: Call, payload: dict[str, Any], channel_id: int
    ) -> list[Attachment]:
        out: list[Attachment] = []
        described = {
            str(a.get("id")): a for a in payload.get("attachments") or [] if isinstance(a, dict)
        }
        for index, upload in enumerate(call.files):
            meta = described.get(str(index), {})
            attachment_id = self.world.ids.next()
            out.append(
                Attachment(
                    id=attachment_id,
                    filename=str(meta.get("filename") or upload.filename),
                    data=upload.data,
                    content_type=upload.content_type,
                    description=meta.get("description"),
                    url=f"{self.server.url}/attachments/{channel_id}/{attachment_id}/{upload.filename}",
                )
            )
        return out

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
        return {
            "type": 0,
            "message_id": str(target.id),
            "channel_id": str(target.channel_id),
            "guild_id": str(channel.guild_id),
        }

    def _unarchive_for_activity(self, channel: Channel) -> None:
        if isinstance(channel, Thread) and channel.archived:
            if channel.locked and not has(self._perms(channel), Permissions.MANAGE_THREADS):
                raise ApiError(400, 50083, "Thread is archived")
            self.world.update_thread(channel, {"archived": False})

    # ------------------------------------------------------------ users / app

    async def get_me(self, call: Call) -> Reply:
        """GET /users/@me."""
        data = self.world.user_payload(self.world.bot)
        data.update({"verified": True, "mfa_enabled": False, "flags": 0, "locale": "en-US"})
        return _ok(data)

    async def get_user(self, call: Call) -> Reply:
        """GET /users/{user_id}."""
        user = self.world.users.get(int(call.params["user_id"]))
        if user is None:
            raise unknown("User", 10013)
        return _ok(self.world.user_payload(user))

    async def get_gateway(self, call: Call) -> Reply:
        """GET /gateway."""
        return _ok({"url": self.server.gateway_url})

    async def get_gateway_bot(self, call: Call) -> Reply:
        """GET /gateway/bot."""
        return _ok(
            {
                "url": self.server.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 14_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    async def get_application(self, call: Call) -> Reply:
        """GET /oauth2/applications/@me."""
        return _ok(self.world.application_payload())

    # ------------------------------------------------------------------ guilds

    async def get_guild(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}."""
        guild = self._guild(call)
        data = self.world.guild_create_payload(guild)
        for key in (
            "members",
            "channels",
            "threads",
            "presences",
            "voice_states",
            "joined_at",
            "large",
            "member_count",
        ):
            data.pop(key, None)
        if call.query.get("with_counts") in ("true", "1", "True"):
            data["approximate_member_count"] = len(guild.members)
            data["approximate_presence_count"] = 0
        return _ok(data)

    async def get_guild_channels(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/channels."""
        guild = self._guild(call)
        return _ok(
            [self.world.channel_payload(c) for c in guild.channels.values() if not c.deleted]
        )

    async def get_guild_roles(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/roles."""
        guild = self._guild(call)
        return _ok([self.world.role_payload(r) for r in guild.roles.values()])

    async def get_member(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/members/{user_id}."""
        guild = self._guild(call)
        member = guild.members.get(int(call.params["user_id"]))
        if member is None:
            raise unknown("Member", 10007)
        return _ok(self.world.member_payload(member))

    async def list_members(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/members (needs the GUILD_MEMBERS intent enabled)."""
        guild = self._guild(call)
        if not self.server.privileged_intents & (1 << 1):
            raise ApiError(403, errors.MISSING_ACCESS, "Missing Access")
        after = int(call.query.get("after", "0"))
        limit = min(max(int(call.query.get("limit", "1")), 1), 1000)
        members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
        return _ok([self.world.member_payload(m) for m in members[:limit]])

    async def get_active_threads(self, call: Call) -> Reply:
        """GET /guilds/{guild_id}/threads/active."""
        guild = self._guild(call)
        bot_id = self.world.bot.id
        threads = [
            t
            for t in guild.threads.values()
            if not t.archived and not t.deleted and self.world.can_view(bot_id, t)
        ]
        return _ok(
            {
                "threads": [self.world.thread_payload(t) for t in threads],
                "members": [
                    self.world.thread_member_payload(t, bot_id)
                    for t in threads
                    if bot_id in t.member_ids
                ],
            }
        )

    # ---------------------------------------------------------------- channels

    async def get_channel(self, call: Call) -> Reply:
        """GET /channels/{channel_id}."""
        channel = self._channel(call)
        data = self.world.channel_payload(channel)
        if isinstance(channel, Thread) and self.world.bot.id in channel.member_ids:
            data["member"] = self.world.thread_member_payload(channel, self.world.bot.id)
        return _ok(data)

    async def edit_channel(self, call: Call) -> Reply:
        """PATCH /channels/{channel_id}: edit a thread (tags, archive, lock, name) or a channel."""
        channel = self._channel(call)
        body = call.json if isinstance(call.json, dict) else {}
        if isinstance(channel, Thread):
            return _ok(self.world.thread_payload(self._edit_thread(call, channel, body)))
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
        return _ok(payload)

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
            problems.extend(_tag_problems(tags, known))
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
        return _ok(payload)

    async def typing(self, call: Call) -> Reply:
        """POST /channels/{channel_id}/typing."""
        self._channel(call)
        return NO_CONTENT

    # ---------------------------------------------------------------- messages

    async def get_messages(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/messages (limit, before, after, around)."""
        channel = self._channel(call)
        if not has(self._perms(channel), Permissions.READ_MESSAGE_HISTORY):
            return _ok([])
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
        return _ok(
            [self.server.readable(self.world.message_payload(m, with_member=False)) for m in page]
        )

    async def get_message(self, call: Call) -> Reply:
        """GET /channels/{channel_id}/messages/{message_id}."""
        channel = self._channel(
            call, need=Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY
        )
        message = self._message(channel, call.params["message_id"])
        return _ok(self.server.readable(self.world.message_payload(message, with_member=False)))

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
        return _ok(self.world.message_payload(message, with_member=False))

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
        return _ok(self.world.message_payload(message, with_member=False))

    def _apply_edit(self, message: Message, call: Call, payload: dict[str, Any]) -> None:
        """Edit a message as Discord does: ``attachments`` lists the ones to keep, and
        uploaded files are added."""
        changes = dict(payload)
        if call.files or "attachments" in payload:
            kept_ids = {
                str(a.get("id")) for a in payload.get("attachments") or [] if isinstance(a, dict)
            }
            kept = [a for a in message.attachments if str(a.id) in kept_ids]
            changes["attachments"] = kept + self._attachments(call, payload, message.channel_id)
        self.world.edit_message(message, changes)

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
        return _ok({"items": items, "has_more": False})

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

    # --------------------------------------------------------------- reactions

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
        return _ok([self.world.user_payload(u) for u in users])

    # ----------------------------------------------------------------- threads

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
            return _ok(self.world.thread_payload(thread), 201)
        self._require(channel, Permissions.SEND_MESSAGES)
        message_body = body.get("message")
        if not isinstance(message_body, dict):
            problems.append(("message", "BASE_TYPE_REQUIRED", "This field is required"))
            message_body = {}
        tags = [int(t) for t in body.get("applied_tags") or []]
        known = {t.id: t for t in channel.available_tags}
        problems.extend(_tag_problems(tags, known))
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
        return _ok(data, 201)

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
        return _ok(self.world.thread_payload(thread), 201)

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
        return _ok(
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
        return _ok(
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

    # ---------------------------------------------------------------- commands

    def _command_scope(self, call: Call) -> int | None:
        if int(call.params["application_id"]) != self.world.bot.application_id:
            raise unknown("Application", 10002)
        if "guild_id" not in call.params:
            return None
        guild = self._guild(call)
        if self.world.bot.id not in guild.members:
            raise ApiError(403, errors.MISSING_ACCESS, "Missing Access")
        return int(guild.id)

    def _command_payload(self, command: ApplicationCommand) -> dict[str, Any]:
        data = dict(command.payload)
        data.update(
            {
                "id": str(command.id),
                "application_id": str(command.application_id),
                "version": str(command.version),
                "type": command.type,
                "name": command.name,
                "description": command.description,
                "options": command.options,
                "default_member_permissions": None
                if command.default_member_permissions is None
                else str(command.default_member_permissions),
                "nsfw": bool(command.payload.get("nsfw", False)),
                "dm_permission": command.payload.get("dm_permission", True),
                "integration_types": command.payload.get("integration_types") or [0],
                "contexts": command.payload.get("contexts"),
                "name_localizations": command.payload.get("name_localizations"),
                "description_localizations": command.payload.get("description_localizations"),
            }
        )
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return data

    def _store_command(
        self, scope: int | None, payload: dict[str, Any], existing: list[ApplicationCommand]
    ) -> ApplicationCommand:
        kind = int(payload.get("type", 1))
        name = str(payload["name"])
        previous = next((c for c in existing if c.type == kind and c.name == name), None)
        if previous is not None:
            if previous.payload != payload:
                previous.payload = dict(payload)
                previous.version = self.world.ids.next()
            return previous
        return ApplicationCommand(
            id=self.world.ids.next(),
            application_id=self.world.bot.application_id,
            guild_id=scope,
            name=name,
            type=kind,
            payload=dict(payload),
            version=self.world.ids.next(),
        )

    async def get_commands(self, call: Call) -> Reply:
        """GET the registered global or guild commands."""
        scope = self._command_scope(call)
        return _ok([self._command_payload(c) for c in self.world.commands.get(scope, [])])

    async def overwrite_commands(self, call: Call) -> Reply:
        """PUT (bulk overwrite) global or guild commands."""
        scope = self._command_scope(call)
        self._reject(check_commands(call.json), call)
        existing = self.world.commands.get(scope, [])
        stored = [self._store_command(scope, dict(p), existing) for p in call.json]
        self.world.commands[scope] = stored
        return _ok([self._command_payload(c) for c in stored])

    async def upsert_command(self, call: Call) -> Reply:
        """POST one command (create, or overwrite the one with the same name and type)."""
        scope = self._command_scope(call)
        self._reject(check_commands([call.json]), call)
        existing = self.world.commands.setdefault(scope, [])
        command = self._store_command(scope, dict(call.json), existing)
        if command not in existing:
            existing.append(command)
            return _ok(self._command_payload(command), 201)
        return _ok(self._command_payload(command))

    def _find_command(self, call: Call) -> tuple[int | None, ApplicationCommand]:
        scope = self._command_scope(call)
        wanted = int(call.params["command_id"])
        for command in self.world.commands.get(scope, []):
            if command.id == wanted:
                return scope, command
        raise unknown("application command", 10063)

    async def get_command(self, call: Call) -> Reply:
        """GET one command."""
        return _ok(self._command_payload(self._find_command(call)[1]))

    async def edit_command(self, call: Call) -> Reply:
        """PATCH one command."""
        _, command = self._find_command(call)
        merged = {**command.payload, **(call.json or {})}
        self._reject(check_commands([merged]), call)
        command.payload = merged
        command.name = str(merged["name"])
        command.version = self.world.ids.next()
        return _ok(self._command_payload(command))

    async def delete_command(self, call: Call) -> Reply:
        """DELETE one command."""
        scope, command = self._find_command(call)
        self.world.commands[scope].remove(command)
        return NO_CONTENT

    # ------------------------------------------------------------ interactions

    def _interaction(self, call: Call, *, by_id: bool) -> InteractionRecord:
        token = call.params["token"]
        record = self.server.interactions_by_token.get(token)
        if by_id:
            if record is None or record.id != int(call.params["interaction_id"]):
                raise unknown("interaction", 10062)
        else:
            if int(call.params["webhook_id"]) != self.world.bot.application_id or record is None:
                raise unknown("Webhook", 10015)
        return record

    def _response_message(
        self,
        record: InteractionRecord,
        payload: dict[str, Any],
        call: Call,
        *,
        ephemeral: bool,
        loading: bool = False,
    ) -> Message:
        channel = self.world.channels[record.channel_id]
        message_type = {2: MessageType.CHAT_INPUT_COMMAND, 4: MessageType.CHAT_INPUT_COMMAND}.get(
            record.type, MessageType.DEFAULT
        )
        if record.type == 2 and int(record.data.get("type", 1)) != 1:
            message_type = MessageType.CONTEXT_MENU_COMMAND
        user = self.world.users[record.user_id]
        metadata: dict[str, Any] = {
            "id": str(record.id),
            "type": record.type,
            "user": self.world.user_payload(user),
            "authorizing_integration_owners": {"0": str(record.guild_id)}
            if record.guild_id
            else {},
        }
        if record.type == 2:
            metadata["name"] = record.data.get("name")
            metadata["command_type"] = int(record.data.get("type", 1))
            if record.data.get("target_id") is not None:
                metadata[
                    "target_message_id" if metadata["command_type"] == 3 else "target_user_id"
                ] = record.data["target_id"]
        if record.source_message_id is not None:
            metadata["interacted_message_id"] = str(record.source_message_id)
        if record.original_message_id is not None:
            metadata["original_response_message_id"] = str(record.original_message_id)
        flags = int(payload.get("flags") or 0) & (
            MessageFlag.SUPPRESS_EMBEDS
            | MessageFlag.IS_COMPONENTS_V2
            | MessageFlag.SUPPRESS_NOTIFICATIONS
        )
        if ephemeral:
            flags |= MessageFlag.EPHEMERAL
        if loading:
            flags |= MessageFlag.LOADING
        if isinstance(channel, Thread) and channel.archived and not ephemeral:
            self._unarchive_for_activity(channel)
        return self.world.add_message(
            channel,
            self.world.bot,
            content=payload.get("content") or "",
            embeds=payload.get("embeds") or [],
            components=payload.get("components") or [],
            attachments=self._attachments(call, payload, channel.id),
            flags=flags,
            type_=message_type,
            webhook_id=self.world.bot.application_id,
            application_id=self.world.bot.application_id,
            interaction_metadata=metadata,
            interaction_id=record.id,
            allowed_mentions=payload.get("allowed_mentions"),
            tts=bool(payload.get("tts")),
        )

    def _interaction_violation(self, call: Call, rule: str, text: str, error: ApiError) -> ApiError:
        self.server.record_violation(Violation(rule, text, call.method, call.path, call.json))
        error.recorded = True
        return error

    async def callback(self, call: Call) -> Reply:
        """POST /interactions/{id}/{token}/callback (the initial response, once)."""
        record = self._interaction(call, by_id=True)
        body = call.json if isinstance(call.json, dict) else {}
        kind = int(body.get("type", 0))
        raw_data = body.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        if record.callback is not None:
            raise self._interaction_violation(
                call,
                "interaction_double_ack",
                f"interaction {record.id} answered twice",
                ApiError(400, 40060, "Interaction has already been acknowledged."),
            )
        age = time.monotonic() - record.created_at
        if age > self.server.interaction_timeout:
            raise self._interaction_violation(
                call,
                "interaction_timeout",
                f"initial response after {age:.2f}s (deadline "
                f"{self.server.interaction_timeout:.1f}s): the user saw "
                "'The application did not respond'",
                unknown("interaction", 10062),
            )
        allowed = {2: {4, 5, 9}, 3: {4, 5, 6, 7, 9}, 4: {8}, 5: {4, 5, 6, 7}}.get(
            record.type, set()
        )
        if kind in (6, 7) and record.source_message_id is None:
            allowed = allowed - {6, 7}
        if kind not in allowed:
            raise self._interaction_violation(
                call,
                "interaction_response_type",
                f"callback type {kind} is not valid for interaction type {record.type}",
                invalid_form_body(
                    [
                        (
                            "type",
                            "INTERACTION_RESPONSE_TYPE_INVALID",
                            f"Response type {kind} is invalid here.",
                        )
                    ]
                ),
            )
        ephemeral = bool(int(data.get("flags") or 0) & MessageFlag.EPHEMERAL)
        message: Message | None = None
        if kind == 4:
            self._reject(
                check_message(
                    data,
                    creating=True,
                    has_files=bool(call.files),
                    require_safe_mentions=self.server.ping_safety,
                ),
                call,
            )
            message = self._response_message(record, data, call, ephemeral=ephemeral)
            record.original_message_id = message.id
        elif kind == 5:
            message = self._response_message(
                record, {"flags": data.get("flags")}, call, ephemeral=ephemeral, loading=True
            )
            record.original_message_id = message.id
        elif kind == 7:
            self._reject(
                check_message(
                    data,
                    creating=False,
                    has_files=bool(call.files),
                    require_safe_mentions=self.server.ping_safety,
                ),
                call,
            )
            assert record.source_message_id is not None
            message = self.world.messages[record.source_message_id]
            self.world.edit_message(message, dict(data))
            record.original_message_id = message.id
        elif kind == 6:
            record.original_message_id = record.source_message_id
        elif kind == 8:
            choices = list(data.get("choices") or [])
            if len(choices) > 25:
                self._reject(
                    [
                        Problem(
                            "autocomplete_limits",
                            "data.choices",
                            "BASE_TYPE_MAX_LENGTH",
                            "Must be 25 or fewer in length.",
                        )
                    ],
                    call,
                )
            record.autocomplete_choices = choices
        elif kind == 9:
            self._reject(check_modal(data), call)
            record.modal = dict(data)
        record.responses.append(
            InteractionResponse("callback", kind, body, None if message is None else message.id)
        )
        if call.query.get("with_response") not in ("1", "true", "True"):
            return NO_CONTENT
        interaction: dict[str, Any] = {"id": str(record.id), "type": record.type}
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            interaction["response_message_id"] = str(message.id)
            interaction["response_message_loading"] = message.loading
            interaction["response_message_ephemeral"] = message.ephemeral
            resource["message"] = self.world.message_payload(message, with_member=False)
        return _ok({"interaction": interaction, "resource": resource})

    async def followup(self, call: Call) -> Reply:
        """POST /webhooks/{application_id}/{token}: a follow-up message."""
        record = self._interaction(call, by_id=False)
        payload = call.json if isinstance(call.json, dict) else {}
        if record.callback is None:
            raise self._interaction_violation(
                call,
                "followup_before_ack",
                f"follow-up for interaction {record.id} before the initial response",
                unknown("Webhook", 10015),
            )
        self._reject(
            check_message(
                payload,
                creating=True,
                has_files=bool(call.files),
                require_safe_mentions=self.server.ping_safety,
            ),
            call,
        )
        ephemeral = bool(int(payload.get("flags") or 0) & MessageFlag.EPHEMERAL)
        message = self._response_message(record, payload, call, ephemeral=ephemeral)
        record.responses.append(InteractionResponse("followup", None, payload, message.id))
        if call.query.get("wait") in ("true", "1", "True"):
            return _ok(self.world.message_payload(message, with_member=False))
        return NO_CONTENT

    def _webhook_message(self, call: Call, record: InteractionRecord) -> Message:
        ref = call.params["message"]
        if ref == "@original":
            if record.original_message_id is None:
                raise unknown("Message", 10008)
            message = self.world.messages.get(record.original_message_id)
        else:
            message = self.world.messages.get(int(ref)) if ref.isdigit() else None
            if (
                message is not None
                and message.interaction_id != record.id
                and message.id != record.original_message_id
            ):
                message = None
        if message is None or message.deleted:
            raise unknown("Message", 10008)
        return message

    async def get_webhook_message(self, call: Call) -> Reply:
        """GET /webhooks/{application_id}/{token}/messages/{@original|id}."""
        record = self._interaction(call, by_id=False)
        return _ok(
            self.world.message_payload(self._webhook_message(call, record), with_member=False)
        )

    async def edit_webhook_message(self, call: Call) -> Reply:
        """PATCH /webhooks/{application_id}/{token}/messages/{@original|id}."""
        record = self._interaction(call, by_id=False)
        message = self._webhook_message(call, record)
        payload = call.json if isinstance(call.json, dict) else {}
        self._reject(
            check_message(
                payload,
                creating=False,
                has_files=bool(call.files),
                require_safe_mentions=self.server.ping_safety,
            ),
            call,
        )
        self._apply_edit(message, call, payload)
        kind = "edit_original" if call.params["message"] == "@original" else "edit_followup"
        record.responses.append(InteractionResponse(kind, None, payload, message.id))
        return _ok(self.world.message_payload(message, with_member=False))

    async def delete_webhook_message(self, call: Call) -> Reply:
        """DELETE /webhooks/{application_id}/{token}/messages/{@original|id}."""
        record = self._interaction(call, by_id=False)
        message = self._webhook_message(call, record)
        self.world.delete_message(message)
        kind = "delete_original" if call.params["message"] == "@original" else "delete_followup"
        record.responses.append(InteractionResponse(kind, None, {}, message.id))
        return NO_CONTENT


def _rule_for(exc: ApiError) -> str:
    if exc.status == 403:
        return "missing_permissions"
    if exc.status == 401:
        return "unauthorized"
    if exc.code == 50083:
        return "thread_archived"
    return "bad_request"


def _major(call: Call) -> str:
    for key in ("channel_id", "guild_id", "webhook_id"):
        if key in call.params:
            value = call.params[key]
            if key == "webhook_id" and "token" in call.params:
                value += "+" + call.params["token"]
            return value
    if "interaction_id" in call.params:
        return call.params["interaction_id"]
    return ""


def _parse_before(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise invalid_form_body(
            [("before", "DATE_TYPE_INVALID", "Invalid ISO8601 timestamp.")]
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _json_response(body: Any, status: int, headers: dict[str, str]) -> web.Response:
    # Exactly "application/json": discord.py compares the header verbatim and treats
    # anything else (such as "; charset=utf-8") as plain text.
    return web.Response(
        body=_dumps(body).encode(),
        status=status,
        headers={**headers, "Content-Type": "application/json"},
    )


def _tag_problems(tags: list[int], known: dict[int, Any]) -> list[tuple[str, str, str]]:
    """Discord's checks on a post's applied_tags: at most 5, each one of the forum's."""
    problems: list[tuple[str, str, str]] = []
    if len(tags) > MAX_APPLIED_TAGS:
        problems.append(
            (
                "applied_tags",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_APPLIED_TAGS} or fewer in length.",
            )
        )
    for index, tag_id in enumerate(tags):
        if tag_id not in known:
            problems.append(
                (f"applied_tags.{index}", "CHANNEL_TAG_INVALID", f"Unknown tag {tag_id}.")
            )
    return problems
