"""``senpai`` in a process of its own, talking to a LocalDiscord instead of Discord.

``python -m tests.e2e.senpai_process API_URL GATEWAY_URL [senpai arguments...]``
points discord.py's two endpoints (class attributes, see
:func:`localdiscord.point_discord_py_at`) at the local Discord, then runs the
``senpai`` command line unchanged: ``run --shard-count 2 --shard-ids 1`` is the real
runner, sharding and all. An auto-sharded client asks ``GET /gateway/bot`` for the
gateway, which the local Discord answers with its own.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from localdiscord import point_discord_py_at
from senpai.cli import main


def run(argv: Sequence[str]) -> int:
    """``argv``: the API URL, the gateway URL, then ``senpai``'s arguments."""
    if len(argv) < 3:
        print("usage: senpai_process API_URL GATEWAY_URL SENPAI_ARGS...", file=sys.stderr)
        return 2
    api_url, gateway_url, *senpai_args = argv
    point_discord_py_at(api_url, gateway_url)
    return main(senpai_args)


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1:]))
