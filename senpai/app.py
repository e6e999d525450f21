"""The composition root: Senpai's parts are built from settings here, and closed here.

The runner (``senpai run``), the command line, the demo and the tests all call
:func:`open_knowledge_base` or :func:`open_services`; nothing else assembles the
core. Settings are read from the environment only by :meth:`Settings.resolve`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cogs.services import Services
from index.encoder import Encoder
from knowledge.db import Clock, utcnow
from knowledge.engine import KnowledgeBase, ProgressCallback, SearchConfig
from knowledge.invitations import DEFAULT_PER_MEMBER_PER_DAY, InvitePolicy
from knowledge.profiles import profile_for
from knowledge.shards import Shards
from senpai import config


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the composition root needs, resolved once."""

    data_dir: Path
    model: str
    search: SearchConfig | None = None
    """``None``: the measured profile of the model (:func:`knowledge.profiles.profile_for`)."""
    nudge_poll_seconds: float = 60.0
    flush_every_seconds: float = 300.0
    guild_grace: timedelta = config.GUILD_GRACE
    shard_count: int | None = None
    """``--shard-count``: the total number of shards (``None``: one unsharded connection)."""
    shard_ids: tuple[int, ...] | None = None
    """``--shard-ids``: the shards this process runs (``None``: all of them)."""
    invites_per_day: int = DEFAULT_PER_MEMBER_PER_DAY
    """The most invitations to new posts a member receives in any 24 hours."""
    database_url: str | None = None
    """``postgresql://...``: the shared store; ``None``: SQLite in ``data_dir``. The
    vector index, derived, stays in ``data_dir`` either way."""

    @classmethod
    def resolve(
        cls,
        *,
        data_dir: str | Path | None = None,
        model: str | None = None,
        shard_count: int | None = None,
        shard_ids: tuple[int, ...] | None = None,
        database_url: str | None = None,
    ) -> Settings:
        """Explicit values first, then the environment, then the defaults. Shard options
        that cannot be right raise :class:`~knowledge.shards.ShardError`."""
        settings = cls(
            data_dir=config.data_dir(data_dir),
            model=config.model_name(model),
            shard_count=shard_count,
            shard_ids=shard_ids,
            database_url=config.database_url(database_url),
        )
        settings.shards()
        return settings

    def shards(self) -> Shards | None:
        """The shards this process runs; ``None`` when it is not sharded."""
        return Shards.of(self.shard_count, self.shard_ids)


async def open_knowledge_base(
    settings: Settings,
    *,
    encoder: Encoder | None = None,
    clock: Clock = utcnow,
    rebuild_if_needed: bool = True,
    progress: ProgressCallback | None = None,
    readonly: bool = False,
) -> KnowledgeBase:
    """The knowledge base in ``settings.data_dir`` (``encoder`` overrides ``settings.model``),
    retrieving with the settings measured for the encoder's model."""
    encoder = encoder or config.make_encoder(settings.model)
    search = settings.search or profile_for(encoder.name).search_config()
    return await KnowledgeBase.open(
        settings.data_dir,
        encoder,
        search,
        rebuild_if_needed=rebuild_if_needed,
        progress=progress,
        clock=clock,
        readonly=readonly,
        database_url=settings.database_url,
    )


async def open_services(
    settings: Settings,
    *,
    encoder: Encoder | None = None,
    clock: Clock = utcnow,
    progress: ProgressCallback | None = None,
) -> Services:
    """Everything Senpai's extensions need, ready to attach to a bot."""
    kb = await open_knowledge_base(settings, encoder=encoder, clock=clock, progress=progress)
    return services_for(kb, settings, clock=clock)


def services_for(kb: KnowledgeBase, settings: Settings, *, clock: Clock = utcnow) -> Services:
    """The extensions' services over an already open knowledge base."""
    return Services(
        kb=kb,
        community=kb.community,
        clock=clock,
        nudge_poll_seconds=settings.nudge_poll_seconds,
        flush_every_seconds=settings.flush_every_seconds,
        guild_grace=settings.guild_grace,
        invite_policy=InvitePolicy(per_member_per_day=settings.invites_per_day),
    )


async def close_services(services: Services) -> None:
    """Save what must be saved and close the database."""
    await services.kb.close()
