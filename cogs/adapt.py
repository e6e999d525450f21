"""Translate Discord objects into Senpai's domain values, and back for tags."""

from __future__ import annotations

import dataclasses
import logging
import re

import discord

from cogs.checks import forum_scope
from knowledge.models import Author, GuildSettings, Message, Thread

log = logging.getLogger(__name__)

SOLVED_TAG_NAMES = ("solved", "解決済み", "解決")
HISTORY_LIMIT = 200
_MESSAGE_LINK = re.compile(r"https://(?:\w+\.)?discord(?:app)?\.com/channels/(\d+|@me)/(\d+)/(\d+)")


def author_of(user: discord.abc.User) -> Author:
    return Author(id=user.id, name=user.display_name, bot=user.bot)


def message_of(message: discord.Message) -> Message:
    reply_to = message.reference.message_id if message.reference else None
    reactions = tuple(str(r.emoji) for r in message.reactions if r.count > 0)
    return Message(
        id=message.id,
        author=author_of(message.author),
        content=message.content,
        created_at=message.created_at,
        reply_to=reply_to,
        reactions=reactions,
    )


async def post_by_id(client: discord.Client, thread_id: int) -> discord.Thread | None:
    """A post (thread) by id, fetched when discord.py dropped it from its cache:
    Discord auto-archives idle posts and discord.py forgets archived ones. ``None``
    when it is gone, hidden from the bot, or not a thread."""
    channel = client.get_channel(thread_id)
    if channel is None:
        try:
            channel = await client.fetch_channel(thread_id)
        except (discord.NotFound, discord.Forbidden):
            return None
    return channel if isinstance(channel, discord.Thread) else None


def is_forum_post(channel: object) -> bool:
    return isinstance(channel, discord.Thread) and isinstance(channel.parent, discord.ForumChannel)


def tag_names(thread: discord.Thread) -> tuple[str, ...]:
    return tuple(tag.name for tag in thread.applied_tags)


async def fetch_thread(thread: discord.Thread, known: dict[int, str] | None = None) -> Thread:
    """The post with its messages (starter first), read through the API.

    ``known`` carries display names already looked up (a backfill reads many posts
    by the same members) and is filled with the new ones.
    """
    forum = thread.parent
    assert isinstance(forum, discord.ForumChannel)
    messages: list[discord.Message] = [
        m async for m in thread.history(limit=HISTORY_LIMIT, oldest_first=True)
    ]
    if not any(m.id == thread.id for m in messages):
        try:
            messages.insert(0, await thread.fetch_message(thread.id))
        except discord.NotFound:
            log.info("post %d has lost its opening message", thread.id)
    names = await _member_names(
        thread.guild, {m.author.id for m in messages if not m.author.bot}, known
    )
    domain = [message_of(m) for m in messages if m.type in _CONTENT_TYPES]
    domain = [
        dataclasses.replace(m, author=dataclasses.replace(m.author, name=names[m.author.id]))
        if m.author.id in names
        else m
        for m in domain
    ]
    return Thread(
        guild_id=thread.guild.id,
        forum_id=forum.id,
        thread_id=thread.id,
        title=thread.name,
        messages=tuple(domain),
        tags=tag_names(thread),
        scope=forum_scope(forum),
        jump_url=thread.jump_url,
    )


_CONTENT_TYPES = frozenset({discord.MessageType.default, discord.MessageType.reply})
MAX_NAME_LOOKUPS = 10


async def _member_names(
    guild: discord.Guild, user_ids: set[int], known: dict[int, str] | None = None
) -> dict[int, str]:
    """Server display names (nicknames) of the authors: messages read through the API
    carry only the account name. Known and cached members first, then a bounded number
    of look-ups (added to ``known``)."""
    known = {} if known is None else known
    names: dict[int, str] = {}
    lookups = 0
    for user_id in sorted(user_ids):
        if user_id in known:
            names[user_id] = known[user_id]
            continue
        member = guild.get_member(user_id)
        if member is None and lookups < MAX_NAME_LOOKUPS:
            lookups += 1
            try:
                member = await guild.fetch_member(user_id)
            except discord.HTTPException:
                member = None
        if member is not None:
            names[user_id] = known[user_id] = member.display_name
    return names


async def display_name(guild: discord.Guild, user_id: int) -> str | None:
    """A member's server display name, from the cache or one API look-up."""
    return (await _member_names(guild, {user_id})).get(user_id)


def parse_message_link(link: str, thread: discord.Thread) -> int | None:
    """A message id from a link (or a bare id) pointing into ``thread``."""
    link = link.strip()
    if link.isdigit():
        return int(link)
    match = _MESSAGE_LINK.search(link)
    if not match or int(match.group(2)) != thread.id:
        return None
    return int(match.group(3))


def solved_tag(forum: discord.ForumChannel, settings: GuildSettings) -> discord.ForumTag | None:
    """The configured solved tag, else one named "Solved" / "解決済み"."""
    wanted = (settings.solved_tag,) if settings.solved_tag else SOLVED_TAG_NAMES
    for name in wanted:
        for tag in forum.available_tags:
            if tag.name.casefold() == name.casefold():
                return tag
    return None


async def mark_thread_solved(thread: discord.Thread, settings: GuildSettings) -> None:
    """Apply the solved tag (at most 5 tags per post) and optionally archive."""
    forum = thread.parent
    if not isinstance(forum, discord.ForumChannel):
        return
    tag = solved_tag(forum, settings)
    tags = list(thread.applied_tags)
    changes: dict[str, object] = {}
    if tag is not None and all(t.id != tag.id for t in tags):
        changes["applied_tags"] = [*tags[:4], tag]
    if settings.archive_on_solve:
        changes["archived"] = True
    if changes:
        try:
            await thread.edit(**changes)  # type: ignore[arg-type]
        except discord.HTTPException as error:
            log.warning("could not tag post %d as solved: %s", thread.id, error.status)


async def unmark_thread_solved(thread: discord.Thread, settings: GuildSettings) -> None:
    forum = thread.parent
    if not isinstance(forum, discord.ForumChannel):
        return
    tag = solved_tag(forum, settings)
    if tag is None or all(t.id != tag.id for t in thread.applied_tags):
        return
    try:
        await thread.edit(applied_tags=[t for t in thread.applied_tags if t.id != tag.id])
    except discord.HTTPException as error:
        log.warning("could not untag post %d: %s", thread.id, error.status)
