"""PostgreSQL as the store's engine: the same statements as SQLite, over asyncpg.

The stores write their SQL once, with ``?`` placeholders and portable
constructs (``INSERT ... ON CONFLICT``, ISO timestamps as text, ``CAST``).
:class:`PgConnection` offers the calls they make on an aiosqlite connection
(``execute`` awaited or used as ``async with``, ``executemany``, a cursor with
``fetchone`` / ``fetchall`` / ``rowcount``) and translates each statement once:
``?`` becomes ``$n`` (string literals and quoted names are skipped) and the
SQLite-only ``INSERT OR IGNORE`` becomes ``ON CONFLICT DO NOTHING``.

:class:`PostgresDatabase` is :class:`~knowledge.db.Database` over a server:
a pool of read connections, one write connection serialised by a lock, and
each write transaction holding a transaction-level advisory lock, so that
writes from every process sharing the database are serialised as SQLite's
``BEGIN IMMEDIATE`` serialises them (the revision counter then orders the
change log exactly as commits happened). Full-text search lives in
:mod:`knowledge.lexical_pg`; the schema in ``knowledge/migrations_pg``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import AsyncIterator, Generator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from knowledge.db import (
    Clock,
    Connection,
    Database,
    DatabaseError,
    redact,
    utcnow,
)
from knowledge.migrator_pg import migrate_pg

if TYPE_CHECKING:
    import asyncpg

    from knowledge.lexical_pg import PgLexicalIndex

log = logging.getLogger(__name__)

WRITE_LOCK = 0x53454E50  # "SENP": the advisory lock every write transaction holds
READ_POOL_SIZE = 4
CONNECT_TIMEOUT = 10.0

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?", re.DOTALL)
_INSERT_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_INSERT_OR_REPLACE = re.compile(r"^\s*INSERT\s+OR\s+REPLACE\b", re.IGNORECASE)
_RETURNING = re.compile(r"\bRETURNING\b", re.IGNORECASE)
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


class UnsupportedStatement(DatabaseError):
    """A statement uses SQLite-only SQL that has no mechanical PostgreSQL translation."""


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``sql`` as PostgreSQL reads it: ``?`` placeholders numbered ``$1, $2, ...``
    outside string literals, quoted names and comments; ``INSERT OR IGNORE INTO``
    as ``INSERT INTO ... ON CONFLICT DO NOTHING``. ``INSERT OR REPLACE`` is refused
    (it needs a conflict target: write ``ON CONFLICT (...) DO UPDATE``)."""
    if _INSERT_OR_REPLACE.match(sql):
        raise UnsupportedStatement(
            "INSERT OR REPLACE is SQLite-only: write INSERT ... ON CONFLICT (...) DO UPDATE"
        )
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) != "?":
            return match.group(0)
        count += 1
        return f"${count}"

    out = _TOKEN.sub(number, sql)
    if _INSERT_OR_IGNORE.match(out):
        out = _INSERT_OR_IGNORE.sub("INSERT INTO", out, count=1)
        returning = _RETURNING.search(out)
        if returning:
            at = returning.start()
            out = f"{out[:at].rstrip()} ON CONFLICT DO NOTHING {out[at:]}"
        else:
            out = f"{out.rstrip().rstrip(';')} ON CONFLICT DO NOTHING"
    return out


