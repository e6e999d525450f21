"""Measured quality of Senpai's suggestions on SemEval-2016 Task 3 (Qatar Living).

Run from the repository root::

    python bench/quality.py                  # full run, the packaged all-MiniLM-L6-v2
    python bench/quality.py --quick --model hashing   # CI smoke run, no model, seconds
    python bench/quality.py --protocol bilingual      # only the Japanese/English community

Both protocols of ``../shared/data/semeval2016/README.md`` go through Senpai's
own code path: related questions are captured as solved threads
(``KnowledgeBase.capture_many``), indexed (SQLite/FTS5 + FAISS), and the
original questions are asked with ``KnowledgeBase.suggest``.

* Re-ranking (subtask B, official rule) on dev and train part 2: each group in
  its own guild, threshold 0, the engine's order scored with MAP/MRR/P@1.
* Knowledge base on train part 1, dev and train part 2: all threads of a
  split in one guild; P@1 and Recall@3 over the answerable questions, silence
  over the unanswerable ones, at the shipped threshold (3 suggestions shown).

It prints the tables and the threshold curve (share of questions answered vs
precision of the top suggestion; a PNG too when matplotlib is installed), and
ends with one JSON line for the shipped configuration: ``rerank_map`` (dev),
``kb_p1``, ``kb_r3``, ``kb_silence`` (train part 1), all fractions.

A third protocol, ``bench/bilingual.py``, runs the knowledge-base protocol on a
hand-written Japanese/English community (``bench/data/bilingual/``): the export
is imported with Senpai's importer and new questions, many of them asked in the
other language, are scored per split and kind. Its JSON fields start with
``bilingual_`` (held-out split; ``_tuning`` for the tuning split).
``--protocol semeval`` or ``--protocol bilingual`` runs one of the two alone.

Train part 2 is the tuning split; train part 1 and dev are held out (40 of the
50 dev original questions also occur in train part 1).

``--threshold``, ``--dense-weight`` and ``--index-answer`` run the same tables
for another configuration. The experiments behind the shipped values are in
``bench/quality_levers.py`` (weights, thresholds, entry and query text, other
models) and ``bench/quality_fusion.py`` (prototypes of engine changes).
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
    unthresholded,
)
from bench.quality_metrics import KbScores
from bench.semeval import OriginalQuestion, RankingScores
from knowledge.engine import SearchConfig

OUT_DIR = Path(__file__).resolve().parent / "out"
QUICK_QUESTIONS = 5
SCORER_README_RANDOM_MAP = 0.5595
"""Random baseline of the official scorer README (dev, one random run)."""

RERANK_SPLITS = ("dev", "train2")
KB_SPLITS = ("train1", "dev", "train2")
TUNING_SPLIT = "train2"
SPLIT_LABELS = {"dev": "dev", "train1": "train part 1", "train2": "train part 2"}
PROTOCOLS = ("all", "semeval", "bilingual")


HYBRID = "hybrid (shipped)"


def configured(args: argparse.Namespace) -> SearchConfig:
    """The shipped ``SearchConfig()``, or it with the values given on the command line."""
    changes: dict[str, float | bool] = {}
    if args.threshold is not None:
        changes["threshold"] = args.threshold
    if args.dense_weight is not None:
        changes["dense_weight"] = args.dense_weight
    if args.title_weight is not None:
        changes["title_weight"] = args.title_weight
    if args.index_answer:
        changes["index_answer"] = True
    return dataclasses.replace(SearchConfig(), **changes)  # type: ignore[arg-type]


def systems(shipped: SearchConfig) -> dict[str, SearchConfig]:
    """Lexical only (FTS5 overlap), dense only (the model) and the hybrid Senpai ships."""
    return {
        "lexical only": dataclasses.replace(shipped, dense_weight=0.0),
        "dense only": dataclasses.replace(shipped, dense_weight=1.0),
        HYBRID: shipped,
    }


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
    chosen_threshold: float = 0.0
    seconds: float = 0.0
    encoded: int = 0
    protocol: str = "all"
    bilingual: BilingualReport | None = None

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
    """Re-ranking: one guild per original question, threshold 0, the engine's top 10."""
    layout = await open_layout(
        dirs.new(), encoder, questions, config=report.shipped, per_group=True
    )
    try:
        for name, config in systems(report.shipped).items():
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

    Returns the shipped configuration's unthresholded suggestions (for the curve).
    """
    layout = await open_layout(
        dirs.new(), encoder, questions, config=report.shipped, per_group=False
    )
    try:
        for name, config in systems(report.shipped).items():
            results = await ask(layout, questions, config, limit=metrics.KB_LIMIT)
            report.kb[(split, name)] = metrics.kb_scores(questions, results, config.threshold)
        dense = unthresholded(systems(report.shipped)["dense only"])
        results = await ask(layout, questions, dense, limit=metrics.KB_LIMIT)
        report.kb[(split, "dense only, no threshold")] = metrics.kb_scores(questions, results, 0.0)
        everything = await ask(layout, questions, unthresholded(report.shipped))
    finally:
        await layout.kb.close()
    # The curve is computed from unthresholded suggestions: at the shipped
    # threshold it must agree with what the engine itself showed.
    offline = metrics.kb_scores(questions, everything, report.shipped.threshold)
    if offline != report.kb[(split, HYBRID)]:
        raise AssertionError(f"offline thresholding disagrees with the engine on {split}")
    return everything


TARGET_PRECISION = 0.65


def choose_threshold(curve: Sequence[KbScores]) -> KbScores:
    """The lowest threshold at which the top suggestion is right at least
    :data:`TARGET_PRECISION` of the times one is shown (about 2 in 3).

    Noise is worse than silence, so a suggestion must be right clearly more
    often than not; below that bar, the lower the threshold the more members
    get help. (Net benefit, right minus wrong, picks a far higher threshold
    that answers about a third of the questions; it is printed beside.)
    """
    for scores in curve:
        if scores.answered_share > 0 and scores.precision >= TARGET_PRECISION:
            return scores
    return max(curve, key=lambda s: (s.precision, s.threshold))


def best_net_benefit(curve: Sequence[KbScores]) -> KbScores:
    """The threshold with the best net benefit (right minus wrong first suggestions)."""
    return max(curve, key=lambda s: (metrics.net_benefit(s), s.threshold))


async def run(args: argparse.Namespace) -> Report:
    """The protocols asked for (SemEval's two over every split, the bilingual one), one encoder."""
    started = time.monotonic()
    encoder = make_encoder(args.model)
    shipped = configured(args)
    report = Report(model=encoder.name, shipped=shipped, protocol=args.protocol)
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
    report.encoded = encoder.encoded
    report.seconds = time.monotonic() - started
    return report


async def run_semeval(args: argparse.Namespace, report: Report, encoder: CachingEncoder) -> None:
    """Both SemEval-2016 protocols over every split."""
    data_dir = Path(args.data) if args.data else semeval.default_data_dir()
    splits: dict[str, list[OriginalQuestion]] = {}
    for name in semeval.SPLIT_FILES:
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
    report.chosen_threshold = choose_threshold(report.curves[TUNING_SPLIT]).threshold


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
    data_dir = semeval.default_data_dir()
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
        for name in systems(report.shipped):
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
        f"{metrics.KB_LIMIT} suggestions shown)",
        f"{'split':<13} {'system':<26} {'thr':>4}  {'P@1 (answerable)':<16}  "
        f"{'R@3 (answerable)':<16}  {'silent (unanswerable)':<16}",
    ]
    for split in KB_SPLITS:
        for name in (*systems(report.shipped), "dense only, no threshold"):
            s = report.kb[(split, name)]
            lines.append(
                f"{SPLIT_LABELS[split]:<13} {name:<26} {s.threshold:4.2f}  "
                f"{_frac(s.p1_hits, s.answerable):<16}  {_frac(s.r3_hits, s.answerable):<16}  "
                f"{_frac(s.silent, s.unanswerable):<16}"
            )
    return lines


