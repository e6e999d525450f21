"""A top-k lexical index over pre-segmented terms, keyed by the store's row ids (tantivy).

SQLite's FTS5 scores every row that matches any query term before it can sort
them, so an OR query over a large knowledge base costs in proportion to the
whole base (1.3 s p99 at 1M entries, see the README). This index answers the
same question, "the ``k`` entries of this server that best match these terms
(BM25)", with tantivy's block-max WAND top-k search, and only ever touches the
asking server's postings: every term is indexed under a key that starts with
the server's id (``"<guild>:<term>"``), and so is the scope filter. A small
server inside a large base pays for its own entries, and document frequencies
are the server's own.

Like the vector index, it is derived: it knows ids and segmented terms only
(the terms :mod:`knowledge.lexical` computes, passed in by the caller), it can
always be rebuilt from the store, and the caller records which store revision
it reflects (:mod:`knowledge.live_terms`). Everything here is synchronous and
CPU-bound: callers on the event loop use ``asyncio.to_thread``. Writes take the
index directory's writer lock for the duration of one :meth:`TermIndex.apply`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import tantivy

__all__ = ["META_FILE", "SCHEMA_VERSION", "TermDocument", "TermIndex", "TermIndexMeta"]

log = logging.getLogger(__name__)

META_FILE = "terms.json"
"""Written after each commit: the build id, the schema version and the caller's fingerprint."""

SCHEMA_VERSION = 3

# A term in the title counts twice, as FTS5's ``bm25(entries_terms, 2.0, 1.0)`` weighs
# it: the "text" field holds the title's terms and the body's, the "title" field the
# title's again.

_WRITER_HEAP = 16_000_000
_BULK_HEAP = 128_000_000
_DELETE_CHUNK = 10_000
_PRIVATE_DIR = 0o700
_PRIVATE_FILE = 0o600


@dataclass(frozen=True, slots=True)
class TermDocument:
    """What the term index needs of one entry: its server, scope, thread and terms."""

    id: int
    guild_id: int
    scope: str
    thread_id: int
    title_terms: tuple[str, ...]
    body_terms: tuple[str, ...]
    codes: tuple[str, ...] = ()
    """Identifier-like tokens (error codes, versions), matched whole by
    :meth:`TermIndex.search_codes`."""


