"""The one SQLite database both stores work on: connections, transactions, the clock.

:class:`Database` owns a write connection (serialised by a lock, each write in
a ``BEGIN IMMEDIATE`` transaction) and a read connection (WAL lets a long read
run beside a write). :class:`~knowledge.store.KnowledgeStore` and
:class:`~knowledge.community.CommunityStore` both take one; neither reaches into
the other's connections or helpers.

:func:`open_database` picks the engine: this SQLite database by default, or
:class:`knowledge.db_postgres.PostgresDatabase` (the same calls over a shared
PostgreSQL server) for a ``postgresql://`` URL. The stores only use the calls of
:class:`Connection` and the backend methods here, so their statements run on both.

Deletion reaches the bytes: ``secure_delete`` overwrites freed pages, and
:meth:`Database.purge_deleted` rewrites full-text indexes and truncates the WAL
after content is forgotten.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aiosqlite

from knowledge.migrator import migrate

if TYPE_CHECKING:
    from knowledge.lexical_pg import PgLexicalIndex

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# SQLite's default limit on host parameters is far above this; chunking keeps
# statements small when callers pass thousands of ids.
CHUNK = 500

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600

WAL_SWITCH_SECONDS = 30.0
"""How long opening a database keeps retrying the switch to WAL while another
process holds the new file (see :func:`_enable_wal`)."""


class DatabaseError(RuntimeError):
    """The database cannot be opened or used; the message is meant for people."""


class Cursor(Protocol):
    """What the stores read from an executed statement (an aiosqlite cursor, or the
    PostgreSQL backend's): rows by position, and the rows a write touched."""

    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class PendingCursor(Protocol):
    """``execute``'s result: awaited, or used as ``async with ... as cursor``."""

    def __await__(self) -> Generator[Any, None, Cursor]: ...

    async def __aenter__(self) -> Cursor: ...

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any: ...


class Connection(Protocol):
    """The calls the stores make on a connection, with ``?`` placeholders: an
    :class:`aiosqlite.Connection`, or :class:`knowledge.db_postgres.PgConnection`."""

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> PendingCursor: ...

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Any: ...


async def _settled(statement: Awaitable[object]) -> None:
    """Await ``statement`` to its end even if the caller is cancelled meanwhile; the
    cancellation is raised once it is done."""
    task = asyncio.ensure_future(statement)
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise


def utcnow() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


def iso(value: datetime) -> str:
    """A datetime as stored: UTC, ISO 8601 (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def parse_time(value: object) -> datetime | None:
    """A stored ISO timestamp back into a datetime (``None`` stays ``None``)."""
    return None if value is None else datetime.fromisoformat(str(value))


def chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    """``values`` in slices small enough for one ``IN (...)`` list."""
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def marks(count: int) -> str:
    """``?, ?, ...`` for ``count`` parameters."""
    return ",".join("?" * count)


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ""
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` (and parents) readable by its owner only."""
    directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    with suppress(PermissionError):
        if directory.stat().st_mode & 0o077:
            directory.chmod(PRIVATE_DIR_MODE)


def _create_private_file(path: Path) -> None:
    """Create an empty file with owner-only permissions unless it exists already.

    SQLite gives the ``-wal`` and ``-shm`` files the permissions of the database.
    """
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE_MODE))


