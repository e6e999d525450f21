"""Experiments behind the shipped configuration: what each lever does.

    python bench/quality_levers.py            # all levers, the packaged model
    python bench/quality_levers.py --models default /path/to/model --cache bench/out/cache

Every variant goes through the engine (capture, index, suggest) with
threshold 0, recording each suggestion's cosine and lexical overlap; the
figures for every dense weight and threshold are then computed from those
signals exactly as ``knowledge.ranking`` fuses and filters them.

Protocol discipline: weights and thresholds are chosen on train part 2 only
(the tuning split); train part 1 and dev are reported as held out.

Levers:

* fusion weight (``SearchConfig.dense_weight``) and threshold;
* what text goes into an entry's vector: title + question (shipped), + the
  answer (``index_answer``), or the title alone;
* what text is the query: subject + body (what a member posts), subject, body;
* the embedding model: any local sentence-transformers directory, e.g. one
  that a package ships, and two-model ensembles (``EnsembleEncoder``);
* scoring duplicates: the README's protocol (by id) against matching a
  suggestion by its text (some threads occur in several groups).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench import quality_metrics as metrics
from bench import semeval
from bench.quality_harness import (
    CachingEncoder,
    EnsembleEncoder,
    EntryText,
    QueryText,
    Scored,
    TempDirs,
    ask,
    default_entry_text,
    make_encoder,
    open_layout,
    subject_and_body,
)
from bench.quality_metrics import KbScores
from bench.semeval import Comment, OriginalQuestion, RelatedQuestion
from index.encoder import Encoder
from knowledge.engine import SearchConfig

WEIGHTS = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0)
TUNE = "train2"
HELD_OUT = ("train1", "dev")
SPLITS = ("train2", "train1", "dev")


def title_only(rel: RelatedQuestion, answer: Comment) -> tuple[str, str, str]:
    """The entry's vector sees only the title (the opening message is left empty)."""
    return rel.subject, "", answer.text


ENTRY_TEXTS: dict[str, tuple[EntryText, bool]] = {
    "title+question": (default_entry_text, False),
    "title+question+answer": (default_entry_text, True),
    "title only": (title_only, False),
}

QUERY_TEXTS: dict[str, QueryText] = {
    "subject+body": subject_and_body,
    "subject": lambda q: q.subject,
    "body": lambda q: q.body or q.subject,
}


@dataclass
class Signals:
    """Unthresholded suggestions of one variant, per split and layout."""

    rerank: dict[str, list[list[Scored]]]
    kb: dict[str, list[list[Scored]]]


async def collect(
    encoder: Encoder,
    splits: dict[str, list[OriginalQuestion]],
    *,
    entry: str,
    queries: Sequence[str],
    match_text: bool,
    dirs: TempDirs,
) -> dict[str, Signals]:
    """Capture each split (both layouts) once, ask it with each query text."""
    entry_text, index_answer = ENTRY_TEXTS[entry]
    config = SearchConfig(threshold=0.0, index_answer=index_answer)
    out = {q: Signals({}, {}) for q in queries}
    for split, questions in splits.items():
        for per_group in (True, False):
            if per_group and split == "train1":
                continue  # re-ranking is measured on dev and train part 2
            layout = await open_layout(
                dirs.new(),
                encoder,
                questions,
                config=config,
                per_group=per_group,
                entry_text=entry_text,
            )
            try:
                for query in queries:
                    results = await ask(
                        layout,
                        questions,
                        config,
                        query_text=QUERY_TEXTS[query],
                        match_text=match_text,
                    )
                    target = out[query].rerank if per_group else out[query].kb
                    target[split] = results
            finally:
                await layout.kb.close()
    return out


@dataclass(frozen=True)
class Row:
    """One variant at one dense weight."""

    variant: str
    weight: float
    map_dev: float
    map_train2: float
    threshold: float  # chosen on train part 2
    kb: dict[str, KbScores]  # at that threshold
    p1_unthresholded_train1: float
    p1_ceiling_train1: float  # best P@1 on train part 1 with silence >= 0.65 (oracle)


def evaluate(
    name: str,
    signals: Signals,
    splits: dict[str, list[OriginalQuestion]],
    weights: Sequence[float] = WEIGHTS,
    choose: Callable[[Sequence[KbScores]], KbScores] | None = None,
) -> list[Row]:
    """Figures of a variant at each dense weight; thresholds chosen on train part 2."""
    grid = metrics.threshold_grid(0.01)
    rows: list[Row] = []
    for w in weights:
        score = metrics.weighted(w)
        maps = {
            split: metrics.rerank(
                splits[split], metrics.refused(signals.rerank[split], score)
            ).scores.map
            for split in ("dev", "train2")
        }
        kb = {split: metrics.refused(signals.kb[split], score) for split in SPLITS}
        tuned = metrics.curve(splits[TUNE], kb[TUNE], grid)
        best = (choose or _net_benefit)(tuned)
        rows.append(
            Row(
                variant=name,
                weight=w,
                map_dev=maps["dev"],
                map_train2=maps["train2"],
                threshold=best.threshold,
                kb={s: metrics.kb_scores(splits[s], kb[s], best.threshold) for s in SPLITS},
                p1_unthresholded_train1=metrics.kb_scores(splits["train1"], kb["train1"], 0.0).p1,
                p1_ceiling_train1=max(
                    (
                        k.p1
                        for k in metrics.curve(splits["train1"], kb["train1"], grid)
                        if k.silence >= 0.65
                    ),
                    default=0.0,
                ),
            )
        )
    return rows


