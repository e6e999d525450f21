"""Import of DiscordChatExporter JSON files: one file per forum post, into a Thread.

`DiscordChatExporter <https://github.com/Tyrrrz/DiscordChatExporter>`_ writes one JSON
document per exported channel; exporting a forum gives one file per post (a thread).
Only the fields the knowledge base needs are read, and each is checked, so a file of
another shape fails with an :class:`ExportFormatError` that names the file and the
field ("messages[3].author.id is missing") instead of importing nonsense.

What is read, and how:

- ``guild.id``, ``channel.id`` (the thread), ``channel.categoryId`` (the forum; the
  exporter calls the parent channel "category"), ``channel.name`` (the post title),
  ``channel.type`` (a thread, otherwise "not a forum post").
- ``messages``: ``id``, ``type``, ``timestamp`` (ISO 8601; an offset-less value is
  taken as UTC), ``content``, ``author`` (``id``, ``name``, ``nickname``, ``isBot``),
  ``reactions`` (emoji ``name``: the character of a standard emoji or the name of a
  custom one; ``users`` when present) and ``reference.messageId`` (the replied-to
  message, when it is in the same thread).
- System messages (pins, "thread created", ...) are skipped; ``Default``, ``Reply``
  and ``ThreadStarterMessage`` (which older exporters write as ``"21"``) are kept, and
  so is the starter whatever its type. Messages are ordered by id (ids are
  time-ordered), so an export made with ``--reverse`` reads the same.

Ids are strings of digits in the format; plain JSON integers are accepted too.
Parsing is pure; :func:`load_export` and :func:`iter_export_files` touch the disk.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from knowledge.models import PUBLIC_SCOPE, Author, Message, Thread, private_scope

log = logging.getLogger(__name__)

THREAD_CHANNEL_TYPES = frozenset({"GuildPublicThread", "GuildPrivateThread"})
"""Channel types of a forum post in an export."""

PRIVATE_THREAD_TYPE = "GuildPrivateThread"

CONTENT_MESSAGE_TYPES = frozenset({"Default", "Reply", "ThreadStarterMessage", "21"})
"""Message types that members wrote; everything else is a system message."""

JUMP_URL = "https://discord.com/channels/{guild_id}/{thread_id}"


class ExportFormatError(ValueError):
    """A file is not a DiscordChatExporter export of a forum post.

    ``source`` names the file, ``problem`` says what is wrong with it.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(source, problem)
        self.source = source
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


# --- field readers -------------------------------------------------------------------


