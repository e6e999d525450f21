"""The gateway as a real discord.py client sees it: login, READY, GUILD_CREATE, heartbeats."""

from __future__ import annotations

import asyncio

import discord

from localdiscord import LocalDiscord, Permissions
from support import BotConnector, ServerFactory, World, default_intents, make_bot, seed


async def test_ready_and_guild_create_give_forums_with_tags_and_a_private_forum(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)

    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    assert guild.preferred_locale is discord.Locale.japanese
    assert bot.user is not None and bot.user.id == server.bot_user.id
    assert bot.application_id == server.application_id

    forum = guild.get_channel(world.forum.id)
    assert isinstance(forum, discord.ForumChannel)
    assert [t.name for t in forum.available_tags] == ["Solved", "解決済み", "Staff pick"]
    assert forum.get_tag(world.forum.tag("Staff pick").id).moderated  # type: ignore[union-attr]

    private = guild.get_channel(world.private_forum.id)
    assert isinstance(private, discord.ForumChannel)
    everyone = private.overwrites_for(guild.default_role)
    assert everyone.view_channel is False
    assert private.permissions_for(guild.default_role).view_channel is False
    assert private.permissions_for(guild.me).view_channel is True

    # Without GUILD_PRESENCES Discord lists only the bot itself in GUILD_CREATE.
    assert guild.get_member(world.alice.id) is None
    assert guild.me.get_role(server.bot_role(world.guild).id) is not None
    assert guild.member_count == len(world.guild.members)
    server.assert_clean()


async def test_members_intent_makes_discord_py_chunk_the_guild(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    intents = default_intents()
    intents.members = True
    bot = await connect(server, make_bot(intents=intents))

    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.chunked
    mod = guild.get_member(world.mod.id)
    assert mod is not None and mod.get_role(world.helper.id) is not None
    assert mod.guild_permissions.manage_threads


async def test_identify_is_recorded_with_intents_and_zlib_stream(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect(server)

    [identify] = server.identify_payloads
    assert identify["intents"] == default_intents().value
    assert identify["properties"]["browser"] == "discord.py"


async def test_heartbeats_are_acked_and_keep_flowing(
    make_server: ServerFactory, connect: BotConnector
) -> None:
    server = await make_server(heartbeat_interval=0.2)
    seed(server)
    bot = await connect(server)

    await server.wait_for(lambda: len(server.heartbeats) >= 4, timeout=5)

    assert bot.latency < 1.0  # discord.py only sets latency when an ACK arrives
    assert server.max_heartbeat_gap() < 0.2 * 1.5 + 0.1  # the server's own threshold
    server.assert_clean()


async def test_a_blocked_event_loop_shows_up_as_a_late_heartbeat(
    make_server: ServerFactory, connect: BotConnector
) -> None:
    server = await make_server(heartbeat_interval=0.2)
    seed(server)
    await connect(server)
    await server.wait_for(lambda: len(server.heartbeats) >= 2, timeout=5)

    import time

    time.sleep(0.6)  # what CPU-bound work on the event loop does to the gateway
    count = len(server.heartbeats)
    await server.wait_for(lambda: len(server.heartbeats) > count + 1, timeout=5)

    assert server.take_violations("heartbeat_late")
    server.assert_clean()


async def test_close_is_clean(server: LocalDiscord, world: World, connect: BotConnector) -> None:
    bot = await connect(server)

    await bot.close()
    [close] = await server.wait_for(lambda: server.gateway_closes, timeout=5)

    # discord.py 2.7 puts 4000 on the wire when close() races its receive loop.
    assert close.code in (1000, 4000)
    assert not close.by_server
    assert bot.is_closed()
    server.assert_clean()


async def test_reconnect_request_resumes_and_replays_missed_events(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    resumed = asyncio.Event()
    created: list[int] = []

    async def on_resumed() -> None:
        resumed.set()

    bot.add_listener(on_resumed)

    async def on_thread_create(thread: discord.Thread) -> None:
        created.append(thread.id)

    bot.add_listener(on_thread_create)

    await server.request_reconnect()
    # Sent while the client is reconnecting: must arrive through RESUME's replay.
    post = await server.open_post(world.alice, world.forum, "During reconnect", "body")
    await asyncio.wait_for(resumed.wait(), timeout=10)
    await server.wait_for(lambda: post.id in created, timeout=5)

    assert len(server.identify_payloads) == 1  # resumed, not re-identified
    server.assert_clean()


async def test_invalid_session_makes_discord_py_identify_again(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)

    async def no_wait(shard_id: int | None, *, initial: bool = False) -> None:
        """discord.py sleeps 5 s before a non-initial IDENTIFY; tests need not."""

    bot.before_identify_hook = no_wait  # type: ignore[method-assign]
    await server.invalidate_session(resumable=False)

    await server.wait_for(lambda: len(server.identify_payloads) == 2, timeout=10)
    server.assert_clean()


async def test_without_message_content_intent_content_arrives_empty(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    intents = default_intents()
    intents.message_content = False
    bot = await connect(server, make_bot(intents=intents))
    seen: list[discord.Message] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message)

    bot.add_listener(on_message)

    await server.send_message(world.alice, world.general, "secret text")
    await server.send_message(world.alice, world.general, f"{server.bot_user.mention} hi")
    await server.wait_for(lambda: len(seen) == 2, timeout=5)

    assert seen[0].content == ""
    assert seen[1].content.endswith("hi")  # mentioning the bot grants content


async def test_events_in_a_forum_the_bot_cannot_see_are_not_delivered(
    server: LocalDiscord, connect: BotConnector
) -> None:
    guild = server.add_guild("Hidden")
    member = server.add_member(guild, "carol")
    hidden = server.add_forum(guild, "secret", private=True, allow=[member], bot_access=False)
    public = server.add_forum(guild, "public")
    bot = await connect(server)
    created: list[int] = []

    async def on_thread_create(thread: discord.Thread) -> None:
        created.append(thread.id)

    bot.add_listener(on_thread_create)

    hidden_post = await server.open_post(member, hidden, "hidden", "body")
    public_post = await server.open_post(member, public, "public", "body")
    await server.wait_for(lambda: public_post.id in created, timeout=5)

    assert hidden_post.id not in created
    channel = bot.get_channel(hidden.id)
    assert isinstance(channel, discord.ForumChannel)
    assert not channel.permissions_for(channel.guild.me).view_channel
    assert Permissions.VIEW_CHANNEL  # the enum is importable from the package