def _net_benefit(curve: Sequence[KbScores]) -> KbScores:
    return max(curve, key=lambda s: (metrics.net_benefit(s), s.threshold))


def table(rows: Sequence[Row]) -> list[str]:
    """Rows as text."""
    head = (
        f"{'variant':<58} {'w':>4} {'MAP dev':>7} {'MAP tr2':>7} {'thr':>4} "
        f"{'tr1 P@1':>7} {'tr1 R@3':>7} {'tr1 sil':>7} {'dev P@1':>7} {'dev sil':>7} "
        f"{'tr2 P@1':>7} {'tr2 sil':>7} {'tr1 P@1 thr0':>12} {'tr1 P@1 sil>=.65 (oracle)':>25}"
    )
    lines = [head]
    for r in rows:
        t1, dv, t2 = r.kb["train1"], r.kb["dev"], r.kb["train2"]
        lines.append(
            f"{r.variant:<58} {r.weight:4.2f} {100 * r.map_dev:7.2f} {100 * r.map_train2:7.2f} "
            f"{r.threshold:4.2f} {t1.p1:7.2f} {t1.r3:7.2f} {t1.silence:7.2f} {dv.p1:7.2f} "
            f"{dv.silence:7.2f} {t2.p1:7.2f} {t2.silence:7.2f} {r.p1_unthresholded_train1:12.2f} "
            f"{r.p1_ceiling_train1:25.2f}"
        )
    return lines


def _encoder(spec: str, cache: Path | None, made: dict[str, CachingEncoder]) -> Encoder:
    """A cached encoder for ``spec``; ``A+B@0.5`` is an ensemble of two models."""
    if "+" in spec:
        first, _, rest = spec.partition("+")
        second, _, weight = rest.partition("@")
        return EnsembleEncoder(
            _encoder(first, cache, made), _encoder(second, cache, made), float(weight or 0.5)
        )
    if spec not in made:
        made[spec] = make_encoder(spec, cache_dir=cache)
    return made[spec]


async def run(args: argparse.Namespace) -> list[str]:
    """Every requested lever; returns the printed lines."""
    data_dir = Path(args.data) if args.data else semeval.default_data_dir()
    splits = {s: semeval.load(s, data_dir) for s in SPLITS}
    if args.questions:
        splits = {s: q[: args.questions] for s, q in splits.items()}
    made: dict[str, CachingEncoder] = {}
    dirs = TempDirs()
    lines: list[str] = []
    try:
        for model in args.models:
            encoder = _encoder(model, args.cache, made)
            label = (
                f"ensemble {Path(encoder.first.name).name} + {Path(encoder.second.name).name} "
                f"@{encoder.weight:g}"
                if isinstance(encoder, EnsembleEncoder)
                else Path(encoder.name).name
            )
            for entry in args.entries:
                started = time.monotonic()
                queries = args.queries if entry == args.entries[0] else ["subject+body"]
                by_query = await collect(
                    encoder, splits, entry=entry, queries=queries, match_text=False, dirs=dirs
                )
                for query, signals in by_query.items():
                    name = f"{label} | entry {entry} | query {query}"
                    lines += table(evaluate(name, signals, splits))[1 if lines else 0 :]
                if args.match_text and entry == args.entries[0]:
                    dedup = await collect(
                        encoder,
                        splits,
                        entry=entry,
                        queries=["subject+body"],
                        match_text=True,
                        dirs=dirs,
                    )
                    name = f"{label} | entry {entry} | duplicates matched by text"
                    lines += table(evaluate(name, dedup["subject+body"], splits))[1:]
                for made_encoder in made.values():
                    made_encoder.save()
                print(
                    f"# {label} {entry}: {time.monotonic() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
                print("\n".join(lines), file=sys.stderr, flush=True)
    finally:
        dirs.cleanup()
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the lever experiments and print one table."""
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description="Senpai quality levers on SemEval-2016")
    parser.add_argument("--models", nargs="+", default=["default"])
    parser.add_argument("--entries", nargs="+", default=list(ENTRY_TEXTS))
    parser.add_argument("--queries", nargs="+", default=list(QUERY_TEXTS))
    parser.add_argument("--match-text", action="store_true", help="also score duplicates by text")
    parser.add_argument("--cache", type=Path, default=None, help="keep vectors in this dir")
    parser.add_argument("--data", default=None)
    parser.add_argument("--questions", type=int, default=0)
    args = parser.parse_args(argv)
    lines = asyncio.run(run(args))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
