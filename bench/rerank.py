"""A re-ranking stage after Senpai's fused ranking (issue 11, item 5): does it help?

Run from the repository root::

    python bench/rerank.py                          # every scorer that loads here
    python bench/rerank.py --cross-encoder PATH     # also a sentence-transformers CrossEncoder
    python bench/rerank.py --train-cross-encoder /tmp/senpai-ce   # fit one on the tuning splits

Every question of the tuning splits (SemEval-2016 train part 2 as one knowledge
base, the bilingual communities' ``tuning`` questions) and of the held-out
splits (train part 1, dev, each bilingual community's ``held-out`` questions)
is asked once through :meth:`KnowledgeBase.candidates` with the shipped
profile's fusion, exactly as ``bench/quality_gate.py`` asks them; the first
:data:`MAX_DEPTH` candidates (thread id, fused score, title and question) are
kept in a cache file under ``/tmp``. SemEval dev is also asked with the
re-ranking protocol (the forum as one server, each original question seeing only
its ten related threads) for MAP. A scorer then gives each (question, candidate)
pair a score, and the top ``N`` are re-ordered by that score alone, or by ``fused + w * score`` with
``w`` chosen on the tuning splits only (mean top-1 of the tuning sources).
Only held-out figures are printed as results; the tuning figures are the ones
the weight was chosen on.

Scorers tried (what the package registry offers, see the README's re-ranking
section):

- ``small-hybrid-reranker`` (a LightGBM ranker whose "baked-in" artifact is only
  the ranker: it fetches its static embedding model from a hub when built, so
  it cannot load here; tried, reported as unavailable);
- the packaged all-MiniLM-L6-v2 as a second opinion: the cosine of the pair, and
  a late-interaction MaxSim over its token vectors (no training);
- any sentence-transformers ``CrossEncoder`` on disk (``--cross-encoder``), and
  one fitted here from the packaged MiniLM on the tuning splits' candidate
  pairs only (``--train-cross-encoder``), for want of shipped cross-encoder
  weights.

The latency line is the wall-clock time to score ``N`` pairs of one question
(encoded afresh, ``--threads`` torch threads, after warm-up), median and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import hashlib
import json
import logging
import math
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from bench import bilingual, semeval
from bench.quality_harness import (
    CachingEncoder,
    TempDirs,
    knowledge_base_questions,
    make_encoder,
    open_layout,
    use_config,
)
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import Query
from knowledge.profiles import profile_for

log = logging.getLogger(__name__)

POOL_DIR = Path("/tmp") / "senpai-rerank"
VECTORS_DIR = Path(__file__).resolve().parent / "out" / "vectors"
MAX_DEPTH = 10
DEPTHS = (5, 10)
WEIGHTS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
"""Blend weights tried on the tuning splits: ``fused + w * score``."""
PASSAGE_CHARS = 1000
"""A candidate's text for a scorer: its title and the first characters of its question."""
SEMEVAL_KB = {
    "train2": "semeval train part 2",
    "train1": "semeval train part 1",
    "dev": "semeval dev",
}
RERANK_SOURCE = "semeval dev re-rank"
TUNING_SEMEVAL = "semeval train part 2"
LATENCY_QUESTIONS = 20
SEED = 20161


@dataclass(frozen=True, slots=True)
class Option:
    """One candidate as the fused ranking gave it."""

    thread_id: int
    score: float
    text: str


@dataclass(frozen=True, slots=True)
class Asked:
    """One question, its relevant threads and its first candidates, best first.

    ``rest``: for the re-ranking protocol, the group's threads the engine did not
    return, appended after the list in search-engine order (as ``bench/quality.py``).
    """

    source: str
    question_id: str
    query: str
    relevant: frozenset[int]
    options: tuple[Option, ...]
    rest: tuple[int, ...] = ()

    @property
    def answerable(self) -> bool:
        """Whether some thread of the base answers it."""
        return bool(self.relevant)

    @property
    def tuning(self) -> bool:
        """Whether it belongs to a tuning split (the only ones a weight is chosen on)."""
        return self.source == TUNING_SEMEVAL or self.source.endswith(" tuning")


