"""LocalDiscord: the server, and the scenario API tests and demos drive it with."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
import re
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

from localdiscord import permissions as perm
from localdiscord._gateway import (
    GUILD_MEMBERS,
    GUILD_PRESENCES,
    MESSAGE_CONTENT,
    GatewayClose,
    GatewayHub,
)
from localdiscord._ratelimit import BucketTracker, RateLimitInjection
from localdiscord._rest import RestApi
from localdiscord._snowflake import SnowflakeFactory
from localdiscord._world import World
from localdiscord.errors import ScenarioError
from localdiscord.models import (
    ApplicationCommand,
    Attachment,
    BotUser,
    Channel,
    ChannelFlag,
    ChannelType,
    DMChannel,
    ForumTag,
    Guild,
    InteractionType,
    Member,
    Message,
    Overwrite,
    Role,
    Thread,
    User,
    utcnow,
)
from localdiscord.permissions import Permissions
from localdiscord.records import InteractionRecord, RecordedRequest, Violation

log = logging.getLogger(__name__)

T = TypeVar("T")

_VIEW_AND_POST = int(
    Permissions.VIEW_CHANNEL
    | Permissions.SEND_MESSAGES
    | Permissions.SEND_MESSAGES_IN_THREADS
    | Permissions.READ_MESSAGE_HISTORY
    | Permissions.ADD_REACTIONS
)


@dataclass(frozen=True)
class TagSpec:
    """A forum tag to create: ``moderated`` tags need MANAGE_THREADS to apply."""

    name: str
    moderated: bool = False
    emoji: str | None = None


class LocalDiscord:
    """A local stand-in for Discord's API v10 (REST + gateway) on 127.0.0.1.

    Build the world with the ``add_*`` methods, ``await start()``, point discord.py at
    :attr:`url` (see :func:`localdiscord.discordpy.point_discord_py_at`), then drive
    the scenario with the ``async`` actions and assert on :attr:`requests`,
    :attr:`violations`, :meth:`messages_in` and interaction records.
    """

    def __init__(
        self,
        *,
        bot_name: str = "Senpai",
        heartbeat_interval: float = 41.25,
        interaction_timeout: float = 3.0,
        privileged_intents: int = MESSAGE_CONTENT | GUILD_MEMBERS | GUILD_PRESENCES,
        rest_rate_limit: tuple[int, float] = (50, 1.0),
        ping_safety: bool = True,
        host: str = "127.0.0.1",
        recommended_shards: int = 1,
    ) -> None:
        """Configure the server.

        ``heartbeat_interval`` is in seconds (HELLO sends milliseconds);
        ``interaction_timeout`` is Discord's 3 s deadline for the initial response;
        ``privileged_intents`` are the ones "enabled in the developer portal";
        ``rest_rate_limit`` is ``(requests, seconds)`` per bucket; ``ping_safety``
        turns the allowed-mentions rule on; ``recommended_shards`` is the shard count
        ``GET /gateway/bot`` recommends (what an auto-sharded client runs by default).
        """
        self.ids = SnowflakeFactory()
        application_id = self.ids.next()
        token = ".".join(
            (
                base64.urlsafe_b64encode(str(application_id).encode()).decode().rstrip("="),
                secrets.token_urlsafe(4),
                secrets.token_urlsafe(27),
            )
        )
        self.bot_user = BotUser(
            id=application_id,
            username=bot_name,
            bot=True,
            token=token,
            application_id=application_id,
        )
        self.world = World(self.bot_user, self.ids)
        self.heartbeat_interval = heartbeat_interval
        self.interaction_timeout = interaction_timeout
        self.privileged_intents = privileged_intents
        self.rest_rate_limit = rest_rate_limit
        self.ping_safety = ping_safety
        self.host = host
        if recommended_shards < 1:
            raise ValueError(f"recommended_shards must be at least 1, not {recommended_shards}")
        self.recommended_shards = recommended_shards
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.interactions: list[InteractionRecord] = []
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self.rate_limit_injections: list[RateLimitInjection] = []
        self.buckets = BucketTracker(*rest_rate_limit)
        self.hub = GatewayHub(
            self.world,
            heartbeat_interval=heartbeat_interval,
            allowed_intents=privileged_intents,
            record_violation=self.record_violation,
            notify=self.notify,
            public_url=lambda: self.gateway_url,
        )
        self.world.emit = self.hub.dispatch
        self.rest = RestApi(self)
        self._runner: web.AppRunner | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._timers: list[asyncio.TimerHandle] = []

    # ------------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base HTTP URL, for example ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What discord.py's ``Route.BASE`` must be: ``{url}/api/v10``."""
        return f"{self.url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The gateway WebSocket URL (also returned by ``GET /gateway/bot``)."""
        return f"ws://{self.host}:{self.port}/gateway"

    @property
    def application_id(self) -> int:
        """The bot's application id."""
        return self.bot_user.application_id

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.hub.handle)
        app.router.add_route("*", "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self.port = sock.getsockname()[1]
        site = web.SockSite(self._runner, sock)
        await site.start()
        self.world.attachment_base = self.url
        log.info("LocalDiscord listening on %s", self.url)

    async def stop(self) -> None:
        """Close gateway connections and stop listening."""
        for timer in self._timers:
            timer.cancel()
        await self.hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LocalDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------ recording / waiting

    def record_violation(self, violation: Violation) -> None:
        """Record something Discord would reject or a house rule forbids."""
        log.warning("LocalDiscord violation: %s", violation)
        self.violations.append(violation)
        self.notify()

    def notify(self) -> None:
        """Wake everything waiting in :meth:`wait_for`."""
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Wait until ``predicate()`` is truthy and return its value.

        Re-evaluated on every request, gateway frame and violation, and at least every
        50 ms, so predicates over the bot's own state work too.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait({waiter}, timeout=min(remaining, 0.05))
            finally:
                self._waiters.discard(waiter)

    async def wait_for_request(
        self,
        method: str,
        path: str,
        *,
        since: int = 0,
        status: int | None = None,
        timeout: float = 10.0,
    ) -> RecordedRequest:
        """Wait for a request whose method matches and whose path matches the regex ``path``.

        ``since`` is an index into :attr:`requests` (``len(server.requests)`` taken
        earlier) so older requests are not matched.
        """
        pattern = re.compile(path)

        def find() -> RecordedRequest | None:
            for request in self.requests[since:]:
                if (
                    request.method == method.upper()
                    and pattern.search(request.path)
                    and (status is None or request.status == status)
                ):
                    return request
            return None

        return await self.wait_for(find, timeout=timeout)

    async def wait_for_bot_message(
        self,
        channel: Channel,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 10.0,
    ) -> Message:
        """Wait for a (visible) message by the bot in ``channel`` matching ``predicate``."""

        def find() -> Message | None:
            for message in self.bot_messages(channel):
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_for(find, timeout=timeout)

    def direct_messages(self, user: User | Member) -> list[Message]:
        """Visible messages the bot sent to ``user`` by direct message, oldest first."""
        target = user.user if isinstance(user, Member) else user
        for channel in self.world.channels.values():
            if isinstance(channel, DMChannel) and channel.recipient_id == target.id:
                return self.bot_messages(channel)
        return []

    async def wait_for_direct_message(
        self,
        user: User | Member,
        predicate: Callable[[Message], bool] | None = None,
        *,
        timeout: float = 10.0,
    ) -> Message:
        """Wait for a direct message from the bot to ``user`` matching ``predicate``."""

        def find() -> Message | None:
            for message in self.direct_messages(user):
                if predicate is None or predicate(message):
                    return message
            return None

        return await self.wait_for(find, timeout=timeout)

    def set_accepts_dms(self, user: User | Member, accepts: bool) -> None:
        """Let ``user`` accept direct messages or refuse them (the bot then gets 50007)."""
        (user.user if isinstance(user, Member) else user).accepts_dms = accepts

    async def wait_until_ready(self, timeout: float = 10.0) -> None:
        """Wait until a bot identified and was sent READY and every GUILD_CREATE."""
        await asyncio.wait_for(self.hub.ready.wait(), timeout)

    def take_violations(self, rule: str | None = None) -> list[Violation]:
        """Remove and return the violations of ``rule`` (all when ``None``)."""
        taken = [v for v in self.violations if rule is None or v.rule == rule]
        self.violations = [v for v in self.violations if v not in taken]
        return taken

    def assert_clean(self, *, ignore: Iterable[str] = ()) -> None:
        """Fail (AssertionError) if any violation was recorded, except rules in ``ignore``."""
        ignored = set(ignore)
        found = [v for v in self.violations if v.rule not in ignored]
        if found:
            lines = "\n".join(f"  - {v}" for v in found)
            raise AssertionError(f"LocalDiscord recorded {len(found)} violation(s):\n{lines}")

    def inject_rate_limit(
        self,
        method: str | None,
        path_regex: str,
        *,
        retry_after: float = 0.2,
        count: int = 1,
        global_: bool = False,
        scope: str = "user",
    ) -> RateLimitInjection:
        """Answer the next ``count`` matching requests with 429.

        ``path_regex`` is searched in the path without ``/api/v10``
        (``r"/channels/\\d+/messages$"``). The 429 carries ``Retry-After``,
        ``X-RateLimit-*`` and ``Via`` headers and Discord's JSON body.
        """
        injection = RateLimitInjection(
            method=method,
            pattern=re.compile(path_regex),
            retry_after=retry_after,
            count=count,
            global_=global_,
            scope="global" if global_ else scope,
        )
        self.rate_limit_injections.append(injection)
        return injection

    # ---------------------------------------------------------------- queries

    @property
    def heartbeats(self) -> list[float]:
        """``time.monotonic()`` stamps of every heartbeat received."""
        return list(self.hub.heartbeats.times)

    def max_heartbeat_gap(self) -> float:
        """The longest pause between consecutive heartbeats, in seconds."""
        return self.hub.heartbeats.max_gap()

    @property
    def gateway_closes(self) -> list[GatewayClose]:
        """How each finished gateway connection ended (code, who closed it)."""
        return list(self.hub.closes)

    @property
    def identify_payloads(self) -> list[dict[str, Any]]:
        """Every IDENTIFY ``d`` received (intents, properties, shard...)."""
        return list(self.hub.identifies)

    def dispatched_to_shard(self, shard_id: int) -> list[tuple[str, dict[str, Any]]]:
        """``(event name, data)`` of the dispatches sent to sessions identified as
        ``shard_id`` (of any shard count), oldest first; the latest 2000 per session."""
        return [
            (frame["t"], frame["d"])
            for session in self.hub.sessions.values()
            if session.shard is not None and session.shard[0] == shard_id
            for frame in session.buffer
        ]

    def messages_in(self, channel: Channel, *, include_deleted: bool = False) -> list[Message]:
        """Messages of a channel or thread, oldest first (ephemeral ones excluded)."""
        return [
            m
            for m in self.world.channel_messages.get(channel.id, [])
            if not m.ephemeral and (include_deleted or not m.deleted)
        ]

    def bot_messages(self, channel: Channel) -> list[Message]:
        """Visible messages the bot sent in ``channel`` (incl. interaction responses)."""
        return [m for m in self.messages_in(channel) if m.author.id == self.bot_user.id]

    def message(self, message_id: int) -> Message:
        """A message by id (KeyError if unknown)."""
        return self.world.messages[message_id]

    def channel(self, channel_id: int) -> Channel:
        """A channel or thread by id (KeyError if unknown)."""
        return self.world.channels[channel_id]

    def thread_tags(self, thread: Thread) -> list[str]:
        """Names of the tags applied to a forum post, in applied order."""
        parent = self.world.parent_of(thread)
        names = {t.id: t.name for t in parent.available_tags}
        return [names.get(t, str(t)) for t in thread.applied_tags]

    def commands(self, guild: Guild | None = None) -> list[ApplicationCommand]:
        """Application commands the bot registered (global, or for ``guild``)."""
        return list(self.world.commands.get(None if guild is None else guild.id, []))

    def readable(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Blank message content the app may not read without the MESSAGE_CONTENT intent."""
        if self.privileged_intents & MESSAGE_CONTENT:
            return payload
        bot_id = str(self.bot_user.id)
        if payload.get("author", {}).get("id") == bot_id:
            return payload
        if any(m.get("id") == bot_id for m in payload.get("mentions", [])):
            return payload
        return {**payload, "content": "", "embeds": [], "attachments": [], "components": []}

    # ----------------------------------------------------------- world building

    def add_guild(
        self,
        name: str,
        *,
        locale: str = "en-US",
        owner_name: str = "owner",
        bot_permissions: int = perm.DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = perm.DEFAULT_EVERYONE_PERMISSIONS,
        description: str | None = None,
        shard: tuple[int, int] | None = None,
    ) -> Guild:
        """Create a guild with an owner, @everyone, and the bot (with a managed role).

        ``shard=(shard_id, num_shards)`` gives it an id that Discord's sharding formula
        sends to that shard (for tests of sharded bots)."""
        owner = self._new_user(owner_name, locale=locale)
        guild = Guild(
            id=self.ids.next() if shard is None else self.ids.next_on_shard(*shard),
            name=name,
            owner_id=owner.id,
            locale=locale,
            description=description,
        )
        guild.roles[guild.id] = Role(
            id=guild.id, guild_id=guild.id, name="@everyone", permissions=everyone_permissions
        )
        bot_role = Role(
            id=self.ids.next(),
            guild_id=guild.id,
            name=self.bot_user.username,
            permissions=bot_permissions,
            position=1,
            managed=True,
            bot_id=self.bot_user.id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = Member(guild_id=guild.id, user=owner)
        guild.members[self.bot_user.id] = Member(
            guild_id=guild.id, user=self.bot_user, role_ids=[bot_role.id]
        )
        self.world.guilds[guild.id] = guild
        self.world.emit("GUILD_CREATE", self.world.guild_create_payload(guild), guild.id, None)
        return guild

    def upload(self, filename: str, data: bytes, *, content_type: str | None = None) -> Attachment:
        """A file a member attaches to a slash command's ATTACHMENT option (pass it as the
        option's value); the bot downloads it from its ``url`` as from Discord's CDN."""
        attachment_id = self.world.ids.next()
        attachment = Attachment(
            id=attachment_id,
            filename=filename,
            data=data,
            content_type=content_type,
            url=f"{self.url}/attachments/uploads/{attachment_id}/{filename}",
        )
        self.world.uploads[attachment_id] = attachment
        return attachment

    def owner(self, guild: Guild) -> Member:
        """The guild owner (all permissions)."""
        return guild.members[guild.owner_id]

    def bot_member(self, guild: Guild) -> Member:
        """The bot's member object in ``guild``."""
        return guild.members[self.bot_user.id]

    def bot_role(self, guild: Guild) -> Role:
        """The bot's managed role in ``guild``."""
        return next(r for r in guild.roles.values() if r.bot_id == self.bot_user.id)

    def add_role(
        self,
        guild: Guild,
        name: str,
        *,
        permissions: int = 0,
        color: int = 0,
        hoist: bool = False,
        mentionable: bool = False,
    ) -> Role:
        """Create a role above the existing ones."""
        role = Role(
            id=self.ids.next(),
            guild_id=guild.id,
            name=name,
            permissions=int(permissions),
            position=max(r.position for r in guild.roles.values()) + 1,
            color=color,
            hoist=hoist,
            mentionable=mentionable,
        )
        guild.roles[role.id] = role
        self.world.emit(
            "GUILD_ROLE_CREATE",
            {"guild_id": str(guild.id), "role": self.world.role_payload(role)},
            guild.id,
            None,
        )
        return role

    def add_member(
        self,
        guild: Guild,
        name: str,
        *,
        roles: Sequence[Role | str] = (),
        nick: str | None = None,
        global_name: str | None = None,
        locale: str | None = None,
        bot: bool = False,
    ) -> Member:
        """Create a user and add them to ``guild`` (``locale`` defaults to the guild's)."""
        user = self._new_user(name, locale=locale or guild.locale, global_name=global_name, bot=bot)
        member = Member(
            guild_id=guild.id,
            user=user,
            role_ids=[self._role(guild, r).id for r in roles],
            nick=nick,
        )
        guild.members[user.id] = member
        self.world.emit(
            "GUILD_MEMBER_ADD",
            {**self.world.member_payload(member), "guild_id": str(guild.id)},
            guild.id,
            None,
        )
        return member

    async def update_member(
        self,
        member: Member,
        *,
        roles: Sequence[Role | str] | None = None,
        nick: str | None = None,
    ) -> Member:
        """Change a member's roles or nick (GUILD_MEMBER_UPDATE)."""
        guild = self.world.guilds[member.guild_id]
        if roles is not None:
            member.role_ids = [self._role(guild, r).id for r in roles]
        if nick is not None:
            member.nick = nick
        self.world.emit(
            "GUILD_MEMBER_UPDATE",
            {**self.world.member_payload(member), "guild_id": str(guild.id)},
            guild.id,
            None,
        )
        await self.hub.flush()
        return member

    def add_text_channel(
        self,
        guild: Guild,
        name: str,
        *,
        topic: str | None = None,
        private: bool = False,
        allow: Sequence[Role | Member] = (),
        bot_access: bool = True,
        overwrites: Sequence[Overwrite] = (),
    ) -> Channel:
        """Create a text channel (``private``: @everyone denied VIEW_CHANNEL)."""
        channel = Channel(
            id=self.ids.next(),
            guild_id=guild.id,
            type=ChannelType.GUILD_TEXT,
            name=name,
            topic=topic,
            position=len(guild.channels),
            overwrites=self._overwrites(guild, private, allow, bot_access, overwrites),
        )
        return self._add_channel(guild, channel)

    def add_forum(
        self,
        guild: Guild,
        name: str,
        *,
        tags: Sequence[str | TagSpec] = (),
        private: bool = False,
        allow: Sequence[Role | Member] = (),
        bot_access: bool = True,
        topic: str | None = None,
        require_tag: bool = False,
        overwrites: Sequence[Overwrite] = (),
    ) -> Channel:
        """Create a forum channel with ``tags``.

        ``private`` adds an @everyone overwrite denying VIEW_CHANNEL; ``allow`` lists
        roles or members that may still see and post; ``bot_access`` lets the bot in
        (set it false to test a forum the bot cannot see).
        """
        channel = Channel(
            id=self.ids.next(),
            guild_id=guild.id,
            type=ChannelType.GUILD_FORUM,
            name=name,
            topic=topic,
            position=len(guild.channels),
            overwrites=self._overwrites(guild, private, allow, bot_access, overwrites),
            flags=int(ChannelFlag.REQUIRE_TAG) if require_tag else 0,
        )
        for spec in tags:
            spec = TagSpec(spec) if isinstance(spec, str) else spec
            channel.available_tags.append(
                ForumTag(
                    id=self.ids.next(),
                    name=spec.name,
                    moderated=spec.moderated,
                    emoji_name=spec.emoji,
                )
            )
        return self._add_channel(guild, channel)

    def add_post(
        self,
        member: Member,
        forum: Channel,
        title: str,
        body: str,
        *,
        tags: Sequence[str] = (),
        replies: Sequence[tuple[Member, str]] = (),
        archived: bool = False,
        locked: bool = False,
        created_at: dt.datetime | None = None,
        archived_at: dt.datetime | None = None,
    ) -> Thread:
        """Seed an existing forum post (history: no gateway events are sent).

        Replies are spaced one minute apart after ``created_at``.
        """
        self._require_forum(forum)
        created = created_at or utcnow()
        thread = self.world.create_thread(
            forum,
            member.user,
            title,
            applied_tags=[forum.tag(t).id for t in tags],
            at=created,
            emit=False,
        )
        self.world.add_message(
            thread, member.user, content=body, at=created, message_id=thread.id, emit=False
        )
        last = created
        for index, (author, text) in enumerate(replies, start=1):
            last = created + dt.timedelta(minutes=index)
            self.world.add_message(thread, author.user, content=text, at=last, emit=False)
        thread.locked = locked
        if archived:
            thread.archived = True
            thread.archive_timestamp = archived_at or last + dt.timedelta(hours=1)
        return thread

    def add_message(
        self,
        member: Member,
        channel: Channel,
        content: str,
        *,
        reply_to: Message | None = None,
        created_at: dt.datetime | None = None,
    ) -> Message:
        """Seed an existing message (history: no gateway event is sent)."""
        return self.world.add_message(
            channel,
            member.user,
            content=content,
            reference=self._reference(reply_to),
            at=created_at,
            emit=False,
        )

    def add_bot_message(
        self,
        channel: Channel,
        content: str = "",
        *,
        embeds: Sequence[dict[str, Any]] = (),
        components: Sequence[dict[str, Any]] = (),
        created_at: dt.datetime | None = None,
    ) -> Message:
        """Seed a message the bot sent earlier (for example before a restart).

        Components are raw Discord JSON (action rows with buttons...), so persistent
        views can be exercised against messages the current process never sent.
        """
        return self.world.add_message(
            channel,
            self.bot_user,
            content=content,
            embeds=list(embeds),
            components=list(components),
            allowed_mentions={"parse": []},
            at=created_at,
            emit=False,
        )

    # ----------------------------------------------------------- live actions

    async def open_post(
        self,
        member: Member,
        forum: Channel,
        title: str,
        body: str,
        *,
        tags: Sequence[str] = (),
    ) -> Thread:
        """A member opens a forum post: THREAD_CREATE, then MESSAGE_CREATE (id == thread id)."""
        self._require_forum(forum)
        self._require_member_perms(
            member, forum, Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES
        )
        applied = [self._tag(forum, name) for name in tags]
        if any(t.moderated for t in applied):
            self._require_member_perms(member, forum, Permissions.MANAGE_THREADS)
        if forum.flags & ChannelFlag.REQUIRE_TAG and not applied:
            raise ScenarioError(f"forum {forum.name!r} requires a tag")
        thread = self.world.create_thread(
            forum, member.user, title, applied_tags=[t.id for t in applied]
        )
        self.world.add_message(thread, member.user, content=body, message_id=thread.id)
        await self.hub.flush()
        return thread

    async def send_message(
        self,
        member: Member,
        channel: Channel,
        content: str,
        *,
        reply_to: Message | None = None,
        embeds: Sequence[dict[str, Any]] = (),
    ) -> Message:
        """A member posts a message (MESSAGE_CREATE); posting unarchives a thread."""
        if channel.is_forum:
            raise ScenarioError("messages cannot be sent directly in a forum; use open_post")
        wanted = (
            Permissions.SEND_MESSAGES_IN_THREADS if channel.is_thread else Permissions.SEND_MESSAGES
        )
        self._require_member_perms(member, channel, Permissions.VIEW_CHANNEL | wanted)
        if isinstance(channel, Thread) and channel.archived:
            if channel.locked:
                self._require_member_perms(member, channel, Permissions.MANAGE_THREADS)
            self.world.update_thread(channel, {"archived": False})
        message = self.world.add_message(
            channel,
            member.user,
            content=content,
            embeds=list(embeds),
            reference=self._reference(reply_to),
        )
        await self.hub.flush()
        return message

    async def edit_message(self, message: Message, content: str) -> Message:
        """The author edits their message (MESSAGE_UPDATE)."""
        if message.author.id == self.bot_user.id:
            raise ScenarioError("members cannot edit the bot's messages")
        channel = self.world.channels[message.channel_id]
        if isinstance(channel, Thread) and channel.archived:
            raise ScenarioError("messages in archived threads cannot be edited")
        self.world.edit_message(message, {"content": content})
        await self.hub.flush()
        return message

    async def delete_message(self, message: Message) -> None:
        """The message is deleted (by its author or a moderator): MESSAGE_DELETE."""
        self.world.delete_message(message)
        await self.hub.flush()

    async def delete_thread(self, thread: Thread) -> None:
        """A moderator deletes a thread or post: THREAD_DELETE."""
        self.world.delete_channel(thread)
        await self.hub.flush()

    async def set_thread_tags(
        self, member: Member, thread: Thread, tag_names: Sequence[str]
    ) -> Thread:
        """The post owner or a moderator sets the post's tags (THREAD_UPDATE)."""
        forum = self.world.parent_of(thread)
        self._require_owner_or_moderator(member, thread)
        tags = [self._tag(forum, name) for name in tag_names]
        touched = {t.id for t in tags} ^ set(thread.applied_tags)
        if any(t.moderated for t in forum.available_tags if t.id in touched):
            self._require_member_perms(member, thread, Permissions.MANAGE_THREADS)
        if len(tags) > 5:
            raise ScenarioError("a post can have at most 5 tags")
        changes: dict[str, Any] = {"applied_tags": [t.id for t in tags]}
        if thread.archived:
            changes["archived"] = False
        self.world.update_thread(thread, changes)
        await self.hub.flush()
        return thread

    async def archive_thread(
        self,
        member: Member,
        thread: Thread,
        *,
        archived: bool = True,
        locked: bool | None = None,
    ) -> Thread:
        """The owner or a moderator archives (or unarchives) a thread: THREAD_UPDATE."""
        self._require_owner_or_moderator(member, thread)
        changes: dict[str, Any] = {"archived": archived}
        if locked is not None:
            self._require_member_perms(member, thread, Permissions.MANAGE_THREADS)
            changes["locked"] = locked
        self.world.update_thread(thread, changes)
        await self.hub.flush()
        return thread

    async def add_reaction(self, member: Member, message: Message, emoji: str) -> None:
        """A member reacts (MESSAGE_REACTION_ADD). ``emoji``: unicode or ``name:id``."""
        channel = self.world.channels[message.channel_id]
        self._require_member_perms(
            member, channel, Permissions.VIEW_CHANNEL | Permissions.READ_MESSAGE_HISTORY
        )
        if emoji not in message.reactions:
            self._require_member_perms(member, channel, Permissions.ADD_REACTIONS)
        if isinstance(channel, Thread) and channel.archived:
            raise ScenarioError("reactions cannot be added in archived threads")
        self.world.add_reaction(message, member.user, emoji)
        await self.hub.flush()

    async def remove_reaction(self, member: Member, message: Message, emoji: str) -> None:
        """A member removes their reaction (MESSAGE_REACTION_REMOVE)."""
        self.world.remove_reaction(message, member.id, emoji)
        await self.hub.flush()

    # ------------------------------------------------------------ interactions

    async def run_slash(
        self,
        member: Member,
        channel: Channel,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        locale: str | None = None,
    ) -> InteractionRecord:
        """Invoke a synced slash command: ``run_slash(m, ch, "senpai ask", {"query": ...})``.

        ``command`` is the qualified name (``"cmd"``, ``"cmd sub"``, ``"cmd group sub"``).
        Option values: str/int/float/bool, :class:`Member`/:class:`User` (USER),
        :class:`Channel` (CHANNEL), :class:`Role` (ROLE). Raises :class:`ScenarioError`
        when Discord would not offer the command to this member here.
        """
        data, _ = self._chat_input_data(member, channel, command, options or {})
        return await self._interact(
            InteractionType.APPLICATION_COMMAND, member, channel, data, locale=locale
        )

    async def run_autocomplete(
        self,
        member: Member,
        channel: Channel,
        command: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        locale: str | None = None,
    ) -> InteractionRecord:
        """Send an autocomplete interaction; the bot's choices land in ``autocomplete_choices``."""
        data, leaf = self._chat_input_data(member, channel, command, options, partial=True)
        for option in leaf:
            if option["name"] == focused:
                option["focused"] = True
                option["value"] = str(option["value"])
                break
        else:
            raise ScenarioError(f"focused option {focused!r} is not among the given options")
        return await self._interact(
            InteractionType.APPLICATION_COMMAND_AUTOCOMPLETE, member, channel, data, locale=locale
        )

    async def run_message_command(
        self,
        member: Member,
        message: Message,
        name: str,
        *,
        locale: str | None = None,
    ) -> InteractionRecord:
        """Invoke a message context-menu command on ``message``."""
        channel = self.world.channels[message.channel_id]
        command = self._find_command(member, channel, name, 3)
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": 3,
            "target_id": str(message.id),
            "resolved": {
                "messages": {
                    str(message.id): self.world.message_payload(message, with_member=False)
                }
            },
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return await self._interact(
            InteractionType.APPLICATION_COMMAND, member, channel, data, locale=locale
        )

    async def run_user_command(
        self,
        member: Member,
        target: Member,
        name: str,
        channel: Channel,
        *,
        locale: str | None = None,
    ) -> InteractionRecord:
        """Invoke a user context-menu command on ``target`` from ``channel``."""
        command = self._find_command(member, channel, name, 2)
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": 2,
            "target_id": str(target.id),
            "resolved": self._resolved_for([target], channel),
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        return await self._interact(
            InteractionType.APPLICATION_COMMAND, member, channel, data, locale=locale
        )

    async def press_button(
        self,
        member: Member,
        message: Message,
        custom_id: str,
        *,
        locale: str | None = None,
    ) -> InteractionRecord:
        """Click the button ``custom_id`` on ``message`` (a component interaction)."""
        component = self._component(message, custom_id)
        if component.get("type") != 2:
            raise ScenarioError(f"component {custom_id!r} is not a button")
        data = {"custom_id": custom_id, "component_type": 2}
        channel = self.world.channels[message.channel_id]
        return await self._interact(
            InteractionType.MESSAGE_COMPONENT, member, channel, data, message=message, locale=locale
        )

    async def choose(
        self,
        member: Member,
        message: Message,
        custom_id: str,
        values: Sequence[Any],
        *,
        locale: str | None = None,
    ) -> InteractionRecord:
        """Pick ``values`` in the select menu ``custom_id`` on ``message``.

        String selects take option values; user/role/channel selects take objects.
        """
        component = self._component(message, custom_id)
        kind = component.get("type")
        if kind not in (3, 5, 6, 7, 8):
            raise ScenarioError(f"component {custom_id!r} is not a select menu")
        low, high = component.get("min_values", 1), component.get("max_values", 1)
        if not low <= len(values) <= high:
            raise ScenarioError(f"select {custom_id!r} takes {low}..{high} values")
        channel = self.world.channels[message.channel_id]
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": kind}
        if kind == 3:
            offered = {str(o.get("value")) for o in component.get("options") or []}
            if not {str(v) for v in values} <= offered:
                raise ScenarioError(f"values {values!r} are not options of {custom_id!r}")
            data["values"] = [str(v) for v in values]
        else:
            data["values"] = [str(getattr(v, "id", v)) for v in values]
            data["resolved"] = self._resolved_for(list(values), channel)
        return await self._interact(
            InteractionType.MESSAGE_COMPONENT, member, channel, data, message=message, locale=locale
        )

    async def submit_modal(
        self,
        member: Member,
        interaction: InteractionRecord,
        values: Mapping[str, str | Sequence[str]],
        *,
        locale: str | None = None,
    ) -> InteractionRecord:
        """Fill in and submit the modal the bot showed in answer to ``interaction``."""
        modal = interaction.modal
        if modal is None:
            raise ScenarioError("the bot did not answer this interaction with a modal")
        components = [self._submitted(c, values) for c in modal.get("components") or []]
        unknown = set(values) - {c.get("custom_id") for c in _walk(modal.get("components") or [])}
        if unknown:
            raise ScenarioError(f"modal has no inputs {sorted(unknown)}")
        data = {"custom_id": modal.get("custom_id"), "components": components}
        channel = self.world.channels[interaction.channel_id]
        source = (
            self.world.messages.get(interaction.source_message_id)
            if interaction.source_message_id is not None
            else None
        )
        return await self._interact(
            InteractionType.MODAL_SUBMIT, member, channel, data, message=source, locale=locale
        )

    # ------------------------------------------------------------ gateway control

    async def request_reconnect(self) -> None:
        """Send RECONNECT (op 7): discord.py reconnects and RESUMEs."""
        await self.hub.request_reconnect()

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send INVALID_SESSION (op 9): discord.py re-IDENTIFYs unless ``resumable``."""
        await self.hub.invalidate_sessions(resumable=resumable)

    async def drop_connections(self, code: int = 4000) -> None:
        """Close every gateway socket with ``code`` (4000: the client may RESUME)."""
        await self.hub.drop_connections(code)

    # ------------------------------------------------------------------ helpers

    def tags_from_payload(self, forum: Channel, raw: Sequence[dict[str, Any]]) -> list[ForumTag]:
        """Forum tags from a PATCH payload (existing ids kept, new ones minted)."""
        tags: list[ForumTag] = []
        for item in raw:
            tag_id = int(item["id"]) if item.get("id") else self.ids.next()
            tags.append(
                ForumTag(
                    id=tag_id,
                    name=str(item.get("name")),
                    moderated=bool(item.get("moderated")),
                    emoji_name=item.get("emoji_name"),
                    emoji_id=int(item["emoji_id"]) if item.get("emoji_id") else None,
                )
            )
        return tags

    def overwrites_from_payload(self, raw: Sequence[dict[str, Any]]) -> list[Overwrite]:
        """Permission overwrites from a PATCH payload."""
        return [
            Overwrite(
                id=int(o["id"]),
                type=int(o.get("type", 0)),
                allow=int(o.get("allow") or 0),
                deny=int(o.get("deny") or 0),
            )
            for o in raw
        ]

    def _new_user(
        self, name: str, *, locale: str, global_name: str | None = None, bot: bool = False
    ) -> User:
        user = User(
            id=self.ids.next(), username=name, global_name=global_name, bot=bot, locale=locale
        )
        self.world.users[user.id] = user
        return user

    def _role(self, guild: Guild, role: Role | str) -> Role:
        if isinstance(role, Role):
            return role
        try:
            return guild.role(role)
        except KeyError as exc:
            raise ScenarioError(str(exc)) from exc

    def _tag(self, forum: Channel, name: str) -> ForumTag:
        try:
            return forum.tag(name)
        except KeyError as exc:
            raise ScenarioError(str(exc)) from exc

    def _overwrites(
        self,
        guild: Guild,
        private: bool,
        allow: Sequence[Role | Member],
        bot_access: bool,
        extra: Sequence[Overwrite],
    ) -> list[Overwrite]:
        out: list[Overwrite] = []
        if private:
            out.append(Overwrite(id=guild.id, type=0, deny=int(Permissions.VIEW_CHANNEL)))
            if bot_access:
                out.append(Overwrite(id=self.bot_user.id, type=1, allow=_VIEW_AND_POST))
        for target in allow:
            out.append(
                Overwrite(
                    id=target.id, type=0 if isinstance(target, Role) else 1, allow=_VIEW_AND_POST
                )
            )
        out.extend(extra)
        return out

    def _add_channel(self, guild: Guild, channel: Channel) -> Channel:
        guild.channels[channel.id] = channel
        self.world.channels[channel.id] = channel
        self.world.channel_messages[channel.id] = []
        self.world.emit("CHANNEL_CREATE", self.world.channel_payload(channel), guild.id, channel)
        return channel

    def _require_forum(self, forum: Channel) -> None:
        if not forum.is_forum:
            raise ScenarioError(f"{forum.name!r} is not a forum channel")

    def _require_member_perms(self, member: Member, channel: Channel, wanted: int) -> None:
        have = self.world.permissions(member.id, channel)
        if not perm.has(have, int(wanted)):
            missing = Permissions(int(wanted) & ~have)
            raise ScenarioError(f"{member.display_name} lacks {missing!r} in #{channel.name}")

    def _require_owner_or_moderator(self, member: Member, thread: Thread) -> None:
        if thread.owner_id != member.id:
            self._require_member_perms(member, thread, Permissions.MANAGE_THREADS)

    def _reference(self, reply_to: Message | None) -> dict[str, Any] | None:
        if reply_to is None:
            return None
        return {
            "type": 0,
            "message_id": str(reply_to.id),
            "channel_id": str(reply_to.channel_id),
            "guild_id": None if reply_to.guild_id is None else str(reply_to.guild_id),
        }

    def _component(self, message: Message, custom_id: str) -> dict[str, Any]:
        if message.deleted:
            raise ScenarioError("the message was deleted")
        for component in _walk(message.components):
            if component.get("custom_id") == custom_id:
                if component.get("disabled"):
                    raise ScenarioError(f"component {custom_id!r} is disabled")
                return component
        raise ScenarioError(
            f"message {message.id} has no component {custom_id!r} (has {message.custom_ids()})"
        )

    def _find_command(
        self, member: Member, channel: Channel, name: str, kind: int
    ) -> ApplicationCommand:
        guild = self.world.guild_of(channel)
        candidates = [
            *self.world.commands.get(guild.id, []),
            *self.world.commands.get(None, []),
        ]
        command = next((c for c in candidates if c.name == name and c.type == kind), None)
        if command is None:
            synced = sorted(f"{c.name}(type {c.type})" for c in candidates)
            raise ScenarioError(f"no synced command {name!r} of type {kind}; synced: {synced}")
        needed = command.default_member_permissions
        if needed is not None and not perm.has(
            self.world.guild_permissions(guild, member.id), needed
        ):
            raise ScenarioError(
                f"{member.display_name} cannot see {name!r} (default_member_permissions)"
            )
        self._require_member_perms(
            member, channel, Permissions.VIEW_CHANNEL | Permissions.USE_APPLICATION_COMMANDS
        )
        if isinstance(channel, Thread) and channel.archived:
            raise ScenarioError("application commands cannot be used in archived threads")
        return command

    def _chat_input_data(
        self,
        member: Member,
        channel: Channel,
        qualified: str,
        values: Mapping[str, Any],
        *,
        partial: bool = False,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        parts = qualified.strip().lstrip("/").split()
        if not parts:
            raise ScenarioError("empty command name")
        command = self._find_command(member, channel, parts[0], 1)
        data: dict[str, Any] = {"id": str(command.id), "name": command.name, "type": 1}
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        schema = command.options
        container = data
        for part in parts[1:]:
            sub = next(
                (o for o in schema if o.get("name") == part and o.get("type") in (1, 2)), None
            )
            if sub is None:
                raise ScenarioError(f"{qualified!r}: {part!r} is not a subcommand or group")
            node: dict[str, Any] = {"name": part, "type": sub["type"], "options": []}
            container["options"] = [node]
            container = node
            schema = sub.get("options") or []
        if any(o.get("type") in (1, 2) for o in schema):
            raise ScenarioError(f"{qualified!r} needs a subcommand")
        leaf: list[dict[str, Any]] = []
        resolved_targets: list[Any] = []
        by_name = {o["name"]: o for o in schema}
        for name, value in values.items():
            spec = by_name.get(name)
            if spec is None:
                raise ScenarioError(f"{qualified!r} has no option {name!r} (has {sorted(by_name)})")
            leaf.append(
                {
                    "name": name,
                    "type": spec["type"],
                    "value": self._option_value(spec, value, partial),
                }
            )
            if spec["type"] in (6, 7, 8, 9, 11):
                resolved_targets.append(value)
        if not partial:
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in values]
            if missing:
                raise ScenarioError(f"{qualified!r} requires {missing}")
        container["options"] = leaf
        if resolved_targets:
            data["resolved"] = self._resolved_for(resolved_targets, channel)
        return data, leaf

    def _option_value(self, spec: Mapping[str, Any], value: Any, partial: bool) -> Any:
        kind = spec["type"]
        name = spec["name"]
        if kind == 3:
            if not isinstance(value, str):
                raise ScenarioError(f"option {name!r} takes a string")
            if not partial:
                low, high = spec.get("min_length"), spec.get("max_length")
                if (low is not None and len(value) < low) or (
                    high is not None and len(value) > high
                ):
                    raise ScenarioError(f"option {name!r} length must be within {low}..{high}")
            result: Any = value
        elif kind == 4:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ScenarioError(f"option {name!r} takes an integer")
            result = value
        elif kind == 5:
            if not isinstance(value, bool):
                raise ScenarioError(f"option {name!r} takes a boolean")
            result = value
        elif kind == 10:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ScenarioError(f"option {name!r} takes a number")
            result = value
        elif kind == 11:
            if not isinstance(value, Attachment):
                raise ScenarioError(f"option {name!r} takes an Attachment (server.upload)")
            result = str(value.id)
        elif kind in (6, 7, 8, 9):
            if not hasattr(value, "id"):
                raise ScenarioError(f"option {name!r} takes a Member, User, Channel or Role")
            result = str(value.id)
        else:
            raise ScenarioError(f"option type {kind} is not supported by LocalDiscord")
        choices = spec.get("choices")
        if choices and not partial and result not in [c.get("value") for c in choices]:
            raise ScenarioError(
                f"option {name!r} must be one of {[c.get('value') for c in choices]}"
            )
        return result

    def _resolved_for(self, targets: Sequence[Any], channel: Channel) -> dict[str, Any]:
        guild = self.world.guild_of(channel)
        resolved: dict[str, dict[str, Any]] = {}
        for target in targets:
            if isinstance(target, Member | User):
                user = target.user if isinstance(target, Member) else target
                resolved.setdefault("users", {})[str(user.id)] = self.world.user_payload(user)
                member = guild.members.get(user.id)
                if member is not None:
                    resolved.setdefault("members", {})[str(user.id)] = self.world.member_payload(
                        member,
                        with_user=False,
                        permissions=self.world.permissions(user.id, channel),
                    )
            elif isinstance(target, Role):
                resolved.setdefault("roles", {})[str(target.id)] = self.world.role_payload(target)
            elif isinstance(target, Attachment):
                payload = self.world.attachment_payload(target)
                resolved.setdefault("attachments", {})[str(target.id)] = payload
            elif isinstance(target, Channel):
                payload = self.world.channel_payload(target)
                payload["permissions"] = str(self.world.permissions(self.bot_user.id, target))
                resolved.setdefault("channels", {})[str(target.id)] = payload
        return resolved

    def _submitted(
        self, component: dict[str, Any], values: Mapping[str, str | Sequence[str]]
    ) -> dict[str, Any]:
        kind = component.get("type")
        if kind == 1:
            return {
                "type": 1,
                "components": [
                    self._submitted(c, values) for c in component.get("components") or []
                ],
            }
        if kind == 18:
            inner = component.get("component") or {}
            return {
                "type": 18,
                "id": component.get("id", 0),
                "component": self._submitted(inner, values),
            }
        custom_id = component.get("custom_id")
        if kind == 4:
            value = values.get(str(custom_id), component.get("value") or "")
            if component.get("required", True) and not value:
                raise ScenarioError(f"modal input {custom_id!r} is required")
            high = component.get("max_length")
            if high is not None and len(value) > high:
                raise ScenarioError(f"modal input {custom_id!r} is limited to {high} characters")
            return {"type": 4, "id": component.get("id", 0), "custom_id": custom_id, "value": value}
        if kind in (3, 5, 6, 7, 8):
            raw: str | Sequence[str] = values.get(str(custom_id), [])
            chosen = [raw] if isinstance(raw, str) else list(raw)
            return {
                "type": kind,
                "id": component.get("id", 0),
                "custom_id": custom_id,
                "values": chosen,
            }
        return {"type": kind, "id": component.get("id", 0)}

    async def _interact(
        self,
        kind: InteractionType,
        member: Member,
        channel: Channel,
        data: dict[str, Any],
        *,
        message: Message | None = None,
        locale: str | None = None,
    ) -> InteractionRecord:
        interaction_id = self.ids.next()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        member_perms = self.world.permissions(member.id, channel)
        channel_payload = self.world.channel_payload(channel)
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "channel_id": str(channel.id),
            "channel": channel_payload,
            "token": token,
            "version": 1,
            "locale": locale or member.user.locale,
            "entitlements": [],
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        guild_id: int | None = None
        if isinstance(channel, DMChannel):
            # A bot DM: ``user`` instead of ``member``, no guild, context BOT_DM (1), and
            # "0" as the guild-install owner (Discord's value for a DM with the bot).
            if member.id != channel.recipient_id:
                raise ScenarioError("only the DM's recipient can interact in it")
            payload["user"] = self.world.user_payload(member.user)
            payload["app_permissions"] = str(member_perms)
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = 1
        else:
            guild = self.world.guild_of(channel)
            guild_id = guild.id
            channel_payload["permissions"] = str(member_perms)
            payload["guild_id"] = str(guild.id)
            payload["guild"] = {
                "id": str(guild.id),
                "locale": guild.locale,
                "features": list(guild.features),
            }
            payload["member"] = self.world.member_payload(member, permissions=member_perms)
            payload["guild_locale"] = guild.locale
            payload["app_permissions"] = str(self.world.permissions(self.bot_user.id, channel))
            payload["authorizing_integration_owners"] = {"0": str(guild.id)}
            payload["context"] = 0
        if message is not None:
            payload["message"] = self.world.message_payload(message, with_member=False)
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            payload=payload,
            guild_id=guild_id,
            channel_id=channel.id,
            user_id=member.id,
            created_at=time.monotonic(),
            source_message_id=None if message is None else message.id,
            _server=self,
        )
        self.interactions.append(record)
        self.interactions_by_token[token] = record
        self.hub.dispatch("INTERACTION_CREATE", payload, guild_id, None)
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(self.interaction_timeout, self._deadline, record))
        await self.hub.flush()
        return record

    def _deadline(self, record: InteractionRecord) -> None:
        if record.callback is None:
            what = record.data.get("name") or record.data.get("custom_id")
            self.record_violation(
                Violation(
                    "interaction_unanswered",
                    f"interaction {record.id} ({what}) got no initial response "
                    f"within {self.interaction_timeout:.1f}s",
                )
            )


def _walk(components: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for component in components:
        if not isinstance(component, dict):
            continue
        yield component
        yield from _walk(component.get("components") or [])
        for key in ("accessory", "component"):
            child = component.get(key)
            if isinstance(child, dict):
                yield from _walk([child])
