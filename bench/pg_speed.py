"""Suggestion latency on PostgreSQL against SQLite, on the same synthetic base.

    python bench/pg_speed.py --database-url postgresql://… [--size 10000] [--queries 200]
        [--shape one|multi] [--bulk] [--data-dir DIR]

Both stores get the same synthetic entries (bench/synthetic.py: 3/4 English,
1/4 Japanese, a Zipf long tail of terms). The shape says how they are spread:

* ``one``: the main server holds 90% of the base, 39 other servers the rest;
* ``multi``: the main server holds 10,000 entries (``bench/scale.py``'s
  multi-server scenario), 999 other servers the rest.

Questions are asked in the main server and in a small one (the first other
server). By default the entries go through the real write path
(:meth:`KnowledgeStore.upsert_entry`, one transaction each, as captures write);
``--bulk`` loads them with the benchmarks' bulk loaders instead
(:func:`synthetic.bulk_insert` for SQLite, :func:`synthetic.bulk_insert_pg`, COPY,
for PostgreSQL), which write the same rows in minutes at 100k.

Then :meth:`KnowledgeBase.suggest` is timed for the same questions, alternating
between the engines question by question (so that the machine's other load falls
on both alike), with its steps
timed apart: ``lexical`` (term and substring lookups), ``dense`` (the vector
search, with the allowed ids read from the store when the server is a small part
of the base), ``fetch`` (the candidates' entries, term sets and verdicts from the
store); ``other`` is the rest (revision checks, counting, waiting for the
encoder, ranking). The encoder is the hashing encoder by default: encoding costs
the same on both engines, so what differs is the store's work; pass ``--model``
to time the whole path with a real model.

The PostgreSQL database must be empty or hold a base built by an earlier run of
this script with the same size and shape (it is reused; ``--fresh`` drops Senpai's
tables first). The SQLite base and both engines' derived indexes live in
``--data-dir`` when given (reused by later runs with the same size and shape), else
in a temp directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import synthetic
from knowledge.engine import DB_FILE, KnowledgeBase, SearchConfig
from knowledge.models import PUBLIC_SCOPE, Query
from knowledge.profiles import profile_for
from knowledge.store import KnowledgeStore
from senpai import config

SEED = 7
MAIN_ENTRIES_MULTI = 10_000
"""Entries of the main server in the ``multi`` shape (as in ``bench/scale.py``)."""

SHAPES = ("one", "multi")
STEPS = ("lexical", "dense", "fetch")


def spread(shape: str, size: int) -> tuple[float, int]:
    """(share of the main server, number of other servers) of ``shape`` at ``size``."""
    if shape == "one":
        return 0.9, 39
    if shape == "multi":
        return min(0.5, MAIN_ENTRIES_MULTI / max(size, 1)), 999
    raise SystemExit(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"p50_ms": at(0.5), "p90_ms": at(0.9), "p99_ms": at(0.99)}


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


async def fill(store: KnowledgeStore, size: int, shape: str) -> None:
    """Capture ``size`` synthetic entries through the store's write path."""
    share, others = spread(shape, size)
    for n, item in enumerate(
        synthetic.entries(SEED, 0, size, main_share=share, other_guilds=others), start=1
    ):
        await store.upsert_entry(item.draft())
        if n % 2000 == 0:
            _log(f"  {n}/{size} entries")


async def prepare(directory: Path, url: str | None, args: argparse.Namespace) -> float:
    """Make sure the store holds the base of ``args.size`` and ``args.shape``; seconds
    spent filling it (0 when an earlier run's base is reused)."""
    share, others = spread(args.shape, args.size)
    directory.mkdir(parents=True, exist_ok=True)
    store = await KnowledgeStore.open(directory / DB_FILE, database_url=url)
    try:
        have = await store.count()
        if have:
            main = await store.count(synthetic.GUILD_MAIN)
            expected = round(share * args.size)
            if have != args.size or abs(main - expected) > 0.05 * args.size:
                raise SystemExit(
                    f"the store holds {have} entries ({main} in the main server), not a "
                    f"{args.shape!r} base of {args.size}: use another database or --fresh"
                )
            return 0.0
        started = time.perf_counter()
        if not args.bulk:
            await fill(store, args.size, args.shape)
            return time.perf_counter() - started
    finally:
        await store.close()

    def progress(done: int) -> None:
        _log(f"  {done}/{args.size} entries")

    if url is None:
        await asyncio.to_thread(
            synthetic.bulk_insert,
            directory / DB_FILE,
            SEED,
            args.size,
            main_share=share,
            other_guilds=others,
            progress=progress,
        )
    else:
        await synthetic.bulk_insert_pg(
            url, SEED, args.size, main_share=share, other_guilds=others, progress=progress
        )
    return time.perf_counter() - started


class StepTimer:
    """Seconds spent in each timed step of the retriever during one suggestion."""

    def __init__(self) -> None:
        self.current: dict[str, float] = dict.fromkeys(STEPS, 0.0)

    def wrap(
        self, step: str, method: Callable[..., Awaitable[Any]]
    ) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.current[step] += time.perf_counter() - started

        return timed

    def take(self) -> dict[str, float]:
        """This suggestion's step times, and reset for the next."""
        taken, self.current = self.current, dict.fromkeys(STEPS, 0.0)
        return taken


