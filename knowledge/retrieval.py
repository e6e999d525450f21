"""Retrieval: from a new question to ranked suggestions, or silence.

Dense candidates (the vector index) and lexical candidates (the store's two
full-text indexes) are gathered within what the question may see (its guild,
its allowed scopes, never its own post: filters applied in SQL), scored on the
same absolute scale and fused by :mod:`knowledge.ranking`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from index.encoder import Encoder
from index.kinds import APPROXIMATE_FROM
from index.term_index import TermIndex
from index.vectors import VectorIndex
from knowledge import bridge, confidence, lexical
from knowledge.cleaning import clean_for_storage, detect_language, to_index_text
from knowledge.confidence import ConfidenceModel
from knowledge.glossary_store import GlossaryFor
from knowledge.learning import Verdict, adjustments
from knowledge.live_index import LiveIndex
from knowledge.live_terms import LiveTermIndex
from knowledge.models import Query, Suggestion
from knowledge.ranking import Candidate, QuestionShape, Scored, choose, scored
from knowledge.store import KnowledgeStore

Hits = list[tuple[int, float]]

MAX_JUDGED = 50_000
"""Judged-question vectors kept in memory before the cache starts over."""


VECTOR_SIGNALS = frozenset({"twin", "title_z"})
"""Confidence signals that read each candidate's stored vector."""


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """How suggestions are retrieved and when the engine stays silent.

    ``score = dense_weight * cosine + (1 - dense_weight) * lexical overlap``;
    nothing scoring under ``threshold`` is ever shown. With a ``confidence``
    model, the engine speaks only when the probability that its first
    suggestion is right reaches the model's threshold. The values come from the
    encoder's :class:`~knowledge.profiles.ModelProfile` (``profile``). When the question has a
    title, the cosine is ``(1 - title_weight) * cos(full text) + title_weight *
    cos(title)``: one search with the blended query vector, since both are inner
    products with the same entry vector.
    """

    threshold: float = 0.5
    dense_weight: float = 0.9
    title_weight: float = 0.5
    candidates: int = 30
    index_answer: bool = False
    approximate_from: int = APPROXIMATE_FROM
    language_dense_weights: tuple[tuple[str, float], ...] = (("ja", 0.6),)
    confidence: ConfidenceModel | None = None
    profile: str = ""
    feedback_closeness: float = 0.7
    """The cosine from which two questions count as "the same question" for verdicts."""
    invite_floor: float = 0.4
    """The fused score from which a solved thread counts as close to a new post for
    inviting its helper (below the suggestion gate: see :mod:`knowledge.invitations`)."""
    cross_language_lexical: bool = False
    """A thread in another language than the question is not held back for sharing no
    words with it (:func:`knowledge.ranking.scored`); for multilingual models."""
    language_gaps: tuple[tuple[str, float], ...] = ()
    """For a question in a language, how much lower the model's cosine is between
    texts in different languages than between texts in that language, measured
    without labels on a community's own threads (``bench/language_gap.py``); added
    to the cosine of threads in the other language (:func:`knowledge.ranking.scored`,
    with :attr:`cross_language_lexical`). Empty: no correction."""
    glossary: bridge.Glossary | None = None
    """The Japanese/English glossary whose equivalents expand a question's terms
    (:mod:`knowledge.bridge`); ``None``: no cross-language expansion."""
    bridge_weight: float = 0.5
    """How much a concept found in the other language counts, against its own words."""
    all_signals: bool = False
    """Compute every confidence signal for every candidate, also those the shipped
    model does not read (for the benchmarks that measure them). Otherwise the signals
    that cost extra work per candidate (those reading its stored vector, ``twin`` and
    ``title_z``, and the extra overlaps ``own_lexical`` and ``rare_lexical``) are
    computed only when :attr:`confidence` reads them."""

    def reads(self, *signals: str) -> bool:
        """Whether any of these confidence signals is computed for each candidate (see
        :attr:`all_signals`)."""
        if self.all_signals:
            return True
        used = self.confidence.features if self.confidence is not None else ()
        return any(signal in used for signal in signals)

    def wants_vectors(self) -> bool:
        """Whether the candidates' stored vectors are needed (see :attr:`all_signals`)."""
        return self.reads(*VECTOR_SIGNALS)

    def dense_weight_for(self, language: str) -> float:
        """The dense weight for a question in ``language``.

        The default encoder (all-MiniLM-L6-v2) was trained on English; in
        Japanese its vectors carry little meaning, so Japanese questions lean on
        the lexical signal (character bigrams) instead.
        """
        return dict(self.language_dense_weights).get(language, self.dense_weight)

    def language_gap_for(self, language: str) -> float:
        """What a thread in another language than a question in ``language`` gets back
        on its cosine (:attr:`language_gaps`; 0 when none was measured)."""
        return dict(self.language_gaps).get(language, 0.0)

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("threshold must be between 0 and 1")
        if not 0.0 <= self.dense_weight <= 1.0:
            raise ValueError("dense_weight must be between 0 and 1")
        if not 0.0 <= self.title_weight <= 1.0:
            raise ValueError("title_weight must be between 0 and 1")
        if any(not 0.0 <= w <= 1.0 for _, w in self.language_dense_weights):
            raise ValueError("language dense weights must be between 0 and 1")
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")
        if not 0.0 <= self.invite_floor <= 1.0:
            raise ValueError("invite_floor must be between 0 and 1")
        if not 0.0 <= self.bridge_weight <= 1.0:
            raise ValueError("bridge_weight must be between 0 and 1")
        if any(not 0.0 <= gap < 0.5 for _, gap in self.language_gaps):
            raise ValueError("language gaps must be at least 0 and under 0.5")


