"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

import knowledge.store
from index.encoder import Encoder
from senpai import config
from tests.databases import BACKENDS, fresh_postgres


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The model Senpai ships with (``senpai.config.DEFAULT_MODEL``), loaded once per
    session; a test module may define its own ``encoder`` to use another."""
    model = config.make_encoder(config.DEFAULT_MODEL)
    model.encode(["load the model once, before the first test's clock starts"])
    return model


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str | None]:
    """``None`` (SQLite in the test's directory), then a fresh PostgreSQL database's
    URL: every store-level test that takes this fixture runs on both engines."""
    if request.param == "sqlite":
        yield None
        return
    async with fresh_postgres() as url:
        yield url


@pytest.fixture
def on_each_database(database_url: str | None, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """Run a whole suite on both engines without threading a URL through each test:
    every store it opens without a URL opens in this test's database (SQLite in the
    test's own directory, then a fresh PostgreSQL schema). Use it with
    ``pytestmark = pytest.mark.usefixtures("on_each_database")``."""
    if database_url is None:
        return None
    original = knowledge.store.open_database

    async def open_here(path: Path, *, url: str | None = None, **options: Any) -> Any:
        return await original(path, url=url or database_url, **options)

    monkeypatch.setattr(knowledge.store, "open_database", open_here)
    return database_url


@pytest.fixture(autouse=True)
def _no_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's ``SENPAI_DATABASE_URL`` must not send the tests to their server."""
    monkeypatch.delenv(config.DATABASE_URL_ENV, raising=False)