@dataclass(frozen=True, slots=True)
class TermIndexMeta:
    """The metadata file: which build this is and what the caller says it reflects."""

    build: str
    schema: int
    fingerprint: str


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("id", indexed=True, fast=True)
    builder.add_unsigned_field("thread", indexed=True)
    # "<guild>:<scope>" and "<guild>:<term>": raw keys, so postings are per server.
    builder.add_text_field("scope", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("guild", tokenizer_name="raw", index_option="basic")
    builder.add_text_field("title", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("text", tokenizer_name="whitespace", index_option="freq")
    builder.add_text_field("codes", tokenizer_name="whitespace", index_option="freq")
    return builder.build()


def _key(guild_id: int, term: str) -> str:
    return f"{guild_id}:{term}"


def _keys(guild_id: int, terms: Sequence[str]) -> str:
    """The terms as the server's keys, space-separated (tantivy's whitespace tokenizer
    splits them again; the terms themselves never contain whitespace)."""
    if not terms:
        return ""
    prefix = f"{guild_id}:"
    return prefix + (" " + prefix).join(terms)


def read_meta(directory: Path) -> TermIndexMeta | None:
    """The metadata of the index in ``directory``, or ``None`` if absent or unreadable."""
    try:
        raw = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        return TermIndexMeta(str(raw["build"]), int(raw["schema"]), str(raw["fingerprint"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _make_private(directory: Path) -> None:
    """Owner-only permissions on the directory and every file tantivy wrote in it
    (it creates them with the process's umask; the data directory is private)."""
    os.chmod(directory, _PRIVATE_DIR)
    for path in directory.iterdir():
        if path.is_file() and path.stat().st_mode & 0o077:
            with contextlib.suppress(FileNotFoundError):  # merged away meanwhile
                os.chmod(path, _PRIVATE_FILE)


def _write_meta(directory: Path, meta: TermIndexMeta) -> None:
    tmp = directory / (META_FILE + ".tmp")
    handle = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _PRIVATE_FILE)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(
            json.dumps(
                {"build": meta.build, "schema": meta.schema, "fingerprint": meta.fingerprint}
            )
        )
    os.replace(tmp, directory / META_FILE)
    _make_private(directory)


class TermIndex:
    """Per-server BM25 top-k search over pre-segmented terms. Open with :meth:`open`
    or :meth:`create`."""

    def __init__(self, directory: Path, index: tantivy.Index, meta: TermIndexMeta) -> None:
        self.directory = directory
        self._index = index
        self._schema = index.schema
        self._meta = meta
        self._lock = threading.Lock()

    @property
    def meta(self) -> TermIndexMeta:
        return self._meta

    @classmethod
    def create(cls, directory: Path, fingerprint: str) -> TermIndex:
        """A new, empty index in ``directory`` (whatever was there is removed)."""
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, mode=_PRIVATE_DIR)
        index = tantivy.Index(_schema(), path=str(directory), reuse=False)
        meta = TermIndexMeta(uuid.uuid4().hex, SCHEMA_VERSION, fingerprint)
        _write_meta(directory, meta)
        return cls(directory, index, meta)

    @classmethod
    def open(cls, directory: Path) -> TermIndex | None:
        """The index saved in ``directory``; ``None`` when there is none of this schema."""
        meta = read_meta(directory)
        if meta is None or meta.schema != SCHEMA_VERSION:
            return None
        try:
            index = tantivy.Index.open(str(directory))
        except ValueError as error:
            log.warning("term index in %s cannot be opened: %s", directory, error)
            return None
        return cls(directory, index, meta)

    # -- writes --------------------------------------------------------------------

    def apply(
        self, upserts: Iterable[TermDocument], removed: Iterable[int], fingerprint: str
    ) -> int:
        """Replace or add ``upserts``, delete ``removed`` ids, commit, then record
        ``fingerprint`` as what the index reflects. Returns the documents written."""
        written = 0
        with self._lock:
            writer = self._index.writer(heap_size=_WRITER_HEAP, num_threads=1)
            try:
                docs = list(upserts)
                # By query: a by-term delete takes a Python int for a signed term and
                # matches nothing in an unsigned field.
                gone = sorted({int(i) for i in removed} | {doc.id for doc in docs})
                for start in range(0, len(gone), _DELETE_CHUNK):
                    ids = tantivy.Query.term_set_query(
                        self._schema, "id", gone[start : start + _DELETE_CHUNK]
                    )
                    writer.delete_documents_by_query(ids)
                for doc in docs:
                    writer.add_document(self._document(doc))
                    written += 1
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            self._meta = TermIndexMeta(self._meta.build, SCHEMA_VERSION, fingerprint)
            _write_meta(self.directory, self._meta)
            self._index.reload()
        return written

    def bulk_add(self, batches: Iterable[Sequence[TermDocument]], fingerprint: str) -> int:
        """Add new documents (ids not in the index yet) with one writer and one commit,
        then record ``fingerprint``: for building an index from scratch."""
        written = 0
        with self._lock:
            writer = self._index.writer(heap_size=_BULK_HEAP, num_threads=1)
            try:
                for batch in batches:
                    for doc in batch:
                        writer.add_document(self._document(doc))
                    written += len(batch)
                writer.commit()
            except BaseException:
                writer.rollback()
                raise
            finally:
                writer.wait_merging_threads()
            self._meta = TermIndexMeta(self._meta.build, SCHEMA_VERSION, fingerprint)
            _write_meta(self.directory, self._meta)
            self._index.reload()
        return written

    @staticmethod
    def _document(doc: TermDocument) -> tantivy.Document:
        out = tantivy.Document()
        out.add_unsigned("id", doc.id)
        out.add_unsigned("thread", doc.thread_id)
        out.add_text("scope", _key(doc.guild_id, doc.scope))
        out.add_text("guild", str(doc.guild_id))
        out.add_text("title", _keys(doc.guild_id, doc.title_terms))
        out.add_text("text", _keys(doc.guild_id, (*doc.title_terms, *doc.body_terms)))
        out.add_text("codes", _keys(doc.guild_id, doc.codes))
        return out

    def reload(self) -> None:
        """See what another process committed."""
        with self._lock:
            self._index.reload()
            meta = read_meta(self.directory)
            if meta is not None:
                self._meta = meta

    # -- reads ---------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._index.searcher().num_docs)

    def frequencies(self, guild_id: int, terms: Iterable[str]) -> tuple[dict[str, int], int]:
        """({term: entries of the server containing it}, entries of the server).

        Counts are tantivy's document frequencies: an entry removed since the
        segments were last merged still counts, as in any inverted index.
        """
        searcher = self._index.searcher()
        freqs: dict[str, int] = {}
        for term in dict.fromkeys(terms):
            n = int(searcher.doc_freq("text", _key(guild_id, term)))
            if n:
                freqs[term] = n
        return freqs, int(searcher.doc_freq("guild", str(guild_id)))

    def search(
        self,
        terms: Sequence[str],
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
        limit: int = 30,
    ) -> list[tuple[int, float]]:
        """The ``limit`` best entries of the server in ``scopes`` matching any of
        ``terms`` (BM25, larger = better), best first."""
        return self._top(self._query(terms, guild_id, scopes, exclude_thread_id), limit)

    def search_codes(
        self,
        codes: Sequence[str],
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
        limit: int = 30,
    ) -> list[tuple[int, float]]:
        """The ``limit`` best entries of the server in ``scopes`` containing any of the
        identifier-like ``codes`` as a whole token, best first."""
        query = self._query(codes, guild_id, scopes, exclude_thread_id, fields=("codes",))
        return self._top(query, limit)

    def scope_count(self, guild_id: int, scopes: Iterable[str]) -> int:
        """Entries of the server in ``scopes``, counted from the postings (O(scopes));
        like :meth:`frequencies`, an entry removed since the last merge still counts."""
        searcher = self._index.searcher()
        return sum(int(searcher.doc_freq("scope", _key(guild_id, s))) for s in set(scopes))

    def _top(self, query: tantivy.Query | None, limit: int) -> list[tuple[int, float]]:
        if query is None or limit < 1:
            return []
        searcher = self._index.searcher()
        hits = searcher.search(query, limit, count=False).hits
        ids = searcher.fast_field_values("id", [address for _, address in hits])
        return [
            (int(entry_id), float(score))
            for (score, _), entry_id in zip(hits, ids, strict=True)
            if entry_id is not None
        ]

    def count_matches(
        self,
        terms: Sequence[str],
        *,
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None = None,
    ) -> int:
        """How many entries :meth:`search` considers for the same arguments (every
        posting it may visit belongs to them): for tests and diagnostics."""
        query = self._query(terms, guild_id, scopes, exclude_thread_id)
        if query is None:
            return 0
        result = self._index.searcher().search(query, 1, count=True)
        return int(result.count or 0)  # type: ignore[attr-defined]  # missing from the stubs

    def _query(
        self,
        terms: Sequence[str],
        guild_id: int,
        scopes: Iterable[str],
        exclude_thread_id: int | None,
        fields: Sequence[str] = ("title", "text"),
    ) -> tantivy.Query | None:
        scope_keys = sorted({_key(guild_id, s) for s in scopes})
        unique = list(dict.fromkeys(terms))
        if not unique or not scope_keys:
            return None
        schema = self._schema
        should: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for term in unique:
            key = _key(guild_id, term)
            for field in fields:
                query = tantivy.Query.term_query(schema, field, key, index_option="freq")
                should.append((tantivy.Occur.Should, query))
        allowed = tantivy.Query.const_score_query(
            tantivy.Query.term_set_query(schema, "scope", scope_keys), 0.0
        )
        clauses = [
            (tantivy.Occur.Must, tantivy.Query.boolean_query(should)),
            (tantivy.Occur.Must, allowed),
        ]
        if exclude_thread_id is not None:
            clauses.append(
                (
                    tantivy.Occur.MustNot,
                    tantivy.Query.term_query(schema, "thread", int(exclude_thread_id)),
                )
            )
        return tantivy.Query.boolean_query(clauses)
