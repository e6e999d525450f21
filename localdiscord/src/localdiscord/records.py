"""What the server records for tests to assert on: requests, violations, interactions."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localdiscord.server import LocalDiscord


@dataclass(frozen=True)
class RecordedRequest:
    """One REST request the client made and the answer it got.

    ``path`` excludes the ``/api/v10`` prefix; ``route`` is the matched template
    (``/channels/{channel_id}/messages``) or ``None`` for an unknown route.
    """

    method: str
    path: str
    route: str | None
    query: Mapping[str, str]
    json: Any
    headers: Mapping[str, str]
    status: int
    response: Any
    files: tuple[str, ...] = ()
    response_headers: Mapping[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Violation:
    """Something the client did that Discord would reject or that breaks a house rule.

    ``rule`` is a short stable code (``"allowed_mentions"``, ``"embed_limits"``,
    ``"unknown_route"``...), ``message`` says what happened in words.
    """

    rule: str
    message: str
    method: str | None = None
    path: str | None = None
    detail: Any = None

    def __str__(self) -> str:
        where = f" [{self.method} {self.path}]" if self.method else ""
        return f"{self.rule}: {self.message}{where}"


@dataclass
class InteractionResponse:
    """One answer the bot gave to an interaction.

    ``kind`` is ``"callback"`` (the initial response; ``type`` is its
    ``InteractionCallbackType``),
    ``"followup"``, ``"edit_original"``, ``"delete_original"``, ``"edit_followup"``
    or ``"delete_followup"``.
    """

    kind: str
    type: int | None
    payload: dict[str, Any]
    message_id: int | None = None
    at: float = field(default_factory=time.monotonic)

    @property
    def flags(self) -> int:
        """Message flags the answer asked for."""
        data = self.payload.get("data", self.payload) if self.kind == "callback" else self.payload
        return int((data or {}).get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether the answer asked to be ephemeral (flag 64)."""
        return bool(self.flags & 64)

    @property
    def content(self) -> str | None:
        """The text content the answer carried, if any."""
        data = self.payload.get("data", self.payload) if self.kind == "callback" else self.payload
        value = (data or {}).get("content")
        return None if value is None else str(value)

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds the answer carried."""
        data = self.payload.get("data", self.payload) if self.kind == "callback" else self.payload
        return list((data or {}).get("embeds") or [])


@dataclass
class InteractionRecord:
    """An interaction the scenario triggered, and every answer the bot gave."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    guild_id: int | None
    channel_id: int
    user_id: int
    created_at: float
    source_message_id: int | None = None
    original_message_id: int | None = None
    modal: dict[str, Any] | None = None
    autocomplete_choices: list[dict[str, Any]] | None = None
    responses: list[InteractionResponse] = field(default_factory=list)
    _server: LocalDiscord | None = field(default=None, repr=False)

    @property
    def data(self) -> dict[str, Any]:
        """The interaction's ``data`` object as sent to the bot."""
        return dict(self.payload.get("data") or {})

    @property
    def callback(self) -> InteractionResponse | None:
        """The initial response, if the bot gave one."""
        for response in self.responses:
            if response.kind == "callback":
                return response
        return None

    @property
    def acknowledged(self) -> bool:
        """Whether the bot answered (once) within the deadline."""
        return self.callback is not None

    @property
    def response_type(self) -> int | None:
        """The initial response's callback type (an ``InteractionCallbackType``)."""
        callback = self.callback
        return None if callback is None else callback.type

    @property
    def followups(self) -> list[InteractionResponse]:
        """Follow-up messages the bot sent."""
        return [r for r in self.responses if r.kind == "followup"]

    async def wait_for_response(self, timeout: float = 10.0) -> InteractionResponse:
        """Wait until the bot gave its initial response, and return it."""
        if self._server is None:
            raise RuntimeError("interaction record is not attached to a server")
        return await self._server.wait_for(lambda: self.callback, timeout=timeout)

    async def wait_for_responses(
        self, count: int, timeout: float = 10.0
    ) -> list[InteractionResponse]:
        """Wait until the bot gave at least ``count`` answers of any kind."""
        if self._server is None:
            raise RuntimeError("interaction record is not attached to a server")
        await self._server.wait_for(lambda: len(self.responses) >= count, timeout=timeout)
        return list(self.responses)
