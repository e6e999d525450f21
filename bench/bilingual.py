"""The knowledge-base protocol on a Japanese/English community (``bench/data/bilingual/``).

The community is a hand-written DiscordChatExporter export of a fictional B2B SaaS
user group (45 solved forum posts, English and Japanese) and 75 new questions,
each labelled with the thread(s) that answer it or none (see the data's README).
Everything goes through Senpai's own code path: the export is imported with
:func:`knowledge.importer.import_exports` (solution inference included), indexed,
and each question is asked with :meth:`KnowledgeBase.suggest`, as a member's new
post would be (title, then body).

Figures, per split (tuning / held-out) and per kind of question, at the shipped
threshold with :data:`bench.quality_metrics.KB_LIMIT` suggestions shown: P@1 and
R@3 over answerable questions, silence over unanswerable ones, and precision when
speaking (the share of shown first suggestions that are right).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import quality_metrics as metrics
from bench.quality_harness import ALL, Scored, ungated, unthresholded, use_config
from bench.quality_metrics import KbScores
from index.encoder import Encoder
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.importer import import_exports
from knowledge.models import Query

DATA_DIR = Path(__file__).resolve().parent / "data" / "bilingual"
SPLITS = ("tuning", "held-out")
KINDS = (
    "same-language",
    "cross-language",
    "unanswerable-near-miss",
    "unanswerable-unrelated",
)
ALL_ROWS = "all"


class BilingualDataError(ValueError):
    """The data set is not as its README describes (a file, a field, a thread id)."""


@dataclass(frozen=True, slots=True)
class Question:
    """One new question, and the thread ids that answer it (none: unanswerable)."""

    id: str
    title: str
    text: str
    language: str
    kind: str
    split: str
    relevant: frozenset[int]

    @property
    def answerable(self) -> bool:
        """Whether some thread of the base answers it."""
        return bool(self.relevant)

    @property
    def post(self) -> str:
        """What the member posts: the title, then the body."""
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True, slots=True)
class DataSet:
    """The questions, the guild they are asked in, and the exported threads."""

    guild_id: int
    threads_dir: Path
    thread_ids: frozenset[int]
    questions: tuple[Question, ...]


def load(data_dir: Path = DATA_DIR) -> DataSet:
    """Read ``questions.json``; every relevant id must be a thread listed there."""
    path = data_dir / "questions.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        thread_ids = frozenset(int(t["id"]) for t in raw["threads"].values())
        questions = tuple(
            Question(
                id=str(q["id"]),
                title=str(q["title"]),
                text=str(q["text"]),
                language=str(q["language"]),
                kind=str(q["kind"]),
                split=str(q["split"]),
                relevant=frozenset(int(t) for t in q["relevant"]),
            )
            for q in raw["questions"]
        )
        guild_id = int(raw["guild_id"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise BilingualDataError(f"{path}: cannot read the questions ({error!r})") from error
    for question in questions:
        if question.kind not in KINDS or question.split not in SPLITS:
            raise BilingualDataError(f"{path}: {question.id} has an unknown kind or split")
        if not question.relevant <= thread_ids:
            raise BilingualDataError(f"{path}: {question.id} lists a thread that is not listed")
        if question.answerable == question.kind.startswith("unanswerable"):
            raise BilingualDataError(f"{path}: {question.id}'s kind disagrees with its threads")
    return DataSet(guild_id, data_dir / "threads", thread_ids, questions)


@dataclass
class BilingualReport:
    """What the protocol measured: figures by (split, subset), and the import.

    ``scores``: as shipped (with the confidence gate when the configuration has
    one); ``no_gate``: the fused-score floor alone; ``unthresholded``: every
    candidate shown (R@3 if nothing were held back).
    """

    questions: int = 0
    threads: int = 0
    gated: bool = False
    scores: dict[tuple[str, str], KbScores] = field(default_factory=dict)
    no_gate: dict[tuple[str, str], KbScores] = field(default_factory=dict)
    unthresholded: dict[tuple[str, str], KbScores] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # answerable question ids not right at 1


async def capture(kb: KnowledgeBase, data: DataSet) -> None:
    """Import the export into ``kb``; every thread must be captured, none skipped."""
    imported = await import_exports(kb, [data.threads_dir])
    if imported.skipped or imported.captured != len(data.thread_ids):
        raise BilingualDataError(
            f"{data.threads_dir}: {imported.captured} of {len(data.thread_ids)} threads "
            f"captured, skipped {imported.skipped_by_reason}"
        )


async def ask(
    kb: KnowledgeBase, data: DataSet, config: SearchConfig, *, limit: int = ALL
) -> list[list[Scored]]:
    """Every question's suggestions with ``config``, best first, as the engine gives them."""
    use_config(kb, config)
    out: list[list[Scored]] = []
    for question in data.questions:
        suggestions = await kb.suggest(
            Query(guild_id=data.guild_id, text=question.post, title=question.title, limit=limit)
        )
        thread_ids = [s.entry.thread_id for s in suggestions]
        if not set(thread_ids) <= data.thread_ids:
            raise AssertionError(f"{question.id}: a suggestion from outside the community")
        out.append(
            [
                Scored(
                    str(thread_id),
                    s.entry.id,
                    s.score,
                    s.dense,
                    s.lexical,
                    thread_id in question.relevant,
                )
                for thread_id, s in zip(thread_ids, suggestions, strict=True)
            ]
        )
    return out


