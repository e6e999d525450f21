"""Loading SemEval-2016 Task 3 (Qatar Living, English) and scoring rankings on it.

The data set is described in ``../shared/data/semeval2016/README.md``. Each
``<OrgQuestion>`` element holds one original question and one related thread;
the same ``ORGQ_ID`` repeats once per related question, so the elements are
grouped by it here. A related question is relevant when its label is
``PerfectMatch`` or ``Relevant``.

The scoring functions follow the official SemEval-2016 scorer: MAP over the
top 10 of each original question's ranking, where a question without any
relevant related question counts as AP 0 and stays in the average.
"""

from __future__ import annotations

import os
import random
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

RELEVANT_LABELS = frozenset({"PerfectMatch", "Relevant"})

SPLIT_FILES: dict[str, str] = {
    "train1": "SemEval2016-Task3-CQA-QL-train-part1.xml",
    "train2": "SemEval2016-Task3-CQA-QL-train-part2.xml",
    "dev": "SemEval2016-Task3-CQA-QL-dev.xml",
}
DEV_GOLD_FILE = "SemEval2016-Task3-CQA-QL-dev.xml.subtaskB.relevancy"

MAP_CUTOFF = 10
"""The official scorer's rank cut-off for MAP (and here for MRR)."""


def default_data_dir() -> Path:
    """``$SENPAI_SEMEVAL_DIR``, else ``shared/data/semeval2016`` beside the repository."""
    env = os.environ.get("SENPAI_SEMEVAL_DIR")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parent.parent
    return repo.parent / "shared" / "data" / "semeval2016"


@dataclass(frozen=True, slots=True)
class Comment:
    """One answer in a related thread, labelled relative to the original question."""

    id: str
    text: str
    label: str  # Good / PotentiallyUseful / Bad (relative to the original question)
    user: str


@dataclass(frozen=True, slots=True)
class RelatedQuestion:
    """A forum thread a search engine returned for an original question."""

    id: str
    subject: str
    body: str
    engine_rank: int  # RELQ_RANKING_ORDER: 1 = the search engine's first result
    label: str  # PerfectMatch / Relevant / Irrelevant
    user: str
    comments: tuple[Comment, ...]

    @property
    def relevant(self) -> bool:
        """PerfectMatch or Relevant to its original question."""
        return self.label in RELEVANT_LABELS

    def answer(self) -> Comment | None:
        """The thread's answer for the knowledge-base protocol.

        The first comment labelled Good, else the first comment; comments
        without any text are skipped (Senpai refuses an empty answer).
        """
        usable = [c for c in self.comments if c.text.strip()]
        for comment in usable:
            if comment.label == "Good":
                return comment
        return usable[0] if usable else None


@dataclass(frozen=True, slots=True)
class OriginalQuestion:
    """A new question and the related questions found for it, in search-engine order."""

    id: str
    subject: str
    body: str
    related: tuple[RelatedQuestion, ...]

    @property
    def text(self) -> str:
        """What a member would post: subject, a newline, body."""
        return f"{self.subject}\n{self.body}"

    @property
    def answerable(self) -> bool:
        """At least one related question is relevant."""
        return any(r.relevant for r in self.related)


def _text(element: ET.Element | None, tag: str) -> str:
    if element is None:
        return ""
    return (element.findtext(tag) or "").strip()


def load_split(path: Path) -> list[OriginalQuestion]:
    """Parse one SemEval XML file into original questions, in file order.

    Related questions keep the search engine's order (``RELQ_RANKING_ORDER``).
    """
    root = ET.parse(path).getroot()
    order: list[str] = []
    heads: dict[str, tuple[str, str]] = {}
    groups: dict[str, list[RelatedQuestion]] = {}
    for org in root.iter("OrgQuestion"):
        org_id = org.get("ORGQ_ID", "")
        if org_id not in groups:
            order.append(org_id)
            heads[org_id] = (_text(org, "OrgQSubject"), _text(org, "OrgQBody"))
            groups[org_id] = []
        thread = org.find("Thread")
        rel = thread.find("RelQuestion") if thread is not None else None
        if thread is None or rel is None:
            continue
        comments = tuple(
            Comment(
                id=c.get("RELC_ID", ""),
                text=_text(c, "RelCText"),
                label=c.get("RELC_RELEVANCE2ORGQ", ""),
                user=c.get("RELC_USERID", ""),
            )
            for c in thread.findall("RelComment")
        )
        groups[org_id].append(
            RelatedQuestion(
                id=rel.get("RELQ_ID", ""),
                subject=_text(rel, "RelQSubject"),
                body=_text(rel, "RelQBody"),
                engine_rank=int(rel.get("RELQ_RANKING_ORDER", "0")),
                label=rel.get("RELQ_RELEVANCE2ORGQ", ""),
                user=rel.get("RELQ_USERID", ""),
                comments=comments,
            )
        )
    return [
        OriginalQuestion(
            id=org_id,
            subject=heads[org_id][0],
            body=heads[org_id][1],
            related=tuple(sorted(groups[org_id], key=lambda r: r.engine_rank)),
        )
        for org_id in order
    ]


