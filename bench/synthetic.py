"""Synthetic knowledge-base content for the speed benchmark.

Real solved threads are few; scale needs hundreds of thousands. Entries are
generated from templates: a product area, a feature, a symptom, an error
message or code, a platform, in English (about three quarters) or Japanese,
with filler words drawn from a Zipf-distributed pseudo-vocabulary so that the
full-text index sees a realistic long tail of terms (a few very common words,
many rare ones). Everything is a pure function of ``(seed, index)``: entry
``i`` is the same in every run and in every process, so large stores can be
cached and rebuilt piecewise.

Two ways to put entries into a store:

* :func:`insert_via_api` uses :meth:`KnowledgeStore.upsert_entry`, the real
  write path (one transaction per entry, as captures do);
* :func:`bulk_insert` writes the same rows with ``executemany`` in large
  transactions, for the 100k and 1M stores where the API would take too long.
  It reuses the store's own helpers for the full-text columns
  (:func:`knowledge.store.lexical_fields`, :func:`knowledge.lexical.document`),
  and ``tests/test_bench_speed.py`` checks that both paths produce the same rows.

Vectors for the large sizes are synthetic too (see :func:`mixture_vectors`):
encoding a million texts with the real model would take about an hour here.
"""

from __future__ import annotations

import asyncio
import functools
import json
import multiprocessing
import random
import re
import sqlite3
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from knowledge import lexical
from knowledge.models import PUBLIC_SCOPE, AnswerPart, EntryDraft, private_scope
from knowledge.store import KnowledgeStore, lexical_fields

__all__ = [
    "GUILD_MAIN",
    "SyntheticEntry",
    "bulk_insert",
    "bulk_insert_pg",
    "entries",
    "entry",
    "insert_via_api",
    "mixture_vectors",
    "other_guild",
    "queries",
]

GUILD_MAIN = 915_077_679_022_095_685
"""The guild the benchmark's questions are asked in."""

_OTHER_GUILD_BASE = 1_148_165_554_178_931_945
_OTHER_GUILDS = tuple(_OTHER_GUILD_BASE + 7919 * i for i in range(1, 40))
_FORUM_PUBLIC = 915_408_106_293_862_526
_FORUM_PRIVATE = 915_408_106_293_862_999
_START = datetime(2024, 1, 1, tzinfo=UTC)

