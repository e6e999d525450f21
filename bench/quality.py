"""Measured quality of Senpai's suggestions on SemEval-2016 Task 3 (Qatar Living).

Run from the repository root::

    python bench/quality.py                  # full run, the shipped multilingual-e5-small
    python bench/quality.py --model all-MiniLM-L6-v2  # the same for the English-only model
    python bench/quality.py --quick --model hashing   # CI smoke run, no model, seconds
    python bench/quality.py --protocol bilingual      # only the Japanese/English community

Both protocols of ``../shared/data/semeval2016/README.md`` go through Senpai's
own code path: related questions are captured as solved threads
(``KnowledgeBase.capture_many``), indexed (SQLite/FTS5 + FAISS), and the
original questions are asked with ``KnowledgeBase.suggest``.

* Re-ranking (subtask B, official rule) on dev: the forum is one server, each
  original question's related threads in a private scope of their own that only
  it may see (``--rerank-servers per-question``: each group a server of its own,
  whose term statistics are then its ten threads'), threshold 0, the engine's
  order scored with MAP/MRR/P@1.
* Knowledge base on train part 1 and dev: all threads of a split in one guild;
  P@1 and Recall@3 over the answerable questions, silence over the
  unanswerable ones, precision when speaking (3 suggestions shown).

The configuration measured is the one Senpai ships for the model:
``profile_for(encoder.name).search_config()`` (``knowledge/profiles.py``), with
its confidence gate when a calibration was fitted
(``bench/fit_confidence.py``). Each lever is reported beside it: no gate (the
fused-score floor alone), lexical only, dense only, and the fusion values
before this profile's were tuned. Run it once per ``--model`` to compare models.

It prints the tables and the floor curve (share of questions answered vs
precision of the top suggestion without the gate; a PNG too when matplotlib is
installed), and ends with one JSON line for the shipped configuration:
``rerank_map`` (dev), ``kb_p1``, ``kb_r3``, ``kb_silence``, ``kb_precision``
(train part 1), all fractions.

A third protocol, ``bench/bilingual.py``, runs the knowledge-base protocol on a
hand-written Japanese/English community (``bench/data/bilingual/``): the export
is imported with Senpai's importer and new questions, many of them asked in the
other language, are scored per split and kind. Its JSON fields start with
``bilingual_`` (held-out split; ``_tuning`` for the tuning split).
``--protocol semeval`` or ``--protocol bilingual`` runs one of the two alone.

Train part 2 is the tuning split (``bench/fit_confidence.py`` reads it) and is
not reported here; train part 1 and dev are held out (40 of the 50 dev
original questions also occur in train part 1).

``--threshold``, ``--dense-weight`` and ``--index-answer`` run the same tables
for another configuration. The experiments behind the shipped values are in
``bench/quality_levers.py`` (weights, thresholds, entry and query text, other
models).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench import bilingual, semeval
from bench import quality_metrics as metrics
from bench.bilingual import BilingualReport
from bench.quality_harness import (
    CachingEncoder,
    Scored,
    TempDirs,
    ask,
    make_encoder,
    open_layout,
    ungated,
    unthresholded,
)
from bench.quality_metrics import KbScores
from bench.semeval import OriginalQuestion, RankingScores
from knowledge import bridge
from knowledge.engine import SearchConfig
from knowledge.profiles import profile_for

OUT_DIR = Path(__file__).resolve().parent / "out"
VECTORS_DIR = OUT_DIR / "vectors"
"""Where ``--cache`` keeps each model's vectors between runs (shared with fit_confidence)."""
QUICK_QUESTIONS = 5
SCORER_README_RANDOM_MAP = 0.5595
"""Random baseline of the official scorer README (dev, one random run)."""

RERANK_SPLITS = ("dev",)
KB_SPLITS = ("train1", "dev")
SPLIT_LABELS = {"dev": "dev", "train1": "train part 1", "train2": "train part 2"}
PROTOCOLS = ("all", "semeval", "bilingual")


HYBRID = "hybrid (shipped)"
NO_GATE = "hybrid, no gate"
BEFORE = "fusion before tuning"

