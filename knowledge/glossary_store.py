"""Each server's own Japanese/English terms: its product vocabulary for the bridge.

The shipped glossary (:mod:`knowledge.bridge`) knows general vocabulary; a
community's questions across languages often hinge on its product's own words
(「スマート配信」 / "Smart Send", 「承認フロー」 / "approval flow"). Admins add them
(``/senpai-admin glossary``, ``senpai glossary``); the bridge used for a question
in a server is then the shipped glossary extended by that server's terms.

The store is the truth: :class:`GlossaryStore` keeps the terms and a per-server
*version* (a new value of a store-wide counter at each change). :class:`ServerGlossaries`
caches each server's extended glossary and rebuilds it when the version it read
differs, so a change made by another process (the CLI, another shard) is seen at
the next question, at the cost of one indexed lookup.

Every term is checked by :func:`parse_term` (the rules below, in :class:`TermProblem`
codes the surfaces word themselves); an import (:func:`parse_tsv`) reports every
bad line with its number and applies nothing unless every line is good.

The terms are the community's vocabulary, not personal data: forgetting the member
who added one keeps it and drops only who added it; forgetting a server removes them.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from knowledge import bridge, lexical
from knowledge.db import Connection, Database, parse_time
from knowledge.errors import KnowledgeError

log = logging.getLogger(__name__)

MAX_TERM_CHARS = 60
"""The longest term, on either side (a product name, not a sentence)."""
MAX_SYNONYMS = 5
"""English synonyms of one Japanese term at most."""
MAX_TERMS = 500
"""Japanese terms per server at most."""
MAX_IMPORT_LINES = 2000
"""Lines read from one import (comments and blank lines included)."""


class TermProblem(StrEnum):
    """Why a term (or an import line) was refused; surfaces word each code themselves."""

    EMPTY = "empty"
    """A side has no term."""
    FORMAT = "format"
    """An import line is not "Japanese<TAB>English"."""
    NOT_JAPANESE = "not_japanese"
    """A Japanese term without Japanese characters."""
    HAS_JAPANESE = "has_japanese"
    """An English term with Japanese characters."""
    TOO_LONG = "too_long"
    """A term longer than :data:`MAX_TERM_CHARS`."""
    TOO_MANY_SYNONYMS = "too_many_synonyms"
    """More than :data:`MAX_SYNONYMS` English synonyms."""
    TOO_SHORT = "too_short"
    """A term with nothing the bridge could match (one kanji, particles, "a")."""
    DUPLICATE = "duplicate"
    """The same Japanese term twice in one import."""
    FULL = "full"
    """The server would hold more than :data:`MAX_TERMS` terms."""
    TOO_MANY_LINES = "too_many_lines"
    """An import longer than :data:`MAX_IMPORT_LINES` lines."""


class GlossaryInputError(KnowledgeError):
    """A term that cannot be saved. ``line`` is the import line (``None`` for one term);
    ``limit`` the limit crossed, for the codes that have one."""

    def __init__(
        self, code: TermProblem, message: str, *, line: int | None = None, limit: int | None = None
    ) -> None:
        super().__init__(f"line {line}: {message}" if line is not None else message)
        self.code = code
        self.line = line
        self.limit = limit


class GlossaryImportError(KnowledgeError):
    """An import with bad lines: every one of them, in order; nothing was saved."""

    def __init__(self, problems: Sequence[GlossaryInputError]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class GlossaryTerm:
    """A server's Japanese term and its English equivalents."""

    guild_id: int
    japanese: str
    english: tuple[str, ...]
    added_by: int | None
    """The member who added (or last changed) it; ``None`` once they were forgotten."""
    added_at: datetime

    def line(self) -> str:
        """The term as a glossary line ("Japanese<TAB>English|English")."""
        return f"{self.japanese}\t{bridge.SYNONYMS.join(self.english)}"


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did."""

    added: int
    updated: int
    unchanged: int


def _clean(term: str) -> str:
    """A term as stored: NFKC (full-width Latin and half-width katakana folded), one space
    between words."""
    return " ".join(unicodedata.normalize("NFKC", term).split())


def _matchable(term: str, *, japanese: bool) -> bool:
    """Whether the bridge can use ``term``: a Japanese term is found in questions (two
    characters at least: one kanji matches far too much); an English one also gives a
    Japanese question words to search for (its terms of two letters or more)."""
    if japanese:
        return len(term) >= 2 and bool(lexical.terms(term))
    return bool(bridge._targets((term,)))


def _check_one(term: str, *, japanese: bool, line: int | None) -> str:
    cleaned = _clean(term)
    side = "Japanese" if japanese else "English"
    if not cleaned:
        raise GlossaryInputError(TermProblem.EMPTY, f"the {side} term is empty", line=line)
    if len(cleaned) > MAX_TERM_CHARS:
        raise GlossaryInputError(
            TermProblem.TOO_LONG,
            f"{side} terms are at most {MAX_TERM_CHARS} characters",
            line=line,
            limit=MAX_TERM_CHARS,
        )
    holds_japanese = any(bridge._is_japanese(c) for c in cleaned)
    if japanese and not holds_japanese:
        raise GlossaryInputError(
            TermProblem.NOT_JAPANESE, "the Japanese term has no Japanese characters", line=line
        )
    if not japanese and holds_japanese:
        raise GlossaryInputError(
            TermProblem.HAS_JAPANESE, "the English term holds Japanese characters", line=line
        )
    if not _matchable(cleaned, japanese=japanese):
        raise GlossaryInputError(
            TermProblem.TOO_SHORT,
            f"the {side} term {cleaned!r} has nothing Senpai can match (too short)",
            line=line,
        )
    return cleaned


def parse_term(
    japanese: str, english: str, *, line: int | None = None
) -> tuple[str, tuple[str, ...]]:
    """One Japanese term and its English synonyms (``|`` between them), checked and
    cleaned. Raises :class:`GlossaryInputError` with the first problem."""
    if bridge.SYNONYMS in japanese:
        raise GlossaryInputError(
            TermProblem.FORMAT, "give one Japanese term (no '|') per term", line=line
        )
    ja = _check_one(japanese, japanese=True, line=line)
    parts = [p for p in english.split(bridge.SYNONYMS) if p.strip()] or [""]
    if len(parts) > MAX_SYNONYMS:
        raise GlossaryInputError(
            TermProblem.TOO_MANY_SYNONYMS,
            f"at most {MAX_SYNONYMS} English synonyms per term",
            line=line,
            limit=MAX_SYNONYMS,
        )
    en = tuple(dict.fromkeys(_check_one(p, japanese=False, line=line) for p in parts))
    return ja, en


def parse_tsv(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The terms of a "Japanese<TAB>English" file (``|`` between synonyms on either side,
    ``#`` comments, blank lines skipped), in order. A line with several Japanese
    synonyms gives each the same English terms.

    Raises :class:`GlossaryImportError` listing every bad line (number and reason)."""
    lines = text.lstrip("\ufeff").splitlines()
    if len(lines) > MAX_IMPORT_LINES:
        raise GlossaryImportError(
            [
                GlossaryInputError(
                    TermProblem.TOO_MANY_LINES,
                    f"an import is at most {MAX_IMPORT_LINES} lines",
                    limit=MAX_IMPORT_LINES,
                )
            ]
        )
    terms: list[tuple[str, tuple[str, ...]]] = []
    seen: dict[str, int] = {}
    problems: list[GlossaryInputError] = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        fields = raw.split("\t")
        if len(fields) != 2:
            problems.append(
                GlossaryInputError(
                    TermProblem.FORMAT, "expected 'Japanese<TAB>English'", line=number
                )
            )
            continue
        japanese = [p for p in fields[0].split(bridge.SYNONYMS) if p.strip()] or [""]
        try:
            parsed = [parse_term(ja, fields[1], line=number) for ja in japanese]
        except GlossaryInputError as problem:
            problems.append(problem)
            continue
        for ja, en in parsed:
            if ja in seen:
                problems.append(
                    GlossaryInputError(
                        TermProblem.DUPLICATE,
                        f"{ja!r} is already on line {seen[ja]}",
                        line=number,
                    )
                )
                continue
            seen[ja] = number
            terms.append((ja, en))
    if problems:
        raise GlossaryImportError(problems)
    return terms


