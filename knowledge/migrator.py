"""Numbered SQL migrations, applied in order, each in its own transaction.

The schema version lives in the database itself (``PRAGMA user_version``) and
is set inside the same transaction as the migration's statements, so a crash
mid-migration leaves the database at the previous version, untouched.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

import aiosqlite

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNew(RuntimeError):
    """The database was written by a newer Senpai than this one."""


class SchemaOutdated(RuntimeError):
    """A read-only open found a schema that must be migrated first."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """Split the script into complete statements (``executescript`` would commit)."""
        statements: list[str] = []
        buffer = ""
        for line in self.sql.splitlines(keepends=True):
            if not buffer and line.lstrip().startswith("--"):
                continue
            buffer += line
            if sqlite3.complete_statement(buffer):
                statements.append(buffer.strip())
                buffer = ""
        if buffer.strip():
            raise ValueError(f"migration {self.name} ends with an incomplete statement")
        return statements


def load_migrations(folder: str = "migrations") -> list[Migration]:
    """The migrations shipped in ``knowledge/<folder>/`` (SQLite's by default), by version."""
    migrations: list[Migration] = []
    for item in (resources.files("knowledge") / folder).iterdir():
        match = _NAME.match(item.name)
        if match:
            migrations.append(Migration(int(match.group(1)), item.name, item.read_text("utf-8")))
    migrations.sort(key=lambda m: m.version)
    for expected, migration in enumerate(migrations, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbering has a gap before {migration.name}")
    return migrations


async def _version(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(
    db: aiosqlite.Connection,
    migrations: list[Migration] | None = None,
    *,
    check_only: bool = False,
) -> int:
    """Bring ``db`` to the newest schema; return the version it ends at.

    ``db`` must be in autocommit mode (``isolation_level=None``). Several
    processes may open a new database at once: each migration re-reads the
    version inside its ``BEGIN IMMEDIATE`` transaction, so a migration another
    process has just applied is skipped, never applied twice. With
    ``check_only`` nothing is written: an older schema is an error too.
    """
    migrations = load_migrations() if migrations is None else migrations
    latest = migrations[-1].version if migrations else 0
    current = await _version(db)
    if current > latest:
        raise SchemaTooNew(
            f"this knowledge base has schema version {current}, but this Senpai only knows "
            f"up to version {latest}; upgrade Senpai (or point it at another data directory)"
        )
    if check_only:
        if current < latest:
            raise SchemaOutdated(
                f"this knowledge base has schema version {current} and must be upgraded to "
                f"{latest}, which needs write access: run a command that writes (senpai import "
                "or senpai rebuild) with write access once"
            )
        return current
    for migration in migrations:
        if migration.version <= current:
            continue
        await db.execute("BEGIN IMMEDIATE")
        try:
            if await _version(db) >= migration.version:
                await db.execute("ROLLBACK")
                current = migration.version
                continue
            log.info("applying migration %s", migration.name)
            for statement in migration.statements():
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {migration.version:d}")
        except BaseException:
            if db.in_transaction:
                await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")
        current = migration.version
    return current
