"""The knowledge-base protocol on Japanese/English communities (``bench/data/bilingual*/``).

Each community is a hand-written DiscordChatExporter export of a fictional B2B SaaS
user group (solved forum posts, English and Japanese) and new questions, each
labelled with the thread(s) that answer it or none (see each data directory's
README): ``bilingual/`` (Salesloom, a CRM), ``bilingual-tsumiki/`` (Tsumiki,
cloud accounting and expenses), ``bilingual-madoguchi/`` (Madoguchi, a support
helpdesk) and ``bilingual-kintai/`` (Kintai, attendance and leave; held out only:
none of its questions is ever tuned on). Everything goes through Senpai's own code path:
every export is imported into one knowledge base with
:func:`knowledge.importer.import_exports` (solution inference included), each
community into its own guild, indexed, and each question is asked in its own
community's guild with :meth:`KnowledgeBase.suggest`, as a member's new post would
be (title, then body).

Figures, per split (tuning / held-out) and per kind of question, for all
communities together and for each, at the shipped threshold with
:data:`bench.quality_metrics.KB_LIMIT` suggestions shown: P@1 and R@3 over
answerable questions, silence over unanswerable ones, and precision when speaking
(the share of shown first suggestions that are right).

Run alone (``bench/quality.py --protocol bilingual`` runs it too)::

    python bench/bilingual.py --model multilingual-e5-small
    python bench/bilingual.py --community tsumiki --model hashing
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench import quality_metrics as metrics
from bench.quality_harness import (
    ALL,
    Scored,
    TempDirs,
    make_encoder,
    ungated,
    unthresholded,
    use_config,
)
from bench.quality_metrics import KbScores
from index.encoder import Encoder
from knowledge.discord_chat_exporter import ExportFileError, find_export_files, load_export
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.importer import import_exports
from knowledge.models import Query
from knowledge.profiles import profile_for

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Where the communities are: every ``bilingual*/`` directory with a ``questions.json``.
:func:`load` also takes one community's directory."""
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
    """One new question, and the thread ids that answer it (none: unanswerable).

    ``community`` and ``guild_id`` say where it is asked: its own community's guild.
    """

    id: str
    title: str
    text: str
    language: str
    kind: str
    split: str
    relevant: frozenset[int]
    community: str
    guild_id: int

    @property
    def answerable(self) -> bool:
        """Whether some thread of the base answers it."""
        return bool(self.relevant)

    @property
    def post(self) -> str:
        """What the member posts: the title, then the body."""
        return f"{self.title}\n{self.text}"


@dataclass(frozen=True, slots=True)
class Community:
    """One community: its name, its guild and its exported threads."""

    name: str
    guild_id: int
    threads_dir: Path
    thread_ids: frozenset[int]


@dataclass(frozen=True, slots=True)
class DataSet:
    """The communities and their questions, in community order."""

    communities: tuple[Community, ...]
    questions: tuple[Question, ...]

    @property
    def thread_ids(self) -> frozenset[int]:
        """Every community's thread ids."""
        return frozenset().union(*(c.thread_ids for c in self.communities))

    @property
    def names(self) -> tuple[str, ...]:
        """The communities' names."""
        return tuple(c.name for c in self.communities)

    @property
    def guild_id(self) -> int:
        """The guild of a one-community set; ask each question in ``question.guild_id``."""
        return self._only().guild_id

    @property
    def threads_dir(self) -> Path:
        """The threads of a one-community set; :func:`capture` imports every community's."""
        return self._only().threads_dir

    def community(self, name: str) -> Community:
        """The community called ``name``."""
        for community in self.communities:
            if community.name == name:
                return community
        raise BilingualDataError(f"no community {name!r} (there are {', '.join(self.names)})")

    def _only(self) -> Community:
        if len(self.communities) != 1:
            raise BilingualDataError(
                f"{len(self.communities)} communities ({', '.join(self.names)}): each question "
                "is asked in its own guild (Question.guild_id), or load one community"
            )
        return self.communities[0]