@dataclass(frozen=True, slots=True)
class PreparedQuery:
    """A question reduced to what the retrievers need."""

    query: Query
    text: str
    title: str
    terms: list[str]
    needles: list[str]
    scopes: frozenset[str]
    expansions: tuple[bridge.Expansion, ...] = ()
    """Glossary concepts of the question (empty without a bridge)."""
    bridge_terms: tuple[str, ...] = ()
    """Their other-language terms that the question does not hold itself."""

    def bridged(self, glossary: bridge.Glossary | None) -> PreparedQuery:
        """This question with the other language's equivalents of its glossary terms."""
        if glossary is None:
            return self
        found = tuple(glossary.find(self.text))
        extra = tuple(bridge.expansion_terms(found, self.terms))
        return dataclasses.replace(self, expansions=found, bridge_terms=extra)

    @classmethod
    def of(cls, query: Query) -> PreparedQuery | None:
        """``None`` when there is nothing to search for."""
        text = to_index_text(clean_for_storage(query.text))
        if not text.strip() or query.limit < 1:
            return None
        needles = lexical.substring_needles(text)
        compact = "".join(text.split())
        if len(compact) < 3:
            needles = [compact]
        title = to_index_text(clean_for_storage(query.title)) if query.title else ""
        return cls(
            query, text, title, lexical.terms(text), needles, frozenset(query.allowed_scopes)
        )


@dataclass(frozen=True, slots=True)
class LexicalHits:
    """Candidates of the two full-text indexes, and the IDF weights of the query's terms."""

    terms: Hits
    substrings: Hits
    weights: dict[str, float]


