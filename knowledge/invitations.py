"""Invite someone who solved it before: whom to invite to a new post, the caps, the rows.

When a new post gets no confident suggestion (Senpai stays silent in it) but is
close to solved threads whose accepted answers came from members who opted in,
those members may be invited to the post by direct message. The rules, pure and
unit-tested in :func:`choose_invitees`:

* only members who opted in (``/senpai invites on``) in that server, and never one
  who opted out of capture (``/senpai privacy``);
* never the asker, never someone who already replied in the post, never the same
  member twice for a post;
* at most :attr:`InvitePolicy.per_post` members per post and
  :attr:`InvitePolicy.per_member_per_day` invitations per member in any 24 hours;
* each member is invited for the closest of their solved threads, and members in
  the order of that closeness; "close" is the model profile's ``invite_floor``
  (a fused score below the suggestion gate), never a constant tuned for one model.

:class:`InvitationStore` keeps the opt-ins and every invitation in SQLite (a row
written before the message is sent), so the caps hold across restarts, and says
whether invited members then replied (counts for the community report).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from knowledge.db import Database, chunks, iso, marks
from knowledge.models import Entry

DAY = timedelta(hours=24)
"""The window of the per-member cap: any 24 hours, not a calendar day in some zone."""

DEFAULT_PER_POST = 2
DEFAULT_PER_MEMBER_PER_DAY = 3


@dataclass(frozen=True, slots=True)
class InvitePolicy:
    """How many invitations a post may send, and a member may receive per 24 hours."""

    per_post: int = DEFAULT_PER_POST
    per_member_per_day: int = DEFAULT_PER_MEMBER_PER_DAY

    def __post_init__(self) -> None:
        if not 1 <= self.per_post <= DEFAULT_PER_POST:
            raise ValueError(f"invitations per post must be between 1 and {DEFAULT_PER_POST}")
        if self.per_member_per_day < 0:
            raise ValueError("invitations per member per day cannot be negative")


@dataclass(frozen=True, slots=True)
class Invitee:
    """A member who may be invited to a post, for the closest thread they solved."""

    user_id: int
    lang: str
    """The language they opted in with: their invitation is written in it."""
    earlier: Entry
    score: float


def helpers_of(entry: Entry) -> frozenset[int]:
    """Who solved ``entry``: the authors of its accepted answer, the asker's own part
    left out (an asker who answered themselves is not someone who solved it for others)."""
    return frozenset(p.author_id for p in entry.answer_parts if p.author_id != entry.asker_id)


def choose_invitees(
    close: Iterable[tuple[Entry, float]],
    *,
    floor: float,
    opted_in: Mapping[int, str],
    excluded: Collection[int],
    sent_today: Mapping[int, int],
    policy: InvitePolicy,
) -> list[Invitee]:
    """Every member who may be invited, best first (the closest of their solved
    threads decides), each once. ``close``: solved threads the post may see, with
    their fused scores; ``opted_in``: members who asked to be invited, with their
    language; ``excluded``: the asker, those who replied or were invited to this
    post already, those who opted out of capture; ``sent_today``: invitations each
    member received in the last 24 hours.

    The list is not cut to :attr:`InvitePolicy.per_post`: the caller skips members
    who left the server or cannot read the post, and stops at the cap."""
    best: dict[int, Invitee] = {}
    for entry, score in sorted(close, key=lambda pair: (-pair[1], pair[0].id)):
        if score < floor:
            continue
        for user_id in sorted(helpers_of(entry)):
            if (
                user_id in best
                or user_id not in opted_in
                or user_id in excluded
                or sent_today.get(user_id, 0) >= policy.per_member_per_day
            ):
                continue
            best[user_id] = Invitee(user_id, opted_in[user_id], entry, score)
    return list(best.values())


class Claim(StrEnum):
    """What an attempt to invite a member to a post found."""

    CLAIMED = "claimed"
    ALREADY = "already"
    """This member was invited to this post before (or the attempt failed)."""
    POST_FULL = "post_full"
    MEMBER_CAPPED = "member_capped"


class InviteChoice(StrEnum):
    """What ``/senpai invites on|off`` did."""

    ON = "on"
    OFF = "off"
    UNCHANGED_ON = "unchanged_on"
    UNCHANGED_OFF = "unchanged_off"
    OPTED_OUT = "opted_out"
    """Refused: the member asked Senpai not to keep their messages."""


@dataclass(frozen=True, slots=True)
class InvitationCounts:
    """Invitations sent in a period, and how many of those invited then replied."""

    sent: int
    replied: int


# Invitations that count against the caps: sent, or being sent (a crash between the
# row and the message counts as sent: better one invitation too few than too many).
_COUNTED = "state <> 'failed'"


class InvitationStore:
    """Opt-ins and invitations, over the knowledge base's database. All SQL of the
    feature lives here."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # -- opt-in ----------------------------------------------------------------------

    async def set_opt_in(self, user_id: int, guild_id: int, on: bool, lang: str) -> bool:
        """Opt a member in (in ``lang``) or out of invitations in a server. Returns True
        if it changed."""
        async with self._db.transaction() as db:
            if on:
                sql = (
                    "INSERT INTO invite_opt_ins (user_id, guild_id, lang, created_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, guild_id) DO NOTHING"
                )
                params: tuple[object, ...] = (user_id, guild_id, lang, self._db.now())
            else:
                sql = "DELETE FROM invite_opt_ins WHERE user_id = ? AND guild_id = ?"
                params = (user_id, guild_id)
            async with db.execute(sql, params) as cur:
                changed = cur.rowcount > 0
            if on and not changed:  # keep the language of their latest choice
                await db.execute(
                    "UPDATE invite_opt_ins SET lang = ? WHERE user_id = ? AND guild_id = ?",
                    (lang, user_id, guild_id),
                )
        return changed

    async def is_opted_in(self, user_id: int, guild_id: int) -> bool:
        return bool(await self.opted_in(guild_id, [user_id]))

    async def has_opt_ins(self, guild_id: int) -> bool:
        """Whether anyone in the server asked to be invited (a cheap check before a search)."""
        async with self._db.reader.execute(
            "SELECT 1 FROM invite_opt_ins WHERE guild_id = ? LIMIT 1", (guild_id,)
        ) as cur:
            return await cur.fetchone() is not None

    async def opted_in(self, guild_id: int, user_ids: Iterable[int]) -> dict[int, str]:
        """Those of ``user_ids`` who opted in to invitations in the server, with their language."""
        found: dict[int, str] = {}
        for chunk in chunks(sorted(set(user_ids))):
            async with self._db.reader.execute(
                "SELECT user_id, lang FROM invite_opt_ins WHERE guild_id = ? "
                f"AND user_id IN ({marks(len(chunk))})",
                (guild_id, *chunk),
            ) as cur:
                found.update((int(r[0]), str(r[1])) for r in await cur.fetchall())
        return found

    # -- invitations -----------------------------------------------------------------

    async def invited_to(self, thread_id: int) -> set[int]:
        """Everyone invited to the post already (whether the message reached them or not)."""
        async with self._db.reader.execute(
            "SELECT user_id FROM invitations WHERE thread_id = ?", (thread_id,)
        ) as cur:
            return {int(r[0]) for r in await cur.fetchall()}

    async def sent_since(self, user_ids: Iterable[int], since: datetime) -> dict[int, int]:
        """How many invitations each of ``user_ids`` received since ``since`` (any server)."""
        counts: dict[int, int] = {}
        for chunk in chunks(sorted(set(user_ids))):
            async with self._db.reader.execute(
                f"SELECT user_id, COUNT(*) FROM invitations WHERE {_COUNTED} "
                f"AND invited_at > ? AND user_id IN ({marks(len(chunk))}) GROUP BY user_id",
                (iso(since), *chunk),
            ) as cur:
                counts.update((int(r[0]), int(r[1])) for r in await cur.fetchall())
        return counts

    async def claim(
        self,
        *,
        thread_id: int,
        guild_id: int,
        asker_id: int,
        user_id: int,
        earlier_thread_id: int,
        policy: InvitePolicy,
    ) -> Claim:
        """Record an invitation before its message is sent, if the caps allow it: the
        checks and the row in one transaction, so two posts at once cannot both pass a
        cap, and a restart cannot forget one."""
        now = self._db.clock()
        async with self._db.transaction() as db:
            async with db.execute(
                "SELECT COUNT(*), "
                "COALESCE(SUM(CASE WHEN user_id = ? THEN 1 ELSE 0 END), 0) "
                "FROM invitations WHERE thread_id = ?",
                (user_id, thread_id),
            ) as cur:
                row = await cur.fetchone()
            if row is not None and int(row[1]):
                return Claim.ALREADY
            async with db.execute(
                f"SELECT COUNT(*) FROM invitations WHERE thread_id = ? AND {_COUNTED}",
                (thread_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is not None and int(row[0]) >= policy.per_post:
                return Claim.POST_FULL
            async with db.execute(
                f"SELECT COUNT(*) FROM invitations WHERE user_id = ? AND {_COUNTED} "
                "AND invited_at > ?",
                (user_id, iso(now - DAY)),
            ) as cur:
                row = await cur.fetchone()
            if row is not None and int(row[0]) >= policy.per_member_per_day:
                return Claim.MEMBER_CAPPED
            await db.execute(
                "INSERT INTO invitations (thread_id, user_id, guild_id, asker_id, "
                "earlier_thread_id, state, invited_at) VALUES (?, ?, ?, ?, ?, 'sending', ?) "
                "ON CONFLICT (thread_id, user_id) DO NOTHING",
                (thread_id, user_id, guild_id, asker_id, earlier_thread_id, iso(now)),
            )
        return Claim.CLAIMED

    async def delivered(self, thread_id: int, user_id: int, ok: bool) -> None:
        """The invitation's direct message was sent (``ok``) or refused."""
        async with self._db.transaction() as db:
            await db.execute(
                "UPDATE invitations SET state = ? WHERE thread_id = ? AND user_id = ?",
                ("sent" if ok else "failed", thread_id, user_id),
            )

    async def record_reply(self, thread_id: int, user_id: int, at: datetime) -> bool:
        """A message in a post: if its author was invited to it, they replied (the first
        reply dates it). Returns True if it was an invitee's first reply."""
        async with self._db.reader.execute(
            "SELECT 1 FROM invitations WHERE thread_id = ? AND user_id = ? "
            "AND state = 'sent' AND replied_at IS NULL",
            (thread_id, user_id),
        ) as cur:
            if await cur.fetchone() is None:  # most messages: no write transaction
                return False
        async with (
            self._db.transaction() as db,
            db.execute(
                "UPDATE invitations SET replied_at = ? WHERE thread_id = ? AND user_id = ? "
                "AND state = 'sent' AND replied_at IS NULL",
                (iso(at), thread_id, user_id),
            ) as cur,
        ):
            return cur.rowcount > 0

    async def counts(self, guild_id: int, since: datetime, until: datetime) -> InvitationCounts:
        """Invitations sent in ``[since, until)`` in the server, and how many of the
        invited members then replied in the post (at any time since)."""
        async with self._db.reader.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN replied_at IS NULL THEN 0 ELSE 1 END), 0) "
            "FROM invitations WHERE guild_id = ? AND state = 'sent' "
            "AND invited_at >= ? AND invited_at < ?",
            (guild_id, iso(since), iso(until)),
        ) as cur:
            row = await cur.fetchone()
        return InvitationCounts(0, 0) if row is None else InvitationCounts(int(row[0]), int(row[1]))

    # -- removal ---------------------------------------------------------------------

    async def forget_user(self, user_id: int) -> int:
        """The member's opt-ins, the invitations they received, and those to posts they
        asked. Returns the invitation rows removed."""
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM invite_opt_ins WHERE user_id = ?", (user_id,))
            async with db.execute(
                "DELETE FROM invitations WHERE user_id = ? OR asker_id = ?", (user_id, user_id)
            ) as cur:
                return max(cur.rowcount, 0)

    async def forget_guild(self, guild_id: int) -> int:
        """The server's opt-ins and invitations. Returns the invitation rows removed."""
        async with self._db.transaction() as db:
            await db.execute("DELETE FROM invite_opt_ins WHERE guild_id = ?", (guild_id,))
            async with db.execute("DELETE FROM invitations WHERE guild_id = ?", (guild_id,)) as cur:
                return max(cur.rowcount, 0)