FUSION_BEFORE: dict[str, tuple[float, float, float]] = {
    "all-minilm-l6-v2": (0.9, 0.6, 0.5),
    "multilingual-e5-small": (0.9, 0.9, 0.5),
}
"""(dense weight, Japanese dense weight, title weight) of each profile before
``bench/fit_confidence.py --tune-fusion``, without the cross-language lexical rule:
the fusion levers' "before"."""


def configured(args: argparse.Namespace, model_name: str) -> SearchConfig:
    """The configuration shipped for ``model_name`` (its profile), or it with the values
    given on the command line."""
    changes: dict[str, object] = {}
    if args.no_gate:
        changes["confidence"] = None
    if args.threshold is not None:
        changes["threshold"] = args.threshold
    if args.dense_weight is not None:
        changes["dense_weight"] = args.dense_weight
    if args.title_weight is not None:
        changes["title_weight"] = args.title_weight
    if args.index_answer:
        changes["index_answer"] = True
    if args.bridge == "on":
        changes["glossary"] = bridge.shipped()
    elif args.bridge == "off":
        changes["glossary"] = None
    if args.bridge_weight is not None:
        changes["bridge_weight"] = args.bridge_weight
    if args.no_language_gap:
        changes["language_gaps"] = ()
    shipped = profile_for(model_name).search_config()
    return dataclasses.replace(shipped, **changes)  # type: ignore[arg-type]


def systems(shipped: SearchConfig) -> dict[str, SearchConfig]:
    """Each lever beside the shipped hybrid: lexical only (FTS5 overlap), dense only
    (the model), the fusion values before tuning, and no confidence gate; all but
    the shipped one without the gate (it was fitted on the shipped fusion)."""
    floor = ungated(shipped)
    plain = dataclasses.replace(floor, language_dense_weights=(), cross_language_lexical=False)
    out = {
        "lexical only": dataclasses.replace(plain, dense_weight=0.0),
        "dense only": dataclasses.replace(plain, dense_weight=1.0),
    }
    before = FUSION_BEFORE.get(shipped.profile)
    if before is not None:
        dense, ja, title = before
        previous = dataclasses.replace(
            floor,
            dense_weight=dense,
            language_dense_weights=(("ja", ja),),
            title_weight=title,
            cross_language_lexical=False,
        )
        if previous != floor:
            out[BEFORE] = previous
    if shipped.confidence is not None:
        out[NO_GATE] = floor
    out[HYBRID] = shipped
    return out


def rerank_systems(shipped: SearchConfig) -> dict[str, SearchConfig]:
    """The systems whose order differs (the gate and the floor do not change an order)."""
    return {k: v for k, v in systems(shipped).items() if k != NO_GATE}


def gate_label(config: SearchConfig) -> str:
    """How a configuration decides to speak, in a table cell."""
    if config.confidence is None:
        return f"floor {config.threshold:.2f}"
    return f"p>={config.confidence.threshold:.2f}"


@dataclass
class Report:
    """Everything one run measured."""

    model: str
    shipped: SearchConfig
    questions: dict[str, int] = field(default_factory=dict)
    rerank: dict[tuple[str, str], RankingScores] = field(default_factory=dict)
    appended: dict[tuple[str, str], int] = field(default_factory=dict)
    kb: dict[tuple[str, str], KbScores] = field(default_factory=dict)
    curves: dict[str, list[KbScores]] = field(default_factory=dict)
    seconds: float = 0.0
    encoded: int = 0
    protocol: str = "all"
    bilingual: BilingualReport | None = None
    data_dir: Path | None = None
    """The SemEval-2016 files read (``None``: :func:`bench.semeval.default_data_dir`)."""
    rerank_servers: str = "forum"
    """Re-ranking layout: ``forum`` (one server, a scope per group) or ``per-question``."""

    @property
    def semeval(self) -> bool:
        """Whether the SemEval-2016 protocols ran."""
        return self.protocol in ("all", "semeval")


# -- the two protocols -------------------------------------------------------------------