_LIST_TOKEN = re.compile(
    r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*"
    r"|(?P<list>\b(?P<negated>NOT\s+)?IN\s*\(\s*\?(?:\s*,\s*\?)*\s*\))|\?",
    re.DOTALL | re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Statement:
    """A store statement as PostgreSQL runs it, and how its parameters are bound."""

    sql: str
    """The native statement (``$n`` placeholders)."""
    lists: tuple[int, ...] | None
    """Per native parameter: 0 for one value, ``n`` for a list that takes ``n`` of the
    caller's values; ``None`` when every parameter is one value."""

    def bind(self, parameters: Sequence[Any]) -> tuple[Any, ...]:
        """The caller's parameters as the native statement takes them."""
        if self.lists is None:
            return tuple(parameters)
        out: list[Any] = []
        at = 0
        for size in self.lists:
            if size:
                out.append(list(parameters[at : at + size]))
                at += size
            else:
                out.append(parameters[at])
                at += 1
        out.extend(parameters[at:])  # more than the statement takes: the driver says so
        return tuple(out)


@functools.lru_cache(maxsize=2048)
def statement(sql: str) -> Statement:
    """``sql`` as :func:`translate` makes it, with every ``IN (?, ?, ...)`` list written
    ``= ANY($n)`` (``NOT IN``: ``<> ALL($n)``), one array parameter: a lookup of 3 ids
    and one of 40 are then the same statement, prepared once per connection and
    planned once, instead of one statement (and one more round trip to prepare it)
    per list length. The two forms mean the same, NULLs included."""
    lists: list[int] = []

    def collapse(match: re.Match[str]) -> str:
        if match.group("list"):
            lists.append(match.group(0).count("?"))
            return "<> ALL(?)" if match.group("negated") else "= ANY(?)"
        if match.group(0) == "?":
            lists.append(0)
        return match.group(0)

    collapsed = _LIST_TOKEN.sub(collapse, sql)
    return Statement(translate(collapsed), tuple(lists) if any(lists) else None)


class StatementFailed(DatabaseError):
    """PostgreSQL refused a statement, or the connection to it failed mid-way."""


@contextmanager
def _driver_errors() -> Iterator[None]:
    """The driver's errors as :class:`StatementFailed`, so that callers above the store
    handle one engine-neutral error (as they handle ``sqlite3.Error`` on SQLite)."""
    import asyncpg

    try:
        yield
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise StatementFailed(f"PostgreSQL: {type(error).__name__}: {error}") from error


def _rowcount(status: str) -> int:
    """Rows touched, from a command status such as ``INSERT 0 1`` or ``DELETE 3``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class PgCursor:
    """The rows (or the row count) of one executed statement."""

    def __init__(self, rows: Sequence[Any], rowcount: int) -> None:
        self._rows = rows
        self._rowcount = rowcount

    @property
    def rowcount(self) -> int:
        return self._rowcount

    async def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[Any]:
        return list(self._rows)


class _Pending:
    """A statement on its way: awaited for its cursor, or used as ``async with``."""

    def __init__(self, run: Any) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, PgCursor]:
        cursor: PgCursor = yield from self._run.__await__()
        return cursor

    async def __aenter__(self) -> PgCursor:
        cursor: PgCursor = await self._run
        return cursor

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        return None


class PgConnection:
    """The stores' calls over an asyncpg connection or pool (``?`` SQL translated)."""

    def __init__(self, target: asyncpg.Connection | asyncpg.Pool) -> None:
        self._target = target

    def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> _Pending:
        """Run one statement; rows are read from the cursor, writes report ``rowcount``."""
        return _Pending(self._run(sql, tuple(parameters or ())))

    async def _run(self, sql: str, parameters: tuple[Any, ...]) -> PgCursor:
        native = statement(sql)
        bound = native.bind(parameters)
        with _driver_errors():
            if _WRITE.match(native.sql) and not _RETURNING.search(native.sql):
                status = await self._target.execute(native.sql, *bound)
                return PgCursor((), _rowcount(status))
            rows = await self._target.fetch(native.sql, *bound)
        return PgCursor(rows, len(rows))

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> None:
        """Run one statement once per parameter row."""
        native = statement(sql)
        rows = [native.bind(tuple(p)) for p in parameters]
        if rows:
            with _driver_errors():
                await self._target.executemany(native.sql, rows)

    async def fetch_native(self, sql: str, *parameters: Any) -> list[Any]:
        """A PostgreSQL-only query (``$n`` placeholders), for the dialect's own parts."""
        with _driver_errors():
            rows: list[Any] = await self._target.fetch(sql, *parameters)
        return rows

    async def execute_native(self, sql: str, *parameters: Any) -> str:
        """A PostgreSQL-only statement (``$n`` placeholders); returns the command status."""
        with _driver_errors():
            status: str = await self._target.execute(sql, *parameters)
        return status


SESSION_SETTINGS = {"jit": "off"}
"""Settings of every connection. JIT compilation costs tens of milliseconds each time
a statement's estimated cost crosses ``jit_above_cost`` (a misestimated lookup over a
large server's postings could), far more than it saves on statements that run in a few."""


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Return a read connection to the pool as it is. The reads change no session state
    (no ``SET``, ``LISTEN`` or session locks; an open transaction is still rolled back
    by the pool), so asyncpg's default reset, one more round trip after every
    statement read through the pool, buys nothing."""
    del connection


def check_url(url: str) -> None:
    """Refuse, with a one-line reason, a URL that cannot name a PostgreSQL database."""
    scheme = urlsplit(url).scheme
    if scheme not in {"postgresql", "postgres"}:
        raise DatabaseError(
            f"the database URL {redact(url)!r} is not a PostgreSQL URL "
            "(expected postgresql://user:password@host:port/database)"
        )


def _asyncpg() -> Any:
    try:
        import asyncpg
    except ImportError as error:
        raise DatabaseError(
            "PostgreSQL needs the asyncpg driver: pip install 'senpai[postgres]'"
        ) from error
    return asyncpg


class PostgresDatabase(Database):
    """A PostgreSQL database shared by every process of one Senpai. Use :meth:`connect`."""

    def __init__(
        self,
        url: str,
        writer: asyncpg.Connection | None,
        pool: asyncpg.Pool,
        clock: Clock,
    ) -> None:
        self.path = Path()
        self.url = url
        self._pg_writer = writer
        self._pool = pool
        self._pg_reader = PgConnection(pool)
        self._lock = asyncio.Lock()
        from knowledge.lexical_pg import PgLexicalIndex  # here: lexical_pg imports this module

        self._lexical = PgLexicalIndex()
        self.clock = clock

    @classmethod
    async def connect(
        cls, url: str, *, clock: Clock = utcnow, readonly: bool = False
    ) -> PostgresDatabase:
        """Connect to ``url``, creating or migrating the schema unless ``readonly``."""
        check_url(url)
        asyncpg = _asyncpg()
        settings = {**SESSION_SETTINGS}
        if readonly:
            settings["default_transaction_read_only"] = "on"
        try:
            writer = (
                None
                if readonly
                else await asyncpg.connect(
                    url, timeout=CONNECT_TIMEOUT, server_settings=SESSION_SETTINGS
                )
            )
            try:
                if writer is not None:
                    await migrate_pg(writer)
                pool = await asyncpg.create_pool(
                    url,
                    min_size=1,
                    max_size=READ_POOL_SIZE,
                    timeout=CONNECT_TIMEOUT,
                    server_settings=settings,
                    reset=_keep_session,
                )
                if readonly:
                    async with pool.acquire() as conn:
                        await migrate_pg(conn, check_only=True)
            except BaseException:
                if writer is not None:
                    await writer.close()
                raise
        except (OSError, ValueError, TimeoutError, asyncpg.PostgresError) as error:
            raise DatabaseError(f"cannot use PostgreSQL at {redact(url)}: {error}") from error
        return cls(url, writer, pool, clock)

    async def close(self) -> None:
        await self._pool.close()
        if self._pg_writer is not None:
            await self._pg_writer.close()

    @property
    def readonly(self) -> bool:
        return self._pg_writer is None

    @property
    def reader(self) -> Connection:
        return self._pg_reader

    @property
    def lexical(self) -> PgLexicalIndex:
        return self._lexical

    @property
    def location(self) -> str:
        return redact(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """One write transaction, serialised with every other process's writes."""
        writer = self._pg_writer
        if writer is None:
            raise DatabaseError(f"{self.location} was opened read-only")
        async with self._lock, writer.transaction():
            await writer.execute("SELECT pg_advisory_xact_lock($1)", WRITE_LOCK)
            yield PgConnection(writer)

    async def purge_deleted(self, fts_tables: Sequence[str]) -> None:
        """After a forget: ``VACUUM`` the tables content was deleted from, so the dead
        row versions are reclaimed (their space reused; see the README for what the
        write-ahead log keeps until its segments are recycled)."""
        del fts_tables  # PostgreSQL's full-text tables are ordinary tables, listed below
        writer = self._pg_writer
        if writer is None:
            raise DatabaseError(f"{self.location} was opened read-only")
        async with self._lock:
            with _driver_errors():
                await writer.execute(f"VACUUM {', '.join(CONTENT_TABLES)}")


CONTENT_TABLES = (
    "entries",
    "answer_parts",
    "feedback",
    "shown",
    "entry_terms",
    "entry_text",
    "term_frequencies",
    "questions",
    "nudges",
    "escalations",
    "me_too",
    "me_too_notices",
    "guild_settings",
)
"""The tables that hold member-written text or per-member rows: vacuumed after a forget."""
