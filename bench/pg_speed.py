"""Suggestion latency on PostgreSQL against SQLite, on the same synthetic base.

    python bench/pg_speed.py --database-url postgresql://… [--size 10000] [--queries 200]

Both stores get the same synthetic entries (bench/synthetic.py: 3/4 English,
1/4 Japanese, a Zipf long tail of terms, 40 servers) through the real write path
(:meth:`KnowledgeStore.upsert_entry`, one transaction each, as captures write).
Then :meth:`KnowledgeBase.suggest` is timed for
the same questions, in the main server and in a small one. The encoder is the
hashing encoder by default: encoding costs the same on both engines, so what
differs is the store's work (full-text lookups, fetching, filters); pass
``--model`` to time the whole path with a real model.

The PostgreSQL database must be empty or hold a base built by an earlier run of
this script with the same size (it is reused; ``--fresh`` drops Senpai's tables
first). The data directories live in a temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import PUBLIC_SCOPE, Query
from knowledge.profiles import profile_for
from senpai import config

SEED = 7
SMALL_GUILD_SHARE = 0.9  # main server holds 90%; the rest spread over 39 servers


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99)}


async def fill(kb: KnowledgeBase, size: int) -> float:
    """Capture ``size`` synthetic entries through the store; seconds taken."""
    if await kb.store.count() >= size:
        return 0.0
    started = time.perf_counter()
    items = list(synthetic.entries(SEED, 0, size, main_share=SMALL_GUILD_SHARE))
    for n, item in enumerate(items, start=1):
        await kb.store.upsert_entry(item.draft())
        if n % 2000 == 0:
            print(f"  {n}/{size} entries", file=sys.stderr)
    return time.perf_counter() - started


async def drop_tables(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def measure(
    label: str, directory: Path, url: str | None, args: argparse.Namespace
) -> dict[str, Any]:
    encoder = config.make_encoder(args.model)
    search: SearchConfig = profile_for(encoder.name).search_config()
    kb = await KnowledgeBase.open(directory, encoder, search, database_url=url)
    try:
        fill_seconds = await fill(kb, args.size)
        await kb.rebuild()
        texts = synthetic.queries(SEED, args.queries)
        guilds = {"main_server": synthetic.GUILD_MAIN, "small_server": synthetic._OTHER_GUILDS[0]}
        out: dict[str, Any] = {"fill_seconds": round(fill_seconds, 1)}
        for name, guild in guilds.items():
            for text in texts[:10]:
                await kb.suggest(Query(guild, text, frozenset({PUBLIC_SCOPE})))
            totals: list[float] = []
            for text in texts:
                started = time.perf_counter()
                await kb.suggest(Query(guild, text, frozenset({PUBLIC_SCOPE})))
                totals.append(time.perf_counter() - started)
            out[name] = {
                "entries": await kb.store.count(guild),
                **percentiles(totals),
                "mean_ms": statistics.fmean(totals) * 1000,
            }
        print(f"{label}: {json.dumps(out)}", file=sys.stderr)
        return out
    finally:
        await kb.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model", default="hashing")
    parser.add_argument("--fresh", action="store_true", help="drop Senpai's tables first")
    parser.add_argument(
        "--engines", default="sqlite,postgresql", help="which to measure (comma-separated)"
    )
    args = parser.parse_args()
    if args.fresh:
        await drop_tables(args.database_url)
    with tempfile.TemporaryDirectory() as tmp:
        engines = {"sqlite": None, "postgresql": args.database_url}
        report: dict[str, Any] = {"size": args.size, "model": args.model}
        for name in args.engines.split(","):
            report[name] = await measure(name, Path(tmp) / name, engines[name], args)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
