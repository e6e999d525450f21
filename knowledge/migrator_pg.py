"""PostgreSQL's numbered migrations (``knowledge/migrations_pg/``), the twin of
:mod:`knowledge.migrator`.

Each SQLite migration ``NNNN_name.sql`` has a PostgreSQL counterpart with the
same number (a test keeps it so). The version lives in the database, in the
one-row table ``senpai_schema``, and moves in the same transaction as the
migration's statements. Every migration runs holding an advisory lock, so two
processes that start at once on a new database apply each migration once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from knowledge.migrator import Migration, SchemaOutdated, SchemaTooNew, load_migrations

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

MIGRATION_LOCK = 0x53454E4D  # "SENM"

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS senpai_schema ("
    "one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), version INTEGER NOT NULL)"
)


def load_pg_migrations() -> list[Migration]:
    """The migrations shipped in ``knowledge/migrations_pg/``, by version."""
    return load_migrations("migrations_pg")


async def _version(db: asyncpg.Connection) -> int:
    exists = await db.fetchval("SELECT to_regclass('senpai_schema') IS NOT NULL")
    if not exists:
        return 0
    value = await db.fetchval("SELECT version FROM senpai_schema")
    return 0 if value is None else int(value)


def _too_new(current: int, latest: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"this knowledge base has schema version {current}, but this Senpai only knows "
        f"up to version {latest}; upgrade Senpai (or point it at another database)"
    )


async def migrate_pg(
    db: asyncpg.Connection,
    migrations: list[Migration] | None = None,
    *,
    check_only: bool = False,
) -> int:
    """Bring the database to the newest schema; return the version it ends at.

    Each migration is one transaction that first takes the migration lock and
    re-reads the version: one another process has just applied is skipped.
    A migration's script is sent whole (PostgreSQL runs several statements in
    one simple query, inside the transaction). With ``check_only`` nothing is
    written and an older schema is an error too.
    """
    migrations = load_pg_migrations() if migrations is None else migrations
    latest = migrations[-1].version if migrations else 0
    current = await _version(db)
    if current > latest:
        raise _too_new(current, latest)
    if check_only:
        if current < latest:
            raise SchemaOutdated(
                f"this knowledge base has schema version {current} and must be upgraded to "
                f"{latest}, which needs write access: run a command that writes once"
            )
        return current
    for migration in migrations:
        if migration.version <= current:
            continue
        async with db.transaction():
            await db.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
            await db.execute(_VERSION_TABLE)
            found = await _version(db)
            if found > latest:
                raise _too_new(found, latest)
            if found >= migration.version:
                current = found
                continue
            log.info("applying PostgreSQL migration %s", migration.name)
            await db.execute(migration.sql)
            await db.execute(
                "INSERT INTO senpai_schema (one, version) VALUES (TRUE, $1) "
                "ON CONFLICT (one) DO UPDATE SET version = excluded.version",
                migration.version,
            )
        current = migration.version
    return current