async def run_rerank(
    report: Report,
    split: str,
    questions: Sequence[OriginalQuestion],
    encoder: CachingEncoder,
    dirs: TempDirs,
) -> None:
    """Re-ranking: each original question sees only its related threads (``--rerank-servers``),
    threshold 0, the engine's top 10."""
    layout = await open_layout(
        dirs.new(),
        encoder,
        questions,
        config=report.shipped,
        per_group=True,
        groups_as="guilds" if report.rerank_servers == "per-question" else "scopes",
    )
    try:
        for name, config in rerank_systems(report.shipped).items():
            results = await ask(layout, questions, unthresholded(config), limit=10)
            measured = metrics.rerank(questions, results)
            report.rerank[(split, name)] = measured.scores
            report.appended[(split, name)] = measured.appended
    finally:
        await layout.kb.close()


async def run_kb(
    report: Report,
    split: str,
    questions: Sequence[OriginalQuestion],
    encoder: CachingEncoder,
    dirs: TempDirs,
) -> list[list[Scored]]:
    """Knowledge base: one guild, every original question asked against every thread.

    Returns the shipped fusion's unthresholded, ungated suggestions (for the curve).
    """
    layout = await open_layout(
        dirs.new(), encoder, questions, config=report.shipped, per_group=False
    )
    try:
        for name, config in systems(report.shipped).items():
            results = await ask(layout, questions, config, limit=metrics.KB_LIMIT)
            # What the engine showed: the floor and the gate are already applied.
            report.kb[(split, name)] = metrics.kb_scores(questions, results, 0.0)
        dense = unthresholded(systems(report.shipped)["dense only"])
        results = await ask(layout, questions, dense, limit=metrics.KB_LIMIT)
        report.kb[(split, "dense only, no threshold")] = metrics.kb_scores(questions, results, 0.0)
        everything = await ask(layout, questions, unthresholded(report.shipped))
    finally:
        await layout.kb.close()
    # The curve is computed from unthresholded suggestions: at the shipped
    # floor it must agree with what the engine itself showed without the gate.
    offline = metrics.kb_scores(questions, everything, report.shipped.threshold)
    floor_only = NO_GATE if report.shipped.confidence is not None else HYBRID
    if dataclasses.replace(offline, threshold=0.0) != report.kb[(split, floor_only)]:
        raise AssertionError(f"offline thresholding disagrees with the engine on {split}")
    return everything


TARGET_PRECISION = 2.0 / 3.0


def best_net_benefit(curve: Sequence[KbScores]) -> KbScores:
    """The threshold with the best net benefit (right minus wrong first suggestions)."""
    return max(curve, key=lambda s: (metrics.net_benefit(s), s.threshold))


async def run(args: argparse.Namespace) -> Report:
    """The protocols asked for (SemEval's two over every split, the bilingual one), one encoder."""
    started = time.monotonic()
    encoder = make_encoder(args.model, cache_dir=VECTORS_DIR if args.cache else None)
    shipped = configured(args, encoder.name)
    report = Report(
        model=encoder.name,
        shipped=shipped,
        protocol=args.protocol,
        data_dir=Path(args.data) if args.data else None,
        rerank_servers=args.rerank_servers,
    )
    if report.semeval:
        await run_semeval(args, report, encoder)
    if args.protocol in ("all", "bilingual"):
        dirs = TempDirs()
        try:
            report.bilingual = await bilingual.run(
                Path(args.bilingual_data), encoder, shipped, dirs.new()
            )
        finally:
            dirs.cleanup()
    encoder.save()
    report.encoded = encoder.encoded
    report.seconds = time.monotonic() - started
    return report


async def run_semeval(args: argparse.Namespace, report: Report, encoder: CachingEncoder) -> None:
    """Both SemEval-2016 protocols over every split."""
    data_dir = report.data_dir or semeval.default_data_dir()
    splits: dict[str, list[OriginalQuestion]] = {}
    for name in (*RERANK_SPLITS, *KB_SPLITS):
        if name in splits:
            continue
        questions = semeval.load(name, data_dir)
        splits[name] = questions[: args.questions] if args.questions else questions
        report.questions[name] = len(splits[name])
    dirs = TempDirs()
    try:
        for split in RERANK_SPLITS:
            await run_rerank(report, split, splits[split], encoder, dirs)
        everything: dict[str, list[list[Scored]]] = {}
        for split in KB_SPLITS:
            everything[split] = await run_kb(report, split, splits[split], encoder, dirs)
    finally:
        dirs.cleanup()
    grid = metrics.threshold_grid(0.01)
    for split in KB_SPLITS:
        report.curves[split] = metrics.curve(splits[split], everything[split], grid)