class PairScorer(Protocol):
    """Scores (question, candidate) pairs: higher is more relevant."""

    @property
    def name(self) -> str: ...

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray: ...


# -- collecting the candidates ---------------------------------------------------------


def passage(title: str, question: str) -> str:
    """What a scorer reads of a candidate thread."""
    return f"{title}\n{question}"[:PASSAGE_CHARS]


async def first_options(kb: KnowledgeBase, query: Query) -> tuple[Option, ...]:
    """The first :data:`MAX_DEPTH` fused candidates of ``query``."""
    ranked, _ = await kb.candidates(query)
    return tuple(
        Option(
            s.candidate.entry.thread_id,
            s.score,
            passage(s.candidate.entry.title, s.candidate.entry.question),
        )
        for s in ranked[:MAX_DEPTH]
    )


async def collect(
    encoder: CachingEncoder, config: SearchConfig, args: argparse.Namespace
) -> list[Asked]:
    """Every question of every split, asked once."""
    data_dir = Path(args.data) if args.data else semeval.default_data_dir()
    out: list[Asked] = []
    dirs = TempDirs()
    try:
        async for asked in knowledge_base_questions(encoder, config, data_dir, SEMEVAL_KB, dirs):
            options = await first_options(asked.kb, asked.query)
            q = asked.question
            out.append(Asked(asked.source, q.id, q.text, asked.relevant, options))
        questions = semeval.load("dev", data_dir)
        layout = await open_layout(dirs.new(), encoder, questions, config=config, per_group=True)
        try:
            use_config(layout.kb, config)
            for q, group in zip(questions, groups(layout.rel_of, questions), strict=True):
                relevant = frozenset(group[r] for r in layout.relevant[q.id])
                query = layout.query(q, text=q.text, title=q.subject)
                options = await first_options(layout.kb, query)
                returned = {o.thread_id for o in options}
                rest = tuple(t for t in dict.fromkeys(group.values()) if t not in returned)
                out.append(Asked(RERANK_SOURCE, q.id, q.text, relevant, options, rest))
        finally:
            await layout.kb.close()
        data = bilingual.load(Path(args.bilingual_data))
        kb = await KnowledgeBase.open(dirs.new(), encoder, config)
        try:
            await bilingual.capture(kb, data)
            for bq in data.questions:
                query = Query(guild_id=bq.guild_id, text=bq.post, title=bq.title)
                options = await first_options(kb, query)
                source = f"{bq.community} {bq.split}"
                out.append(Asked(source, bq.id, bq.post, bq.relevant, options))
        finally:
            await kb.close()
    finally:
        dirs.cleanup()
        encoder.save()
    return out


def groups(
    rel_of: dict[int, str], questions: Sequence[semeval.OriginalQuestion]
) -> list[dict[str, int]]:
    """Each original question's related ids -> thread ids in a one-guild-per-question
    layout (:func:`bench.quality_harness.open_layout` captures them in this order)."""
    captured = iter(rel_of.items())
    out: list[dict[str, int]] = []
    for question in questions:
        group: dict[str, int] = {}
        for rel in question.related:
            if rel.id in group:
                continue
            thread, rel_id = next(captured)
            if rel_id != rel.id:
                raise ValueError(f"layout order changed: {rel_id} where {rel.id} was expected")
            group[rel.id] = thread
        out.append(group)
    return out


def pool_file(model: str, config: SearchConfig) -> Path:
    """Where the candidates asked with ``config`` of ``model`` are kept."""
    key = json.dumps(
        [
            model,
            config.dense_weight,
            config.language_dense_weights,
            config.title_weight,
            config.candidates,
            config.index_answer,
            config.cross_language_lexical,
            MAX_DEPTH,
            PASSAGE_CHARS,
        ]
        # Only when set: the caches made before the language gap keep their names.
        + ([list(config.language_gaps)] if config.language_gaps else [])
    )
    return POOL_DIR / f"pool-{hashlib.sha256(key.encode()).hexdigest()[:12]}.json"