class Retriever:
    """Suggestions for one question over a store and a vector index."""

    def __init__(
        self,
        store: KnowledgeStore,
        encoder: Encoder,
        config: SearchConfig,
        *,
        terms: LiveTermIndex | None = None,
        dense: LiveIndex | None = None,
    ) -> None:
        self.store = store
        self.encoder = encoder
        self.config = config
        self.terms = terms
        self.glossaries: GlossaryFor | None = None
        """A server's glossary for its questions (its own terms added to the profile's);
        ``None``: the profile's glossary for every server."""
        self.dense = dense
        """The live vector index, for searches within one server (its own id sets)."""
        # Vectors and languages of judged questions, by (question post, entry): derived
        # from the store's text, encoded and detected once per process.
        self._judged: dict[tuple[int, int], tuple[np.ndarray, str]] = {}

    async def suggest(self, index: VectorIndex, query: Query) -> list[Suggestion]:
        """The solved threads closest to ``query``, best first; empty when unsure."""
        return (await self.answer(index, query)).suggestions

    async def answer(self, index: VectorIndex, query: Query) -> Answer:
        """What to show for ``query`` and every candidate it was chosen from (one
        search: a caller that also needs the candidates does not search again)."""
        found = await self.gather(index, query)
        if found is None:
            return Answer([], [], QuestionShape("", 0))
        candidates, language, shape = found
        cross = language if self.config.cross_language_lexical else None
        ranked = scored(
            candidates,
            query,
            self.config.dense_weight_for(language),
            question_language=cross,
            language_gap=self.config.language_gap_for(language),
        )
        suggestions = choose(
            ranked,
            query,
            threshold=self.config.threshold,
            confidence=self.config.confidence,
            question=shape,
        )
        return Answer(suggestions, ranked, shape)

    async def gather(
        self, index: VectorIndex, query: Query
    ) -> tuple[list[Candidate], str, QuestionShape] | None:
        """Every candidate the retrievers find for ``query`` with its raw signals, the
        question's language and shape (for calibration); ``None`` when nothing to search."""
        prepared = PreparedQuery.of(query)
        if prepared is None:
            return None
        glossary = (
            self.config.glossary
            if self.glossaries is None
            else await self.glossaries(query.guild_id)
        )
        prepared = prepared.bridged(glossary)
        term_index = await self.terms.current() if self.terms is not None else None
        if term_index is not None:  # the server's postings: no scan of its rows
            allowed_count = term_index.scope_count(query.guild_id, prepared.scopes)
        else:
            allowed_count = await self.store.count(query.guild_id, prepared.scopes)
        if allowed_count == 0:
            return None
        vector_task = asyncio.create_task(self._query_vector(prepared))
        lexical_hits = await self._lexical(prepared, term_index)
        vector, title_vector = await vector_task
        dense_hits = await self._dense_search(index, vector, prepared, allowed_count)
        language = detect_language(prepared.text)
        candidates = await self._candidates(
            index, prepared, vector, dense_hits, lexical_hits, title_vector, language
        )
        return candidates, language, QuestionShape(language, len(prepared.text))

    async def _query_vector(self, prepared: PreparedQuery) -> tuple[np.ndarray, np.ndarray | None]:
        """The question's vector (with a title, blended with the title's own vector), and
        the title's own vector (``None`` without a title or a title weight)."""
        weight = self.config.title_weight if prepared.title.strip() else 0.0
        texts = [prepared.text, prepared.title] if weight else [prepared.text]
        encoded: np.ndarray = await asyncio.to_thread(self.encoder.encode, texts)
        vector: np.ndarray = encoded[0]
        if weight:
            vector = (1.0 - weight) * encoded[0] + weight * encoded[1]
            return vector, encoded[1]
        return vector, None

    async def _lexical(
        self, prepared: PreparedQuery, term_index: TermIndex | None = None
    ) -> LexicalHits:
        """Term and substring candidates, and the question's term weights from the
        asking server's own document frequencies. On a large base (``term_index``
        given) the lookups go to the derived term index, which touches the asking
        server's postings only and matches identifiers (error codes, versions) as
        whole tokens; else to the store's full-text tables."""
        query = prepared.query
        k = self.config.candidates
        if term_index is not None and all(len(n) >= 3 for n in prepared.needles):
            return await asyncio.to_thread(self._indexed_lexical, term_index, prepared)
        if term_index is not None:
            term_hits, weights = await asyncio.to_thread(self._indexed_terms, term_index, prepared)
        else:
            frequencies, total = await self.store.term_frequencies(
                query.guild_id, [*prepared.terms, *prepared.bridge_terms]
            )
            weights = {t: lexical.idf(total, frequencies.get(t, 0)) for t in set(prepared.terms)}
            term_hits = []
            # The question's own terms, then (other language's candidates) the glossary's
            # equivalents of its concepts.
            for terms in (prepared.terms, prepared.bridge_terms):
                selective = lexical.selective_terms(terms, frequencies, total)
                if not selective:
                    continue
                term_hits += await self.store.term_search(
                    selective,
                    guild_id=query.guild_id,
                    scopes=prepared.scopes,
                    exclude_thread_id=query.exclude_thread_id,
                    limit=k,
                )
        substring_hits: Hits = []
        if prepared.needles:
            substring_hits = await self.store.substring_search(
                prepared.needles,
                guild_id=query.guild_id,
                scopes=prepared.scopes,
                exclude_thread_id=query.exclude_thread_id,
                limit=k,
            )
        return LexicalHits(term_hits, substring_hits, weights)

    def _indexed_lexical(self, index: TermIndex, prepared: PreparedQuery) -> LexicalHits:
        """Every lexical lookup from the term index (one worker-thread hop)."""
        term_hits, weights = self._indexed_terms(index, prepared)
        query = prepared.query
        codes = index.search_codes(
            prepared.needles,
            guild_id=query.guild_id,
            scopes=prepared.scopes,
            exclude_thread_id=query.exclude_thread_id,
            limit=self.config.candidates,
        )
        return LexicalHits(term_hits, codes, weights)

    def _indexed_terms(
        self, index: TermIndex, prepared: PreparedQuery
    ) -> tuple[Hits, dict[str, float]]:
        """Ranked term matches and IDF weights from the term index (one worker-thread hop)."""
        query = prepared.query
        frequencies, total = index.frequencies(
            query.guild_id, [*prepared.terms, *prepared.bridge_terms]
        )
        weights = {t: lexical.idf(total, frequencies.get(t, 0)) for t in set(prepared.terms)}
        hits: Hits = []
        for terms in (prepared.terms, prepared.bridge_terms):  # own words, then the bridge's
            selective = lexical.selective_terms(terms, frequencies, total)
            if selective:
                hits += index.search(
                    selective,
                    guild_id=query.guild_id,
                    scopes=prepared.scopes,
                    exclude_thread_id=query.exclude_thread_id,
                    limit=self.config.candidates,
                )
        return hits, weights

    async def _dense_search(
        self, index: VectorIndex, vector: np.ndarray, prepared: PreparedQuery, allowed_count: int
    ) -> Hits:
        """Nearest entries among those the query may see.

        When the allowed entries are a small part of the index (a guild among
        many, a public forum beside large private ones), the search is
        restricted to them: scored exactly from the server's own vectors while
        the server is small enough (:mod:`knowledge.server_sets`), else by the
        vector index with the server's ids (from memory) as a filter. Otherwise
        it over-fetches and the store's filter drops the rest.
        """
        total = len(index)
        k = self.config.candidates
        if total == 0:
            return []
        query = prepared.query
        if allowed_count * 2 < total:
            if self.dense is not None:
                hits = await asyncio.to_thread(
                    self.dense.search_server,
                    index,
                    vector,
                    k,
                    guild_id=query.guild_id,
                    scopes=prepared.scopes,
                    exclude_thread_id=query.exclude_thread_id,
                )
                if hits is not None:
                    return hits
            allowed = await self.store.allowed_ids(
                query.guild_id, prepared.scopes, query.exclude_thread_id
            )
            return await asyncio.to_thread(index.search, vector, k, allowed_ids=allowed)
        fetch = min(total, k + max(k, int(k * total / max(allowed_count, 1))))
        return await asyncio.to_thread(index.search, vector, fetch)

    async def _candidates(
        self,
        index: VectorIndex,
        prepared: PreparedQuery,
        vector: np.ndarray,
        dense_hits: Hits,
        lexical_hits: LexicalHits,
        title_vector: np.ndarray | None = None,
        language: str = "",
    ) -> list[Candidate]:
        """Every entry some retriever found, visible to the query, with all its signals
        (``language``: the question's, for members' verdicts given in the other one)."""
        query = prepared.query
        found = [i for i, _ in dense_hits + lexical_hits.terms + lexical_hits.substrings]
        candidate_ids = list(dict.fromkeys(found))
        entries = await self.store.get_entries(
            candidate_ids,
            guild_id=query.guild_id,
            scopes=prepared.scopes,
            exclude_thread_id=query.exclude_thread_id,
        )
        ids = [i for i in candidate_ids if i in entries]
        dense = dict(dense_hits)
        # Every candidate's stored vector only when a signal reads it; otherwise only
        # those the dense search did not score (found by the lexical search alone).
        wanted = self.config.wants_vectors()
        fetch = [i for i in ids if (wanted or i not in dense) and index.contains(i)]
        vectors: dict[int, np.ndarray] = {}
        if fetch:
            stored = await asyncio.to_thread(index.vectors, fetch)
            vectors = dict(zip(fetch, stored, strict=True))
            missing = [i for i in fetch if i not in dense]
            if missing:
                closeness = np.stack([vectors[i] for i in missing]) @ vector
                dense.update(zip(missing, closeness.tolist(), strict=True))
        if not wanted:
            vectors, title_vector = {}, None
        overlaps = await self._overlaps(prepared, lexical_hits.weights, ids)
        overlap, own, rare = overlaps.overlap, overlaps.own, overlaps.rare
        titles: dict[int, float] = {}
        if title_vector is not None:
            titles = {i: float(v @ title_vector) for i, v in vectors.items()}
        feedback = await self._feedback(query.guild_id, vector, ids, language)
        in_terms = {i for i, _ in lexical_hits.terms}
        in_substrings = {i for i, _ in lexical_hits.substrings}
        in_dense = {i for i, _ in dense_hits}
        return [
            Candidate(
                entry=entries[i],
                cosine=float(dense.get(i, 0.0)),
                overlap=overlap.get(i, 0.0),
                dense_hit=i in in_dense,
                term_hit=i in in_terms,
                substring_hit=i in in_substrings,
                feedback=feedback.get(i, 0.0),
                own_overlap=math.nan if own is None else own.get(i, 0.0),
                rare_overlap=math.nan if rare is None else rare.get(i, 0.0),
                vector=vectors.get(i),
                title_cosine=titles.get(i, math.nan),
            )
            for i in ids
        ]

    async def _feedback(
        self, guild_id: int, vector: np.ndarray, ids: Sequence[int], language: str = ""
    ) -> dict[int, float]:
        """Score adjustments from members' verdicts on these entries for close questions
        (``language``: the asking question's, for verdicts given in the other one)."""
        rows = await self.store.verdicts(guild_id, ids)
        if not rows:
            return {}
        missing = [
            (entry, thread, text)
            for entry, thread, text, _ in rows
            if (thread, entry) not in self._judged
        ]
        if missing:
            texts = [to_index_text(text) for _, _, text in missing]
            encoded = await asyncio.to_thread(self.encoder.encode, texts)
            if len(self._judged) + len(missing) > MAX_JUDGED:
                self._judged.clear()
            for (entry, thread, text), row in zip(missing, encoded, strict=True):
                self._judged[(thread, entry)] = (row, detect_language(text))
        verdicts = [
            Verdict(entry, judged[0], positive, judged[1])
            for entry, thread, _, positive in rows
            if (judged := self._judged.get((thread, entry))) is not None
        ]
        return adjustments(
            vector,
            verdicts,
            closeness=self.config.feedback_closeness,
            language=language,
            language_gap=self.config.language_gap_for(language),
        )

    async def _overlaps(
        self, prepared: PreparedQuery, weights: dict[str, float], ids: Sequence[int]
    ) -> Overlaps:
        """Each entry's lexical overlap with the question (glossary bridge included), and,
        when a confidence signal reads them (:meth:`SearchConfig.reads`), its overlap with
        the question's own words only and with its rare terms only."""
        own: dict[int, float] | None = {} if self.config.reads("own_lexical") else None
        rare: dict[int, float] | None = {} if self.config.reads("rare_lexical") else None
        out = Overlaps({}, own, rare)
        if not prepared.terms or not ids:
            return out
        sets = await self.store.term_sets(ids)
        rare_query: list[str] = []
        if rare is not None:
            kept = confidence.rare_terms({t: weights.get(t, 0.0) for t in set(prepared.terms)})
            rare_query = [t for t in prepared.terms if t in kept]
        expansions, factor = prepared.expansions, self.config.bridge_weight

        def overlap(query_terms: Sequence[str], terms: set[str], bridged: bool) -> float:
            if bridged and expansions:
                return bridge.bridged_overlap(query_terms, expansions, terms, weights, factor)
            return lexical.weighted_overlap(query_terms, terms, weights)

        for entry_id in ids:
            terms = sets.get(entry_id, set())
            out.overlap[entry_id] = overlap(prepared.terms, terms, True)
            if own is not None:
                own[entry_id] = (
                    overlap(prepared.terms, terms, False) if expansions else out.overlap[entry_id]
                )
            if rare is not None:
                rare[entry_id] = overlap(rare_query, terms, True)
        return out


@dataclass(frozen=True, slots=True)
class Answer:
    """A question's suggestions and the candidates they were chosen from."""

    suggestions: list[Suggestion]
    """What to show, best first; empty when unsure."""
    ranked: list[Scored]
    """Every visible candidate with its fused score, best first, before any gate."""
    shape: QuestionShape
    """The question's language and length, as the confidence model saw them."""


@dataclass(frozen=True, slots=True)
class Overlaps:
    """Lexical overlaps by entry id (see :meth:`Retriever._overlaps`)."""

    overlap: dict[int, float]
    own: dict[int, float] | None
    """``None``: not computed (no confidence signal reads it)."""
    rare: dict[int, float] | None
    """``None``: not computed (no confidence signal reads it)."""