# -- output ----------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:6.2f}"


def _frac(hits: int, total: int) -> str:
    share = hits / total if total else 0.0
    return f"{hits:>3}/{total:<3} {share:5.2f}"


def rerank_table(report: Report) -> list[str]:
    """The re-ranking table (percentages, as the task reports them)."""
    lines = [
        "Re-ranking, official rule (MAP over the top 10; a question without relevant = AP 0)",
        f"{'split':<13} {'system':<30} {'MAP':>6} {'MRR':>6} {'P@1':>6}",
    ]
    data_dir = report.data_dir or semeval.default_data_dir()
    gold_path = data_dir / semeval.DEV_GOLD_FILE
    for split in RERANK_SPLITS:
        label = SPLIT_LABELS[split]
        rows: list[tuple[str, RankingScores | None, float | None]] = []
        if split == "dev" and gold_path.is_file() and report.questions[split] == 50:
            gold = semeval.score_rankings(
                semeval.gold_engine_rankings(semeval.load_gold(gold_path))
            )
            rows.append(("search engine (gold file)", gold, None))
        else:
            questions = semeval.load(split, data_dir)[: report.questions[split]]
            rows.append(
                ("search engine", semeval.score_rankings(semeval.engine_rankings(questions)), None)
            )
        questions = semeval.load(split, data_dir)[: report.questions[split]]
        rows.append(("random (expected, 1000 runs)", semeval.random_scores(questions), None))
        if split == "dev":
            rows.append(("random (scorer README)", None, SCORER_README_RANDOM_MAP))
        for name in rerank_systems(report.shipped):
            rows.append((name, report.rerank[(split, name)], None))
        for name, scores, only_map in rows:
            if scores is None:
                lines.append(f"{label:<13} {name:<30} {_pct(only_map or 0.0)} {'':>6} {'':>6}")
            else:
                lines.append(
                    f"{label:<13} {name:<30} {_pct(scores.map)} {_pct(scores.mrr)} "
                    f"{_pct(scores.p1)}"
                )
    appended = sum(report.appended.values())
    lines.append(
        f"({appended} related questions were found by no signal and appended in "
        "search-engine order)"
        if appended
        else "(the engine scored every related question: none appended)"
    )
    return lines


def kb_table(report: Report) -> list[str]:
    """The knowledge-base table (counts and fractions)."""
    lines = [
        "Knowledge base (all threads of a split in one base; at most "
        f"{metrics.KB_LIMIT} suggestions shown; speaks = the gate (p>=) or the fused floor)",
        f"{'split':<13} {'system':<26} {'speaks':<9}  {'P@1 (answerable)':<16}  "
        f"{'R@3 (answerable)':<16}  {'silent (unanswerable)':<16}  {'precision speaking':<16}",
    ]
    configs = systems(report.shipped)
    for split in KB_SPLITS:
        for name in (*configs, "dense only, no threshold"):
            s = report.kb[(split, name)]
            speaks = gate_label(configs[name]) if name in configs else "always"
            lines.append(
                f"{SPLIT_LABELS[split]:<13} {name:<26} {speaks:<9}  "
                f"{_frac(s.p1_hits, s.answerable):<16}  {_frac(s.r3_hits, s.answerable):<16}  "
                f"{_frac(s.silent, s.unanswerable):<16}  {_frac(s.correct, s.answered):<16}"
            )
    return lines


def curve_table(report: Report, step: float = 0.05) -> list[str]:
    """The threshold curve, every ``step``, for each split."""
    lines = [
        "Floor curve (hybrid as shipped, without the gate, but the floor): answered = share of all "
        "questions given a suggestion,",
        "precision = share of those whose first suggestion is relevant; P@1/silence as above",
        f"{'thr':>4}  "
        + "  ".join(f"{SPLIT_LABELS[s] + ': answered prec  P@1  silent':<40}" for s in KB_SPLITS),
    ]
    every = round(step / 0.01)
    for i, threshold in enumerate(metrics.threshold_grid(0.01)):
        if i % every or not 0.2 <= threshold <= 0.8:
            continue
        cells = []
        for split in KB_SPLITS:
            s = report.curves[split][i]
            cells.append(
                f"{'':{len(SPLIT_LABELS[split]) + 2}}{s.answered_share:8.2f} {s.precision:5.2f} "
                f"{s.p1:4.2f} {s.silence:7.2f}"
            )
        lines.append(f"{threshold:4.2f}  " + "  ".join(f"{c:<40}" for c in cells))
    shipped = report.shipped.threshold
    lines.append(
        f"(no gate; the shipped floor for 2nd and 3rd suggestions is {shipped:.2f}; "
        "the first is decided by the confidence gate when there is one)"
    )
    return lines