def save(path: Path, asked: Sequence[Asked]) -> None:
    """Write ``asked`` as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [dataclasses.asdict(a) | {"relevant": sorted(a.relevant)} for a in asked]
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")


def load(path: Path) -> list[Asked]:
    """Read what :func:`save` wrote."""
    return [
        Asked(
            r["source"],
            r["question_id"],
            r["query"],
            frozenset(r["relevant"]),
            tuple(Option(o["thread_id"], o["score"], o["text"]) for o in r["options"]),
            tuple(r["rest"]),
        )
        for r in json.loads(path.read_text(encoding="utf-8"))
    ]


# -- scorers ---------------------------------------------------------------------------


class MiniLMTokens:
    """The packaged all-MiniLM-L6-v2's unit token vectors of texts, kept by text, so that
    both MiniLM scorers read one encoding pass over the bench's distinct texts."""

    def __init__(self) -> None:
        from sentence_transformers import SentenceTransformer

        from index.encoder import default_model_path

        self.model = SentenceTransformer(str(default_model_path()), device="cpu")
        self.kept: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Unit token vectors of each text (no cache: what one question costs)."""
        out = self.model.encode(
            list(texts), output_value="token_embeddings", convert_to_numpy=False, batch_size=32
        )
        rows = []
        for t in out:
            m = t.detach().cpu().numpy().astype(np.float64)
            rows.append(m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12))
        return rows

    def prepare(self, texts: Sequence[str]) -> None:
        """Encode every text not kept yet, in one call."""
        missing = list(dict.fromkeys(t for t in texts if t not in self.kept))
        if missing:
            self.kept.update(zip(missing, self.encode(missing), strict=True))

    def of(self, texts: Sequence[str], *, cached: bool) -> list[np.ndarray]:
        """Token vectors of ``texts``, from the cache when ``cached``."""
        if not cached:
            return self.encode(texts)
        self.prepare(texts)
        return [self.kept[t] for t in texts]


def _sentence(tokens: np.ndarray) -> np.ndarray:
    """The model's own sentence vector: the mean of its token vectors, unit length.

    (all-MiniLM-L6-v2 pools by mean over raw token vectors; the mean of unit ones
    is a close stand-in, used the same way for every pair.)"""
    mean = tokens.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


class MiniLMCosine:
    """The packaged all-MiniLM-L6-v2's cosine of the pair: a second bi-encoder's opinion."""

    name = "MiniLM cosine (packaged)"

    def __init__(self, tokens: MiniLMTokens, *, cached: bool = True) -> None:
        self.tokens = tokens
        self.cached = cached

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        q, *ps = self.tokens.of([query, *passages], cached=self.cached)
        qv = _sentence(q)
        return np.asarray([float(_sentence(p) @ qv) for p in ps], dtype=np.float64)


class MiniLMMaxSim:
    """Late interaction over the packaged MiniLM's token vectors (ColBERT's MaxSim, untrained):
    each token's best match on the other side, averaged, both ways."""

    name = "MiniLM token MaxSim (packaged)"

    def __init__(self, tokens: MiniLMTokens, *, cached: bool = True) -> None:
        self.tokens = tokens
        self.cached = cached

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        q, *ps = self.tokens.of([query, *passages], cached=self.cached)
        out = []
        for p in ps:
            sim = q @ p.T
            out.append(0.5 * (sim.max(axis=1).mean() + sim.max(axis=0).mean()))
        return np.asarray(out, dtype=np.float64)


class CrossEncoderScorer:
    """A sentence-transformers ``CrossEncoder`` loaded from a local directory."""

    def __init__(self, path: Path, label: str = "") -> None:
        from sentence_transformers import CrossEncoder

        self.path = path
        self.label = label or f"cross-encoder {path.name}"
        self.model = CrossEncoder(str(path), device="cpu", max_length=256)

    @property
    def name(self) -> str:
        """How the tables call it."""
        return self.label

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        pairs = [(query, p) for p in passages]
        return np.asarray(self.model.predict(pairs, show_progress_bar=False), dtype=np.float64)


class HybridScorer:
    """``small-hybrid-reranker``'s HybridReranker (when it loads: it needs its embedding
    model from a hub, which this machine cannot reach)."""

    name = "small-hybrid-reranker 0.2.1"

    def __init__(self) -> None:
        from small_hybrid_reranker import HybridReranker  # type: ignore[import-not-found]

        self.model = HybridReranker()

    def score(self, query: str, passages: Sequence[str]) -> np.ndarray:
        ranked = self.model.rerank(query, list(passages))
        by_text: dict[str, float] = {}
        for row in ranked:
            by_text.setdefault(row["passage"], float(row["score"]))
        return np.asarray([by_text[p] for p in passages], dtype=np.float64)


