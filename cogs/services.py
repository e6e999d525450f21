"""What the cogs share: the knowledge base, the community store, the clock.

The runner (or a host bot that embeds Senpai) attaches one :class:`Services`
to the bot before loading the extensions; each extension's ``setup()`` takes
it from there. Nothing reaches for globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from discord.ext import commands

from knowledge.community import CommunityStore
from knowledge.engine import KnowledgeBase

_ATTRIBUTE = "senpai_services"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    kb: KnowledgeBase
    community: CommunityStore
    clock: Callable[[], datetime] = field(default=_utcnow)
    nudge_poll_seconds: float = 60.0
    flush_every_seconds: float = 300.0


def attach(bot: commands.Bot, services: Services) -> None:
    setattr(bot, _ATTRIBUTE, services)


def services_of(bot: commands.Bot) -> Services:
    services = getattr(bot, _ATTRIBUTE, None)
    if not isinstance(services, Services):
        raise RuntimeError(
            "Senpai's services are not attached to this bot: call cogs.services.attach(bot, "
            "Services(...)) before loading Senpai's extensions"
        )
    return services