def instrument(kb: KnowledgeBase) -> StepTimer:
    """Time the retriever's lookup steps on this knowledge base (a benchmark's view:
    the instance's methods are wrapped, the code path is unchanged)."""
    timer = StepTimer()
    retriever: Any = kb.retriever
    retriever._lexical = timer.wrap("lexical", retriever._lexical)
    retriever._dense_search = timer.wrap("dense", retriever._dense_search)
    retriever._candidates = timer.wrap("fetch", retriever._candidates)
    return timer


@dataclass
class Engine:
    """One engine's knowledge base under measurement, and what it measured."""

    name: str
    kb: KnowledgeBase
    timer: StepTimer
    out: dict[str, Any]


async def open_engine(
    name: str, directory: Path, url: str | None, args: argparse.Namespace
) -> Engine:
    """The engine's base, filled (or reused) and opened, its index built or loaded."""
    fill_seconds = await prepare(directory, url, args)
    encoder = config.make_encoder(args.model)
    search: SearchConfig = profile_for(encoder.name).search_config()
    started = time.perf_counter()
    kb = await KnowledgeBase.open(directory, encoder, search, database_url=url)
    out = {
        "fill_seconds": round(fill_seconds, 3),
        "open_seconds": round(time.perf_counter() - started, 1),
    }
    return Engine(name, kb, instrument(kb), out)


async def measure(engines: list[Engine], args: argparse.Namespace) -> None:
    """Time the same questions on every engine, alternating question by question (the
    engine asked first alternates too), so that the machine's other load falls on
    all of them alike."""
    texts = synthetic.queries(SEED, args.queries)
    guilds = {"main_server": synthetic.GUILD_MAIN, "small_server": synthetic.other_guild(1)}
    for server, guild in guilds.items():
        for engine in engines:
            for text in texts[:10]:
                await engine.kb.suggest(Query(guild, text, frozenset({PUBLIC_SCOPE})))
            engine.timer.take()
        totals: dict[str, list[float]] = {e.name: [] for e in engines}
        steps = {e.name: {step: [] for step in STEPS} for e in engines}
        for n, text in enumerate(texts):
            for engine in engines if n % 2 == 0 else engines[::-1]:
                started = time.perf_counter()
                await engine.kb.suggest(Query(guild, text, frozenset({PUBLIC_SCOPE})))
                totals[engine.name].append(time.perf_counter() - started)
                for step, seconds in engine.timer.take().items():
                    steps[engine.name][step].append(seconds)
        for engine in engines:
            own, timed = totals[engine.name], steps[engine.name]
            others = [t - sum(s[i] for s in timed.values()) for i, t in enumerate(own)]
            engine.out[server] = {
                "entries": await engine.kb.store.count(guild),
                **percentiles(own),
                "mean_ms": statistics.fmean(own) * 1000,
                "steps": {
                    step: {k: v for k, v in percentiles(times).items() if k != "p90_ms"}
                    for step, times in (*timed.items(), ("other", others))
                },
            }
    for engine in engines:
        _log(f"{engine.name}: {json.dumps(engine.out)}")


async def drop_tables(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


def table(report: dict[str, Any]) -> str:
    """The p50 / p99 of each engine and step, as a Markdown table."""
    engines = [e for e in ("sqlite", "postgresql") if e in report]
    lines = [
        f"| {report['size']:,} entries, shape {report['shape']}, p50 / p99 ms | "
        + " | ".join(engines)
        + " |",
        "| --- |" + " --- |" * len(engines),
    ]
    for server in ("main_server", "small_server"):
        entries = report[engines[0]][server]["entries"]
        rows = [(f"{server.replace('_', ' ')} ({entries:,} entries): suggest", None)]
        rows += [(f"  {step}", step) for step in (*STEPS, "other")]
        for title, step in rows:
            cells = []
            for engine in engines:
                figures = report[engine][server]
                if step is not None:
                    figures = figures["steps"][step]
                cells.append(f"{figures['p50_ms']:.1f} / {figures['p99_ms']:.1f}")
            lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="an empty PostgreSQL database")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--model", default="hashing")
    parser.add_argument("--shape", choices=SHAPES, default="one")
    parser.add_argument(
        "--bulk", action="store_true", help="load with the bulk loaders, not the write path"
    )
    parser.add_argument("--data-dir", type=Path, help="keep the SQLite base and indexes here")
    parser.add_argument("--fresh", action="store_true", help="drop Senpai's tables first")
    parser.add_argument(
        "--engines", default="sqlite,postgresql", help="which to measure (comma-separated)"
    )
    args = parser.parse_args(argv)
    engines: dict[str, str | None] = {"sqlite": None, "postgresql": args.database_url}
    chosen = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in chosen if e not in engines]
    if unknown or not chosen:
        raise SystemExit(f"unknown engines {unknown}; known: {', '.join(engines)}")
    if args.fresh:
        await drop_tables(args.database_url)
    report: dict[str, Any] = {"size": args.size, "shape": args.shape, "model": args.model}
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data_dir or Path(tmp)
        opened: list[Engine] = []
        try:
            for name in chosen:
                where = root / f"{name}-{args.shape}-{args.size}"
                opened.append(await open_engine(name, where, engines[name], args))
            await measure(opened, args)
        finally:
            for engine in opened:
                await engine.kb.close()
        for engine in opened:
            report[engine.name] = engine.out
    print(table(report))
    print(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    asyncio.run(main())
