"""Which servers a process serves when the bot runs as several shards.

Discord sends a server's events to shard ``(guild_id >> 22) % shard_count`` only.
A process that runs some of the shards does the work of those servers and leaves
the others to the processes that run theirs: the work driven by rows in the
shared database (nudges, escalations, "me too" notices, forgetting departed
servers) is filtered with :meth:`Shards.owns` in Python or :meth:`Shards.where`
in SQL. This module is the one place the arithmetic lives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

SHARD_SHIFT = 22
"""A snowflake's low 22 bits are worker, process and increment; Discord shards by the rest."""


class ShardError(ValueError):
    """A shard option that cannot be right; the message says why."""


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard Discord sends ``guild_id``'s events to, out of ``shard_count``."""
    return (guild_id >> SHARD_SHIFT) % shard_count


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0,2"`` → ``(0, 2)``: comma-separated shard numbers, each at least 0, no repeats."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise ShardError("no shard id given (use comma-separated numbers such as 0,1)")
    ids: list[int] = []
    for part in parts:
        if not part.lstrip("-").isdigit():
            raise ShardError(f"not a shard id: {part!r} (use comma-separated numbers such as 0,1)")
        value = int(part)
        if value < 0:
            raise ShardError(f"shard ids start at 0: {value} is negative")
        if value in ids:
            raise ShardError(f"shard {value} is given twice")
        ids.append(value)
    return tuple(ids)


@dataclass(frozen=True, slots=True)
class Shards:
    """The shards one process runs: ``ids`` out of ``count``."""

    count: int
    ids: frozenset[int]

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ShardError(f"the shard count must be at least 1, not {self.count}")
        if not self.ids:
            raise ShardError("a process must run at least one shard")
        outside = sorted(i for i in self.ids if not 0 <= i < self.count)
        if outside:
            raise ShardError(
                f"shard id {outside[0]} is out of range: with {self.count} shard(s) "
                f"the ids are 0 to {self.count - 1}"
            )

    @classmethod
    def of(cls, count: int | None, ids: Iterable[int] | None = None) -> Shards | None:
        """The shards of ``--shard-count`` / ``--shard-ids``: ``None`` when neither is
        given (one unsharded connection); every shard when only the count is."""
        if count is None:
            if ids is not None:
                raise ShardError("--shard-ids needs --shard-count (the total number of shards)")
            return None
        chosen = range(count) if ids is None else ids
        return cls(count, frozenset(chosen))

    @property
    def every_shard(self) -> bool:
        """Whether this process runs all the shards (it then serves every server)."""
        return len(self.ids) == self.count

    def owns(self, guild_id: int) -> bool:
        """Whether ``guild_id``'s events come to this process."""
        return shard_of(guild_id, self.count) in self.ids

    def where(self, column: str) -> tuple[str, tuple[int, ...]]:
        """A SQL condition (and its parameters) true for rows whose guild id ``column``
        this process serves. Integer division by 2**22 is the shift for positive ids,
        and reads the same in SQLite and PostgreSQL."""
        ids = sorted(self.ids)
        marks = ", ".join("?" for _ in ids)
        return (
            f"(({column} / {1 << SHARD_SHIFT}) % ?) IN ({marks})",
            (self.count, *ids),
        )

    def describe(self) -> str:
        """``"shards 0, 2 of 4"``, for logs."""
        return f"shard{'s' if len(self.ids) > 1 else ''} " + (
            ", ".join(str(i) for i in sorted(self.ids)) + f" of {self.count}"
        )


def serving(shards: Shards | None, guild_id: int) -> bool:
    """Whether a process running ``shards`` (``None``: unsharded) serves ``guild_id``."""
    return shards is None or shards.owns(guild_id)


def and_served(shards: Shards | None, column: str) -> tuple[str, tuple[int, ...]]:
    """``" AND <condition>"`` (and its parameters) to append to a WHERE clause so that
    only rows of servers a process serves are read; nothing when it serves every one."""
    if shards is None or shards.every_shard:
        return "", ()
    condition, params = shards.where(column)
    return f" AND {condition}", params
