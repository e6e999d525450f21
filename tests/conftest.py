"""Fixtures shared by every test package."""

from __future__ import annotations

import pytest

from index.encoder import Encoder
from senpai import config


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The model Senpai ships with (``senpai.config.DEFAULT_MODEL``), loaded once per
    session; a test module may define its own ``encoder`` to use another."""
    model = config.make_encoder(config.DEFAULT_MODEL)
    model.encode(["load the model once, before the first test's clock starts"])
    return model
