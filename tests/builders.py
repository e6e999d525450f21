"""Small builders for domain values used across the tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from knowledge.models import PUBLIC_SCOPE, Author, Message, Thread

GUILD = 1_000_000_000_000_000_001
OTHER_GUILD = 1_000_000_000_000_000_002
FORUM = 2_000_000_000_000_000_001
PRIVATE_FORUM = 2_000_000_000_000_000_002
ASKER = Author(3_000_000_000_000_000_001, "Aiko")
HELPER = Author(3_000_000_000_000_000_002, "Ben")
OTHER = Author(3_000_000_000_000_000_003, "Chika")
BOT = Author(3_000_000_000_000_000_009, "Senpai", bot=True)
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

_next_id = 4_000_000_000_000_000_000


def next_id() -> int:
    global _next_id
    _next_id += 1
    return _next_id


def thread(
    title: str,
    question: str,
    answers: Sequence[str] = (),
    *,
    guild_id: int = GUILD,
    forum_id: int = FORUM,
    scope: str = PUBLIC_SCOPE,
    asker: Author = ASKER,
    answerer: Author = HELPER,
    tags: tuple[str, ...] = (),
) -> Thread:
    """A forum post whose starter asks ``question`` and whose replies are ``answers``."""
    thread_id = next_id()
    messages = [Message(thread_id, asker, question, START)]
    for offset, text in enumerate(answers, start=1):
        messages.append(Message(next_id(), answerer, text, START + timedelta(minutes=offset)))
    return Thread(
        guild_id=guild_id,
        forum_id=forum_id,
        thread_id=thread_id,
        title=title,
        messages=tuple(messages),
        tags=tags,
        scope=scope,
    )


def reply_ids(t: Thread) -> list[int]:
    return [m.id for m in t.messages[1:]]


class Clock:
    """A clock a test sets by hand: ``clock.now += timedelta(hours=1)``."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
