"""The gateway: WebSocket sessions speaking Discord's v10 protocol (JSON, zlib-stream).

One :class:`Session` per IDENTIFY; it survives disconnects so the client can RESUME
and get the events it missed. One :class:`Connection` per WebSocket; it owns the
zlib stream (a single compressor per connection, every payload flushed with
``Z_SYNC_FLUSH`` so each frame ends with ``00 00 ff ff``) and a writer task so frames
go out in sequence order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from localdiscord._world import APPLICATION_FLAGS
from localdiscord.models import Channel
from localdiscord.records import Violation

if TYPE_CHECKING:
    from localdiscord._world import World

log = logging.getLogger(__name__)

DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = (
    6,
    7,
    8,
    9,
    10,
    11,
)

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_PRESENCES = 1 << 8
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
DIRECT_MESSAGES = 1 << 12
DIRECT_MESSAGE_REACTIONS = 1 << 13
MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
ALL_INTENTS = (1 << 26) - 1

_EVENT_INTENTS: dict[str, int] = {
    "GUILD_CREATE": GUILDS,
    "GUILD_UPDATE": GUILDS,
    "GUILD_DELETE": GUILDS,
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "GUILD_ROLE_DELETE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "THREAD_CREATE": GUILDS,
    "THREAD_UPDATE": GUILDS,
    "THREAD_DELETE": GUILDS,
    "THREAD_LIST_SYNC": GUILDS,
    "THREAD_MEMBER_UPDATE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": GUILD_MESSAGE_REACTIONS,
}

_CONTENT_FIELDS = ("content", "embeds", "attachments", "components", "poll")


Compressor = Callable[[bytes], bytes]


def make_compressor(kind: str) -> Compressor | None:
    """A per-connection transport compressor for ``compress=kind``, if supported.

    ``zlib-stream``: one zlib stream per connection, each payload flushed with
    Z_SYNC_FLUSH (frames end with ``00 00 ff ff``). ``zstd-stream``: one zstd frame
    per connection, each payload flushed at a block boundary; only available when a
    zstd module is importable, which is exactly when discord.py asks for it (this
    path is not exercised by the test suite, whose environment has no zstd module).
    """
    if kind == "zlib-stream":
        stream = zlib.compressobj()
        return lambda data: stream.compress(data) + stream.flush(zlib.Z_SYNC_FLUSH)
    if kind == "zstd-stream":
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            pass
        else:
            zstd_stream = zstandard.ZstdCompressor().compressobj()
            block = zstandard.COMPRESSOBJ_FLUSH_BLOCK
            return lambda data: zstd_stream.compress(data) + zstd_stream.flush(block)
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            return None
        compressor = zstd.ZstdCompressor()
        mode = zstd.ZstdCompressor.FLUSH_BLOCK
        return lambda data: compressor.compress(data, mode=mode)
    return None


@dataclass
class Session:
    """An identified gateway session (resumable across connections)."""

    id: str
    intents: int
    identify: dict[str, Any]
    shard: tuple[int, int] | None
    seq: int = 0
    buffer: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=2000))
    connection: Connection | None = None
    invalidated: bool = False

    def wants(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of ``guild_id``."""
        if self.shard is None or guild_id is None:
            return True
        shard_id, count = self.shard
        return (guild_id >> 22) % count == shard_id


@dataclass(frozen=True)
class GatewayClose:
    """How a gateway connection ended.

    ``by_server`` is true when LocalDiscord closed it (or asked the client to, with
    RECONNECT / INVALID_SESSION). Note discord.py 2.7's ``Client.close()`` usually
    reaches the wire as code 4000, not 1000: its receive loop closes the socket first.
    """

    code: int | None
    by_server: bool
    session_id: str | None


@dataclass
class HeartbeatLog:
    """Heartbeats the gateway received (``time.monotonic()`` stamps)."""

    times: list[float] = field(default_factory=list)

    def max_gap(self) -> float:
        """The longest pause between two consecutive heartbeats (0 if fewer than two)."""
        return max((b - a for a, b in zip(self.times, self.times[1:], strict=False)), default=0.0)


