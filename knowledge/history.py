"""A post's question history read from its messages: asked, first reply, solved.

Imports and backfills read whole threads, solved or not; this is what they record
so that a community that installs Senpai today gets figures for its past. Pure
functions over :class:`~knowledge.models.Thread`; no Discord, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from knowledge.cleaning import clean_for_storage
from knowledge.models import QuestionHistory, Thread


def question_history(thread: Thread, answer_ids: Sequence[int] = ()) -> QuestionHistory | None:
    """The question history of ``thread``; ``answer_ids`` is its inferred (or chosen)
    answer, empty for a thread not found solved.

    * asked: the starter message's time;
    * first reply: the earliest message by someone other than the asker and not a bot,
      with that author's roles when the source knows them;
    * solved: when the latest message of the answer was written (the entry's own
      ``solved_at``), for a solved thread.

    ``None`` when the thread has no starter message (nothing was asked).
    """
    starter = thread.starter
    if starter is None:
        return None
    asker = starter.author
    replies = sorted(
        (
            m
            for m in thread.messages
            if m.id != starter.id and not m.author.bot and m.author.id != asker.id
        ),
        key=lambda m: (m.created_at, m.id),
    )
    first = replies[0] if replies else None
    wanted = set(answer_ids)
    answered = [m.created_at for m in thread.messages if m.id in wanted]
    return QuestionHistory(
        thread_id=thread.thread_id,
        guild_id=thread.guild_id,
        forum_id=thread.forum_id,
        asker_id=asker.id,
        title=clean_for_storage(thread.title, max_chars=200),
        asked_at=starter.created_at,
        first_reply_at=None if first is None else first.created_at,
        first_reply_roles=None if first is None else first.author.roles,
        solved_at=max(answered) if answered else None,
    )
