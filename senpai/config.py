"""Settings read from the environment, in one place (the runner's wiring).

Nothing below the runner reads the environment: the values resolved here are
passed down to constructors.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from platformdirs import user_data_dir

from index.e5 import E5_MODEL, E5_MODEL_ALIASES, E5Encoder
from index.encoder import Encoder, HashingEncoder, SentenceTransformerEncoder

DATA_DIR_ENV = "SENPAI_DATA_DIR"
DATABASE_URL_ENV = "SENPAI_DATABASE_URL"
MODEL_ENV = "SENPAI_MODEL"
HASHING_PREFIX = "hashing"
DEFAULT_MODEL = E5_MODEL
"""The shipped model: multilingual-e5-small, so that a Japanese question finds an
English thread and the other way round (measured in bench/quality.py; the
README's "Retrieval quality"). all-MiniLM-L6-v2 stays selectable by name."""
TOKEN_ENV = "SENPAI_DISCORD_TOKEN"

GUILD_GRACE = timedelta(days=30)
"""How long a server's data is kept after the bot is removed from it (it may come back)."""


def data_dir(explicit: str | Path | None = None) -> Path:
    """``--data-dir``, else ``$SENPAI_DATA_DIR``, else the per-user data directory."""
    if explicit:
        return Path(explicit).expanduser()
    from_env = os.environ.get(DATA_DIR_ENV)
    if from_env:
        return Path(from_env).expanduser()
    return Path(user_data_dir("senpai", appauthor=False))


def database_url(explicit: str | None = None) -> str | None:
    """``--database-url``, else ``$SENPAI_DATABASE_URL``, else ``None`` (SQLite in the
    data directory). An empty value also means SQLite."""
    return explicit or os.environ.get(DATABASE_URL_ENV) or None


def model_name(explicit: str | None = None) -> str:
    """``--model``, else ``$SENPAI_MODEL``, else :data:`DEFAULT_MODEL` (multilingual-e5-small)."""
    return explicit or os.environ.get(MODEL_ENV) or DEFAULT_MODEL


def make_encoder(name: str) -> Encoder:
    """An encoder for a model name: multilingual-e5-small (any name of
    :data:`index.e5.E5_MODEL_ALIASES`, the default), else a sentence-transformers
    name or path (``all-MiniLM-L6-v2`` is packaged).

    ``hashing`` (or ``hashing-<dim>``) selects the model-free hashing encoder,
    for quick trials and tests; it is much weaker than a real model.
    """
    if name == HASHING_PREFIX or name.startswith(HASHING_PREFIX + "-"):
        _, _, dim = name.partition("-")
        return HashingEncoder(int(dim)) if dim.isdigit() else HashingEncoder()
    if name in E5_MODEL_ALIASES:
        return E5Encoder()
    return SentenceTransformerEncoder(name)


def quiet_model_loading() -> None:
    """Keep library progress bars and hub look-ups out of the CLI's output."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def discord_token(env_file: Path = Path(".env")) -> str | None:
    """``$SENPAI_DISCORD_TOKEN``, else the same key in a ``.env`` file."""
    token = os.environ.get(TOKEN_ENV)
    if token:
        return token.strip()
    try:
        lines = env_file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        key, sep, value = line.strip().partition("=")
        if sep and key.strip().removeprefix("export ").strip() == TOKEN_ENV:
            return value.strip().strip("'\"") or None
    return None
