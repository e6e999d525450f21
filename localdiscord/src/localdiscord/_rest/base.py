"""What every REST resource shares: the parsed call, the reply, and the common checks."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localdiscord import errors
from localdiscord.errors import ApiError, invalid_form_body, unknown
from localdiscord.models import Attachment, Channel, Message, Thread
from localdiscord.permissions import Permissions, has
from localdiscord.records import Violation
from localdiscord.validation import MAX_APPLIED_TAGS, Problem

if TYPE_CHECKING:
    from localdiscord.server import LocalDiscord


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


@dataclass(frozen=True)
class Endpoint:
    """One route a resource serves: ``template`` like ``/channels/{channel_id}``."""

    method: str
    template: str
    handler: Handler
    auth: bool = True


def ok(body: Any, status: int = 200) -> Reply:
    """A JSON reply (200 unless told)."""
    return Reply(status=status, body=body)


NO_CONTENT = Reply(status=204)


class Resource(abc.ABC):
    """A group of endpoints over the simulated world, with the checks they share."""

    def __init__(self, server: LocalDiscord) -> None:
        self.server = server
        self.world = server.world

    @abc.abstractmethod
    def endpoints(self) -> list[Endpoint]:
        """The routes this resource serves, in matching order."""

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

    def _unarchive_for_activity(self, channel: Channel) -> None:
        if isinstance(channel, Thread) and channel.archived:
            if channel.locked and not has(self._perms(channel), Permissions.MANAGE_THREADS):
                raise ApiError(400, 50083, "Thread is archived")
            self.world.update_thread(channel, {"archived": False})

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


def tag_problems(tags: list[int], known: dict[int, Any]) -> list[tuple[str, str, str]]:
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