PRODUCTS = (
    "Flowdesk",
    "Flowdesk Mobile",
    "Flowdesk API",
    "Flowdesk Portal",
    "Flowdesk Sync",
    "Flowdesk Reports",
)
FEATURES_EN = (
    "SAML single sign-on",
    "Google login",
    "CSV import",
    "CSV export",
    "webhook deliveries",
    "Slack integration",
    "Salesforce sync",
    "calendar sync",
    "recurring events",
    "push notifications",
    "approval workflow",
    "email templates",
    "merge fields",
    "formula fields",
    "custom domain",
    "SSL certificate",
    "billing seats",
    "invoice",
    "role permissions",
    "audit log",
    "full data export",
    "monthly report",
    "dashboard widgets",
    "two-factor authentication",
    "API rate limit",
    "OAuth token",
    "pipeline stages",
    "currency settings",
    "timezone settings",
    "mobile offline mode",
)
FEATURES_JA = (
    "SAMLシングルサインオン",
    "Googleログイン",
    "CSVインポート",
    "CSVエクスポート",
    "Webhook配信",
    "Slack連携",
    "Salesforce同期",
    "カレンダー同期",
    "繰り返し予定",
    "プッシュ通知",
    "承認ワークフロー",
    "メールテンプレート",
    "差し込みフィールド",
    "数式フィールド",
    "独自ドメイン",
    "SSL証明書",
    "請求シート数",
    "請求書",
    "ロール権限",
    "監査ログ",
    "全データエクスポート",
    "月次レポート",
    "ダッシュボード",
    "二要素認証",
    "APIレート制限",
    "OAuthトークン",
    "パイプライン",
    "通貨設定",
    "タイムゾーン設定",
    "オフラインモード",
)
SYMPTOMS_EN = (
    "fails with an error",
    "stopped working after the update",
    "is very slow",
    "shows the wrong data",
    "keeps retrying",
    "times out",
    "loops back to the login page",
    "garbles Japanese characters",
    "sends duplicate notifications",
    "is missing for some users",
    "returns an empty result",
    "cannot be saved",
    "ignores the new setting",
    "counts deactivated users",
    "is stuck in pending",
)
SYMPTOMS_JA = (
    "でエラーが出ます",
    "がアップデート後に動かなくなりました",
    "がとても遅いです",
    "の表示が間違っています",
    "が何度も再試行されます",
    "がタイムアウトします",
    "でログイン画面に戻されます",
    "で日本語が文字化けします",
    "の通知が重複して届きます",
    "が一部のユーザーに表示されません",
    "の結果が空になります",
    "が保存できません",
    "の新しい設定が反映されません",
    "で無効化したユーザーが数えられます",
    "が保留中のままです",
)
ERRORS = (
    "invalid audience",
    "signature validation failed",
    "429 Too Many Requests",
    "401 Unauthorized",
    "403 Forbidden",
    "500 Internal Server Error",
    "ERR_CERT_AUTHORITY_INVALID",
    "ECONNRESET",
    "0x80070005",
    "E401",
    "E1042",
    "TimeoutError",
    "invalid_grant",
    "duplicate key value",
    "UnicodeDecodeError",
)
PLATFORMS = ("Chrome", "Safari", "Firefox", "Edge", "iOS 17", "Android 14", "Windows", "macOS")
ASKS_EN = (
    "How do I fix this?",
    "Is this a known issue?",
    "What setting am I missing?",
    "Any idea what causes this?",
    "Has anyone seen this before?",
)
ASKS_JA = (
    "どうすれば直りますか？",
    "既知の不具合でしょうか？",
    "設定が足りないのでしょうか？",
    "原因に心当たりはありますか？",
)
FIXES_EN = (
    "Re-upload the signing certificate in Admin > Security.",
    "Save the file as UTF-8 before importing.",
    "Respond within 5 seconds, slow responses count as failures.",
    "Invite the bot to the private channel first.",
    "Set the report timezone to your local timezone.",
    "Reduce seats in Billing > Plan before the renewal date.",
    "Back off exponentially and honour the Retry-After header.",
    "Clear the browser cookies for the login domain.",
    "Enable the permission for the role in Settings > Roles.",
    "Regenerate the OAuth token and update the integration.",
)
FIXES_JA = (
    "管理 > セキュリティで署名証明書を再アップロードしてください。",
    "UTF-8で保存し直してからインポートしてください。",
    "5秒以内に応答してください。遅い応答は失敗として再送されます。",
    "先にボットを非公開チャンネルに招待してください。",
    "レポートのタイムゾーンを日本時間に設定してください。",
    "更新日の前に請求 > プランでシート数を減らしてください。",
    "Retry-Afterヘッダーに従って指数バックオフしてください。",
    "ログインドメインのCookieを削除してください。",
    "設定 > ロールで権限を有効にしてください。",
    "OAuthトークンを再発行して連携を更新してください。",
)
_SYLLABLES = [
    "ka",
    "ri",
    "to",
    "ne",
    "mo",
    "sa",
    "lu",
    "vi",
    "den",
    "par",
    "ion",
    "ex",
    "tor",
    "mal",
    "qui",
    "zen",
    "bor",
    "fel",
    "gra",
    "pol",
    "sta",
    "tem",
    "ver",
    "cor",
    "lin",
    "dra",
    "mix",
    "nox",
    "pra",
    "sel",
    "tur",
]


def _pseudo_vocabulary(size: int, seed: int) -> list[str]:
    """``size`` distinct pronounceable pseudo-words (the long tail of a forum's vocabulary)."""
    rng = random.Random(seed)
    words: dict[str, None] = {}
    while len(words) < size:
        words["".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))] = None
    return list(words)


