"""The REST API's front door: routing, auth, rate limits, request bodies and recording.

The endpoints themselves live in one module per resource (users, guilds, channels,
messages, reactions, threads, commands, interactions); this module matches a request
to one of them and turns its :class:`Reply` into an HTTP response.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from localdiscord._ratelimit import bucket_hash, limit_headers, too_many_requests
from localdiscord._rest.base import Call, Handler, Reply, Resource, UploadedFile
from localdiscord._rest.channels import ChannelsResource
from localdiscord._rest.commands import CommandsResource
from localdiscord._rest.guilds import GuildsResource
from localdiscord._rest.interactions import InteractionsResource
from localdiscord._rest.messages import MessagesResource
from localdiscord._rest.reactions import ReactionsResource
from localdiscord._rest.threads import ThreadsResource
from localdiscord._rest.users import UsersResource
from localdiscord.errors import ApiError
from localdiscord.records import RecordedRequest, Violation

if TYPE_CHECKING:
    from localdiscord.server import LocalDiscord

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"

# Matching order: every template is anchored and their paths are disjoint, so the
# order only decides which handler is listed first in a trace.
RESOURCES: tuple[type[Resource], ...] = (
    UsersResource,
    GuildsResource,
    ChannelsResource,
    MessagesResource,
    ReactionsResource,
    ThreadsResource,
    CommandsResource,
    InteractionsResource,
)


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


class RestApi:
    """Discord's REST API v10 over the simulated world."""

    def __init__(self, server: LocalDiscord) -> None:
        self.server = server
        self.world = server.world
        self.routes: list[_Route] = [
            _Route(e.method, e.template, _compile(e.template), e.handler, e.auth)
            for resource in RESOURCES
            for e in resource(server).endpoints()
        ]

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
        if len(parts) >= 4 and parts[2] == "uploads" and parts[3].isdigit():
            upload = self.world.uploads.get(int(parts[3]))
            if upload is None:
                return web.Response(status=404)
            return web.Response(
                body=upload.data, content_type=upload.content_type or "application/octet-stream"
            )
        if len(parts) >= 4 and parts[3].isdigit():
            for message in self.world.messages.values():
                for attachment in message.attachments:
                    if attachment.id == int(parts[3]):
                        return web.Response(
                            body=attachment.data,
                            content_type=attachment.content_type or "application/octet-stream",
                        )
        return web.Response(status=404)


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
