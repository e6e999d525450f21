"""Japanese-aware full-text search on PostgreSQL, without extensions it lacks.

SQLite keeps two FTS5 tables; PostgreSQL keeps the terms Senpai already
computes (:func:`knowledge.lexical.terms`: English stems, Japanese character
bigrams) in ordinary tables, and scores BM25 in SQL the way FTS5's ``bm25()``
does (k1 = 1.2, b = 0.75, title weighted 2, body 1), with the statistics of
the asking server only: its entries, their average length, how many of them
hold each term. A lookup reads the asking server's rows from the first index
probe (``entry_terms (guild_id, term)``), so its cost follows the server, not
the whole base. Substring search (codes, versions, identifiers) is ``ILIKE``
over the indexed text, helped by a ``pg_trgm`` index; it scores an entry by
how many of the needles it contains.

The results have the shapes of :class:`~knowledge.store.KnowledgeStore`'s
``term_search`` / ``substring_search`` / ``term_frequencies`` /
``term_sets``: (entry id, score with larger = better), best first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from knowledge import lexical
from knowledge.db import Connection
from knowledge.db_postgres import PgConnection

TermDocumentRow = tuple[int, int, str, int, str, str, str]
"""(entry id, guild, scope, thread, title terms, body terms, text)."""

K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2.0
BODY_WEIGHT = 1.0

_FLOAT = "DOUBLE PRECISION"
_HALF = f"CAST(0.5 AS {_FLOAT})"
_TINY = f"CAST(1e-6 AS {_FLOAT})"
_EPSILON = f"CAST(1e-9 AS {_FLOAT})"


def _native(db: Connection) -> PgConnection:
    if not isinstance(db, PgConnection):
        raise TypeError("the PostgreSQL full-text index needs a PostgreSQL connection")
    return db


def _visible(
    alias: str, scopes: Iterable[str], exclude_thread_id: int | None
) -> tuple[str, tuple[object, ...]]:
    """The scope and own-thread filters on the lexical tables' own columns (they repeat
    the entry's scope), so that a lookup never reads ``entries``."""
    scope_list = sorted(set(scopes))
    if not scope_list:
        return " AND 1 = 0", ()
    sql = f" AND {alias}.scope = ANY(CAST(? AS TEXT[]))"
    params: tuple[object, ...] = (scope_list,)
    if exclude_thread_id is not None:
        sql += (
            f" AND {alias}.entry_id <> COALESCE("
            "(SELECT x.id FROM entries x WHERE x.thread_id = ?), 0)"
        )
        params += (exclude_thread_id,)
    return sql, params