_VOCAB = _pseudo_vocabulary(30_000, 7)
_ZIPF_WEIGHTS = np.cumsum(1.0 / np.arange(1, len(_VOCAB) + 1) ** 1.07)
_ZIPF_WEIGHTS /= _ZIPF_WEIGHTS[-1]


_RUN = re.compile(r"[^\W_]+", re.UNICODE)
"""Runs of word characters, as :mod:`knowledge.lexical` splits text."""


@functools.lru_cache(maxsize=1 << 18)
def _run_terms(run: str) -> tuple[str, ...]:
    return tuple(lexical.terms(run))


def segmented(text: str) -> str:
    """:func:`knowledge.lexical.document`, memoised per run of word characters.

    ``lexical.terms`` treats each run independently, so caching runs (the
    template and filler words repeat endlessly) gives the same string, much
    faster; ``tests/test_bench_speed.py`` checks the equality.
    """
    return " ".join(t for run in _RUN.findall(lexical.normalise(text)) for t in _run_terms(run))


def _filler(rng: random.Random, count: int) -> str:
    """``count`` pseudo-words drawn from the Zipf vocabulary."""
    picks = np.searchsorted(_ZIPF_WEIGHTS, [rng.random() for _ in range(count)])
    return " ".join(_VOCAB[min(int(p), len(_VOCAB) - 1)] for p in picks)


@dataclass(frozen=True, slots=True)
class SyntheticEntry:
    """One generated solved thread, ready for :class:`EntryDraft` or a bulk row."""

    index: int
    guild_id: int
    forum_id: int
    thread_id: int
    title: str
    question: str
    answer: str
    language: str
    scope: str
    topic: int
    """Which (feature, symptom) pair the entry is about: a proxy for "same problem"."""

    def draft(self) -> EntryDraft:
        """The entry as the engine would store it after a capture."""
        asked = _START + timedelta(minutes=self.index)
        return EntryDraft(
            guild_id=self.guild_id,
            forum_id=self.forum_id,
            thread_id=self.thread_id,
            title=self.title,
            question=self.question,
            question_message_id=self.thread_id,
            answer_parts=(
                AnswerPart(
                    self.thread_id + 1, 3_000_000_000 + self.index % 997, "helper", self.answer
                ),
            ),
            asker_id=2_000_000_000 + self.index % 5003,
            asker_name=f"member{self.index % 5003}",
            tags=("help",),
            asked_at=asked,
            solved_at=asked + timedelta(hours=1),
            jump_url=f"https://discord.com/channels/{self.guild_id}/{self.thread_id}",
            language=self.language,
            scope=self.scope,
        )


def other_guild(number: int) -> int:
    """The id of the ``number``-th other guild (1-based), beside :data:`GUILD_MAIN`."""
    return _OTHER_GUILD_BASE + 7919 * number