def load_tuned(data_dir: Path = DATA_DIR) -> DataSet:
    """The communities that have a tuning split, for fitting: a community kept for
    evaluation only (``held_out_only``) is left out entirely, so that not even its
    threads' word statistics reach a fit."""
    data = load(data_dir)
    tuned = {q.community for q in data.questions if q.split == "tuning"}
    if not tuned:
        raise BilingualDataError(f"{data_dir}: no community has a tuning split")
    return DataSet(
        tuple(c for c in data.communities if c.name in tuned),
        tuple(q for q in data.questions if q.community in tuned),
    )


def community_dirs(data_dir: Path) -> list[Path]:
    """``data_dir`` when it is one community, else every ``bilingual*/`` community in it."""
    if (data_dir / "questions.json").is_file():
        return [data_dir]
    found = sorted(p.parent for p in data_dir.glob("bilingual*/questions.json"))
    if not found:
        raise BilingualDataError(
            f"{data_dir}: neither a community (questions.json) nor a directory of them "
            "(bilingual*/questions.json)"
        )
    return found


def load(data_dir: Path = DATA_DIR, communities: Collection[str] | None = None) -> DataSet:
    """Read every community's ``questions.json`` (only ``communities``, by name, if given).

    Every relevant id must be a thread of the question's own community; guilds and
    question ids must be distinct across communities.
    """
    loaded = [_load_one(d) for d in community_dirs(data_dir)]
    names = [c.name for c, _ in loaded]
    if len(set(names)) != len(names):
        raise BilingualDataError(f"{data_dir}: two communities share a name ({names})")
    if len({c.guild_id for c, _ in loaded}) != len(loaded):
        raise BilingualDataError(f"{data_dir}: two communities share a guild")
    if communities is not None:
        unknown = sorted(set(communities) - set(names))
        if unknown:
            raise BilingualDataError(
                f"no community {', '.join(unknown)} in {data_dir} (there are {', '.join(names)})"
            )
        loaded = [(c, qs) for c, qs in loaded if c.name in communities]
    questions = tuple(q for _, qs in loaded for q in qs)
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise BilingualDataError(f"{data_dir}: question ids repeat across communities")
    return DataSet(tuple(c for c, _ in loaded), questions)