class Connection:
    """One WebSocket connection: compression, ordered writes, heartbeats."""

    def __init__(self, ws: web.WebSocketResponse, compress: Compressor | None) -> None:
        self.ws = ws
        self._compress = compress
        self._queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write_loop(), name="localdiscord-gateway-writer")
        self.session: Session | None = None
        self.last_heartbeat: float | None = None
        self.close_code: int | None = None
        self.server_initiated = False

    def send(self, frame: dict[str, Any]) -> None:
        """Queue a frame; frames go out in the order they were queued."""
        self._queue.put_nowait(frame)

    async def flush(self) -> None:
        """Wait until every queued frame was written to the socket."""
        await self._queue.join()

    async def _write_loop(self) -> None:
        while True:
            frame = await self._queue.get()
            try:
                if frame is None:
                    return
                if self.ws.closed:
                    continue
                text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
                try:
                    if self._compress is not None:
                        await self.ws.send_bytes(self._compress(text.encode()))
                    else:
                        await self.ws.send_str(text)
                except (ConnectionError, RuntimeError):
                    log.debug("gateway write failed; connection is closing")
            finally:
                self._queue.task_done()

    async def close(self, code: int, message: str = "") -> None:
        """Close the socket with ``code``."""
        self.server_initiated = True
        if self.close_code is None:
            self.close_code = code
        with contextlib.suppress(Exception):
            await self.flush()
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=message.encode())

    async def stop_writer(self) -> None:
        """Stop the writer task."""
        self._queue.put_nowait(None)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._writer, timeout=1.0)


