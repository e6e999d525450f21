"""What a community's own product terms do for its cross-language questions.

Each bilingual community (``bench/data/bilingual*/``) has a ``glossary.tsv``: its
product's words in the Japanese and the English UI, as an admin would add them with
``/senpai-admin glossary import``, written from the forum threads (the knowledge
base), never from the benchmark's questions. The communities are imported into one
knowledge base (each into its own guild, as :mod:`bench.bilingual` does), every
question is asked without the terms, then each community's file is imported into its
own guild through :meth:`KnowledgeBase.import_glossary` and every question is asked
again. Same base, same index, same model profile: only the server's terms differ.

Printed per split (tuning / held-out, reported apart) and per kind: P@1 as shipped
(gate and floor), R@3 with nothing held back (ranking alone), silence on unanswerable
questions, precision speaking, then which answerable questions changed. Run::

    python bench/glossary_terms.py --model multilingual-e5-small
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench import quality_metrics as metrics
from bench.bilingual import (
    ALL_ROWS,
    DATA_DIR,
    SPLITS,
    DataSet,
    ask,
    capture,
    community_dirs,
    load,
    score,
)
from bench.quality_harness import Scored, TempDirs, make_encoder, unthresholded
from index.encoder import Encoder
from knowledge.bridge import Concept, Glossary
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.profiles import profile_for

GLOSSARY_FILE = "glossary.tsv"
ROWS = (ALL_ROWS, "same-language", "cross-language")


async def measure(
    data_dir: Path, encoder: Encoder, shipped: SearchConfig, kb_dir: Path
) -> tuple[DataSet, dict[str, list[list[Scored]]], dict[str, int]]:
    """Every question asked without, then with each community's own terms: the shown
    suggestions and the unthresholded candidates of both runs, and the terms imported
    per community."""
    data = load(data_dir)
    kb = await KnowledgeBase.open(kb_dir, encoder, shipped)
    runs: dict[str, list[list[Scored]]] = {}
    imported: dict[str, int] = {}
    try:
        await capture(kb, data)
        runs["without shown"] = await ask(kb, data, shipped, limit=metrics.KB_LIMIT)
        runs["without ranked"] = await ask(kb, data, unthresholded(shipped))
        for directory in community_dirs(data_dir):
            community = next(c for c in data.communities if c.threads_dir.parent == directory)
            text = (directory / GLOSSARY_FILE).read_text("utf-8")
            result = await kb.import_glossary(community.guild_id, text, added_by=None)
            imported[community.name] = result.added
        runs["with shown"] = await ask(kb, data, shipped, limit=metrics.KB_LIMIT)
        runs["with ranked"] = await ask(kb, data, unthresholded(shipped))
    finally:
        await kb.close()
    return data, runs, imported


def _frac(hits: int, total: int) -> str:
    return f"{hits}/{total}" if total else "-"


def table(data: DataSet, runs: dict[str, list[list[Scored]]]) -> list[str]:
    """Without and with the terms, per split and kind of question."""
    lines = [
        f"{'split':<9} {'questions':<15} {'terms':<8} {'P@1 shown':>10} {'P@1 ranked':>11} "
        f"{'R@3 ranked':>11} "
        f"{'silent (unansw.)':>17} {'precision':>10}"
    ]
    scored = {
        label: (
            score(data.questions, runs[f"{label} shown"], 0.0),
            score(data.questions, runs[f"{label} ranked"], 0.0),
        )
        for label in ("without", "with")
    }
    for split in SPLITS:
        for row in ROWS:
            for label, (shown, ranked) in scored.items():
                s, r = shown[(split, row)], ranked[(split, row)]
                lines.append(
                    f"{split:<9} {row:<15} {label:<8} {_frac(s.p1_hits, s.answerable):>10} "
                    f"{_frac(r.p1_hits, r.answerable):>11} {_frac(r.r3_hits, r.answerable):>11} "
                    f"{_frac(s.silent, s.unanswerable):>17} {_frac(s.correct, s.answered):>10}"
                )
    return lines


def changes(data: DataSet, runs: dict[str, list[list[Scored]]]) -> list[str]:
    """Answerable questions whose shown first suggestion became right or wrong, and
    unanswerable ones that started or stopped getting a suggestion."""
    out: list[str] = []
    for i, question in enumerate(data.questions):
        before, after = runs["without shown"][i], runs["with shown"][i]
        if question.answerable:
            was = bool(before and before[0].relevant)
            now = bool(after and after[0].relevant)
            if was != now:
                out.append(
                    f"{question.split:<9} {question.kind:<15} {question.id}: "
                    f"{'right' if was else 'wrong'} -> {'right' if now else 'wrong'}"
                )
        elif bool(before) != bool(after):
            out.append(
                f"{question.split:<9} {question.kind:<15} {question.id}: "
                f"{'silent' if not before else 'spoke'} -> {'silent' if not after else 'spoke'}"
            )
    return out or ["no question changed"]


def touched(data: DataSet, base: Glossary | None) -> list[str]:
    """How many questions hold one of their community's own terms at all, and how many
    of those get words to search for that the profile's glossary (``base``) did not
    already give them (the terms can only act on those), per split and kind."""
    own = {
        c.name: Glossary.parse(
            (c.threads_dir.parent / GLOSSARY_FILE).read_text("utf-8").splitlines()
        )
        for c in data.communities
    }
    general = base.concepts if base is not None else ()
    lines = ["questions holding their community's own terms / getting new words from them:"]
    for split in SPLITS:
        for kind in ("same-language", "cross-language"):
            asked = [q for q in data.questions if q.split == split and q.kind == kind]
            holding = [q for q in asked if own[q.community].find(q.post)]
            gaining = [q for q in holding if _new_words(q.post, base, general, own[q.community])]
            lines.append(f"  {split:<9} {kind:<15} {len(holding)}/{len(asked)} / {len(gaining)}")
    return lines


def _new_words(
    text: str, base: Glossary | None, general: tuple[Concept, ...], own: Glossary
) -> set[str]:
    """The words the question's bridge searches for with its community's terms, and not
    without them."""
    before = set() if base is None else _words(base, text)
    return _words(Glossary((*general, *own.concepts)), text) - before


def _words(glossary: Glossary, text: str) -> set[str]:
    return {t for e in glossary.find(text) for synonym in e.targets for t in synonym}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line of ``python bench/glossary_terms.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="multilingual-e5-small",
        help="the model whose profile is used (default multilingual-e5-small)",
    )
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="the communities")
    parser.add_argument(
        "--without-shipped-glossary",
        action="store_true",
        help="the profile without the shipped general glossary: the communities' own terms "
        "then bridge alone (what they do where the general glossary knows nothing)",
    )
    return parser.parse_args(argv)


async def _main(args: argparse.Namespace) -> list[str]:
    encoder = make_encoder(args.model)
    shipped = profile_for(encoder.name).search_config()
    if args.without_shipped_glossary:
        shipped = dataclasses.replace(shipped, glossary=None)
    dirs = TempDirs()
    try:
        data, runs, imported = await measure(args.data, encoder, shipped, dirs.new())
    finally:
        dirs.cleanup()
    terms = ", ".join(f"{name} {count}" for name, count in imported.items())
    general = "none" if shipped.glossary is None else f"{len(shipped.glossary)} concepts"
    return [
        f"model {encoder.name}; shipped glossary: {general}; each community's own terms "
        f"imported into its guild: {terms}",
        *table(data, runs),
        "P@1 shown: as shipped (gate and floor); P@1 / R@3 ranked: nothing held back; "
        "tuning and held-out questions reported apart",
        *touched(data, shipped.glossary),
        "changed by the terms:",
        *changes(data, runs),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the experiment and print its table."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for line in asyncio.run(_main(parse_args(argv))):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