class Database:
    """An open SQLite database: a writer, a reader, and the clock. Use :meth:`open`."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection | None,
        reader: aiosqlite.Connection,
        clock: Clock,
    ) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._lock = asyncio.Lock()
        self.clock = clock

    @classmethod
    async def open(cls, path: Path, *, clock: Clock = utcnow, readonly: bool = False) -> Database:
        """Open (creating and migrating unless ``readonly``) the database at ``path``."""
        if readonly:
            return await cls._open_readonly(path, clock)
        make_private_dir(path.parent)
        _create_private_file(path)
        writer = await _connect(path)
        try:
            await _enable_wal(writer, path)
            await migrate(writer)
            reader = await _connect(path)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader, clock)

    @classmethod
    async def _open_readonly(cls, path: Path, clock: Clock) -> Database:
        if not path.is_file():
            raise DatabaseError(f"there is no knowledge base at {path}")
        reader = await _connect(path, readonly=True)
        try:
            await migrate(reader, check_only=True)
        except BaseException:
            await reader.close()
            raise
        return cls(path, None, reader, clock)

    async def close(self) -> None:
        await self._reader.close()
        if self._writer is not None:
            await self._writer.close()

    @property
    def readonly(self) -> bool:
        return self._writer is None

    @property
    def reader(self) -> Connection:
        """The read connection (never for writes)."""
        return self._reader

    @property
    def lexical(self) -> PgLexicalIndex | None:
        """The full-text index kept outside the stores' own tables, or ``None`` when the
        stores' FTS5 tables serve full-text search (SQLite)."""
        return None

    @property
    def location(self) -> str:
        """Where the data lives, for messages (a path, or a URL without its password)."""
        return str(self.path)

    def now(self) -> str:
        """The clock's time, as stored."""
        return iso(self.clock())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction; commits on success, rolls back on any error."""
        writer = self._writer
        if writer is None:
            raise DatabaseError(f"{self.path} was opened read-only")
        async with self._lock:
            # The statements that open and close the transaction run to completion even
            # when the caller is cancelled meanwhile (a cog unloading mid-pass): a BEGIN
            # left behind would make every later write fail on this connection.
            begun = asyncio.ensure_future(writer.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begun)
            except asyncio.CancelledError:
                with suppress(sqlite3.Error):  # BEGIN itself may have failed
                    await begun
                    await _settled(writer.execute("ROLLBACK"))
                raise
            try:
                yield writer
            except BaseException:
                await _settled(writer.execute("ROLLBACK"))
                raise
            await _settled(writer.execute("COMMIT"))

    async def purge_deleted(self, fts_tables: Sequence[str]) -> None:
        """Make deleted content unrecoverable from the files, after a forget.

        Freed pages are already zeroed (``secure_delete``). FTS5 keeps deleted
        terms in its segments until they are merged: ``optimize`` rewrites each
        full-text index without them. Old page images stay in the WAL until a
        checkpoint: ``TRUNCATE`` copies them back and empties the file.
        """
        async with self.transaction() as db:
            for table in fts_tables:
                await db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
        writer = self._writer
        assert writer is not None
        async with self._lock, writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
            row = await cur.fetchone()
        if row is not None and int(row[0]):
            log.warning("the WAL checkpoint after a deletion was blocked by a reader")


async def _enable_wal(
    writer: aiosqlite.Connection,
    path: Path,
    *,
    within: float = WAL_SWITCH_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Put the database in WAL mode (a no-op once it is: the mode is kept in the file).

    Two processes opening a new database at once (two ``senpai import`` runs, a
    shard starting next to the CLI) may both try the switch; it needs the file to
    themselves, and SQLite answers "database is locked" at once, without its busy
    timeout, when waiting could deadlock. So the switch is retried, with growing
    pauses, until it takes (the other process has switched the file, or closed it)
    or ``within`` seconds have passed.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    pause = 0.02
    while True:
        try:
            await writer.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            text = str(error).lower()
            if "locked" not in text and "busy" not in text:
                raise
            if loop.time() >= deadline:
                raise DatabaseError(
                    f"{path} stayed locked by another process for {within:g} s while "
                    "being opened; is another Senpai process stuck on it?"
                ) from error
            log.debug("database being set up by another process; retrying in %.2f s", pause)
            await sleep(pause)
            pause = min(0.5, pause * 2)


async def _connect(path: Path, *, readonly: bool = False) -> aiosqlite.Connection:
    if not readonly:
        return await _connect_to(path, path)
    try:
        return await _connect_to(path, f"file:{path}?mode=ro")
    except DatabaseError:
        # A WAL database in a directory nobody may write: SQLite can neither create
        # the shared-memory file nor do without it, unless told the file cannot
        # change (true while nobody has write access).
        log.info("opening the database as immutable: its directory is read-only")
        return await _connect_to(path, f"file:{path}?mode=ro&immutable=1")


async def _connect_to(path: Path, target: str | Path) -> aiosqlite.Connection:
    readonly = isinstance(target, str)
    try:
        db = await aiosqlite.connect(target, isolation_level=None, uri=readonly)
    except sqlite3.Error as error:
        raise DatabaseError(_describe(path, error)) from error
    try:
        await db.execute("PRAGMA busy_timeout = 5000")
        await db.execute("PRAGMA foreign_keys = ON")
        if readonly:
            await db.execute("PRAGMA query_only = ON")
        else:
            await db.execute("PRAGMA secure_delete = ON")
            await db.execute("PRAGMA synchronous = NORMAL")
        # Fail here, with a clear message, on a file that is not a database.
        async with db.execute("SELECT COUNT(*) FROM sqlite_master") as cur:
            await cur.fetchone()
    except sqlite3.Error as error:
        await db.close()
        raise DatabaseError(_describe(path, error)) from error
    return db


def _describe(path: Path, error: sqlite3.Error) -> str:
    text = str(error)
    if "not a database" in text or "malformed" in text:
        return f"{path} is not a Senpai knowledge base (or it is damaged): {text}"
    if "readonly" in text or "read-only" in text:
        return f"{path} cannot be written (read-only file or directory): {text}"
    if "unable to open" in text:
        return f"cannot open {path}: {text}"
    return f"{path}: {text}"


async def open_database(
    path: Path,
    *,
    url: str | None = None,
    clock: Clock = utcnow,
    readonly: bool = False,
) -> Database:
    """The SQLite database at ``path``, or the PostgreSQL database at ``url`` when one
    is given (``postgresql://...``; the data directory then holds only derived files)."""
    if url is None:
        return await Database.open(path, clock=clock, readonly=readonly)
    from knowledge.db_postgres import PostgresDatabase

    return await PostgresDatabase.connect(url, clock=clock, readonly=readonly)
