"""Point an unpatched discord.py at a LocalDiscord server.

discord.py has two hard-coded endpoints: ``discord.http.Route.BASE`` for REST and
``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` for the gateway. A plain
``discord.Client`` never asks ``GET /gateway/bot`` for the gateway URL (only
``AutoShardedClient`` does), so both must be redirected. discord.py is imported
lazily: the rest of this package does not need it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator


def point_discord_py_at(api_url: str, gateway_url: str) -> Callable[[], None]:
    """Redirect discord.py to ``api_url`` (``.../api/v10``) and ``gateway_url``.

    Returns a function that restores the previous values. Call it before creating
    the client (``Route`` objects read ``Route.BASE`` when they are built).
    """
    import yarl
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    previous_base = Route.BASE
    previous_gateway = DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = api_url
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        Route.BASE = previous_base
        DiscordWebSocket.DEFAULT_GATEWAY = previous_gateway

    return restore


@contextlib.contextmanager
def discord_py_pointed_at(api_url: str, gateway_url: str) -> Iterator[None]:
    """Context manager form of :func:`point_discord_py_at`."""
    restore = point_discord_py_at(api_url, gateway_url)
    try:
        yield
    finally:
        restore()
