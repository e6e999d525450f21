"""The shards a running bot serves, read off the discord.py client.

A process that runs only some shards polls the shared database for the rows of
its own servers only (:mod:`knowledge.shards`); the other servers' work is done by
the processes that receive their events.
"""

from __future__ import annotations

from discord.ext import commands

from knowledge.shards import Shards


def shards_of(bot: commands.Bot | commands.AutoShardedBot) -> Shards | None:
    """The shards ``bot`` runs, or ``None`` when it serves every server (unsharded,
    or all the shards in this process). Read once connected: an auto-sharded bot
    learns its shard count from Discord when none was given."""
    count = bot.shard_count
    if isinstance(bot, commands.AutoShardedBot):
        ids = bot.shard_ids
    else:
        ids = None if bot.shard_id is None else [bot.shard_id]
    if not count or count <= 1 or ids is None:
        return None
    shards = Shards(count, frozenset(ids))
    return None if shards.every_shard else shards