def scorers(args: argparse.Namespace) -> tuple[list[PairScorer], list[str]]:
    """Every scorer that loads here, and a line for each that does not."""
    out: list[PairScorer] = []
    missing: list[str] = []
    tokens: list[MiniLMTokens] = []

    def minilm(kind: type[MiniLMCosine] | type[MiniLMMaxSim]) -> PairScorer:
        if not tokens:
            tokens.append(MiniLMTokens())
        return kind(tokens[0])

    makers: list[tuple[str, Callable[[], PairScorer]]] = [
        ("small-hybrid-reranker", HybridScorer),
        ("MiniLM cosine", lambda: minilm(MiniLMCosine)),
        ("MiniLM MaxSim", lambda: minilm(MiniLMMaxSim)),
    ]
    for path in args.cross_encoder:
        makers.append((f"cross-encoder {path}", lambda p=path: CrossEncoderScorer(Path(p))))
    if args.train_cross_encoder and (Path(args.train_cross_encoder) / "config.json").is_file():
        trained = Path(args.train_cross_encoder)
        label = "MiniLM cross-encoder fitted on tuning"
        makers.append((label, lambda: CrossEncoderScorer(trained, label)))
    for label, make in makers:
        try:
            out.append(make())
        except ImportError as exc:
            missing.append(f"{label}: not installed ({exc.name})")
        except (OSError, ValueError) as exc:
            missing.append(f"{label}: cannot load offline ({type(exc).__name__})")
    return out, missing


# -- a cross-encoder fitted on the tuning splits ----------------------------------------


def train_cross_encoder(
    asked: Sequence[Asked], out_dir: Path, *, epochs: int, seed: int = SEED
) -> int:
    """Fit a one-logit cross-encoder from the packaged MiniLM's weights on the tuning
    questions' candidate pairs (label: the candidate is relevant), save it to ``out_dir``.
    Returns the number of pairs."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from index.encoder import default_model_path

    pairs = [
        (a.query, o.text, 1.0 if o.thread_id in a.relevant else 0.0)
        for a in asked
        if a.tuning
        for o in a.options
    ]
    rng = random.Random(seed)
    torch.manual_seed(seed)
    base = str(default_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-5, weight_decay=0.01)
    positives = sum(p[2] for p in pairs)
    loss_fn = torch.nn.BCEWithLogitsLoss(
        pos_weight=torch.tensor((len(pairs) - positives) / max(1.0, positives))
    )
    model.train()
    batch = 16
    for epoch in range(epochs):
        rng.shuffle(pairs)
        total = 0.0
        for start in range(0, len(pairs), batch):
            chunk = pairs[start : start + batch]
            encoded = tokenizer(
                [c[0] for c in chunk],
                [c[1] for c in chunk],
                truncation=True,
                max_length=256,
                padding=True,
                return_tensors="pt",
            )
            logits = model(**encoded).logits.squeeze(-1)
            loss = loss_fn(logits, torch.tensor([c[2] for c in chunk]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(chunk)
        log.warning(
            "cross-encoder epoch %d: loss %.4f over %d pairs",
            epoch + 1,
            total / len(pairs),
            len(pairs),
        )
    model.eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return len(pairs)


# -- measuring -------------------------------------------------------------------------


def reordered(
    asked: Asked, scores: np.ndarray | None, depth: int, weight: float | None
) -> list[int]:
    """Thread ids after re-ranking the first ``depth`` options: by ``scores`` alone
    (``weight`` None), by ``fused + weight * scores``, or as fused (``scores`` None)."""
    head = list(asked.options[:depth])
    tail = [o.thread_id for o in asked.options[depth:]]
    if scores is not None:
        keys = [
            float(scores[i]) if weight is None else o.score + weight * float(scores[i])
            for i, o in enumerate(head)
        ]
        order = sorted(range(len(head)), key=lambda i: (-keys[i], i))
        head = [head[i] for i in order]
    return [o.thread_id for o in head] + tail


def top1(items: Sequence[Asked], ranks: Sequence[list[int]]) -> tuple[int, int]:
    """Right first candidates over answerable questions."""
    hits = sum(
        1 for a, r in zip(items, ranks, strict=True) if a.answerable and r and r[0] in a.relevant
    )
    return hits, sum(1 for a in items if a.answerable)


def mean_ap(items: Sequence[Asked], ranks: Sequence[list[int]]) -> float:
    """Official-rule MAP of the re-ranking protocol (missing threads appended)."""
    return semeval.score_rankings(
        [t in a.relevant for t in r + list(a.rest)] for a, r in zip(items, ranks, strict=True)
    ).map


@dataclass
class Scores:
    """One scorer's score for each option of each question (by position)."""

    name: str
    values: list[np.ndarray]


