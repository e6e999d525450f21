"""Domain values of the knowledge base.

Everything here is plain data: no SQL, no Discord. The cogs translate Discord
objects into these values; the store persists them; the engine ranks them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

PUBLIC_SCOPE = "public"
DEFAULT_ESCALATION_HOURS = 24.0
"""Hours without a reply from anyone but the asker before a post goes to the staff."""


def private_scope(forum_id: int) -> str:
    """The visibility scope of an entry captured from a forum that not everyone can read."""
    return f"forum:{forum_id}"


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message. ``name`` is a display name, used for credit, never to ping.

    ``roles``: the ids of the author's roles in the server (to tell staff from members
    in the community's figures); ``None`` when the source does not say."""

    id: int
    name: str
    bot: bool = False
    roles: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Message:
    """One message of a forum thread, already translated out of Discord.

    ``reply_to`` is the id of the message it replies to (Discord's message
    reference), ``reactions`` the emoji that at least one member reacted with.
    ``reacted_by`` optionally maps an emoji to the ids of users who reacted with
    it, when the source knows them.
    """

    id: int
    author: Author
    content: str
    created_at: datetime
    reply_to: int | None = None
    reactions: tuple[str, ...] = ()
    reacted_by: dict[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Thread:
    """A forum post: its starter message comes first in ``messages``."""

    guild_id: int
    forum_id: int
    thread_id: int
    title: str
    messages: tuple[Message, ...]
    tags: tuple[str, ...] = ()
    scope: str = PUBLIC_SCOPE
    jump_url: str | None = None

    @property
    def starter(self) -> Message | None:
        """The opening message of the post (in Discord its id equals the thread id)."""
        for message in self.messages:
            if message.id == self.thread_id:
                return message
        return self.messages[0] if self.messages else None

    @property
    def asker(self) -> Author | None:
        starter = self.starter
        return starter.author if starter else None

    def message(self, message_id: int) -> Message | None:
        for message in self.messages:
            if message.id == message_id:
                return message
        return None


@dataclass(frozen=True, slots=True)
class AnswerPart:
    """One message of an accepted answer, cleaned."""

    message_id: int
    author_id: int
    author_name: str
    content: str


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """A solved thread ready to be stored: cleaned text, no row id yet."""

    guild_id: int
    forum_id: int
    thread_id: int
    title: str
    question: str
    question_message_id: int | None
    answer_parts: tuple[AnswerPart, ...]
    asker_id: int
    asker_name: str
    tags: tuple[str, ...]
    asked_at: datetime
    solved_at: datetime
    jump_url: str
    language: str
    scope: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One solved thread in the knowledge base."""

    id: int
    guild_id: int
    forum_id: int
    thread_id: int
    title: str
    question: str
    answer_parts: tuple[AnswerPart, ...]
    asker_id: int
    asker_name: str
    tags: tuple[str, ...]
    asked_at: datetime
    solved_at: datetime
    jump_url: str
    language: str
    scope: str
    hits: int = 0

    @property
    def answer(self) -> str:
        return "\n\n".join(part.content for part in self.answer_parts)

    @property
    def answerer_id(self) -> int:
        return self.answer_parts[0].author_id if self.answer_parts else self.asker_id

    @property
    def answerer_name(self) -> str:
        return self.answer_parts[0].author_name if self.answer_parts else self.asker_name

    @property
    def answerer_ids(self) -> frozenset[int]:
        return frozenset(part.author_id for part in self.answer_parts)


class FeedbackKind(StrEnum):
    HELPFUL = "helpful"
    NOT_RELEVANT = "not_relevant"
    SOLVED_BY_SUGGESTION = "solved_by_suggestion"


@dataclass(frozen=True, slots=True)
class Feedback:
    """A member's verdict on one suggestion shown in a thread."""

    entry_id: int
    guild_id: int
    thread_id: int
    user_id: int
    kind: FeedbackKind
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Query:
    """A new question to answer, and where it is asked.

    ``allowed_scopes`` is what the asking channel may see; the cog computes it
    (``{"public"}`` for a forum everyone can read, plus the forum's own private
    scope for a restricted one). ``exclude_thread_id`` is the question's own post.
    ``threshold`` overrides the engine's confidence threshold (a guild's setting).
    ``title`` is the post's title when there is one (``text`` then holds title and
    body): a short title often says what the problem is more plainly than the body.
    """

    guild_id: int
    text: str
    allowed_scopes: frozenset[str] = frozenset({PUBLIC_SCOPE})
    exclude_thread_id: int | None = None
    limit: int = 3
    threshold: float | None = None
    title: str = ""


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One entry suggested for a query: ``score`` in [0, 1], ``signals`` per retriever.

    ``confidence``: for the first suggestion, when a confidence model decided,
    the probability that it is right."""

    entry: Entry
    score: float
    dense: float
    lexical: float
    signals: tuple[str, ...]
    confidence: float | None = None
    """For the first suggestion, when a confidence model decided: P(it is right)."""


@dataclass(frozen=True, slots=True)
class RemovedContent:
    """What a removal took out of the knowledge base."""

    entry_ids: tuple[int, ...] = ()
    thread_ids: tuple[int, ...] = ()
    feedback_count: int = 0
    questions: int = 0
    """Question-history rows (asked / first reply / solved) removed with it."""

    @property
    def entries(self) -> int:
        return len(self.entry_ids)


@dataclass(frozen=True, slots=True)
class Retraction:
    """A removed entry to take out of what Senpai showed in one post (``channel_id``):
    the suggestion that listed it, or the note that an earlier thread solved it."""

    id: int
    guild_id: int
    channel_id: int
    entry_id: int
    entry_thread_id: int


@dataclass(frozen=True, slots=True)
class Stats:
    """What the knowledge base holds, for admins and for the CLI."""

    entries: int
    guilds: int
    by_language: dict[str, int]
    by_scope: dict[str, int]
    answerers: int
    total_hits: int
    feedback: dict[str, int]
    top_answerers: tuple[tuple[int, str, int], ...]
    index_entries: int | None = None
    index_fresh: bool | None = None


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """How Senpai behaves in one guild, set by its admins.

    An empty ``watched_forums`` means every forum channel is watched.
    ``language`` is "auto" (the post's language, else the member's locale),
    "ja" or "en". ``nudge_hours`` of 0 turns nudges off. ``staff_roles``: the roles
    whose replies count as the staff's in the community report (member vs staff).

    ``staff_channel`` is where posts nobody answered within ``escalation_hours``
    are listed (0 hours, or no channel, turns escalation off). ``me_too_on_posts``
    adds a small "Me too" message to new posts that got no suggestion (the
    suggestion message always carries the button).
    """

    guild_id: int
    watched_forums: tuple[int, ...] = ()
    helper_roles: tuple[int, ...] = ()
    solved_tag: str | None = None
    threshold: float | None = None
    language: str = "auto"
    nudge_hours: float = 24.0
    archive_on_solve: bool = False
    staff_roles: tuple[int, ...] = ()
    staff_channel: int | None = None
    escalation_hours: float = DEFAULT_ESCALATION_HOURS
    me_too_on_posts: bool = False

    def watches(self, forum_id: int) -> bool:
        return not self.watched_forums or forum_id in self.watched_forums


@dataclass(frozen=True, slots=True)
class Nudge:
    """A scheduled "did this reply solve it?" for the asker of a post."""

    thread_id: int
    guild_id: int
    asker_id: int
    due_at: datetime
    state: str
    candidate_id: int | None


@dataclass(frozen=True, slots=True)
class BackfillState:
    """Where a forum's backfill got to (``before``: the oldest archive time read)."""

    forum_id: int
    guild_id: int
    before: datetime | None
    finished: bool
    seen: int
    captured: int


@dataclass(frozen=True, slots=True)
class CommunityFigures:
    """The community's figures over a period, for admins and for reports."""

    questions: int
    answered: int
    solved: int
    solved_by_suggestion: int
    median_first_reply_minutes: float | None
    median_solve_hours: float | None
    recurring: tuple[tuple[int, str, int], ...]

    @property
    def solved_rate(self) -> float | None:
        return None if self.questions == 0 else self.solved / self.questions


@dataclass(frozen=True, slots=True)
class QuestionHistory:
    """A post's question history read from its messages (an import or a backfill).

    ``first_reply_at``: the first reply by someone other than the asker and not a bot;
    ``first_reply_roles`` that replier's roles (``None`` when the source does not say);
    ``solved_at``: when the inferred answer was given, for a thread found solved.
    ``title`` is already masked for storage."""

    thread_id: int
    guild_id: int
    forum_id: int
    asker_id: int
    title: str
    asked_at: datetime
    first_reply_at: datetime | None
    first_reply_roles: tuple[int, ...] | None
    solved_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """One post's stored question history, as the community report reads it."""

    thread_id: int
    forum_id: int
    asker_id: int
    title: str
    asked_at: datetime
    first_reply_at: datetime | None
    first_reply_roles: tuple[int, ...] | None
    solved_at: datetime | None
    solved_via: str | None
    duplicate_of: int | None
    deleted: bool


@dataclass(frozen=True, slots=True)
class AcceptedAnswer:
    """A captured entry's accepted answer, for crediting helpers: who wrote it (the
    asker's own parts left out) and when the post was solved."""

    entry_id: int
    solved_at: datetime
    authors: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class EntryRef:
    """An entry named in a report: title, link and how often it solved later posts."""

    id: int
    title: str
    jump_url: str
    hits: int


class EscalationState(StrEnum):
    """Where an escalated post stands: waiting, or how it left the staff's list."""

    OPEN = "open"
    SKIPPED = "skipped"
    """Considered but not posted: no staff channel, or the post could not be read."""
    ANSWERED = "answered"
    SOLVED = "solved"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class DueEscalation:
    """A post nobody but its asker has answered for the guild's escalation delay."""

    thread_id: int
    guild_id: int
    forum_id: int
    asker_id: int
    asked_at: datetime
    staff_channel: int | None


@dataclass(frozen=True, slots=True)
class Escalation:
    """A post that was (or could not be) listed in the staff channel."""

    thread_id: int
    guild_id: int
    asker_id: int
    channel_id: int | None
    message_id: int | None
    state: EscalationState
    escalated_at: datetime
    closed_at: datetime | None = None


class MeTooVote(StrEnum):
    """The outcome of a member's "me too" on a post."""

    COUNTED = "counted"
    ALREADY = "already"
    OWN_POST = "own_post"
    SOLVED = "solved"


@dataclass(frozen=True, slots=True)
class MeTooResult:
    """What a "me too" did, and how many members now share the problem."""

    vote: MeTooVote
    count: int


@dataclass(frozen=True, slots=True)
class MeTooNotice:
    """A solved post whose "me too" members have not been told yet."""

    thread_id: int
    guild_id: int
    voters: int


@dataclass(frozen=True, slots=True)
class MeTooTally:
    """How many members said "me too" on a post over a period (recurring problems)."""

    thread_id: int
    guild_id: int
    votes: int
    solved: bool