def export_tsv(terms: Iterable[GlossaryTerm]) -> str:
    """A server's terms as a file :func:`parse_tsv` reads back."""
    header = "# Senpai glossary: Japanese<TAB>English (| between synonyms)\n"
    return header + "".join(f"{term.line()}\n" for term in terms)


def _full(count: int) -> GlossaryInputError:
    return GlossaryInputError(
        TermProblem.FULL,
        f"a server holds at most {MAX_TERMS} terms ({count} would be too many)",
        limit=MAX_TERMS,
    )


class GlossaryStore:
    """The servers' terms and versions, over the knowledge base's database. All SQL of
    the glossary is here."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def terms(self, guild_id: int) -> list[GlossaryTerm]:
        """The server's terms, by Japanese term."""
        async with self.db.reader.execute(
            "SELECT japanese, english, added_by, added_at FROM glossary_terms "
            "WHERE guild_id = ? ORDER BY japanese",
            (guild_id,),
        ) as cur:
            rows = await cur.fetchall()
        return [
            GlossaryTerm(
                guild_id,
                str(r[0]),
                tuple(str(r[1]).split(bridge.SYNONYMS)),
                None if r[2] is None else int(r[2]),
                parse_time(r[3]) or self.db.clock(),
            )
            for r in rows
        ]

    async def version(self, guild_id: int) -> int:
        """The server's glossary version: changes with every change (0: never had terms)."""
        async with self.db.reader.execute(
            "SELECT version FROM glossary_versions WHERE guild_id = ?", (guild_id,)
        ) as cur:
            row = await cur.fetchone()
        return 0 if row is None else int(row[0])

    async def save(
        self, guild_id: int, terms: Sequence[tuple[str, tuple[str, ...]]], added_by: int | None
    ) -> ImportResult:
        """Add or replace ``terms`` (checked by :func:`parse_term`) in one transaction;
        nothing is saved if the server would then hold more than :data:`MAX_TERMS`."""
        now = self.db.now()
        async with self.db.transaction() as db:
            existing = await self._existing(db, guild_id)
            new = [ja for ja, _ in terms if ja not in existing]
            if len(existing) + len(new) > MAX_TERMS:
                raise _full(len(existing) + len(new))
            changed = [(ja, en) for ja, en in terms if existing.get(ja) != en]
            await db.executemany(
                "INSERT INTO glossary_terms (guild_id, japanese, english, added_by, added_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (guild_id, japanese) DO UPDATE SET "
                "english = excluded.english, added_by = excluded.added_by, "
                "added_at = excluded.added_at",
                [(guild_id, ja, bridge.SYNONYMS.join(en), added_by, now) for ja, en in changed],
            )
            if changed:
                await self._bump(db, guild_id)
        return ImportResult(
            added=len(new), updated=len(changed) - len(new), unchanged=len(terms) - len(changed)
        )

    async def remove(self, guild_id: int, japanese: str) -> bool:
        """Remove one term. Returns False if the server had no such term."""
        async with self.db.transaction() as db:
            async with db.execute(
                "DELETE FROM glossary_terms WHERE guild_id = ? AND japanese = ?",
                (guild_id, _clean(japanese)),
            ) as cur:
                removed = cur.rowcount > 0
            if removed:
                await self._bump(db, guild_id)
        return removed

    async def forget_guild(self, guild_id: int) -> int:
        """Remove the server's terms and version. Returns the terms removed."""
        async with self.db.transaction() as db:
            async with db.execute(
                "DELETE FROM glossary_terms WHERE guild_id = ?", (guild_id,)
            ) as cur:
                removed = max(cur.rowcount, 0)
            await db.execute("DELETE FROM glossary_versions WHERE guild_id = ?", (guild_id,))
        return removed

    async def forget_user(self, user_id: int) -> int:
        """Keep the terms a member added, without who added them. Returns the terms."""
        async with (
            self.db.transaction() as db,
            db.execute(
                "UPDATE glossary_terms SET added_by = NULL WHERE added_by = ?", (user_id,)
            ) as cur,
        ):
            return max(cur.rowcount, 0)

    @staticmethod
    async def _existing(db: Connection, guild_id: int) -> dict[str, tuple[str, ...]]:
        async with db.execute(
            "SELECT japanese, english FROM glossary_terms WHERE guild_id = ?", (guild_id,)
        ) as cur:
            rows = await cur.fetchall()
        return {str(r[0]): tuple(str(r[1]).split(bridge.SYNONYMS)) for r in rows}

    @staticmethod
    async def _bump(db: Connection, guild_id: int) -> None:
        """Give the server a version no process has seen: the store-wide counter's next
        value (it never goes back, even after a server is forgotten)."""
        async with db.execute(
            "UPDATE kb_meta SET value = CAST(value AS INTEGER) + 1 "
            "WHERE key = 'glossary_revision' RETURNING value"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        await db.execute(
            "INSERT INTO glossary_versions (guild_id, version) VALUES (?, ?) "
            "ON CONFLICT (guild_id) DO UPDATE SET version = excluded.version",
            (guild_id, int(row[0])),
        )


MAX_CACHED = 1000
"""Servers whose extended glossaries are kept in memory before the cache starts over."""


class ServerGlossaries:
    """The bridge of each server: the base glossary extended by its own terms, cached
    and rebuilt when the server's version in the store changes (in any process)."""

    def __init__(self, store: GlossaryStore, base: Callable[[], bridge.Glossary | None]) -> None:
        """``base``: the profile's glossary now (``None`` when its bridge is off: a
        server's own terms then bridge alone)."""
        self.store = store
        self.base = base
        self._cache: dict[int, tuple[int, bridge.Glossary | None, bridge.Glossary]] = {}

    async def for_guild(self, guild_id: int) -> bridge.Glossary | None:
        """The glossary for a question in ``guild_id``."""
        base = self.base()
        version = await self.store.version(guild_id)
        if version == 0:
            return base
        cached = self._cache.get(guild_id)
        if cached is not None and cached[0] == version and cached[1] is base:
            return cached[2]
        return await self._load(guild_id, version, base)

    async def _load(
        self, guild_id: int, version: int, base: bridge.Glossary | None
    ) -> bridge.Glossary | None:
        # The version was read before the terms: a change between the two reads leaves
        # newer terms under an older version, rebuilt again at the next question.
        terms = await self.store.terms(guild_id)
        if not terms:
            return base
        own = (bridge.Concept((t.japanese,), t.english) for t in terms)
        glossary = bridge.Glossary((*(base.concepts if base is not None else ()), *own))
        if len(self._cache) >= MAX_CACHED:
            self._cache.clear()
        self._cache[guild_id] = (version, base, glossary)
        log.debug("guild %d: glossary version %d, %d own terms", guild_id, version, len(terms))
        return glossary


GlossaryFor = Callable[[int], Awaitable[bridge.Glossary | None]]
"""The retriever's view: a server's glossary for a question in it."""