def plot(report: Report, out_dir: Path) -> Path | None:
    """Draw the threshold curve to ``out_dir/threshold_curve.png``; None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    out_dir.mkdir(parents=True, exist_ok=True)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5))
    grid = metrics.threshold_grid(0.01)
    marks = {round(t / 0.01) for t in (0.3, 0.4, 0.5, 0.6, 0.7)}
    shipped = round(report.shipped.threshold / 0.01)
    for split in KB_SPLITS:
        curve = report.curves[split]
        xs = [s.answered_share for s in curve]
        ys = [s.precision if s.answered else float("nan") for s in curve]
        (line,) = left.plot(xs, ys, label=SPLIT_LABELS[split])
        for i in sorted(marks):
            left.annotate(f"{grid[i]:.2f}", (xs[i], ys[i]), fontsize=7, color=line.get_color())
            left.plot(xs[i], ys[i], "o", ms=3, color=line.get_color())
        right.plot(
            grid, [s.p1 for s in curve], color=line.get_color(), label=f"{SPLIT_LABELS[split]} P@1"
        )
        right.plot(
            grid,
            [s.silence for s in curve],
            "--",
            color=line.get_color(),
            label=f"{SPLIT_LABELS[split]} silence",
        )
    left.set_xlabel("share of questions answered (a suggestion shown)")
    left.set_ylabel("precision of the top suggestion")
    left.set_title(f"{report.model}, dense weight {report.shipped.dense_weight}")
    left.grid(alpha=0.3)
    left.legend()
    right.axvline(grid[shipped], color="grey", linestyle=":", linewidth=1, label="configured floor")
    right.axhline(0.65, color="black", linewidth=0.5)
    right.set_xlim(0.2, 0.9)
    right.set_xlabel("threshold")
    right.set_ylabel("P@1 (answerable) / silence (unanswerable)")
    right.grid(alpha=0.3)
    right.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "threshold_curve.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def summary(report: Report) -> dict[str, float | str]:
    """The last line: the shipped configuration's headline figures, as fractions."""
    out: dict[str, float | str] = semeval_summary(report) if report.semeval else {}
    if report.bilingual is not None:
        out.update(bilingual.summary(report.bilingual))
    out.update(
        {
            "threshold": report.shipped.threshold,
            "dense_weight": report.shipped.dense_weight,
            "title_weight": report.shipped.title_weight,
        }
    )
    if report.shipped.confidence is not None:
        out["gate"] = report.shipped.confidence.threshold
    precisions = [v for k, v in out.items() if k in PRECISION_FIELDS and isinstance(v, float)]
    if precisions:
        out["min_precision"] = min(precisions)
    out.update({"model": report.model, "seconds": round(report.seconds, 1)})
    return out


def semeval_summary(report: Report) -> dict[str, float | str]:
    """The SemEval-2016 headline figures."""
    kb = report.kb[("train1", HYBRID)]
    dev = report.kb[("dev", HYBRID)]
    return {
        "rerank_map": round(report.rerank[("dev", HYBRID)].map, 4),
        "kb_p1": round(kb.p1, 4),
        "kb_r3": round(kb.r3, 4),
        "kb_silence": round(kb.silence, 4),
        "kb_precision": round(kb.precision, 4),
        "kb_dev_p1": round(dev.p1, 4),
        "kb_dev_silence": round(dev.silence, 4),
        "kb_dev_precision": round(dev.precision, 4),
    }


PRECISION_FIELDS = ("kb_precision", "kb_dev_precision", "bilingual_precision")
"""The held-out sets' precision when speaking (the goal: at least 2 in 3 on each)."""