def _like(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class PgLexicalIndex:
    """The full-text side of the PostgreSQL store (tables in ``migrations_pg/0001``)."""

    async def write(self, db: Connection, entry_id: int, title: str, body: str) -> None:
        """(Re)index one entry's text inside the caller's transaction."""
        pg = _native(db)
        await self.delete(db, [entry_id])
        title_terms = Counter(lexical.terms(title))
        body_terms = Counter(lexical.terms(body))
        length = sum(title_terms.values()) + sum(body_terms.values())
        terms = sorted(set(title_terms) | set(body_terms))
        found = await pg.fetch_native("SELECT guild_id, scope FROM entries WHERE id = $1", entry_id)
        if not found:
            return
        guild_id, scope = int(found[0][0]), str(found[0][1])
        await pg.execute_native(
            "INSERT INTO entry_text (entry_id, guild_id, scope, content, length) "
            "VALUES ($1, $2, $3, $4, $5)",
            entry_id,
            guild_id,
            scope,
            f"{title}\n{body}",
            length,
        )
        if terms:
            await pg.execute_native(
                "INSERT INTO entry_terms (entry_id, guild_id, scope, term, title_tf, body_tf, "
                "doc_length) SELECT $1, $2, $3, t.term, t.title_tf, t.body_tf, $4 "
                "FROM unnest($5::text[], $6::int[], $7::int[]) AS t (term, title_tf, body_tf)",
                entry_id,
                guild_id,
                scope,
                length,
                terms,
                [title_terms.get(t, 0) for t in terms],
                [body_terms.get(t, 0) for t in terms],
            )
            await pg.execute_native(
                "INSERT INTO term_frequencies (guild_id, term, documents) "
                "SELECT $1, t, 1 FROM unnest($2::text[]) AS t "
                "ON CONFLICT (guild_id, term) "
                "DO UPDATE SET documents = term_frequencies.documents + 1",
                guild_id,
                terms,
            )
        await pg.execute_native(
            "INSERT INTO lexical_stats (guild_id, documents, length) VALUES ($1, 1, $2) "
            "ON CONFLICT (guild_id) DO UPDATE SET documents = lexical_stats.documents + 1, "
            "length = lexical_stats.length + excluded.length",
            guild_id,
            length,
        )
        await pg.execute_native(
            "INSERT INTO lexical_scopes (guild_id, scope, documents) VALUES ($1, $2, 1) "
            "ON CONFLICT (guild_id, scope) DO UPDATE "
            "SET documents = lexical_scopes.documents + 1",
            guild_id,
            scope,
        )

    async def delete(self, db: Connection, entry_ids: Sequence[int]) -> None:
        """Drop entries' text and terms (before the entries themselves are deleted)."""
        if not entry_ids:
            return
        pg = _native(db)
        ids = list(entry_ids)
        await pg.execute_native(
            "UPDATE lexical_stats s SET documents = s.documents - d.n, length = s.length - d.len "
            "FROM (SELECT guild_id, COUNT(*) AS n, SUM(length) AS len FROM entry_text "
            "WHERE entry_id = ANY($1::bigint[]) GROUP BY guild_id) d "
            "WHERE s.guild_id = d.guild_id",
            ids,
        )
        await pg.execute_native("DELETE FROM lexical_stats WHERE documents <= 0")
        await pg.execute_native(
            "UPDATE lexical_scopes s SET documents = s.documents - d.n "
            "FROM (SELECT guild_id, scope, COUNT(*) AS n FROM entry_text "
            "WHERE entry_id = ANY($1::bigint[]) GROUP BY guild_id, scope) d "
            "WHERE s.guild_id = d.guild_id AND s.scope = d.scope",
            ids,
        )
        await pg.execute_native("DELETE FROM lexical_scopes WHERE documents <= 0")
        await pg.execute_native(
            "UPDATE term_frequencies f SET documents = f.documents - d.n "
            "FROM (SELECT guild_id, term, COUNT(*) AS n FROM entry_terms "
            "WHERE entry_id = ANY($1::bigint[]) GROUP BY guild_id, term) d "
            "WHERE f.guild_id = d.guild_id AND f.term = d.term",
            ids,
        )
        await pg.execute_native(
            "DELETE FROM term_frequencies f USING (SELECT DISTINCT guild_id, term "
            "FROM entry_terms WHERE entry_id = ANY($1::bigint[])) d "
            "WHERE f.guild_id = d.guild_id AND f.term = d.term AND f.documents <= 0",
            ids,
        )
        await pg.execute_native("DELETE FROM entry_terms WHERE entry_id = ANY($1::bigint[])", ids)
        await pg.execute_native("DELETE FROM entry_text WHERE entry_id = ANY($1::bigint[])", ids)

    async def term_search(
        self,
        reader: Connection,
        query_terms: Sequence[str],
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None,
        limit: int,
    ) -> list[tuple[int, float]]:
        """BM25 over the server's visible entries for any of ``query_terms``, best first
        (the statistics are the server's: all its entries, as FTS5's are the table's)."""
        unique = list(dict.fromkeys(query_terms))[:48]
        if not unique:
            return []
        where, params = _visible("h", scopes, exclude_thread_id)
        sql = (
            "WITH stats AS (SELECT CAST(documents AS DOUBLE PRECISION) AS n, "
            f"CAST({K1 * B} AS {_FLOAT}) / GREATEST(CAST(length AS {_FLOAT}) "
            f"/ GREATEST(documents, 1), {_EPSILON}) AS slope "
            "FROM lexical_stats WHERE guild_id = ?), "
            # One pass over the server's postings of the terms, in index order (by
            # term), each with the term's count among them (the server's document
            # frequency: every scope counts, as every row of FTS5's table does).
            "hits AS (SELECT t.entry_id, t.scope, "
            f"CAST({TITLE_WEIGHT} * t.title_tf + {BODY_WEIGHT} * t.body_tf AS {_FLOAT}) AS f, "
            f"CAST(t.doc_length AS {_FLOAT}) AS dl, "
            "COUNT(*) OVER (PARTITION BY t.term) AS d FROM entry_terms t "
            "WHERE t.guild_id = ? AND t.term = ANY(CAST(? AS TEXT[]))) "
            # Only float arithmetic per posting (a decimal literal would make it
            # NUMERIC, many times slower).
            "SELECT h.entry_id, SUM("
            f"GREATEST(LN((s.n - h.d + {_HALF}) / (h.d + {_HALF})), {_TINY}) "
            f"* CAST({K1 + 1} AS {_FLOAT}) * h.f "
            f"/ (h.f + CAST({K1 * (1 - B)} AS {_FLOAT}) + s.slope * h.dl)) AS score "
            "FROM hits h CROSS JOIN stats s "
            f"WHERE TRUE {where} "
            "GROUP BY h.entry_id ORDER BY score DESC, h.entry_id LIMIT ?"
        )
        async with reader.execute(sql, (guild_id, guild_id, unique, *params, limit)) as cur:
            return [(int(r[0]), float(r[1])) for r in await cur.fetchall()]

    async def substring_search(
        self,
        reader: Connection,
        needles: Sequence[str],
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None,
        limit: int,
    ) -> list[tuple[int, float]]:
        """The server's visible entries containing any of ``needles`` (case-insensitive), by how
        many of them each contains, most first."""
        wanted = [n for n in dict.fromkeys(needles) if n]
        if not wanted:
            return []
        patterns = [_like(n) for n in wanted]
        where, params = _visible("t", scopes, exclude_thread_id)
        test = "t.content ILIKE ? ESCAPE '\\'"
        count = " + ".join([f"(CASE WHEN {test} THEN 1 ELSE 0 END)"] * len(patterns))
        any_of = " OR ".join([test] * len(patterns))
        sql = (
            f"SELECT t.entry_id, {count} AS n FROM entry_text t "
            f"WHERE t.guild_id = ? AND ({any_of}) {where} "
            "ORDER BY n DESC, t.entry_id LIMIT ?"
        )
        async with reader.execute(sql, (*patterns, guild_id, *patterns, *params, limit)) as cur:
            return [(int(r[0]), float(r[1])) for r in await cur.fetchall()]

    async def term_frequencies(
        self, reader: Connection, guild_id: int, terms: Sequence[str]
    ) -> tuple[dict[str, int], int]:
        """({term: the server's entries holding it}, the server's entries): one probe
        per term of ``term_frequencies`` and one of ``lexical_stats``, both kept with
        ``entry_terms``, not a count of postings, which grows with the server."""
        unique = list(dict.fromkeys(terms))
        freqs: dict[str, int] = {}
        if unique:
            async with reader.execute(
                "SELECT term, documents FROM term_frequencies "
                "WHERE guild_id = ? AND term = ANY(CAST(? AS TEXT[]))",
                (guild_id, unique),
            ) as cur:
                freqs = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
        async with reader.execute(
            "SELECT documents FROM lexical_stats WHERE guild_id = ?", (guild_id,)
        ) as cur:
            row = await cur.fetchone()
        return freqs, int(row[0]) if row else 0

    async def term_sets(self, reader: Connection, ids: Sequence[int]) -> dict[int, set[str]]:
        """The indexed terms of each of these entries."""
        if not ids:
            return {}
        # One row (an array of terms) per entry, not one per term: a fortieth of the rows
        # to send and decode.
        async with reader.execute(
            "SELECT entry_id, ARRAY_AGG(term) FROM entry_terms "
            "WHERE entry_id = ANY(CAST(? AS BIGINT[])) GROUP BY entry_id",
            (list(ids),),
        ) as cur:
            return {int(r[0]): set(r[1]) for r in await cur.fetchall()}

    async def term_documents(
        self, reader: Connection, *, after: int, limit: int, ids: Sequence[int] | None
    ) -> list[TermDocumentRow]:
        """Entries' segmented terms with their guild, scope and thread, for the derived
        term index (:meth:`knowledge.store.KnowledgeStore.term_documents`): the entries
        ``ids`` that are still stored, or the next ``limit`` with an id above ``after``,
        in id order. Title and body terms come back space-separated, each as many
        times as the entry holds it (the postings keep counts, not positions, and the
        term index ranks by counts); the text is the one substring search reads."""
        head = (
            "SELECT e.id, e.guild_id, e.scope, e.thread_id, x.content FROM entries e "
            "JOIN entry_text x ON x.entry_id = e.id "
        )
        params: tuple[object, ...]
        if ids is None:
            sql, params = head + "WHERE e.id > ? ORDER BY e.id LIMIT ?", (after, limit)
        else:
            sql = head + "WHERE e.id = ANY(CAST(? AS BIGINT[])) ORDER BY e.id"
            params = (list(ids),)
        async with reader.execute(sql, params) as cur:
            entries = list(await cur.fetchall())
        if not entries:
            return []
        titles: dict[int, list[str]] = {}
        bodies: dict[int, list[str]] = {}
        async with reader.execute(
            "SELECT entry_id, term, title_tf, body_tf FROM entry_terms "
            "WHERE entry_id = ANY(CAST(? AS BIGINT[])) ORDER BY entry_id, term",
            ([int(r[0]) for r in entries],),
        ) as cur:
            for entry_id, term, title_tf, body_tf in await cur.fetchall():
                titles.setdefault(int(entry_id), []).extend([str(term)] * int(title_tf))
                bodies.setdefault(int(entry_id), []).extend([str(term)] * int(body_tf))
        return [
            (
                int(r[0]),
                int(r[1]),
                str(r[2]),
                int(r[3]),
                " ".join(titles.get(int(r[0]), ())),
                " ".join(bodies.get(int(r[0]), ())),
                str(r[4]),
            )
            for r in entries
        ]

    async def count(self, reader: Connection, guild_id: int, scopes: Iterable[str]) -> int:
        """How many entries of the server are in these scopes: a probe per scope of the
        counts kept with the postings, instead of counting the server's rows."""
        scope_list = sorted(set(scopes))
        if not scope_list:
            return 0
        async with reader.execute(
            "SELECT COALESCE(SUM(documents), 0) FROM lexical_scopes "
            "WHERE guild_id = ? AND scope = ANY(CAST(? AS TEXT[]))",
            (guild_id, scope_list),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
