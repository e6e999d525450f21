"""How much lower a model's cosines are across Japanese and English than within one language.

A multilingual encoder places texts of one language nearer to each other than to
texts of the other, whatever they say: with multilingual-e5-small, two unrelated
threads of one Japanese community score about 0.87, a Japanese and an English one
about 0.83. Left alone, that gap makes a thread in the question's own language
outrank one in the other language that is closer in meaning. The profile's
``language_gaps`` (:attr:`knowledge.retrieval.SearchConfig.language_gaps`) give it
back to threads in the other language.

The gap is measured **without labels and without questions**: over every pair of
threads of one community (title and opening message, as the engine indexes them),
the mean cosine of same-language pairs minus that of mixed pairs, for each
language of the question::

    gap(ja) = mean cos(ja, ja) - mean cos(ja, en)
    gap(en) = mean cos(en, en) - mean cos(ja, en)

Run from the repository root (about a minute with cached vectors)::

    python bench/language_gap.py                       # the shipped model, every community
    python bench/language_gap.py --model multilingual-e5-small --community tsumiki
    python bench/language_gap.py --exports path/to/your/export/   # your own community

It prints each community's mean cosines and gaps, their mean (what the profile
ships, rounded), and the profile's current values.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np

from bench import bilingual
from bench.quality_harness import TempDirs, make_encoder
from knowledge.engine import KnowledgeBase
from knowledge.importer import import_exports
from knowledge.profiles import profile_for

log = logging.getLogger("language_gap")

VECTORS_DIR = Path(__file__).resolve().parent / "out" / "vectors"
LANGUAGES = ("ja", "en")


@dataclass(frozen=True, slots=True)
class PairMeans:
    """Mean cosine of every pair of distinct threads, by the pair's languages."""

    same: dict[str, float]
    """``language`` -> mean cosine of pairs both in it."""
    mixed: float
    """Mean cosine of pairs in different languages."""
    counts: dict[str, int]
    """Pairs counted: each language's, and ``"mixed"``."""

    def gaps(self) -> dict[str, float]:
        """Per question language: its same-language mean minus the mixed mean."""
        return {language: mean - self.mixed for language, mean in self.same.items()}


def pair_means(vectors: np.ndarray, languages: Sequence[str]) -> PairMeans:
    """Mean cosines of the pairs of rows of ``vectors`` (unit length), by language.

    Needs at least two threads in each of :data:`LANGUAGES`: a community in one
    language has no gap to measure.
    """
    labels = np.asarray(languages)
    if len(labels) != len(vectors):
        raise ValueError("one language per vector")
    groups = {language: vectors[labels == language] for language in LANGUAGES}
    short = [language for language, rows in groups.items() if len(rows) < 2]
    if short:
        raise ValueError(f"fewer than two threads in {', '.join(short)}: no gap to measure")
    same: dict[str, float] = {}
    counts: dict[str, int] = {}
    for language, rows in groups.items():
        sims = rows @ rows.T
        n = len(rows)
        # Every distinct pair once: the strict upper triangle.
        same[language] = float(sims[np.triu_indices(n, k=1)].mean())
        counts[language] = n * (n - 1) // 2
    first, second = (groups[language] for language in LANGUAGES)
    mixed = first @ second.T
    counts["mixed"] = int(mixed.size)
    return PairMeans(same, float(mixed.mean()), counts)


async def measure(
    model: str,
    communities: Sequence[str] | None,
    exports: Sequence[Path] = (),
    *,
    cache: bool = True,
) -> tuple[str, dict[str, PairMeans]]:
    """The encoder's name and each community's pair means, its threads indexed as the
    engine indexes them: the bench's bilingual communities (only ``communities``, by
    name, if given), or, with ``exports``, the DiscordChatExporter files or
    directories given (each server found in them is a community, named by its id).
    ``cache``: keep vectors in :data:`VECTORS_DIR` between runs."""
    encoder = make_encoder(model, cache_dir=VECTORS_DIR if cache else None)
    config = profile_for(encoder.name).search_config()
    dirs = TempDirs()
    out: dict[str, PairMeans] = {}
    try:
        kb = await KnowledgeBase.open(dirs.new(), encoder, config)
        try:
            if exports:
                imported = await import_exports(kb, exports)
                if not imported.captured:
                    raise ValueError(f"no solved thread found in {', '.join(map(str, exports))}")
                names = None
            else:
                data = bilingual.load(communities=communities)
                await bilingual.capture(kb, data)
                names = {c.guild_id: c.name for c in data.communities}
            docs = [doc async for batch in kb.store.iter_documents() for doc in batch]
            entries = await kb.store.get_entries([doc.id for doc in docs])
            vectors = encoder.encode([kb.live.dense_text(doc) for doc in docs])
            guilds = np.array([entries[doc.id].guild_id for doc in docs])
            languages = np.array([entries[doc.id].language for doc in docs])
            for guild in dict.fromkeys(guilds.tolist()):
                mine = guilds == guild
                name = str(guild) if names is None else names[guild]
                try:
                    out[name] = pair_means(vectors[mine], languages[mine].tolist())
                except ValueError as error:  # a server in one language: nothing to measure
                    log.warning("server %s not measured: %s", name, error)
            if not out:
                raise ValueError("no community holds two threads in each language")
        finally:
            await kb.close()
    finally:
        dirs.cleanup()
        encoder.save()
    return encoder.name, out


def report(model: str, measured: dict[str, PairMeans]) -> list[str]:
    """The table: each community, the mean of the gaps, and the profile's values."""
    lines = [
        f"model {model}; mean cosine of thread pairs (title + opening message, as indexed)",
        f"{'community':<12} {'ja-ja':>7} {'en-en':>7} {'ja-en':>7} {'pairs':>13} "
        f"{'gap ja':>7} {'gap en':>7}",
    ]
    for name, means in measured.items():
        gaps = means.gaps()
        pairs = "/".join(str(means.counts[k]) for k in (*LANGUAGES, "mixed"))
        lines.append(
            f"{name:<12} {means.same['ja']:7.4f} {means.same['en']:7.4f} {means.mixed:7.4f} "
            f"{pairs:>13} {gaps['ja']:7.4f} {gaps['en']:7.4f}"
        )
    mean = {
        language: float(np.mean([m.gaps()[language] for m in measured.values()]))
        for language in LANGUAGES
    }
    lines.append(
        f"{'mean':<12} {'':>7} {'':>7} {'':>7} {'':>13} {mean['ja']:7.4f} {mean['en']:7.4f}"
    )
    shipped = dict(profile_for(model).language_gaps)
    lines.append(
        "profile's language_gaps: "
        + (", ".join(f"{k} {v:g}" for k, v in shipped.items()) if shipped else "none")
    )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the gaps."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="multilingual-e5-small", help="as bench/quality.py")
    parser.add_argument(
        "--community", action="append", default=None, help="one community (repeatable)"
    )
    parser.add_argument(
        "--exports",
        type=Path,
        nargs="+",
        default=(),
        help="measure these DiscordChatExporter files or directories instead "
        "(your own community: each server in them is measured apart)",
    )
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.exports if not path.exists()]
    if missing:
        print(f"language_gap: no such file or directory: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        name, measured = asyncio.run(measure(args.model, args.community, args.exports))
    except (ValueError, bilingual.BilingualDataError) as error:
        print(f"language_gap: {error}", file=sys.stderr)
        return 2
    for line in report(name, measured):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