def load(name: str, data_dir: Path | None = None) -> list[OriginalQuestion]:
    """Load the split ``train1``, ``train2`` or ``dev``."""
    return load_split((data_dir or default_data_dir()) / SPLIT_FILES[name])


def load_gold(path: Path) -> dict[str, list[tuple[str, int, bool]]]:
    """The official gold file: ``{orgq: [(relq, engine rank, relevant), ...]}``, by rank."""
    gold: dict[str, list[tuple[str, int, bool]]] = {}
    for line in path.read_text("utf-8").splitlines():
        fields = line.split("\t")
        if len(fields) < 5:
            continue
        org, rel, rank, _, flag = fields[:5]
        gold.setdefault(org, []).append((rel, int(rank), flag.strip().lower() == "true"))
    for rows in gold.values():
        rows.sort(key=lambda row: row[1])
    return gold


# -- metrics -------------------------------------------------------------------------


def average_precision(flags: Sequence[bool], cutoff: int = MAP_CUTOFF) -> float:
    """The official scorer's AP: mean precision at each relevant rank within ``cutoff``.

    A ranking without any relevant item in its top ``cutoff`` scores 0.
    """
    hits = 0
    precisions: list[float] = []
    for rank, flag in enumerate(flags[:cutoff], start=1):
        if flag:
            hits += 1
            precisions.append(hits / rank)
    return sum(precisions) / len(precisions) if precisions else 0.0


def reciprocal_rank(flags: Sequence[bool], cutoff: int = MAP_CUTOFF) -> float:
    """1 / rank of the first relevant item within ``cutoff``, else 0."""
    for rank, flag in enumerate(flags[:cutoff], start=1):
        if flag:
            return 1.0 / rank
    return 0.0


@dataclass(frozen=True, slots=True)
class RankingScores:
    """MAP, MRR and P@1 over a set of rankings (fractions in [0, 1])."""

    map: float
    mrr: float
    p1: float
    questions: int


def score_rankings(rankings: Iterable[Sequence[bool]]) -> RankingScores:
    """Score relevance flags in ranked order, one sequence per original question.

    Every question counts, including those without any relevant item (AP 0),
    as the official scorer does.
    """
    aps: list[float] = []
    rrs: list[float] = []
    p1s: list[float] = []
    for flags in rankings:
        aps.append(average_precision(flags))
        rrs.append(reciprocal_rank(flags))
        p1s.append(1.0 if flags and flags[0] else 0.0)
    n = len(aps)
    if n == 0:
        return RankingScores(0.0, 0.0, 0.0, 0)
    return RankingScores(sum(aps) / n, sum(rrs) / n, sum(p1s) / n, n)


def engine_rankings(questions: Sequence[OriginalQuestion]) -> list[list[bool]]:
    """Relevance flags in the search engine's order."""
    return [[r.relevant for r in q.related] for q in questions]


def gold_engine_rankings(gold: Mapping[str, list[tuple[str, int, bool]]]) -> list[list[bool]]:
    """Relevance flags in the search engine's order, from the official gold file."""
    return [[flag for _, _, flag in rows] for rows in gold.values()]


def random_scores(
    questions: Sequence[OriginalQuestion], *, trials: int = 1000, seed: int = 2016
) -> RankingScores:
    """Expected scores of a random order, averaged over ``trials`` seeded shuffles."""
    rng = random.Random(seed)
    totals = [0.0, 0.0, 0.0]
    for _ in range(trials):
        rankings: list[list[bool]] = []
        for q in questions:
            flags = [r.relevant for r in q.related]
            rng.shuffle(flags)
            rankings.append(flags)
        s = score_rankings(rankings)
        totals[0] += s.map
        totals[1] += s.mrr
        totals[2] += s.p1
    return RankingScores(*(t / trials for t in totals), questions=len(questions))