def _load_one(data_dir: Path) -> tuple[Community, tuple[Question, ...]]:
    """One community and its questions, from ``data_dir/questions.json``."""
    path = data_dir / "questions.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        thread_ids = frozenset(int(t["id"]) for t in raw["threads"].values())
        guild_id = int(raw["guild_id"])
        name = str(raw.get("community", data_dir.name))
        questions = tuple(
            Question(
                id=str(q["id"]),
                title=str(q["title"]),
                text=str(q["text"]),
                language=str(q["language"]),
                kind=str(q["kind"]),
                split=str(q["split"]),
                relevant=frozenset(int(t) for t in q["relevant"]),
                community=name,
                guild_id=guild_id,
            )
            for q in raw["questions"]
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BilingualDataError(f"{path}: cannot read the questions ({error!r})") from error
    for question in questions:
        if question.kind not in KINDS or question.split not in SPLITS:
            raise BilingualDataError(f"{path}: {question.id} has an unknown kind or split")
        if not question.relevant <= thread_ids:
            raise BilingualDataError(f"{path}: {question.id} lists a thread that is not listed")
        if question.answerable == question.kind.startswith("unanswerable"):
            raise BilingualDataError(f"{path}: {question.id}'s kind disagrees with its threads")
    return Community(name, guild_id, data_dir / "threads", thread_ids), questions


@dataclass
class BilingualReport:
    """What the protocol measured: figures by (split, subset), and the import.

    ``scores``: as shipped (with the confidence gate when the configuration has
    one); ``no_gate``: the fused-score floor alone; ``unthresholded``: every
    candidate shown (R@3 if nothing were held back). These are over every
    community asked; ``by_community`` holds the same report for each one alone.
    """

    questions: int = 0
    threads: int = 0
    gated: bool = False
    scores: dict[tuple[str, str], KbScores] = field(default_factory=dict)
    no_gate: dict[tuple[str, str], KbScores] = field(default_factory=dict)
    unthresholded: dict[tuple[str, str], KbScores] = field(default_factory=dict)
    misses: list[str] = field(default_factory=list)  # answerable question ids not right at 1
    communities: tuple[str, ...] = ()
    by_community: dict[str, BilingualReport] = field(default_factory=dict)


async def capture(kb: KnowledgeBase, data: DataSet) -> None:
    """Import every community's export into ``kb`` (each into its own guild, as its
    files say); every thread must be captured, none skipped."""
    imported = await import_exports(kb, [c.threads_dir for c in data.communities])
    if imported.skipped or imported.captured != len(data.thread_ids):
        raise BilingualDataError(
            f"{', '.join(str(c.threads_dir) for c in data.communities)}: {imported.captured} "
            f"of {len(data.thread_ids)} threads captured, skipped {imported.skipped_by_reason}"
        )


def export_paths(data: DataSet) -> dict[int, Path]:
    """Each thread's export file, by thread id (to import one thread again)."""
    out: dict[int, Path] = {}
    for found in find_export_files([c.threads_dir for c in data.communities]):
        if isinstance(found, ExportFileError):
            raise BilingualDataError(f"{found.source}: {found.problem}")
        out[load_export(found).thread_id] = found
    missing = data.thread_ids - out.keys()
    if missing:
        raise BilingualDataError(f"no export file for threads {sorted(missing)}")
    return out


async def ask(
    kb: KnowledgeBase, data: DataSet, config: SearchConfig, *, limit: int = ALL
) -> list[list[Scored]]:
    """Every question's suggestions with ``config``, asked in its community's guild,
    best first, as the engine gives them."""
    use_config(kb, config)
    threads_of = {c.name: c.thread_ids for c in data.communities}
    out: list[list[Scored]] = []
    for question in data.questions:
        suggestions = await kb.suggest(
            Query(guild_id=question.guild_id, text=question.post, title=question.title, limit=limit)
        )
        thread_ids = [s.entry.thread_id for s in suggestions]
        if not set(thread_ids) <= threads_of[question.community]:
            raise AssertionError(f"{question.id}: a suggestion from outside its community")
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


def _report(
    questions: Sequence[Question],
    threads: int,
    shown: Sequence[Sequence[Scored]],
    everything: Sequence[Sequence[Scored]],
    shipped: SearchConfig,
) -> BilingualReport:
    """The figures of ``questions`` from what the engine showed and every candidate."""
    report = BilingualReport(len(questions), threads, shipped.confidence is not None)
    # What the engine showed (gate and floor already applied).
    report.scores = score(questions, shown, 0.0)
    report.no_gate = score(questions, everything, shipped.threshold)
    report.unthresholded = score(questions, everything, 0.0)
    report.misses = [
        q.id
        for q, suggestions in zip(questions, shown, strict=True)
        if q.answerable and not (suggestions and suggestions[0].relevant)
    ]
    report.communities = tuple(dict.fromkeys(q.community for q in questions))
    return report


async def run(
    data_dir: Path,
    encoder: Encoder,
    shipped: SearchConfig,
    kb_dir: Path,
    *,
    communities: Collection[str] | None = None,
) -> BilingualReport:
    """Import the communities into a fresh base in ``kb_dir`` and ask every question.

    ``data_dir``: one community, or the directory of them (:data:`DATA_DIR`: all);
    ``communities``: only these, by name.
    """
    data = load(data_dir, communities)
    kb = await KnowledgeBase.open(kb_dir, encoder, shipped)
    floor_only = ungated(shipped)
    try:
        await capture(kb, data)
        shown = await ask(kb, data, shipped, limit=metrics.KB_LIMIT)
        floor_shown = await ask(kb, data, floor_only, limit=metrics.KB_LIMIT)
        everything = await ask(kb, data, unthresholded(shipped))
    finally:
        await kb.close()
    report = _report(data.questions, len(data.thread_ids), shown, everything, shipped)
    # The floor-only figures come from unthresholded suggestions: they must agree
    # with what the engine itself showed without the gate.
    if score(data.questions, floor_shown, shipped.threshold) != report.no_gate:
        raise AssertionError("offline thresholding disagrees with the engine on the bilingual set")
    for community in data.communities:
        mine = [i for i, q in enumerate(data.questions) if q.community == community.name]
        report.by_community[community.name] = _report(
            [data.questions[i] for i in mine],
            len(community.thread_ids),
            [shown[i] for i in mine],
            [everything[i] for i in mine],
            shipped,
        )
    return report


def _frac(hits: int, total: int) -> str:
    if not total:
        return f"{'-':^13}"
    return f"{hits:>3}/{total:<3} {hits / total:5.2f}"


def table(report: BilingualReport, config: SearchConfig) -> list[str]:
    """The printed tables: one row per (split, subset), as shipped and without the gate;
    all communities together, then each alone when there are several."""
    gate = (
        f"confidence gate p >= {config.confidence.threshold:.2f}"
        if config.confidence is not None
        else "no confidence gate"
    )
    names = ", ".join(report.communities)
    lines = [
        f"Bilingual community (bench/data/bilingual*: {names}; {report.threads} ja/en threads "
        f"imported, {report.questions} questions), as configured: {gate}, floor "
        f"{config.threshold:.2f} for the 2nd and 3rd, at most {metrics.KB_LIMIT} shown",
    ]
    parts = [("all communities", report)] if len(report.by_community) > 1 else []
    parts += [(f"community {name}", part) for name, part in report.by_community.items()]
    if not parts:  # a report made without by_community
        parts = [("all communities", report)]
    for label, part in parts:
        lines += [
            f"-- {label}: {part.threads} threads, {part.questions} questions",
            *_rows(part.scores, part.unthresholded),
        ]
    if report.gated:
        floor = f"{config.threshold:.2f}"
        lines.append(f"Without the confidence gate (fused-score floor {floor} alone):")
        for label, part in parts:
            lines += [f"-- {label}", *_rows(part.no_gate, part.unthresholded)]
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
    """Fields of the benchmark's JSON line: held-out figures, and the tuning split's.

    ``bilingual_*`` are over every community asked; ``bilingual_<name>_*`` over one.
    """
    out = _summary(report, "bilingual")
    for name, part in report.by_community.items():
        out.update(_summary(part, f"bilingual_{name}"))
    return out


def _summary(report: BilingualReport, prefix: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for split, suffix in (("held-out", ""), ("tuning", "_tuning")):
        everything = report.scores[(split, ALL_ROWS)]
        if not everything.questions:  # a community kept for evaluation has no tuning split
            continue
        cross = report.scores[(split, "cross-language")]
        out.update(
            {
                f"{prefix}_p1{suffix}": round(everything.p1, 4),
                f"{prefix}_cross_p1{suffix}": round(cross.p1, 4),
                f"{prefix}_r3{suffix}": round(everything.r3, 4),
                f"{prefix}_silence{suffix}": round(everything.silence, 4),
                f"{prefix}_precision{suffix}": round(everything.precision, 4),
            }
        )
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``python bench/bilingual.py``."""
    parser = argparse.ArgumentParser(description="The bilingual communities' protocol alone.")
    parser.add_argument(
        "--model",
        default="default",
        help="'default' (the shipped model), 'multilingual-e5-small', 'all-MiniLM-L6-v2', "
        "'hashing' (no model) or a local model dir; the model's profile is used",
    )
    parser.add_argument(
        "--data", type=Path, default=DATA_DIR, help="one community, or the directory of them"
    )
    parser.add_argument(
        "--community",
        action="append",
        default=None,
        metavar="NAME",
        help="only this community (salesloom, tsumiki, ...); repeat for several",
    )
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> list[str]:
    encoder = make_encoder(args.model)
    shipped = profile_for(encoder.name).search_config()
    dirs = TempDirs()
    try:
        report = await run(args.data, encoder, shipped, dirs.new(), communities=args.community)
    finally:
        dirs.cleanup()
    return [
        f"model {encoder.name}",
        *table(report, shipped),
        f"{encoder.encoded} texts encoded",
        json.dumps(summary(report)),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the protocol and print its tables; the last line is JSON. Exit 2 on bad data."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        lines = asyncio.run(_main(args))
    except BilingualDataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
