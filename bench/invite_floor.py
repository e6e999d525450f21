"""Measure the profile's ``invite_floor``: how close a solved thread must be to a post
Senpai stayed silent on before its helper is invited (``knowledge/invitations.py``).

Run from the repository root::

    python bench/invite_floor.py                              # the shipped model
    python bench/invite_floor.py --model all-MiniLM-L6-v2

Through Senpai's own code path on the bilingual community (``bench/data/bilingual/``):
the export is imported, each question is asked with :meth:`KnowledgeBase.suggest`
(the model's profile, gate on); for the questions it is silent on,
:meth:`KnowledgeBase.candidates` gives the threads an invitation would be for (the
first :data:`PER_POST` scoring at least the floor, as at most two members are
invited). Per floor and split: silent questions, those that would invite someone,
invitations, and the share of invitations for a thread that really answers the
question ("right"), with unanswerable questions' invitations always wrong.

The floor is chosen on the ``tuning`` split only: among the floors at which at least
one invitation would be sent, the one whose invitations are right most often,
counted with one right and one wrong pseudo-invitation added (``(right + 1) /
(sent + 2)``; the lowest floor on ties). A human reads an invitation and judges it,
so it need not reach a suggestion's 2 in 3, but the script says whether it reaches
:data:`MIN_RIGHT`. ``held-out`` is reported, never used.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import bilingual
from knowledge.engine import KnowledgeBase
from knowledge.models import Query
from knowledge.profiles import profile_for
from senpai import config

PER_POST = 2
GRID = [round(0.30 + 0.01 * i, 2) for i in range(66)]  # 0.30 .. 0.95
MIN_RIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Silent:
    """A question Senpai stayed silent on: its candidates' scores, best first, and
    whether each answers it."""

    split: str
    candidates: tuple[tuple[float, bool], ...]


@dataclass(frozen=True, slots=True)
class Row:
    floor: float
    silent: int
    inviting: int
    sent: int
    right: int

    @property
    def smoothed(self) -> float:
        return (self.right + 1) / (self.sent + 2)


def row(silent: list[Silent], floor: float) -> Row:
    inviting = sent = right = 0
    for question in silent:
        above = [ok for score, ok in question.candidates if score >= floor][:PER_POST]
        inviting += bool(above)
        sent += len(above)
        right += sum(above)
    return Row(floor, len(silent), inviting, sent, right)


async def collect(model: str) -> tuple[list[Silent], int, float]:
    """The silent questions of both splits, the questions asked, and the shipped floor."""
    encoder = config.make_encoder(model)
    search = profile_for(encoder.name).search_config()
    data = bilingual.load()
    silent: list[Silent] = []
    with tempfile.TemporaryDirectory() as tmp:
        kb = await KnowledgeBase.open(Path(tmp), encoder, search)
        try:
            await bilingual.capture(kb, data)
            for q in data.questions:
                query = Query(guild_id=q.guild_id, text=q.post, title=q.title)
                if await kb.suggest(query):
                    continue
                found, _ = await kb.candidates(query)
                silent.append(
                    Silent(
                        q.split,
                        tuple((s.score, s.candidate.entry.thread_id in q.relevant) for s in found),
                    )
                )
        finally:
            await kb.close()
    return silent, len(data.questions), search.invite_floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=config.DEFAULT_MODEL)
    args = parser.parse_args()
    silent, asked, shipped = asyncio.run(collect(args.model))
    print(f"model {args.model}: {asked} questions, {len(silent)} silent; shipped floor {shipped}")
    chosen: Row | None = None
    for split in ("tuning", "held-out"):
        questions = [s for s in silent if s.split == split]
        print(f"\n{split}: floor  silent  inviting  invitations  right  (right+1)/(sent+2)")
        for floor in GRID:
            r = row(questions, floor)
            if r.sent == 0 and floor > shipped:
                break
            mark = " <- shipped" if abs(floor - shipped) < 1e-9 else ""
            print(
                f"  {floor:.2f}  {r.silent:6d}  {r.inviting:8d}  {r.sent:11d}  {r.right:5d}  "
                f"{r.smoothed:.2f}{mark}"
            )
            if split == "tuning" and r.sent and (chosen is None or r.smoothed > chosen.smoothed):
                chosen = r
    if chosen is None:
        print("\nno floor sends any invitation on the tuning split")
        return
    reaches = "reaches" if chosen.smoothed >= MIN_RIGHT else "does not reach"
    print(
        f"\nbest tuning floor: {chosen.floor:.2f} ({chosen.right} of {chosen.sent} invitations "
        f"right, smoothed {chosen.smoothed:.2f}; {reaches} {MIN_RIGHT:.2f})"
    )


if __name__ == "__main__":
    main()
