"""What the cogs share: the knowledge base, the community store, the clock.

The runner (or a host bot that embeds Senpai) attaches one :class:`Services`
to the bot before loading the extensions; each extension's ``setup()`` takes
it from there. Nothing reaches for globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from discord.ext import commands

from knowledge.community import CommunityStore
from knowledge.engine import KnowledgeBase
from knowledge.invitations import InvitePolicy

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
    guild_grace: timedelta = timedelta(days=30)
    """How long a server's data is kept after Senpai leaves it (the runner passes
    ``Settings.guild_grace``)."""
    guild_purge_seconds: float = 3600.0
    """How often departed servers past their grace period are forgotten."""
    confirm_seconds: float = 120.0
    """How long a Confirm / Cancel prompt waits before it expires."""
    invite_policy: InvitePolicy = field(default_factory=InvitePolicy)
    """How many members a post may invite, and a member may receive per 24 hours
    (the runner passes ``Settings.invites_per_day``)."""


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
