"""What a forget costs the questions: ``python bench/forget_cost.py --fixture DIR``.

``DIR`` is a scale fixture of ``bench/speed.py`` (``--scale-cache``, e.g.
``/tmp/senpai-bench-scale/multi-100000-hashing``: the store, its vector index and its
term index), copied to a work directory first so the fixture is left as it was.
One process serves it (the hashing encoder), then, in each mode, forgets one member
of the main server while questions keep being asked there, and reports:

* how long ``forget_member`` takes to return (of which the store's own purge of
  deleted text: FTS5 ``optimize`` and a WAL checkpoint), and how long until the term
  index's files hold none of the member's terms (the scrub);
* question latency p50 / p99 / max before the forget and while it and its scrub run.

Modes: ``before`` scrubs the way it was done before this work (the whole term index
rebuilt inside the forget, holding the lock every lookup takes); ``after`` is the
product's (the rebuild runs beside the lookups, swapped in under the lock at the end).
Each mode forgets a different member of similar size.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import speed, synthetic

MODES = ("before", "after")


def _members(db_path: Path, guild_id: int, count: int) -> list[tuple[int, int]]:
    """``count`` askers of the server with a median number of entries: (id, entries)."""
    db = sqlite3.connect(db_path)
    try:
        rows = db.execute(
            "SELECT asker_id, COUNT(*) FROM entries WHERE guild_id = ? "
            "GROUP BY asker_id ORDER BY COUNT(*), asker_id",
            (guild_id,),
        ).fetchall()
    finally:
        db.close()
    middle = len(rows) // 2
    return [(int(a), int(n)) for a, n in rows[middle : middle + count]]


def _copy_fixture(fixture: Path, work: Path) -> None:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in ("senpai.db", "senpai.db-wal", "senpai.db-shm"):
        if (fixture / name).exists():
            shutil.copy2(fixture / name, work / name)
    for name in ("index", "terms"):
        if (fixture / name).is_dir():
            shutil.copytree(fixture / name, work / name)


def _deleted_documents(directory: Path) -> int:
    """Deleted documents still in the term index's segments (tantivy's meta.json)."""
    meta = json.loads((directory / "meta.json").read_text())
    return sum((s.get("deletes") or {}).get("num_deleted_docs", 0) for s in meta["segments"])


SLOW = 1.0
"""Questions slower than this (seconds) are reported with the time of each step."""

_TIMINGS = speed.Timings()
_SLOW: list[tuple[float, dict[str, float]]] = []


def _instrument(kb: Any) -> None:
    """Time each step of a question (the store's reads, the encoder, the index, and
    the catch-up checks of both indexes and the calibration)."""
    speed.instrument(kb, _TIMINGS)
    for owner, method, step in (
        (kb.terms, "current", "terms_current"),
        (kb.live, "current", "live_current"),
        (kb, "calibration", "calibration"),
    ):
        original = getattr(owner, method)

        def timed(*args: Any, _original: Callable = original, _step: str = step, **kw: Any):
            async def run() -> Any:
                begun = time.perf_counter()
                try:
                    return await _original(*args, **kw)
                finally:
                    _TIMINGS.add(_step, time.perf_counter() - begun)

            return run()

        setattr(owner, method, timed)


async def _ask(
    kb: Any, guild: int, texts: Sequence[str], stop: Callable[[], bool]
) -> list[tuple[float, float]]:
    """Ask the questions in turn (again and again) until ``stop()``: each one's
    (start time, latency)."""
    from knowledge.models import PUBLIC_SCOPE, Query

    latencies: list[tuple[float, float]] = []
    n = 0
    while not stop() or not latencies:
        text = texts[n % len(texts)]
        n += 1
        _TIMINGS.current = {}
        started = time.perf_counter()
        await kb.suggest(Query(guild, text, frozenset({PUBLIC_SCOPE})))
        latency = time.perf_counter() - started
        latencies.append((started, latency))
        if latency > SLOW:
            steps = {k: round(v, 2) for k, v in _TIMINGS.current.items() if v > 0.05}
            _SLOW.append((started, {"total": round(latency, 2), **steps}))
        await asyncio.sleep(0)
    return latencies


def _figures(samples: Sequence[float]) -> dict[str, Any]:
    if not samples:
        return {"questions": 0}
    return {
        "questions": len(samples),
        **speed.percentiles(samples),
        "max": round(max(samples) * 1e3, 1),
    }


async def _old_purge(terms: Any) -> None:
    """The purge as it was: the whole index rebuilt while holding the lookup lock."""
    async with terms.lock:
        await terms._rebuild_locked()


async def _forget_while_asking(
    kb: Any, guild: int, member: int, texts: Sequence[str], mode: str
) -> dict[str, Any]:
    if mode == "before":
        kb.terms.purge = lambda: _old_purge(kb.terms)
    elif "purge" in vars(kb.terms):
        del kb.terms.purge  # the product's again
    store_purge: list[float] = []
    original = kb.store.purge_deleted

    async def timed_purge() -> None:
        begun = time.perf_counter()
        try:
            await original()
        finally:
            store_purge.append(time.perf_counter() - begun)

    kb.store.purge_deleted = timed_purge
    started = time.perf_counter()

    async def forget() -> float:
        await kb.forget_member(member)
        returned = time.perf_counter()
        await kb.terms.scrubbed()
        return returned

    _SLOW.clear()
    task = asyncio.ensure_future(forget())
    asked = await _ask(kb, guild, texts, lambda: task.done())
    returned = await task
    total = time.perf_counter() - started
    del kb.store.purge_deleted
    # Questions asked while forget_member ran (store deletion and purge; before this
    # work the term index's rebuild too), and while the scrub ran after it returned.
    return {
        "forget_returned_s": round(returned - started, 2),
        "store_purge_s": round(sum(store_purge), 2),
        "scrubbed_s": round(total, 2),
        "scrubs": kb.terms.scrubs,
        "questions_during_forget": _figures([d for t, d in asked if t < returned]),
        "questions_during_scrub": _figures([d for t, d in asked if t >= returned]),
        "slow_questions_during_scrub": [steps for t, steps in _SLOW if t >= returned][:8],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from knowledge.engine import DB_FILE, INDEX_DIR, KnowledgeBase
    from knowledge.profiles import profile_for
    from knowledge.store import KnowledgeStore

    work = Path(args.work)
    fixture = Path(args.fixture)
    guild = synthetic.GUILD_MAIN
    modes = [m for m in args.modes.split(",") if m]
    if any(m not in MODES for m in modes):
        raise SystemExit(f"unknown modes in {args.modes!r}; known: {', '.join(MODES)}")
    members = _members(fixture / DB_FILE, guild, len(modes))
    texts = synthetic.queries(speed.SEED, args.queries)
    _copy_fixture(fixture, work)
    encoder = speed.make_encoder("hashing")
    speed.reset_peak_rss()
    store = await KnowledgeStore.open(work / DB_FILE)
    kb = KnowledgeBase(store, encoder, work / INDEX_DIR, profile_for(encoder.name).search_config())
    out: dict[str, Any] = {"fixture": str(fixture), "modes": {}}
    try:
        await kb.live.load()
        _instrument(kb)
        started = time.perf_counter()
        await kb.terms.load()
        out["terms_load_s"] = round(time.perf_counter() - started, 1)
        out["entries"] = await store.count()
        out["server_entries"] = await store.count(guild)
        for mode, (member, entries) in zip(modes, members, strict=True):
            idle = await _ask_n(kb, guild, texts)
            result = await _forget_while_asking(kb, guild, member, texts, mode)
            result["member_entries"] = entries
            result["questions_idle"] = _figures([d for _, d in idle])
            result["deleted_documents_left_in_files"] = _deleted_documents(work / "terms")
            out["modes"][mode] = result
            print(f"{mode}: {json.dumps(result)}", flush=True)
        out["peak_rss_mb"] = round(speed.status_kib("VmHWM") / 1024, 1)
    finally:
        await kb.close()
    return out


async def _ask_n(kb: Any, guild: int, texts: Sequence[str]) -> list[tuple[float, float]]:
    count = {"n": 0}

    def stop() -> bool:
        count["n"] += 1
        return count["n"] > len(texts)

    return await _ask(kb, guild, texts, stop)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixture", required=True, help="a scale fixture directory")
    parser.add_argument("--work", default="/tmp/senpai-bench-forget", help="scratch copy")
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--modes", default=",".join(MODES), help="before,after")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print("FORGET_JSON " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