def subsets(questions: Sequence[Question]) -> dict[tuple[str, str], list[int]]:
    """Question positions of each (split, subset): every split and ``all``, by kind and all."""
    out: dict[tuple[str, str], list[int]] = {}
    for split in (*SPLITS, ALL_ROWS):
        for subset in (ALL_ROWS, *KINDS):
            out[(split, subset)] = [
                i
                for i, q in enumerate(questions)
                if split in (ALL_ROWS, q.split) and subset in (ALL_ROWS, q.kind)
            ]
    return out


def score(
    questions: Sequence[Question], results: Sequence[Sequence[Scored]], threshold: float
) -> dict[tuple[str, str], KbScores]:
    """:func:`metrics.kb_scores` of every (split, subset) at ``threshold``."""
    return {
        key: metrics.kb_scores(
            [questions[i] for i in positions], [results[i] for i in positions], threshold
        )
        for key, positions in subsets(questions).items()
    }


async def run(
    data_dir: Path, encoder: Encoder, shipped: SearchConfig, kb_dir: Path
) -> BilingualReport:
    """Import the community into a fresh base in ``kb_dir`` and ask every question."""
    data = load(data_dir)
    kb = await KnowledgeBase.open(kb_dir, encoder, shipped)
    floor_only = ungated(shipped)
    try:
        await capture(kb, data)
        shown = await ask(kb, data, shipped, limit=metrics.KB_LIMIT)
        floor_shown = await ask(kb, data, floor_only, limit=metrics.KB_LIMIT)
        everything = await ask(kb, data, unthresholded(shipped))
    finally:
        await kb.close()
    report = BilingualReport(
        len(data.questions), len(data.thread_ids), shipped.confidence is not None
    )
    # What the engine showed (gate and floor already applied).
    report.scores = score(data.questions, shown, 0.0)
    report.no_gate = score(data.questions, everything, shipped.threshold)
    report.unthresholded = score(data.questions, everything, 0.0)
    # The floor-only figures come from unthresholded suggestions: they must agree
    # with what the engine itself showed without the gate.
    if score(data.questions, floor_shown, shipped.threshold) != report.no_gate:
        raise AssertionError("offline thresholding disagrees with the engine on the bilingual set")
    report.misses = [
        q.id
        for q, suggestions in zip(data.questions, shown, strict=True)
        if q.answerable and not (suggestions and suggestions[0].relevant)
    ]
    return report


def _frac(hits: int, total: int) -> str:
    if not total:
        return f"{'-':^13}"
    return f"{hits:>3}/{total:<3} {hits / total:5.2f}"


def table(report: BilingualReport, config: SearchConfig) -> list[str]:
    """The printed tables: one row per (split, subset), as shipped and without the gate."""
    gate = (
        f"confidence gate p >= {config.confidence.threshold:.2f}"
        if config.confidence is not None
        else "no confidence gate"
    )
    lines = [
        f"Bilingual community (bench/data/bilingual: {report.threads} ja/en threads imported, "
        f"{report.questions} questions), as configured: {gate}, floor {config.threshold:.2f} "
        f"for the 2nd and 3rd, at most {metrics.KB_LIMIT} shown",
        *_rows(report.scores, report.unthresholded),
    ]
    if report.gated:
        lines += [
            f"Without the confidence gate (fused-score floor {config.threshold:.2f} alone):",
            *_rows(report.no_gate, report.unthresholded),
        ]
    lines.append(
        "precision speaking = share of shown first suggestions that are right; "
        "R@3 at threshold 0 = the right thread among the top 3 if nothing were held back; "
        "tuning rows were used to fit the gate, held-out rows were not"
    )
    lines.append(
        "answerable questions without the right thread first: "
        + (", ".join(report.misses) or "none")
    )
    return lines


def _rows(
    scores: dict[tuple[str, str], KbScores], unthresholded: dict[tuple[str, str], KbScores]
) -> list[str]:
    lines = [
        f"{'split':<9} {'questions':<24} {'n':>3}  {'P@1 (answerable)':<16}  "
        f"{'R@3 (answerable)':<16}  {'silent (unansw.)':<16}  {'precision speaking':<18}  "
        "R@3 at threshold 0",
    ]
    for key, s in scores.items():
        split, subset = key
        ranked = unthresholded[key]
        lines.append(
            f"{split:<9} {subset:<24} {s.questions:>3}  {_frac(s.p1_hits, s.answerable):<16}  "
            f"{_frac(s.r3_hits, s.answerable):<16}  {_frac(s.silent, s.unanswerable):<16}  "
            f"{_frac(s.correct, s.answered):<18}  {_frac(ranked.r3_hits, ranked.answerable)}"
        )
    return lines


def summary(report: BilingualReport) -> dict[str, float]:
    """Fields of the benchmark's JSON line: held-out figures, and the tuning split's."""
    out: dict[str, float] = {}
    for split, suffix in (("held-out", ""), ("tuning", "_tuning")):
        everything = report.scores[(split, ALL_ROWS)]
        cross = report.scores[(split, "cross-language")]
        out.update(
            {
                f"bilingual_p1{suffix}": round(everything.p1, 4),
                f"bilingual_cross_p1{suffix}": round(cross.p1, 4),
                f"bilingual_r3{suffix}": round(everything.r3, 4),
                f"bilingual_silence{suffix}": round(everything.silence, 4),
                f"bilingual_precision{suffix}": round(everything.precision, 4),
            }
        )
    return out
