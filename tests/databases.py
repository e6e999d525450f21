"""Databases for the store-level suites: SQLite always, PostgreSQL when
``SENPAI_TEST_DATABASE_URL`` names a server (``scripts/test.sh`` starts one).

Each PostgreSQL test gets a fresh schema of its own in one test database (made
once from that URL, with ``pg_trgm`` in ``public``), reached through a URL whose
``search_path`` names it, and dropped afterwards: creating a whole database per
test costs seconds on a busy machine. In CI (``CI=true``) a missing URL fails the test instead of
skipping it, so the PostgreSQL suite cannot silently stop running.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest

TEST_URL_ENV = "SENPAI_TEST_DATABASE_URL"
BACKENDS = ("sqlite", "postgres")
TEST_DATABASE = "senpai_tests"
_ready: set[str] = set()


def admin_url() -> str:
    """The test server's URL, or skip (fail in CI) without one."""
    url = os.environ.get(TEST_URL_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the PostgreSQL tests: {TEST_URL_ENV} is not set")
    pytest.skip(f"no PostgreSQL to test against ({TEST_URL_ENV} is not set)")


def with_database(url: str, name: str, search_path: str | None = None) -> str:
    """``url`` naming database ``name`` instead of its own (and a ``search_path``:
    asyncpg passes unknown URL parameters to the server as settings)."""
    parts = urlsplit(url)
    query = parts.query
    if search_path is not None:
        query = "&".join(q for q in (query, f"search_path={search_path},public") if q)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", query, parts.fragment))


async def _test_database(admin: str) -> str:
    import asyncpg

    url = with_database(admin, TEST_DATABASE)
    if admin in _ready:
        return url
    conn = await asyncpg.connect(admin)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", TEST_DATABASE):
            await conn.execute(f'CREATE DATABASE "{TEST_DATABASE}"')
    finally:
        await conn.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public")
    finally:
        await conn.close()
    _ready.add(admin)
    return url


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A new, empty schema on the test server, as a URL; dropped on exit."""
    import asyncpg

    database = await _test_database(admin_url())
    name = f"t_{uuid.uuid4().hex[:16]}"
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(f'CREATE SCHEMA "{name}"')
        yield with_database(database, TEST_DATABASE, name)
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await conn.close()