def render(report: Report, out_dir: Path) -> list[str]:
    """All printed lines, the JSON summary last."""
    lines = semeval_lines(report, out_dir) if report.semeval else []
    if report.bilingual is not None:
        if not lines:
            lines = [f"Senpai quality benchmark, model {report.model}; {_describe(report.shipped)}"]
        lines += ["", *bilingual.table(report.bilingual, report.shipped)]
    lines.append(f"{report.encoded} texts encoded; {report.seconds:.1f} s")
    lines.append(json.dumps(summary(report)))
    return lines


def _describe(config: SearchConfig) -> str:
    ja = dict(config.language_dense_weights).get("ja", config.dense_weight)
    return (
        f"dense {config.dense_weight:g} (ja {ja:g}), title {config.title_weight:g}, "
        f"{gate_label(config)}, floor {config.threshold:.2f} for 2nd/3rd"
    )


def semeval_lines(report: Report, out_dir: Path) -> list[str]:
    """The SemEval-2016 tables, the curve and its plot."""
    counts = ", ".join(f"{SPLIT_LABELS[k]} {v}" for k, v in report.questions.items())
    lines = [
        "Senpai quality benchmark: SemEval-2016 Task 3 (Qatar Living), zero-shot",
        f"model {report.model}; "
        + (
            f"shipped profile {report.shipped.profile}: {_describe(report.shipped)}"
            if report.shipped == profile_for(report.model).search_config()
            else f"NOT the shipped configuration: {_describe(report.shipped)} "
            "(rows 'hybrid (shipped)')"
        ),
        f"original questions: {counts}; machine: {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "",
        *rerank_table(report),
        "",
        *kb_table(report),
        "",
        *curve_table(report),
    ]
    path = plot(report, out_dir)
    lines.append(f"plot: {path}" if path else "plot: skipped (matplotlib is not installed)")
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: the first {QUICK_QUESTIONS} original questions of each split",
    )
    parser.add_argument(
        "--model",
        default="default",
        help="'default' (the shipped model), 'multilingual-e5-small', 'all-MiniLM-L6-v2', "
        "'hashing' (no model) or a local model dir",
    )
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where the PNG goes")
    parser.add_argument("--data", default=None, help="the semeval2016 directory")
    parser.add_argument(
        "--protocol",
        choices=PROTOCOLS,
        default="all",
        help="'semeval' (re-ranking and knowledge base on SemEval-2016), 'bilingual' "
        "(the Japanese/English community) or 'all' (the default)",
    )
    parser.add_argument(
        "--bilingual-data",
        default=str(bilingual.DATA_DIR),
        help="the bilingual community directory (questions.json, threads/)",
    )
    parser.add_argument("--questions", type=int, default=0, help="first N questions per split")
    parser.add_argument(
        "--threshold", type=float, default=None, help="try another threshold than the shipped one"
    )
    parser.add_argument("--dense-weight", type=float, default=None, help="try another dense weight")
    parser.add_argument("--title-weight", type=float, default=None, help="try another title weight")
    parser.add_argument(
        "--index-answer", action="store_true", help="try SearchConfig(index_answer=True)"
    )
    parser.add_argument(
        "--no-gate", action="store_true", help="try the profile without its confidence gate"
    )
    parser.add_argument(
        "--cache",
        action="store_true",
        help=f"keep vectors in {VECTORS_DIR} between runs (faster repeated runs)",
    )
    parser.add_argument(
        "--bridge",
        choices=("profile", "on", "off"),
        default="profile",
        help="the cross-language glossary bridge (knowledge/bridge.py): as the profile says, "
        "on or off",
    )
    parser.add_argument(
        "--bridge-weight", type=float, default=None, help="try another bridge weight"
    )
    parser.add_argument(
        "--rerank-servers",
        choices=("forum", "per-question"),
        default="forum",
        help="re-ranking layout: the forum as one server, each group in its own scope "
        "(default), or each group a server of its own (term statistics of ten threads)",
    )
    parser.add_argument(
        "--no-language-gap",
        action="store_true",
        help="rank without the profile's language gaps (bench/language_gap.py)",
    )
    args = parser.parse_args(argv)
    if args.quick and not args.questions:
        args.questions = QUICK_QUESTIONS
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its report; the last line is JSON."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    report = asyncio.run(run(args))
    for line in render(report, args.out):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
