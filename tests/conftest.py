"""Fixtures shared by every test package."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

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


@pytest.fixture(autouse=True)
def _no_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's ``SENPAI_DATABASE_URL`` must not send the tests to their server."""
    monkeypatch.delenv(config.DATABASE_URL_ENV, raising=False)
