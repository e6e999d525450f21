"""Capture: a solved thread and its chosen answer, validated and cleaned into an entry.

Pure functions of their arguments (no store, no clock): the knowledge base
stores what :func:`draft_entry` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from knowledge.cleaning import clean_display_name, clean_for_storage, detect_language
from knowledge.errors import CaptureError
from knowledge.models import AnswerPart, EntryDraft, Message, Thread
from knowledge.solution_inference import infer_solution


def likely_answer(thread: Thread) -> int | None:
    """The reply most likely to have solved a post: the inferred solution, else the
    latest reply by someone other than the asker (never a bot)."""
    solution = infer_solution(thread)
    if solution is not None:
        return solution.answer_ids[-1]
    asker = thread.asker
    for message in reversed(thread.messages):
        if message.id == thread.thread_id or message.author.bot:
            continue
        if asker is None or message.author.id != asker.id:
            return message.id
    return None


def draft_entry(
    thread: Thread, answer_ids: Sequence[int], *, solved_at: datetime | None = None
) -> EntryDraft:
    """Validate and clean a thread and its chosen answer into a storable entry."""
    starter = thread.starter
    if starter is None:
        raise CaptureError("no_question", "the post's opening message is missing")
    if not answer_ids:
        raise CaptureError("no_answer", "choose at least one answer message")
    parts = _answer_parts(thread, starter, list(dict.fromkeys(answer_ids)))
    title = clean_for_storage(thread.title, max_chars=200)
    question = clean_for_storage(starter.content)
    by_id = {m.id: m for m in thread.messages}
    answered = [by_id[p.message_id].created_at for p in parts]
    return EntryDraft(
        guild_id=thread.guild_id,
        forum_id=thread.forum_id,
        thread_id=thread.thread_id,
        title=title,
        question=question,
        question_message_id=starter.id,
        answer_parts=tuple(parts),
        asker_id=starter.author.id,
        asker_name=clean_display_name(starter.author.name),
        tags=thread.tags,
        asked_at=starter.created_at,
        solved_at=solved_at or max(answered),
        jump_url=thread.jump_url
        or f"https://discord.com/channels/{thread.guild_id}/{thread.thread_id}",
        language=detect_language(f"{title}\n{question}"),
        scope=thread.scope,
    )


def _answer_parts(thread: Thread, starter: Message, wanted: list[int]) -> list[AnswerPart]:
    """The chosen answer messages, in thread order, cleaned; every one must be valid."""
    parts: list[AnswerPart] = []
    found: set[int] = set()
    for message in thread.messages:
        if message.id not in wanted:
            continue
        found.add(message.id)
        if message.id == starter.id:
            raise CaptureError("is_question", "the opening message is the question, not its answer")
        if message.author.bot:
            raise CaptureError("bot_answer", "a bot's message cannot be the answer")
        content = clean_for_storage(message.content)
        if not content.strip():
            raise CaptureError("empty_answer", "the answer message has no text")
        name = clean_display_name(message.author.name)
        parts.append(AnswerPart(message.id, message.author.id, name, content))
    if any(mid not in found for mid in wanted):
        raise CaptureError("not_in_post", "the answer message is not in this post")
    return parts