class _Reader:
    """Typed access to the fields of one export, with errors naming the field path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, problem: str) -> ExportFormatError:
        return ExportFormatError(self.source, problem)

    def field(self, obj: dict[str, object], key: str, where: str) -> object:
        if key not in obj or obj[key] is None:
            raise self.fail(f"{_join(where, key)} is missing")
        return obj[key]

    def section(self, obj: dict[str, object], key: str, where: str) -> dict[str, object]:
        value = self.field(obj, key, where)
        return self.as_section(value, _join(where, key))

    def as_section(self, value: object, path: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(f"{path} must be an object, got {_kind(value)}")
        return value

    def items(self, obj: dict[str, object], key: str, where: str) -> list[object]:
        value = self.field(obj, key, where)
        if not isinstance(value, list):
            raise self.fail(f"{_join(where, key)} must be a list, got {_kind(value)}")
        return value

    def optional_items(self, obj: dict[str, object], key: str, where: str) -> list[object]:
        if obj.get(key) is None:
            return []
        return self.items(obj, key, where)

    def string(self, obj: dict[str, object], key: str, where: str) -> str:
        value = self.field(obj, key, where)
        if not isinstance(value, str):
            raise self.fail(f"{_join(where, key)} must be a string, got {_kind(value)}")
        return value

    def optional_string(self, obj: dict[str, object], key: str, where: str) -> str | None:
        if obj.get(key) is None:
            return None
        return self.string(obj, key, where)

    def boolean(self, obj: dict[str, object], key: str, where: str, default: bool) -> bool:
        value = obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"{_join(where, key)} must be true or false, got {_kind(value)}")
        return value

    def snowflake(self, obj: dict[str, object], key: str, where: str) -> int:
        value = self.field(obj, key, where)
        return self.as_snowflake(value, _join(where, key))

    def optional_snowflake(self, obj: dict[str, object], key: str, where: str) -> int | None:
        value = obj.get(key)
        if value is None or value == "":
            return None
        return self.as_snowflake(value, _join(where, key))

    def as_snowflake(self, value: object, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) > 0:
            return int(value)
        raise self.fail(f"{path} must be an id (a string of digits), got {value!r:.40}")

    def timestamp(self, obj: dict[str, object], key: str, where: str) -> datetime:
        value = self.string(obj, key, where)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(
                f"{_join(where, key)} must be an ISO 8601 timestamp, got {value!r:.40}"
            ) from None
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _kind(value: object) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    for python_type, name in names.items():
        if isinstance(value, python_type):
            return name
    if isinstance(value, int | float):
        return "a number"
    return "null" if value is None else type(value).__name__


# --- parsing -------------------------------------------------------------------------


def _parse_author(read: _Reader, raw: dict[str, object], where: str) -> Author:
    author = read.section(raw, "author", where)
    path = f"{where}.author"
    name = read.string(author, "name", path)
    nickname = read.optional_string(author, "nickname", path)
    display = (nickname or "").strip() or name.strip() or name
    return Author(
        id=read.snowflake(author, "id", path),
        name=display,
        bot=read.boolean(author, "isBot", path, default=False),
    )


def _parse_reactions(
    read: _Reader, raw: dict[str, object], where: str
) -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    emoji_names: list[str] = []
    reacted_by: dict[str, tuple[int, ...]] = {}
    for index, item in enumerate(read.optional_items(raw, "reactions", where)):
        path = f"{where}.reactions[{index}]"
        reaction = read.as_section(item, path)
        emoji = read.section(reaction, "emoji", path)
        name = read.optional_string(emoji, "name", f"{path}.emoji")
        code = read.optional_string(emoji, "code", f"{path}.emoji")
        key = (name or "").strip() or (code or "").strip()
        if not key:
            raise read.fail(f"{path}.emoji.name is missing")
        count = reaction.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool)):
            raise read.fail(f"{path}.count must be a number, got {_kind(count)}")
        users = read.optional_items(reaction, "users", path)
        if count == 0 and not users:
            continue
        if key not in emoji_names:
            emoji_names.append(key)
        ids = [
            read.snowflake(read.as_section(user, f"{path}.users[{n}]"), "id", f"{path}.users[{n}]")
            for n, user in enumerate(users)
        ]
        if ids:
            known = reacted_by.get(key, ())
            reacted_by[key] = known + tuple(i for i in ids if i not in known)
    return tuple(emoji_names), reacted_by


def _parse_reply_to(
    read: _Reader, raw: dict[str, object], where: str, thread_id: int
) -> int | None:
    if raw.get("reference") is None:
        return None
    path = f"{where}.reference"
    reference = read.section(raw, "reference", where)
    kind = read.optional_string(reference, "type", path)
    if kind not in (None, "Default"):
        return None  # a forwarded message quotes elsewhere; it replies to nothing here
    channel_id = read.optional_snowflake(reference, "channelId", path)
    if channel_id is not None and channel_id != thread_id:
        return None  # a thread-starter reference points into the parent channel
    return read.optional_snowflake(reference, "messageId", path)


def _parse_message(read: _Reader, item: object, index: int, thread_id: int) -> tuple[str, Message]:
    where = f"messages[{index}]"
    raw = read.as_section(item, where)
    message_id = read.snowflake(raw, "id", where)
    kind = read.string(raw, "type", where)
    reactions, reacted_by = _parse_reactions(read, raw, where)
    message = Message(
        id=message_id,
        author=_parse_author(read, raw, where),
        content=read.string(raw, "content", where),
        created_at=read.timestamp(raw, "timestamp", where),
        reply_to=_parse_reply_to(read, raw, where, thread_id),
        reactions=reactions,
        reacted_by=reacted_by,
    )
    return kind, message


def parse_export(data: object, *, source: str, scope: str = PUBLIC_SCOPE) -> Thread:
    """Build a Thread from one parsed DiscordChatExporter JSON document.

    ``source`` names the document in errors (usually its path). ``scope`` is the
    visibility of the entry; a private thread is never imported as public: with the
    default scope it gets its forum's private scope instead.

    Raises :class:`ExportFormatError` when a needed field is missing or mistyped, when
    the channel is not a thread ("not a forum post"), or when no message is left.
    """
    read = _Reader(source)
    if not isinstance(data, dict):
        raise read.fail(f"the document must be a JSON object, got {_kind(data)}")
    guild = read.section(data, "guild", "")
    channel = read.section(data, "channel", "")
    channel_type = read.string(channel, "type", "channel")
    if channel_type not in THREAD_CHANNEL_TYPES:
        raise read.fail(f"not a forum post (channel.type is {channel_type!r}, not a thread)")
    guild_id = read.snowflake(guild, "id", "guild")
    thread_id = read.snowflake(channel, "id", "channel")
    forum_id = read.snowflake(channel, "categoryId", "channel")
    title = read.string(channel, "name", "channel").strip()

    by_id: dict[int, Message] = {}
    skipped = 0
    for index, item in enumerate(read.items(data, "messages", "")):
        kind, message = _parse_message(read, item, index, thread_id)
        if kind not in CONTENT_MESSAGE_TYPES and message.id != thread_id:
            skipped += 1
            continue
        by_id.setdefault(message.id, message)
    if not by_id:
        raise read.fail("no messages: the post is empty or was exported without them")
    messages = tuple(by_id[message_id] for message_id in sorted(by_id))
    if thread_id not in by_id:
        log.info("export of thread %d has no starter message (deleted?)", thread_id)

    if channel_type == PRIVATE_THREAD_TYPE and scope == PUBLIC_SCOPE:
        scope = private_scope(forum_id)
    log.debug(
        "parsed thread %d of guild %d: %d messages, %d system messages skipped",
        thread_id,
        guild_id,
        len(messages),
        skipped,
    )
    return Thread(
        guild_id=guild_id,
        forum_id=forum_id,
        thread_id=thread_id,
        title=title,
        messages=messages,
        scope=scope,
        jump_url=JUMP_URL.format(guild_id=guild_id, thread_id=thread_id),
    )


# --- files ---------------------------------------------------------------------------


def load_export(path: Path, *, scope: str = PUBLIC_SCOPE) -> Thread:
    """Read one export file (UTF-8, a byte-order mark tolerated) and parse it.

    Raises :class:`ExportFormatError` for text that is not UTF-8 or not JSON (naming the
    file, line and column) and for JSON of the wrong shape; ``OSError`` as raised by
    reading the file.
    """
    source = str(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportFormatError(source, f"not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportFormatError(
            source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    return parse_export(data, source=source, scope=scope)


def iter_export_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The export files named by ``paths``, each once.

    A file is taken as given; a directory is walked recursively for ``*.json`` files
    in sorted order, skipping hidden files and directories (such as the ``._name.json``
    files that macOS leaves in archives). Every path is checked before any is yielded:
    a missing one raises ``FileNotFoundError`` naming it.
    """
    roots = list(paths)
    for root in roots:
        if not root.exists():
            raise FileNotFoundError(2, "No such export file or directory", str(root))
    return _walk(roots)


def _walk(roots: list[Path]) -> Iterator[Path]:
    seen: set[Path] = set()
    for root in roots:
        if root.is_dir():
            found = sorted(
                path
                for path in root.rglob("*.json")
                if path.is_file()
                and not any(part.startswith(".") for part in path.relative_to(root).parts)
            )
        else:
            found = [root]
        for path in found:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                yield path
