"""Discord snowflake ids: time-ordered 64-bit integers."""

from __future__ import annotations

import datetime as dt
import time

DISCORD_EPOCH_MS = 1_420_070_400_000
_INCREMENT_BITS = 12
_TIMESTAMP_SHIFT = 22
_INCREMENT_MASK = (1 << _INCREMENT_BITS) - 1
_WORKER_BITS = 0b00001 << 17 | 0b00001 << 12


def snowflake_time(snowflake: int) -> dt.datetime:
    """Return the creation time encoded in ``snowflake`` (UTC)."""
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


class SnowflakeFactory:
    """Hands out unique snowflakes.

    Ids made "now" are strictly increasing, like Discord's. Ids made for an explicit
    moment (seeded history) encode that moment and never collide with any other id.
    """

    def __init__(self) -> None:
        self._last_ms = 0
        self._increment = 0
        self._used: set[int] = set()

    def next(self, at: dt.datetime | None = None) -> int:
        """Return a new snowflake for ``at`` (default: now)."""
        if at is None:
            ms = max(int(time.time() * 1000), self._last_ms)
            if ms == self._last_ms:
                self._increment += 1
                if self._increment > _INCREMENT_MASK:
                    ms += 1
                    self._increment = 0
            else:
                self._increment = 0
            self._last_ms = ms
            value = self._compose(ms, self._increment)
            while value in self._used:
                value += 1
        else:
            ms = int(at.timestamp() * 1000)
            value = self._compose(ms, 0)
            while value in self._used:
                value += 1
        self._used.add(value)
        return value

    def next_on_shard(self, shard_id: int, num_shards: int) -> int:
        """Return a new snowflake made "now" (or a few ms later) that Discord's sharding
        formula, ``(id >> 22) % num_shards``, sends to ``shard_id``."""
        if not 0 <= shard_id < num_shards:
            raise ValueError(f"shard {shard_id} is not one of {num_shards} shard(s)")
        while True:
            value = self.next()
            if (value >> _TIMESTAMP_SHIFT) % num_shards == shard_id:
                return value
            # Move to the next millisecond: every id of this one lands on the same shard.
            self._last_ms += 1
            self._increment = 0

    @staticmethod
    def _compose(ms: int, increment: int) -> int:
        return ((ms - DISCORD_EPOCH_MS) << 22) | _WORKER_BITS | increment