def entry(
    seed: int, index: int, *, main_share: float = 1.0, other_guilds: int = 39
) -> SyntheticEntry:
    """Entry ``index`` of the synthetic corpus ``seed``.

    ``main_share`` is the fraction of entries in :data:`GUILD_MAIN`; the rest
    are spread evenly over ``other_guilds`` other guilds (:func:`other_guild`).
    One entry in ten is in a private forum.
    """
    rng = random.Random(seed * 1_000_003 + index)
    feature = rng.randrange(len(FEATURES_EN))
    symptom = rng.randrange(len(SYMPTOMS_EN))
    product = rng.choice(PRODUCTS)
    error = rng.choice(ERRORS)
    platform = rng.choice(PLATFORMS)
    version = f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
    japanese = rng.random() < 0.25
    if japanese:
        title = f"{product}の{FEATURES_JA[feature]}{SYMPTOMS_JA[symptom]}"
        question = (
            f"{platform}で{product} {version}を使っています。{FEATURES_JA[feature]}"
            f"{SYMPTOMS_JA[symptom]}。エラーは「{error}」です。{_filler(rng, rng.randint(2, 9))} "
            f"{rng.choice(ASKS_JA)}"
        )
        answer = f"{FIXES_JA[feature % len(FIXES_JA)]} {_filler(rng, rng.randint(2, 8))}"
    else:
        title = f"{product} {FEATURES_EN[feature]} {SYMPTOMS_EN[symptom]}"
        question = (
            f"On {platform} with {product} {version}, {FEATURES_EN[feature]} "
            f"{SYMPTOMS_EN[symptom]}: {error}. {_filler(rng, rng.randint(3, 18))}. "
            f"{rng.choice(ASKS_EN)}"
        )
        answer = f"{FIXES_EN[feature % len(FIXES_EN)]} {_filler(rng, rng.randint(3, 15))}"
    # randrange(1, n + 1) draws what choice() of n guilds draws: corpora of the
    # default 39 guilds are the same as before the parameter existed.
    guild = (
        GUILD_MAIN if rng.random() < main_share else other_guild(rng.randrange(1, other_guilds + 1))
    )
    private = rng.random() < 0.1
    forum = _FORUM_PRIVATE if private else _FORUM_PUBLIC
    return SyntheticEntry(
        index=index,
        guild_id=guild,
        forum_id=forum,
        thread_id=1_400_000_000_000_000_000 + index * 16,
        title=title,
        question=question,
        answer=answer,
        language="ja" if japanese else "en",  # what detect_language says (tested)
        scope=private_scope(forum) if private else PUBLIC_SCOPE,
        topic=feature * len(SYMPTOMS_EN) + symptom,
    )


def entries(
    seed: int, start: int, stop: int, *, main_share: float = 1.0, other_guilds: int = 39
) -> Iterator[SyntheticEntry]:
    """Entries ``start`` (inclusive) to ``stop`` (exclusive)."""
    for index in range(start, stop):
        yield entry(seed, index, main_share=main_share, other_guilds=other_guilds)


def queries(seed: int, count: int) -> list[str]:
    """New questions worded unlike the entries: paraphrases, some citing an error code."""
    rng = random.Random(seed * 7_777_777 + 1)
    out: list[str] = []
    for _ in range(count):
        feature = rng.randrange(len(FEATURES_EN))
        symptom = rng.randrange(len(SYMPTOMS_EN))
        if rng.random() < 0.25:
            text = (
                f"{FEATURES_JA[feature]}{SYMPTOMS_JA[symptom]}。"
                f"{rng.choice(PLATFORMS)}です。{rng.choice(ASKS_JA)}"
            )
        else:
            text = (
                f"Since yesterday our {FEATURES_EN[feature]} {SYMPTOMS_EN[symptom]} "
                f"on {rng.choice(PLATFORMS)}."
            )
            if rng.random() < 0.4:
                text += f" The message says {rng.choice(ERRORS)}."
            text += f" {rng.choice(ASKS_EN)}"
        out.append(text)
    return out


async def insert_via_api(store: KnowledgeStore, items: Sequence[SyntheticEntry]) -> None:
    """Store ``items`` through :meth:`KnowledgeStore.upsert_entry`, one transaction each."""
    for item in items:
        await store.upsert_entry(item.draft())


_ENTRY_SQL = (
    "INSERT INTO entries (id, guild_id, forum_id, thread_id, title, question, "
    "question_message_id, asker_id, asker_name, tags, asked_at, solved_at, jump_url, "
    "language, scope, hits, revision, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"
)
_PART_SQL = (
    "INSERT INTO answer_parts (entry_id, position, message_id, author_id, author_name, "
    "content) VALUES (?, ?, ?, ?, ?, ?)"
)


def _rows(item: SyntheticEntry, entry_id: int, now: str) -> tuple[tuple, list[tuple], tuple, tuple]:
    draft = item.draft()
    entry_row = (
        entry_id,
        draft.guild_id,
        draft.forum_id,
        draft.thread_id,
        draft.title,
        draft.question,
        draft.question_message_id,
        draft.asker_id,
        draft.asker_name,
        json.dumps(list(draft.tags), ensure_ascii=False),
        draft.asked_at.isoformat(),
        draft.solved_at.isoformat(),
        draft.jump_url,
        draft.language,
        draft.scope,
        entry_id,  # revision: one bump per entry, as upsert_entry does
        now,
        now,
    )
    parts = [
        (entry_id, pos, p.message_id, p.author_id, p.author_name, p.content)
        for pos, p in enumerate(draft.answer_parts)
    ]
    fts_title, fts_body = lexical_fields(
        draft.title, draft.question, "\n\n".join(p.content for p in draft.answer_parts)
    )
    return (
        entry_row,
        parts,
        (entry_id, fts_title, fts_body),
        (entry_id, segmented(fts_title), segmented(fts_body)),
    )