def score_all(scorer: PairScorer, asked: Sequence[Asked]) -> Scores:
    """``scorer`` over every question's options."""
    if isinstance(scorer, MiniLMCosine | MiniLMMaxSim):
        scorer.tokens.prepare([t for a in asked for t in (a.query, *(o.text for o in a.options))])
    return Scores(
        scorer.name,
        [
            scorer.score(a.query, [o.text for o in a.options]) if a.options else np.zeros(0)
            for a in asked
        ],
    )


def sources(asked: Sequence[Asked]) -> tuple[list[str], list[str]]:
    """Tuning sources and held-out sources (SemEval first), in a stable order."""
    seen = list(dict.fromkeys(a.source for a in asked if a.source != RERANK_SOURCE))
    tuning = [s for s in seen if s == TUNING_SEMEVAL or s.endswith(" tuning")]
    held = [s for s in seen if s not in tuning]
    return tuning, held


def chosen_weight(
    asked: Sequence[Asked], scores: Scores, depth: int, tuning: Sequence[str]
) -> float:
    """The blend weight with the best mean top-1 over the tuning sources (smallest on ties)."""
    best, best_value = WEIGHTS[0], -1.0
    for weight in WEIGHTS:
        values = []
        for source in tuning:
            idx = [i for i, a in enumerate(asked) if a.source == source]
            hits, total = top1(
                [asked[i] for i in idx],
                [reordered(asked[i], scores.values[i], depth, weight) for i in idx],
            )
            values.append(hits / max(1, total))
        value = statistics.fmean(values)
        if value > best_value + 1e-9:
            best, best_value = weight, value
    return best


def table(asked: Sequence[Asked], all_scores: Sequence[Scores]) -> list[str]:
    """Held-out top-1 (no gate) per source and dev MAP, before and after each variant."""
    tuning, held = sources(asked)
    rerank_idx = [i for i, a in enumerate(asked) if a.source == RERANK_SOURCE]
    columns = [*held, "dev MAP", "tuning (fitted on)"]
    lines = [
        "Re-ranking the fused top N; top-1 over answerable questions without a gate "
        "(held out), SemEval dev re-rank MAP",
        f"{'variant':<52} " + " ".join(f"{c[:22]:>22}" for c in columns),
    ]

    def row(label: str, pick: Callable[[int, int], list[int]]) -> str:
        cells = []
        for source in held:
            idx = [i for i, a in enumerate(asked) if a.source == source]
            hits, total = top1([asked[i] for i in idx], [pick(i, 0) for i in idx])
            cells.append(f"{hits}/{total} {hits / max(1, total):.2f}")
        cells.append(
            f"{mean_ap([asked[i] for i in rerank_idx], [pick(i, 0) for i in rerank_idx]):.3f}"
        )
        tuned = []
        for source in tuning:
            idx = [i for i, a in enumerate(asked) if a.source == source]
            hits, total = top1([asked[i] for i in idx], [pick(i, 0) for i in idx])
            tuned.append(f"{hits / max(1, total):.2f}")
        cells.append(" / ".join(tuned))
        return f"{label:<52} " + " ".join(f"{c:>22}" for c in cells)

    lines.append(
        row("fused ranking (before)", lambda i, _: reordered(asked[i], None, MAX_DEPTH, None))
    )
    for scores in all_scores:
        for depth in DEPTHS:
            lines.append(
                row(
                    f"{scores.name}, top {depth} alone",
                    lambda i, _, s=scores, d=depth: reordered(asked[i], s.values[i], d, None),
                )
            )
            weight = chosen_weight(asked, scores, depth, tuning)
            lines.append(
                row(
                    f"{scores.name}, top {depth} fused+{weight:g}*score",
                    lambda i, _, s=scores, d=depth, w=weight: reordered(
                        asked[i], s.values[i], d, w
                    ),
                )
            )
    lines.append("tuning column: " + " / ".join(tuning))
    return lines


