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

Ids are strings of digits in the format; plain JSON integers are accepted too. An id
must fit SQLite's signed 64-bit integer (1 to 2^63 - 1); timestamps are normalised to
UTC and must fall between Discord's epoch (2015) and the year 9999. Lone surrogates
(``"\\ud800"`` escapes, which no encoder accepts) become U+FFFD as they are read.

Hostile files are refused before they can hurt: only regular files are opened (a FIFO
would block forever), at most :data:`MAX_EXPORT_BYTES` are read, and nesting deeper
than :data:`MAX_NESTING` is refused by a linear pre-scan instead of recursing.

Parsing is pure; :func:`load_export` and :func:`find_export_files` touch the disk.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import stat
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

MAX_SNOWFLAKE = 2**63 - 1
"""The largest id that is stored: SQLite integers are signed 64-bit."""

DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=UTC)
"""No Discord message is older than this (the epoch of Discord's ids)."""

MAX_EXPORT_BYTES = 64 * 1024 * 1024
"""The largest export file that is read. A forum post of thousands of messages with
embeds is a few megabytes; anything past this is not one post."""

MAX_NESTING = 64
"""The deepest nesting of arrays and objects accepted. An export nests about 6 deep."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_QUOTE_OR_BRACKET = bytes(b for b in range(256) if b not in b'"[]{}')
_QUOTED = re.compile(rb'"[^"]*"')
_OPENERS = re.compile(rb"[\[{]{%d,}" % (MAX_NESTING + 1))


class _SourceProblem(Exception):
    """Something wrong with one source: ``source`` names it, ``problem`` says what."""

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(source, problem)
        self.source = source
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


class ExportFormatError(_SourceProblem, ValueError):
    """A file is not a DiscordChatExporter export of a forum post.

    ``source`` names the file, ``problem`` says what is wrong with it.
    """


class ExportFileError(_SourceProblem):
    """A path that cannot be read as an export file at all (before its text is seen).

    ``source`` names the path (printably), ``problem`` says why, starting with its kind:
    "not found", "unreadable: ...", "not a regular file: ...", "too large: ...",
    "no export files: ...".
    """


def display_path(path: Path | str) -> str:
    """``path`` as printable text: bytes that are not UTF-8 are shown as ``\\xff``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def scrub_surrogates(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD, so it can be encoded."""
    return _SURROGATE.sub("\ufffd", text)


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
        return scrub_surrogates(value)

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
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            number = int(value)
        if number is not None and 0 < number <= MAX_SNOWFLAKE:
            return number
        raise self.fail(
            f"{path} must be an id (a string of digits, from 1 to 2^63 - 1), got {value!r:.40}"
        )

    def timestamp(self, obj: dict[str, object], key: str, where: str) -> datetime:
        """An ISO 8601 timestamp, in UTC (an offset-less one is taken as UTC)."""
        value = self.string(obj, key, where)
        path = _join(where, key)
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise self.fail(f"{path} must be an ISO 8601 timestamp, got {value!r:.40}") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            in_utc: datetime | None = moment.astimezone(UTC)
        except OverflowError:
            in_utc = None
        if in_utc is None or in_utc < DISCORD_EPOCH:
            raise self.fail(
                f"{path} is out of range (before 2015 or after 9999), got {value!r:.40}"
            )
        return in_utc


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
        roles=_parse_roles(read, author, path),
    )


def _parse_roles(read: _Reader, author: dict[str, object], path: str) -> tuple[int, ...] | None:
    """The author's role ids; ``None`` when the export does not list roles."""
    if author.get("roles") is None:
        return None
    roles: list[int] = []
    for index, item in enumerate(read.items(author, "roles", path)):
        where = f"{path}.roles[{index}]"
        roles.append(read.snowflake(read.as_section(item, where), "id", where))
    return tuple(dict.fromkeys(roles))


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


def load_export(
    path: Path, *, scope: str = PUBLIC_SCOPE, max_bytes: int = MAX_EXPORT_BYTES
) -> Thread:
    """Read one export file (UTF-8, a byte-order mark tolerated) and parse it.

    Only a regular file is opened, and at most ``max_bytes`` of it are read.

    Raises :class:`ExportFileError` for a path that cannot be read as a file (missing,
    unreadable, not a regular file, too large) and :class:`ExportFormatError` for text
    that is not UTF-8, not JSON (naming the line and column), nested too deeply, or
    JSON of the wrong shape. Both name the file.
    """
    source = display_path(path)
    raw = _read_regular_file(path, source, max_bytes)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportFormatError(source, f"not UTF-8 text (byte {exc.start})") from None
    if _nested_too_deeply(raw):
        raise ExportFormatError(source, f"nested deeper than {MAX_NESTING} levels")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExportFormatError(
            source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError as exc:  # an integer literal of thousands of digits
        raise ExportFormatError(source, f"invalid JSON: {str(exc).split(';')[0]}") from None
    except RecursionError:  # not reached after the pre-scan; kept as a last guard
        raise ExportFormatError(source, f"nested deeper than {MAX_NESTING} levels") from None
    return parse_export(data, source=source, scope=scope)


def _read_regular_file(path: Path, source: str, max_bytes: int) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes``.

    The type is checked before opening (opening a FIFO blocks until a writer comes)
    and again on the open descriptor, which is opened non-blocking so that a path
    swapped for a FIFO in between cannot block either. The size is checked before
    reading, and the read is bounded, because some files (``/proc``) claim size 0.
    """
    try:
        before = os.stat(path)
    except OSError as error:
        raise _unreadable(source, error) from None
    _require_regular(source, before.st_mode)
    if before.st_size > max_bytes:
        raise _too_large(source, before.st_size, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as error:
        raise _unreadable(source, error) from None
    with os.fdopen(descriptor, "rb") as file:
        try:
            _require_regular(source, os.fstat(file.fileno()).st_mode)
            raw = file.read(max_bytes + 1)
        except OSError as error:
            raise _unreadable(source, error) from None
    if len(raw) > max_bytes:
        raise _too_large(source, None, max_bytes)
    return raw


def _require_regular(source: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise ExportFileError(source, f"not a regular file: {_file_kind(mode)}")


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ]
    return next((name for test, name in kinds if test(mode)), "an unknown kind of file")


def _size(count: int) -> str:
    mebibyte = 1024 * 1024
    return f"{math.ceil(count / mebibyte)} MB" if count >= mebibyte else f"{count} bytes"


def _too_large(source: str, size: int | None, limit: int) -> ExportFileError:
    told = _size(size) if size is not None else "more than that"
    return ExportFileError(source, f"too large: {told}, over the limit of {_size(limit)}")


def _unreadable(source: str, error: OSError) -> ExportFileError:
    if error.errno == errno.ENOENT:
        return ExportFileError(source, "not found: no such file or directory")
    if error.errno == errno.ELOOP:
        return ExportFileError(source, "unreadable: symbolic link loop")
    return ExportFileError(source, f"unreadable: {error.strerror or type(error).__name__}")


def _nested_too_deeply(raw: bytes) -> bool:
    """Whether arrays and objects in JSON ``raw`` nest more than :data:`MAX_NESTING` deep.

    Linear in the size of ``raw`` (times the limit), with no recursion, and all of it
    in C-level bytes operations: escapes are dropped, then everything but quotes and
    brackets (UTF-8 never puts an ASCII byte inside a multi-byte character), then the
    strings (brackets inside them do not count); each pass then removes the innermost
    ``[]`` and ``{}`` pairs. Text that is not well-formed is left for the JSON parser
    to report.
    """
    skeleton = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = skeleton.translate(None, _NOT_QUOTE_OR_BRACKET)
    # Adjacent quotes have nothing between them: dropping them leaves every other
    # quote paired as it was, so the few strings with brackets in them remain.
    brackets = _QUOTED.sub(b"", skeleton.replace(b'""', b""))
    for _ in range(MAX_NESTING):
        inner_removed = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if len(inner_removed) == len(brackets):
            # Nothing left, or unbalanced (a truncated file): too deep only if the
            # openers left in a row are; otherwise the JSON parser says what is wrong.
            return _OPENERS.search(brackets) is not None
        brackets = inner_removed
    return bool(brackets)


def find_export_files(paths: Iterable[Path]) -> Iterator[Path | ExportFileError]:
    """The export files named by ``paths``, each once, and a problem for each bad path.

    A path given as a file is taken as is, whatever its name; a directory is walked
    for ``*.json`` files in sorted order, skipping hidden files and directories (such
    as the ``._name.json`` files that macOS leaves in archives) and following symbolic
    links without looping. Nothing raises: a missing or unreadable path, a directory
    that cannot be listed, a ``*.json`` entry that cannot be looked at (a symbolic link
    loop) and a directory without any export file each give an
    :class:`ExportFileError`, in the place where the path would have come.
    """
    seen_files: set[tuple[int, int]] = set()
    seen_dirs: set[tuple[int, int]] = set()
    reported: set[str] = set()
    for root in paths:
        try:
            info = os.stat(root)
        except OSError as error:
            found: list[tuple[Path, Path | ExportFileError, tuple[int, int]]] = [
                (root, _unreadable(display_path(root), error), (0, 0))
            ]
        else:
            key = (info.st_dev, info.st_ino)
            if not stat.S_ISDIR(info.st_mode):
                found = [(root, root, key)]
            elif key in seen_dirs:
                found = []
            else:
                seen_dirs.add(key)
                found = _walk(root, seen_dirs)
                if not found:
                    problem = "no export files: no *.json file in this directory"
                    found = [(root, ExportFileError(display_path(root), problem), (0, 0))]
        for _, item, key in found:
            if isinstance(item, ExportFileError):
                if item.source not in reported:
                    reported.add(item.source)
                    yield item
            elif key not in seen_files:
                seen_files.add(key)
                yield item


def _walk(
    root: Path, seen_dirs: set[tuple[int, int]]
) -> list[tuple[Path, Path | ExportFileError, tuple[int, int]]]:
    """Every ``*.json`` under ``root`` (and every problem), sorted by path.

    Iterative, so depth costs no recursion; each directory (by device and inode) is
    listed once, so a symbolic link back to a parent ends instead of looping.
    """
    found: list[tuple[Path, Path | ExportFileError, tuple[int, int]]] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError as error:
            found.append((directory, _unreadable(display_path(directory), error), (0, 0)))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = directory / entry.name
            try:
                info = entry.stat()
            except OSError as error:
                if entry.name.endswith(".json"):
                    found.append((path, _unreadable(display_path(path), error), (0, 0)))
                else:
                    log.debug("cannot look at %s: %s", display_path(path), error.strerror)
                continue
            key = (info.st_dev, info.st_ino)
            if stat.S_ISDIR(info.st_mode):
                if key not in seen_dirs:
                    seen_dirs.add(key)
                    pending.append(path)
            elif entry.name.endswith(".json"):
                found.append((path, path, key))
    found.sort(key=lambda item: item[0])
    return found