def bulk_insert(
    db_path: Path,
    seed: int,
    count: int,
    *,
    main_share: float = 1.0,
    other_guilds: int = 39,
    chunk: int = 20_000,
    progress: object = None,
) -> None:
    """Write entries ``0..count-1`` straight into a store created by :meth:`KnowledgeStore.open`.

    The store must be empty and closed. Entry ``i`` gets row id ``i + 1`` and
    revision ``i + 1``, and the store's revision ends at ``count``, exactly as
    ``count`` calls of :meth:`KnowledgeStore.upsert_entry` would leave it.
    ``progress``, if callable, gets the number of entries written so far.
    """
    db = sqlite3.connect(db_path, isolation_level=None)
    # Rows are made in a second process while this one writes the previous chunk.
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -1000000")  # 1 GB of page cache while loading
        (existing,) = db.execute("SELECT COUNT(*) FROM entries").fetchone()
        if existing:
            raise ValueError(f"{db_path} already holds {existing} entries")
        for table in ("entries_fts", "entries_terms"):
            # Fewer, larger merges while loading; 'optimize' below merges the rest once.
            db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', 16)")
        now = datetime.now(UTC).isoformat()
        starts = list(range(0, count, chunk))
        frequencies: Counter[tuple[int, str]] = Counter()
        pending = [
            pool.submit(
                _chunk_rows, seed, start, min(count, start + chunk), main_share, other_guilds, now
            )
            for start in starts[:2]
        ]
        for position, start in enumerate(starts):
            rows = pending.pop(0).result()
            if position + 2 < len(starts):
                nxt = starts[position + 2]
                pending.append(
                    pool.submit(
                        _chunk_rows,
                        seed,
                        nxt,
                        min(count, nxt + chunk),
                        main_share,
                        other_guilds,
                        now,
                    )
                )
            db.execute("BEGIN")
            db.executemany(_ENTRY_SQL, [r[0] for r in rows])
            db.executemany(_PART_SQL, [p for r in rows for p in r[1]])
            db.executemany(
                "INSERT INTO entries_fts (rowid, title, body) VALUES (?, ?, ?)",
                [r[2] for r in rows],
            )
            db.executemany(
                "INSERT INTO entries_terms (rowid, title, body) VALUES (?, ?, ?)",
                [r[3] for r in rows],
            )
            for r in rows:  # each server's document frequencies, as upsert_entry keeps them
                guild_id = r[0][1]
                for term in set(r[3][1].split()) | set(r[3][2].split()):
                    frequencies[(guild_id, term)] += 1
            db.execute("COMMIT")
            if callable(progress):
                progress(min(count, start + chunk))
        db.executemany(
            "INSERT INTO term_frequencies (guild_id, term, documents) VALUES (?, ?, ?)",
            [(g, t, n) for (g, t), n in sorted(frequencies.items())],
        )
        db.execute("UPDATE kb_meta SET value = ? WHERE key = 'revision'", (str(count),))
        db.execute(
            "INSERT OR IGNORE INTO kb_meta (key, value) VALUES ('store_id', ?)", (uuid.uuid4().hex,)
        )
        for table in ("entries_fts", "entries_terms"):
            db.execute(f"INSERT INTO {table} ({table}) VALUES ('optimize')")
            db.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('automerge', 4)")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        pool.shutdown(cancel_futures=True)
        db.close()