def latency(scorer: PairScorer, asked: Sequence[Asked], depth: int) -> tuple[float, float]:
    """Median and p99 milliseconds to score ``depth`` pairs of one question (encoded
    afresh: nothing kept from the quality run)."""
    if isinstance(scorer, MiniLMCosine | MiniLMMaxSim):
        scorer.cached = False
    sample = [a for a in asked if len(a.options) >= depth][: LATENCY_QUESTIONS + 3]
    times: list[float] = []
    for n, a in enumerate(sample):
        start = time.perf_counter()
        scorer.score(a.query, [o.text for o in a.options[:depth]])
        if n >= 3:  # warm-up
            times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)]


# -- running ---------------------------------------------------------------------------


async def gather(args: argparse.Namespace) -> tuple[list[Asked], str]:
    """The candidates of every question (from the cache unless ``--refresh``)."""
    encoder = make_encoder(args.model, cache_dir=VECTORS_DIR)
    profile = profile_for(encoder.name)
    config = dataclasses.replace(profile.search_config(), confidence=None)
    path = pool_file(encoder.name, config)
    if path.is_file() and not args.refresh:
        return load(path), f"model {encoder.name}; profile {profile.key}; candidates {path}"
    asked = await collect(encoder, config, args)
    save(path, asked)
    return asked, f"model {encoder.name}; profile {profile.key}; candidates {path}"


def run(args: argparse.Namespace) -> list[str]:
    """Collect, optionally fit the cross-encoder, score, print."""
    import torch

    torch.set_num_threads(args.threads)
    asked, header = asyncio.run(gather(args))
    lines = [header, f"questions: {len(asked)}; torch threads {args.threads}"]
    if args.train_cross_encoder and not (Path(args.train_cross_encoder) / "config.json").is_file():
        pairs = train_cross_encoder(asked, Path(args.train_cross_encoder), epochs=args.epochs)
        lines.append(f"fitted a cross-encoder on {pairs} tuning pairs, {args.epochs} epoch(s)")
    loaded, missing = scorers(args)
    lines += [f"not tried: {m}" for m in missing]
    all_scores = []
    for scorer in loaded:
        start = time.perf_counter()
        all_scores.append(score_all(scorer, asked))
        log.warning("%s scored in %.0f s", scorer.name, time.perf_counter() - start)
    lines += table(asked, all_scores)
    lines.append("Latency of the stage, one question (ms, median / p99)")
    for scorer in loaded:
        cells = []
        for depth in DEPTHS:
            p50, p99 = latency(scorer, asked, depth)
            cells.append(f"top {depth}: {p50:.0f} / {p99:.0f}")
        lines.append(f"  {scorer.name:<50} " + "   ".join(cells))
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="default", help="as bench/quality.py")
    parser.add_argument("--data", default=None, help="the semeval2016 directory")
    parser.add_argument(
        "--bilingual-data", default=str(bilingual.DATA_DIR), help="the bilingual communities"
    )
    parser.add_argument("--refresh", action="store_true", help="ask again, ignore the cache")
    parser.add_argument(
        "--cross-encoder", action="append", default=[], help="a CrossEncoder directory (repeatable)"
    )
    parser.add_argument(
        "--train-cross-encoder",
        default=None,
        help="fit a cross-encoder from the packaged MiniLM on the tuning splits into this "
        "directory (reused when it already holds one), and score with it",
    )
    parser.add_argument("--epochs", type=int, default=1, help="epochs of that fit")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the re-ranking table and the stage's latency."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for line in run(parse_args(argv)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