def curve_table(report: Report, step: float = 0.05) -> list[str]:
    """The threshold curve, every ``step``, for each split."""
    lines = [
        "Threshold curve (hybrid as shipped but the threshold): answered = share of all "
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
    chosen = report.chosen_threshold
    i = round(chosen / 0.01)
    tuned = report.curves[TUNING_SPLIT][i]
    net = best_net_benefit(report.curves[TUNING_SPLIT])
    lines.append(
        f"Threshold chosen on {SPLIT_LABELS[TUNING_SPLIT]} (the tuning split): the lowest whose "
        f"top suggestion is right >= {TARGET_PRECISION:.0%} of the time: {chosen:.2f} "
        f"(answered {tuned.answered_share:.2f}, precision {tuned.precision:.2f}); "
        f"shipped: {report.shipped.threshold:.2f}; by net benefit it would be "
        f"{net.threshold:.2f} (answered {net.answered_share:.2f})"
    )
    for split in KB_SPLITS:
        s = report.curves[split][i]
        lines.append(
            f"  at {chosen:.2f} on {SPLIT_LABELS[split]}: P@1 {s.p1:.2f}, R@3 {s.r3:.2f}, "
            f"silent {s.silence:.2f}, answered {s.answered_share:.2f}, "
            f"precision {s.precision:.2f}"
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
    chosen = round(report.chosen_threshold / 0.01)
    shipped = round(report.shipped.threshold / 0.01)
    for split in KB_SPLITS:
        curve = report.curves[split]
        xs = [s.answered_share for s in curve]
        ys = [s.precision if s.answered else float("nan") for s in curve]
        tuning = " (tuning)" if split == TUNING_SPLIT else ""
        (line,) = left.plot(xs, ys, label=SPLIT_LABELS[split] + tuning)
        for i in sorted(marks | {chosen}):
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
    for x, style, name in ((chosen, "-", "chosen on tuning split"), (shipped, ":", "configured")):
        right.axvline(grid[x], color="grey", linestyle=style, linewidth=1, label=name)
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
    if report.semeval:
        out["chosen_threshold"] = report.chosen_threshold
    out.update({"model": report.model, "seconds": round(report.seconds, 1)})
    return out


def semeval_summary(report: Report) -> dict[str, float | str]:
    """The SemEval-2016 headline figures."""
    kb = report.kb[("train1", HYBRID)]
    return {
        "rerank_map": round(report.rerank[("dev", HYBRID)].map, 4),
        "kb_p1": round(kb.p1, 4),
        "kb_r3": round(kb.r3, 4),
        "kb_silence": round(kb.silence, 4),
        "rerank_map_train2": round(report.rerank[("train2", HYBRID)].map, 4),
        "kb_dev_p1": round(report.kb[("dev", HYBRID)].p1, 4),
        "kb_dev_silence": round(report.kb[("dev", HYBRID)].silence, 4),
    }


def render(report: Report, out_dir: Path) -> list[str]:
    """All printed lines, the JSON summary last."""
    lines = semeval_lines(report, out_dir) if report.semeval else []
    if report.bilingual is not None:
        if not lines:
            lines = [f"Senpai quality benchmark, model {report.model}; shipped {report.shipped}"]
        lines += ["", *bilingual.table(report.bilingual, report.shipped.threshold)]
    lines.append(f"{report.encoded} texts encoded; {report.seconds:.1f} s")
    lines.append(json.dumps(summary(report)))
    return lines


def semeval_lines(report: Report, out_dir: Path) -> list[str]:
    """The SemEval-2016 tables, the curve and its plot."""
    counts = ", ".join(f"{SPLIT_LABELS[k]} {v}" for k, v in report.questions.items())
    lines = [
        "Senpai quality benchmark: SemEval-2016 Task 3 (Qatar Living), zero-shot",
        f"model {report.model}; "
        + (
            f"shipped {report.shipped}"
            if report.shipped == SearchConfig()
            else f"NOT the shipped configuration: {report.shipped} (rows 'hybrid (shipped)')"
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
        help="'default' (packaged all-MiniLM-L6-v2), 'hashing' (no model) or a local model dir",
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