class GatewayHub:
    """Accepts gateway connections and fans dispatched events out to sessions."""

    def __init__(
        self,
        world: World,
        *,
        heartbeat_interval: float,
        allowed_intents: int,
        record_violation: Callable[[Violation], None],
        notify: Callable[[], None],
        public_url: Callable[[], str],
        heartbeat_tolerance: float = 1.5,
    ) -> None:
        self.world = world
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_tolerance = heartbeat_tolerance
        self.allowed_intents = allowed_intents
        self._record = record_violation
        self._notify = notify
        self._public_url = public_url
        self.sessions: dict[str, Session] = {}
        self.connections: list[Connection] = []
        self.heartbeats = HeartbeatLog()
        self.identifies: list[dict[str, Any]] = []
        self.closes: list[GatewayClose] = []
        self.ready = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- dispatch

    def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        guild_id: int | None,
        channel: Channel | None,
    ) -> None:
        """Send an event to every live session that would receive it on Discord."""
        needed = _EVENT_INTENTS.get(event, 0)
        if channel is not None and channel.is_dm:
            needed = {
                GUILD_MESSAGES: DIRECT_MESSAGES,
                GUILD_MESSAGE_REACTIONS: DIRECT_MESSAGE_REACTIONS,
            }.get(needed, needed)
        if channel is not None and not self._bot_sees(channel):
            return
        for session in list(self.sessions.values()):
            if session.invalidated or not session.wants(guild_id):
                continue
            if needed and not session.intents & needed:
                continue
            payload = data
            if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not self._may_read(session, data):
                payload = {
                    **data,
                    **{k: "" if k == "content" else [] for k in _CONTENT_FIELDS if k in data},
                }
            if event == "GUILD_CREATE" and not session.intents & GUILD_PRESENCES:
                bot_id = str(self.world.bot.id)
                members = [m for m in data.get("members", []) if m["user"]["id"] == bot_id]
                payload = {**data, "members": members}
            self._send_dispatch(session, event, payload)
        self._notify()

    def _bot_sees(self, channel: Channel) -> bool:
        # Overwrites outlive deletion, so this also answers for CHANNEL/THREAD_DELETE.
        return self.world.can_view(self.world.bot.id, channel)

    def _may_read(self, session: Session, data: dict[str, Any]) -> bool:
        if session.intents & MESSAGE_CONTENT:
            return True
        bot_id = str(self.world.bot.id)
        if data.get("author", {}).get("id") == bot_id:
            return True
        return any(m.get("id") == bot_id for m in data.get("mentions", []))

    def _send_dispatch(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.buffer.append(frame)
        if session.connection is not None:
            session.connection.send(frame)

    async def flush(self) -> None:
        """Wait until every queued frame on every connection was written."""
        for connection in list(self.connections):
            await connection.flush()

    # -------------------------------------------------------------- connections

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one gateway WebSocket."""
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024, autoping=True)
        await ws.prepare(request)
        query = request.query
        compress = query.get("compress")
        compressor = make_compressor(compress) if compress is not None else None
        connection = Connection(ws, compressor)
        self.connections.append(connection)
        try:
            if query.get("v") not in (None, "10"):
                self._record(
                    Violation(
                        "gateway_version",
                        f"gateway v={query.get('v')} requested; only v10 is served",
                    )
                )
                await connection.close(4012, "Invalid API version")
                return ws
            if query.get("encoding", "json") != "json":
                self._record(
                    Violation(
                        "gateway_encoding", f"encoding={query.get('encoding')} is not supported"
                    )
                )
                await connection.close(4002, "Decode error")
                return ws
            if compress is not None and compressor is None:
                self._record(
                    Violation(
                        "gateway_compress",
                        f"compress={compress} is not supported here "
                        "(zlib-stream; zstd-stream only when a zstd module is installed)",
                    )
                )
                # 4012 is not resumable for discord.py, so it stops instead of looping.
                await connection.close(4012, "Unsupported compression")
                return ws
            connection.send(
                {
                    "op": HELLO,
                    "d": {"heartbeat_interval": int(self.heartbeat_interval * 1000)},
                    "s": None,
                    "t": None,
                }
            )
            watchdog = asyncio.create_task(self._watch_heartbeats(connection))
            try:
                await self._receive_loop(connection)
            finally:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
        finally:
            await connection.stop_writer()
            code = connection.close_code if connection.close_code is not None else ws.close_code
            session_id = None if connection.session is None else connection.session.id
            self.closes.append(GatewayClose(code, connection.server_initiated, session_id))
            if connection.session is not None and connection.session.connection is connection:
                connection.session.connection = None
            if connection in self.connections:
                self.connections.remove(connection)
            self._notify()
        return ws

    async def _receive_loop(self, connection: Connection) -> None:
        async for msg in connection.ws:
            if msg.type is not WSMsgType.TEXT and msg.type is not WSMsgType.BINARY:
                continue
            try:
                raw = msg.data if isinstance(msg.data, str) else msg.data.decode()
                frame = json.loads(raw)
                op = frame["op"]
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                self._record(
                    Violation("gateway_decode", "client sent an undecodable gateway frame")
                )
                await connection.close(4002, "Decode error")
                return
            if op == HEARTBEAT:
                self._on_heartbeat(connection)
                connection.send({"op": HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            elif op == IDENTIFY:
                await self._on_identify(connection, frame.get("d") or {})
            elif op == RESUME:
                await self._on_resume(connection, frame.get("d") or {})
            elif connection.session is None:
                self._record(
                    Violation("gateway_not_authenticated", f"op {op} sent before IDENTIFY")
                )
                await connection.close(4003, "Not authenticated")
                return
            elif op == REQUEST_GUILD_MEMBERS:
                self._on_request_members(connection, frame.get("d") or {})
            elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
                continue
            else:
                self._record(
                    Violation("gateway_unknown_opcode", f"client sent unknown opcode {op}")
                )
                await connection.close(4001, "Unknown opcode")
                return
            self._notify()

    def _on_heartbeat(self, connection: Connection) -> None:
        now = time.monotonic()
        limit = self.heartbeat_interval * self.heartbeat_tolerance + 0.1
        if connection.last_heartbeat is not None and now - connection.last_heartbeat > limit:
            self._record(
                Violation(
                    "heartbeat_late",
                    f"{now - connection.last_heartbeat:.2f}s between heartbeats "
                    f"(interval {self.heartbeat_interval:.2f}s): was the event loop blocked?",
                )
            )
        connection.last_heartbeat = now
        self.heartbeats.times.append(now)

    async def _watch_heartbeats(self, connection: Connection) -> None:
        limit = self.heartbeat_interval * self.heartbeat_tolerance + 0.1
        reported_for: float | None = None
        while not connection.ws.closed:
            await asyncio.sleep(max(self.heartbeat_interval / 4, 0.05))
            last = connection.last_heartbeat
            if last is None or last == reported_for:
                continue
            if time.monotonic() - last > limit:
                reported_for = last
                self._record(
                    Violation(
                        "heartbeat_late",
                        f"no heartbeat for more than {limit:.2f}s "
                        f"(interval {self.heartbeat_interval:.2f}s)",
                    )
                )

    async def _on_identify(self, connection: Connection, data: dict[str, Any]) -> None:
        if connection.session is not None:
            self._record(
                Violation("gateway_already_authenticated", "IDENTIFY sent twice on one connection")
            )
            await connection.close(4005, "Already authenticated")
            return
        if data.get("token") != self.world.bot.token:
            self._record(Violation("gateway_auth", "IDENTIFY with a wrong token"))
            await connection.close(4004, "Authentication failed")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents > ALL_INTENTS:
            self._record(Violation("gateway_intents", f"IDENTIFY with invalid intents {intents!r}"))
            await connection.close(4013, "Invalid intent(s)")
            return
        disallowed = intents & PRIVILEGED_INTENTS & ~self.allowed_intents
        if disallowed:
            self._record(
                Violation(
                    "gateway_intents",
                    f"privileged intents {disallowed} are not enabled for this application",
                )
            )
            await connection.close(4014, "Disallowed intent(s)")
            return
        shard_raw = data.get("shard")
        shard: tuple[int, int] | None = None
        if shard_raw is not None:
            shard = (int(shard_raw[0]), int(shard_raw[1]))
            if shard[1] < 1 or not 0 <= shard[0] < shard[1]:
                await connection.close(4010, "Invalid shard")
                return
        self.identifies.append(data)
        session = Session(id=secrets.token_hex(16), intents=intents, identify=data, shard=shard)
        self.sessions[session.id] = session
        session.connection = connection
        connection.session = session
        guilds = [g for g in self.world.guilds.values() if session.wants(g.id)]
        ready: dict[str, Any] = {
            "v": 10,
            "user": {
                **self.world.user_payload(self.world.bot),
                "verified": True,
                "mfa_enabled": False,
                "flags": 0,
            },
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self._public_url(),
            "application": {
                "id": str(self.world.bot.application_id),
                "flags": APPLICATION_FLAGS,
            },
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth_session_id_hash": "",
            "_trace": ['["localdiscord",{"micros":0}]'],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        self._send_dispatch(session, "READY", ready)
        if intents & GUILDS:
            for guild in guilds:
                self._send_dispatch(
                    session,
                    "GUILD_CREATE",
                    self.world.guild_create_payload(
                        guild, all_members=bool(intents & GUILD_PRESENCES)
                    ),
                )
        await connection.flush()
        self.ready.set()
        log.debug("gateway session %s identified with intents %s", session.id, intents)

    async def _on_resume(self, connection: Connection, data: dict[str, Any]) -> None:
        session = self.sessions.get(str(data.get("session_id")))
        if data.get("token") != self.world.bot.token:
            await connection.close(4004, "Authentication failed")
            return
        if session is None or session.invalidated:
            connection.send({"op": INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        seq = data.get("seq") or 0
        if seq > session.seq:
            await connection.close(4007, "Invalid seq")
            return
        if session.connection is not None and session.connection is not connection:
            old = session.connection
            old.session = None
            self._spawn(old.close(4009, "Session resumed elsewhere"))
        session.connection = connection
        connection.session = session
        for frame in list(session.buffer):
            if frame["s"] > seq:
                connection.send(frame)
        self._send_dispatch(session, "RESUMED", {"_trace": ['["localdiscord",{"micros":0}]']})
        await connection.flush()
        log.debug("gateway session %s resumed from seq %s", session.id, seq)

    def _on_request_members(self, connection: Connection, data: dict[str, Any]) -> None:
        session = connection.session
        assert session is not None
        guild_ids = data.get("guild_id")
        ids = guild_ids if isinstance(guild_ids, list) else [guild_ids]
        for raw in ids:
            guild = self.world.guilds.get(int(raw)) if raw is not None else None
            if guild is None:
                continue
            members = list(guild.members.values())
            query = data.get("query")
            user_ids = data.get("user_ids")
            if user_ids is not None:
                wanted = {int(u) for u in (user_ids if isinstance(user_ids, list) else [user_ids])}
                members = [m for m in members if m.id in wanted]
            elif query:
                members = [
                    m for m in members if m.user.username.lower().startswith(str(query).lower())
                ]
            limit = int(data.get("limit") or 0)
            if limit:
                members = members[:limit]
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [self.world.member_payload(m) for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
            }
            if data.get("nonce") is not None:
                chunk["nonce"] = data["nonce"]
            self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ----------------------------------------------------------------- control

    async def request_reconnect(self) -> None:
        """Send RECONNECT (op 7) on every connection; clients resume elsewhere."""
        for connection in list(self.connections):
            connection.server_initiated = True
            connection.send({"op": RECONNECT, "d": None, "s": None, "t": None})
        await self.flush()

    async def invalidate_sessions(self, *, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9); unless ``resumable`` the sessions are dropped."""
        for session in self.sessions.values():
            if not resumable:
                session.invalidated = True
            if session.connection is not None:
                session.connection.server_initiated = True
                session.connection.send(
                    {"op": INVALID_SESSION, "d": resumable, "s": None, "t": None}
                )
        await self.flush()

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every socket with ``code`` (4000 lets discord.py RESUME)."""
        for connection in list(self.connections):
            await connection.close(code)

    async def close(self) -> None:
        """Close every socket (1001) and stop background tasks."""
        for connection in list(self.connections):
            await connection.close(1001, "Server shutting down")
        for task in list(self._tasks):
            task.cancel()