def _chunk_rows(
    seed: int, start: int, stop: int, main_share: float, other_guilds: int, now: str
) -> list[tuple[tuple, list[tuple], tuple, tuple]]:
    """The bulk rows of entries ``start..stop-1`` (run in the helper process)."""
    return [
        _rows(item, item.index + 1, now)
        for item in entries(seed, start, stop, main_share=main_share, other_guilds=other_guilds)
    ]


def mixture_vectors(
    base: np.ndarray, seed: int, start: int, stop: int, *, noise: float = 0.45
) -> np.ndarray:
    """Synthetic embeddings ``start..stop-1`` derived from real ones.

    Vector ``i`` is ``normalise(base[a] + w * base[b] + noise * g / sqrt(dim))``
    with ``a``, ``b`` and ``w`` in [0, 0.6) and the Gaussian ``g`` drawn from a
    generator seeded by ``(seed, i // 4096)``, so any slice can be regenerated
    alone. Mixing real embeddings keeps the vectors in the region the model
    actually uses (a random unit vector in 384 dimensions is unlike any
    sentence embedding, and much harder for approximate search); the noise
    keeps them from collapsing onto the ``len(base)`` originals.
    """
    dim = base.shape[1]
    out = np.empty((stop - start, dim), dtype=np.float32)
    block = 4096
    pos = 0
    for first in range(start - start % block, stop, block):
        rng = np.random.default_rng([seed, first // block])
        a = rng.integers(0, len(base), block)
        b = rng.integers(0, len(base), block)
        w = rng.random(block, dtype=np.float32) * 0.6
        g = rng.standard_normal((block, dim), dtype=np.float32)
        lo, hi = max(start, first) - first, min(stop, first + block) - first
        if lo >= hi:
            continue
        sl = slice(lo, hi)
        vec = base[a[sl]] + w[sl, None] * base[b[sl]] + (noise / np.sqrt(dim)) * g[sl]
        vec /= np.linalg.norm(vec, axis=1, keepdims=True)
        out[pos : pos + hi - lo] = vec
        pos += hi - lo
    return out


# -- PostgreSQL ------------------------------------------------------------------------

_PG_ENTRY_COLUMNS = (
    "id",
    "guild_id",
    "forum_id",
    "thread_id",
    "title",
    "question",
    "question_message_id",
    "asker_id",
    "asker_name",
    "tags",
    "asked_at",
    "solved_at",
    "jump_url",
    "language",
    "scope",
    "revision",
    "created_at",
    "updated_at",
)

PgRows = tuple[list[tuple], list[tuple], list[tuple], list[tuple], dict[int, tuple[int, int]]]
"""One chunk for PostgreSQL: entries, answer_parts, entry_text, entry_terms rows, and
per guild (entries, total length in terms) for ``lexical_stats``."""


def _pg_chunk_rows(
    seed: int, start: int, stop: int, main_share: float, other_guilds: int, now: str
) -> PgRows:
    """The rows :meth:`PgLexicalIndex.write <knowledge.lexical_pg.PgLexicalIndex.write>`
    and the store write for entries ``start..stop-1`` (run in the helper process)."""
    entries_rows: list[tuple] = []
    parts: list[tuple] = []
    texts: list[tuple] = []
    terms: list[tuple] = []
    stats: dict[int, tuple[int, int]] = {}
    for entry_row, entry_parts, (entry_id, fts_title, fts_body), segments in _chunk_rows(
        seed, start, stop, main_share, other_guilds, now
    ):
        guild_id, scope = entry_row[1], entry_row[14]
        entries_rows.append(entry_row)
        parts += entry_parts
        title_terms = Counter(segments[1].split())
        body_terms = Counter(segments[2].split())
        length = sum(title_terms.values()) + sum(body_terms.values())
        texts.append((entry_id, guild_id, scope, f"{fts_title}\n{fts_body}", length))
        terms += [
            (entry_id, guild_id, scope, t, title_terms.get(t, 0), body_terms.get(t, 0), length)
            for t in sorted(set(title_terms) | set(body_terms))
        ]
        documents, total = stats.get(guild_id, (0, 0))
        stats[guild_id] = (documents + 1, total + length)
    return entries_rows, parts, texts, terms, stats


async def bulk_insert_pg(
    url: str,
    seed: int,
    count: int,
    *,
    main_share: float = 1.0,
    other_guilds: int = 39,
    chunk: int = 20_000,
    progress: object = None,
) -> None:
    """:func:`bulk_insert` for a PostgreSQL store: ``COPY`` instead of ``executemany``.

    The database must hold an empty store made by :meth:`KnowledgeStore.open` with
    ``database_url=url`` (schema migrated, ``store_id`` set). Writes what ``count``
    calls of :meth:`KnowledgeStore.upsert_entry` write on PostgreSQL: ``entries``
    (ids and revisions ``1..count``, the identity sequence moved past them),
    ``answer_parts``, the lexical tables of :mod:`knowledge.lexical_pg`
    (``entry_text``, ``entry_terms``, ``lexical_stats``,
    ``lexical_scopes``, ``term_frequencies``) and the revision in
    ``kb_meta``; then ``VACUUM ANALYZE``, as autovacuum would leave the tables.
    ``tests/test_bench_pg.py`` checks that both paths leave the same rows and answer
    the same lookups.
    """
    import asyncpg

    conn = await asyncpg.connect(url)
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    try:
        existing = await conn.fetchval("SELECT COUNT(*) FROM entries")
        if existing:
            raise ValueError(f"the database already holds {existing} entries")
        now = datetime.now(UTC).isoformat()
        loop = asyncio.get_running_loop()
        starts = list(range(0, count, chunk))

        def submit(start: int) -> asyncio.Future[PgRows]:
            stop = min(count, start + chunk)
            return loop.run_in_executor(
                pool, _pg_chunk_rows, seed, start, stop, main_share, other_guilds, now
            )

        pending = [submit(start) for start in starts[:2]]
        stats: dict[int, tuple[int, int]] = {}
        for position, start in enumerate(starts):
            entry_rows, parts, texts, terms, chunk_stats = await pending.pop(0)
            if position + 2 < len(starts):
                pending.append(submit(starts[position + 2]))
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "entries", records=entry_rows, columns=_PG_ENTRY_COLUMNS
                )
                await conn.copy_records_to_table(
                    "answer_parts",
                    records=parts,
                    columns=(
                        "entry_id",
                        "position",
                        "message_id",
                        "author_id",
                        "author_name",
                        "content",
                    ),
                )
                await conn.copy_records_to_table(
                    "entry_text",
                    records=texts,
                    columns=("entry_id", "guild_id", "scope", "content", "length"),
                )
                await conn.copy_records_to_table(
                    "entry_terms",
                    records=terms,
                    columns=(
                        "entry_id",
                        "guild_id",
                        "scope",
                        "term",
                        "title_tf",
                        "body_tf",
                        "doc_length",
                    ),
                )
            for guild_id, (documents, length) in chunk_stats.items():
                had_documents, had_length = stats.get(guild_id, (0, 0))
                stats[guild_id] = (had_documents + documents, had_length + length)
            if callable(progress):
                progress(min(count, start + chunk))
        async with conn.transaction():
            await conn.executemany(
                "INSERT INTO lexical_stats (guild_id, documents, length) VALUES ($1, $2, $3)",
                [(g, d, n) for g, (d, n) in sorted(stats.items())],
            )
            await conn.execute(
                "INSERT INTO term_frequencies (guild_id, term, documents) "
                "SELECT guild_id, term, COUNT(*) FROM entry_terms GROUP BY guild_id, term"
            )
            await conn.execute(
                "INSERT INTO lexical_scopes (guild_id, scope, documents) "
                "SELECT guild_id, scope, COUNT(*) FROM entry_text GROUP BY guild_id, scope"
            )
            await conn.execute("UPDATE kb_meta SET value = $1 WHERE key = 'revision'", str(count))
            if count:
                await conn.execute(
                    "SELECT setval(pg_get_serial_sequence('entries', 'id'), $1)", count
                )
        await conn.execute("VACUUM ANALYZE")  # as autovacuum would: visibility map, statistics
    finally:
        pool.shutdown(cancel_futures=True)
        await conn.close()
