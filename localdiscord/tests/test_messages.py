"""Messages, forum posts, threads and rate limits through a real discord.py bot."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any

import discord
import pytest

from localdiscord import LocalDiscord, Permissions
from support import BotConnector, World, make_bot


async def test_a_new_forum_post_fires_thread_create_then_message_with_the_thread_id(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    events: list[tuple[str, int]] = []
    starters: list[discord.Message] = []

    async def on_thread_create(thread: discord.Thread) -> None:
        events.append(("thread", thread.id))

    async def on_message(message: discord.Message) -> None:
        events.append(("message", message.id))
        starters.append(message)

    bot.add_listener(on_thread_create)
    bot.add_listener(on_message)

    post = await server.open_post(
        world.alice, world.forum, "pip が動かない", "エラーが出ます", tags=["解決済み"]
    )
    await server.wait_for(lambda: len(events) == 2, timeout=5)

    assert events == [("thread", post.id), ("message", post.id)]
    [starter] = starters
    assert starter.id == starter.channel.id == post.id
    assert starter.content == "エラーが出ます"
    thread = starter.channel
    assert isinstance(thread, discord.Thread)
    assert thread.parent_id == world.forum.id
    assert thread.owner_id == world.alice.id
    assert [t.name for t in thread.applied_tags] == ["解決済み"]
    server.assert_clean()


async def test_reply_with_allowed_mentions_none_is_clean_and_pings_nobody(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)

    async def on_message(message: discord.Message) -> None:
        if message.author != bot.user:
            await message.reply(f"{message.author.mention} @everyone see <#{world.forum.id}>")

    bot.add_listener(on_message)

    post = await server.open_post(world.alice, world.forum, "Question", "How do I ...?")
    answer = await server.wait_for_bot_message(post)

    request = await server.wait_for_request("POST", rf"/channels/{post.id}/messages$")
    assert request.json["allowed_mentions"] == {"parse": []}
    assert answer.reply_to_id == post.id
    assert answer.mention_ids == [world.alice.id]
    assert answer.pinged_user_ids == [] and not answer.mention_everyone
    server.assert_clean()


async def test_a_message_without_allowed_mentions_is_a_violation(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server, make_bot(allowed_mentions=discord.AllowedMentions.all()))
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)

    await channel.send("hello", allowed_mentions=None)  # nothing set anywhere
    bot.allowed_mentions = None
    await channel.send(f"hi {world.alice.mention}")

    violations = server.take_violations("allowed_mentions")
    assert len(violations) == 2
    assert "parse=['everyone', 'users', 'roles']" in violations[0].message
    assert "without allowed_mentions" in violations[1].message
    [*_, pinged] = server.bot_messages(world.general)
    assert pinged.pinged_user_ids == [world.alice.id]
    server.assert_clean()


async def test_a_too_long_embed_is_rejected_like_discord_does(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    embed = discord.Embed(title="t" * 257, description="d" * 4000)
    embed.add_field(name="n", value="v" * 1025)
    embed.set_footer(text="f" * 1000)

    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=embed)

    assert info.value.status == 400 and info.value.code == 50035
    rules = {v.rule for v in server.take_violations()}
    assert rules == {"embed_limits"}
    assert server.bot_messages(world.general) == []


@pytest.mark.parametrize(
    ("send", "code", "rule"),
    [({"content": "x" * 2001}, 50035, "content_length"), ({"embeds": []}, 50006, "empty_message")],
    ids=["content over 2000 characters", "empty message"],
)
async def test_too_long_and_empty_messages_are_rejected(
    server: LocalDiscord,
    world: World,
    connect: BotConnector,
    send: dict[str, Any],
    code: int,
    rule: str,
) -> None:
    bot = await connect(server)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)

    with pytest.raises(discord.HTTPException) as refused:
        await channel.send(**send)

    assert refused.value.status == 400 and refused.value.code == code
    assert [v.rule for v in server.take_violations()] == [rule]
    assert server.bot_messages(world.general) == []


async def test_thread_edit_applied_tags_reaches_the_server_and_comes_back_as_thread_update(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    updates: list[list[str]] = []

    async def on_thread_update(before: discord.Thread, after: discord.Thread) -> None:
        updates.append([t.name for t in after.applied_tags])

    bot.add_listener(on_thread_update)
    post = await server.open_post(world.alice, world.forum, "Q", "body")
    thread = await server.wait_for(lambda: bot.get_channel(post.id), timeout=5)
    assert isinstance(thread, discord.Thread)
    forum = thread.parent
    assert isinstance(forum, discord.ForumChannel)

    solved = discord.utils.get(forum.available_tags, name="Solved")
    assert solved is not None
    edited = await thread.edit(applied_tags=[solved], archived=True)

    request = await server.wait_for_request("PATCH", rf"/channels/{post.id}$")
    assert request.json["applied_tags"] == [str(solved.id)]
    assert server.thread_tags(post) == ["Solved"] and post.archived
    assert [t.name for t in edited.applied_tags] == ["Solved"]
    await server.wait_for(lambda: updates, timeout=5)
    assert updates[-1] == ["Solved"]
    server.assert_clean()


async def test_members_changing_tags_are_seen_by_the_bot(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    post = await server.open_post(world.alice, world.forum, "Q", "body")
    thread = await server.wait_for(lambda: bot.get_channel(post.id), timeout=5)
    assert isinstance(thread, discord.Thread)

    await server.set_thread_tags(world.alice, post, ["Solved"])
    await server.wait_for(lambda: [t.name for t in thread.applied_tags] == ["Solved"], timeout=5)


async def test_editing_an_archived_thread_without_unarchiving_is_rejected(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    post = server.add_post(world.alice, world.forum, "Old", "body", archived=True)
    bot = await connect(server)
    thread = await bot.fetch_channel(post.id)
    assert isinstance(thread, discord.Thread) and thread.archived
    solved = discord.utils.get(thread.parent.available_tags, name="Solved")  # type: ignore[union-attr]

    with pytest.raises(discord.HTTPException) as info:
        await thread.edit(applied_tags=[solved])  # type: ignore[list-item]

    assert info.value.code == 50083
    assert [v.rule for v in server.take_violations()] == ["thread_archived"]
    await thread.edit(applied_tags=[solved], archived=False)  # type: ignore[list-item]
    assert server.thread_tags(post) == ["Solved"] and not post.archived


async def test_tagging_a_post_without_manage_threads_is_forbidden(
    server: LocalDiscord, connect: BotConnector
) -> None:
    guild = server.add_guild(
        "Strict", bot_permissions=Permissions.VIEW_CHANNEL | Permissions.SEND_MESSAGES
    )
    member = server.add_member(guild, "dave")
    forum = server.add_forum(guild, "help", tags=["Solved"])
    bot = await connect(server)
    post = await server.open_post(member, forum, "Q", "body")
    thread = await server.wait_for(lambda: bot.get_channel(post.id), timeout=5)
    assert isinstance(thread, discord.Thread)

    with pytest.raises(discord.Forbidden):
        await thread.edit(applied_tags=[thread.parent.available_tags[0]])  # type: ignore[union-attr]

    assert [v.rule for v in server.take_violations()] == ["missing_permissions"]


async def test_archived_threads_are_paginated_with_before_and_has_more(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    seeded = [
        server.add_post(
            world.alice,
            world.forum,
            f"old post {i}",
            "body",
            tags=["Solved"],
            archived=True,
            created_at=start + dt.timedelta(hours=i),
        )
        for i in range(130)
    ]
    server.add_post(world.bob, world.forum, "still open", "body")
    bot = await connect(server)
    forum = bot.get_channel(world.forum.id)
    assert isinstance(forum, discord.ForumChannel)

    threads = [t async for t in forum.archived_threads(limit=None)]

    assert [t.id for t in threads] == [p.id for p in reversed(seeded)]
    pages = [r for r in server.requests if r.path.endswith("/threads/archived/public")]
    assert len(pages) == 2
    assert "before" not in pages[0].query and "before" in pages[1].query
    assert pages[0].response["has_more"] and not pages[1].response["has_more"]
    server.assert_clean()


async def test_active_threads_lists_open_posts_only(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    open_posts = [server.add_post(world.alice, world.forum, f"open {i}", "body") for i in range(2)]
    server.add_post(world.alice, world.forum, "closed", "body", archived=True)
    bot = await connect(server)
    guild = bot.get_guild(world.guild.id)
    assert guild is not None

    active = await guild.active_threads()

    assert sorted(t.id for t in active) == sorted(p.id for p in open_posts)
    assert sorted(t.id for t in guild.threads) == sorted(p.id for p in open_posts)


async def test_history_pages_newest_first(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    post = server.add_post(
        world.alice,
        world.forum,
        "long thread",
        "starter",
        replies=[(world.bob, f"reply {i}") for i in range(150)],
        created_at=start,
    )
    bot = await connect(server)
    thread = await bot.fetch_channel(post.id)
    assert isinstance(thread, discord.Thread)

    newest = [m.content async for m in thread.history(limit=None)]
    oldest = [m.content async for m in thread.history(limit=None, oldest_first=True)]

    assert newest[0] == "reply 149" and newest[-1] == "starter" and len(newest) == 151
    assert oldest == list(reversed(newest))
    first = await thread.fetch_message(post.id)
    assert first.id == thread.id


async def test_a_429_on_message_create_is_retried_and_succeeds(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    injection = server.inject_rate_limit("POST", r"/channels/\d+/messages$", retry_after=0.2)

    started = time.monotonic()
    sent = await channel.send("after a rate limit")
    elapsed = time.monotonic() - started

    assert injection.hits == 1 and injection.exhausted
    statuses = [r.status for r in server.requests if r.method == "POST"]
    assert statuses == [429, 200]
    assert elapsed >= 0.2
    assert server.message(sent.id).content == "after a rate limit"
    server.assert_clean()


async def test_a_global_429_blocks_then_succeeds(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    injection = server.inject_rate_limit("GET", r"^/channels/\d+$", retry_after=0.1, global_=True)

    channel = await bot.fetch_channel(world.general.id)

    assert channel.id == world.general.id and injection.hits == 1
    [limited] = [r for r in server.requests if r.status == 429]
    assert limited.response == {
        "message": "You are being rate limited.",
        "retry_after": 0.1,
        "global": True,
    }
    assert limited.response_headers["X-RateLimit-Global"] == "true"
    assert limited.response_headers["Via"]
    server.assert_clean()


async def test_normal_responses_carry_rate_limit_headers(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect(server)

    [me] = [r for r in server.requests if r.path == "/users/@me"]
    assert me.status == 200
    headers = me.response_headers
    assert int(headers["X-RateLimit-Limit"]) == server.rest_rate_limit[0]
    assert int(headers["X-RateLimit-Remaining"]) == server.rest_rate_limit[0] - 1
    assert float(headers["X-RateLimit-Reset-After"]) > 0
    assert float(headers["X-RateLimit-Reset"]) > time.time()
    assert headers["X-RateLimit-Bucket"]


async def test_reactions_flow_both_ways(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    reactions: list[str] = []

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        reactions.append(str(payload.emoji))

    bot.add_listener(on_raw_reaction_add)
    message = await server.send_message(world.alice, world.general, "nice")
    fetched = await bot.get_channel(world.general.id).fetch_message(message.id)  # type: ignore[union-attr]

    await fetched.add_reaction("✅")
    await server.add_reaction(world.bob, message, "👍")
    await server.wait_for(lambda: len(reactions) == 2, timeout=5)

    assert sorted(reactions) == ["✅", "👍"]
    assert message.reactions == {"✅": [server.bot_user.id], "👍": [world.bob.id]}
    server.assert_clean()


async def test_edits_and_deletes_are_dispatched(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    edits: list[str] = []
    deletes: list[int] = []

    async def on_message_edit(before: discord.Message, after: discord.Message) -> None:
        edits.append(after.content)

    async def on_raw_message_delete(payload: discord.RawMessageDeleteEvent) -> None:
        deletes.append(payload.message_id)

    bot.add_listener(on_message_edit)
    bot.add_listener(on_raw_message_delete)
    message = await server.send_message(world.alice, world.general, "v1")
    await server.wait_for(
        lambda: bot.get_channel(world.general.id).last_message_id == message.id, timeout=5
    )  # type: ignore[union-attr]

    await server.edit_message(message, "v2")
    await server.delete_message(message)
    await server.wait_for(lambda: deletes, timeout=5)

    assert edits == ["v2"] and deletes == [message.id]
    assert server.messages_in(world.general) == []


async def test_deleting_a_post_sends_thread_delete(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    deleted: list[int] = []

    async def on_raw_thread_delete(payload: discord.RawThreadDeleteEvent) -> None:
        deleted.append(payload.thread_id)

    bot.add_listener(on_raw_thread_delete)
    post = await server.open_post(world.alice, world.forum, "Q", "body")

    await server.delete_thread(post)
    await server.wait_for(lambda: deleted, timeout=5)

    assert deleted == [post.id]
    assert bot.get_channel(post.id) is None


async def test_bot_can_open_a_forum_post(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    forum = bot.get_channel(world.forum.id)
    assert isinstance(forum, discord.ForumChannel)

    created = await forum.create_thread(
        name="FAQ", content="Read me", applied_tags=[forum.available_tags[0]]
    )

    post = server.channel(created.thread.id)
    assert created.message.id == created.thread.id
    assert server.messages_in(post)[0].content == "Read me"
    assert server.thread_tags(post) == ["Solved"]  # type: ignore[arg-type]
    server.assert_clean()


async def test_files_are_accepted_as_multipart(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    import io

    bot = await connect(server)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)

    sent = await channel.send("log attached", file=discord.File(io.BytesIO(b"trace"), "log.txt"))

    [attachment] = server.message(sent.id).attachments
    assert attachment.filename == "log.txt" and attachment.data == b"trace"
    assert await sent.attachments[0].read() == b"trace"
    server.assert_clean()


async def test_concurrent_sends_all_arrive(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)

    await asyncio.gather(*(channel.send(f"m{i}") for i in range(10)))

    assert sorted(m.content for m in server.bot_messages(world.general)) == sorted(
        f"m{i}" for i in range(10)
    )
    server.assert_clean()
