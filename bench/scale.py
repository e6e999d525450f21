"""Scale scenarios of ``bench/speed.py``: does the cost follow the server?

Two knowledge bases of ``--scale-entries`` entries (1M by default):

``multi``
    "1M entries over 1,000 servers": one server of 10k entries (the questions'
    main server) and 999 others of about 1k each; questions are asked in the
    10k server and in a 1k one.
``single``
    "one server of 1M entries": every entry in the server the questions are
    asked in.

Each is a real SQLite store (the bulk path of ``bench/synthetic.py``), a vector
index of the kind :func:`index.kinds.choose_kind` picks for its size, built from
synthetic vectors (real embeddings mixed with noise) and saved in the data
directory with the store's fingerprint, and the derived term index
(:class:`knowledge.live_terms.LiveTermIndex`) built from the store. Fixtures are
built once and cached (``--scale-cache``, under /tmp by default).

Each scenario is served by a fresh process (its peak memory is the figure):
:meth:`KnowledgeBase.suggest` from question text to ranked suggestions, per
server, p50/p99 and the time of each step, in two modes: ``before`` (FTS5 for
every lexical lookup, and the dense search as before: the server's ids from the
store, then exact scoring of up to :data:`index.vectors.EXACT_FILTER_MAX` of them,
or a FAISS selector beyond) and ``after`` (the term index serves the term lookups
and the server's document frequencies; the dense search takes the server's ids
from memory and scores a server of up to
:data:`knowledge.server_sets.SERVER_EXACT_MAX` entries from its own cached
vectors, :mod:`knowledge.server_sets`). In ``after`` mode the dense step's
recall@10 against exact search over the server's vectors is checked too.
Each mode is measured with the real encoder and once more with the questions'
vectors encoded beforehand ("retrieval only"), since question encoding is being
worked on separately.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import synthetic

SEED = 20260423
MAIN_ENTRIES = 10_000
"""Entries of the main server in the ``multi`` scenario."""

SCALE_GOALS = {"multi": 50.0, "single": 150.0}
"""p99 goals (ms) from question text to suggestions: the 10k server inside the
multi-server base, and the one server of 1M entries."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    title: str
    other_guilds: int
    single: bool

    def main_share(self, entries: int) -> float:
        return 1.0 if self.single else min(0.5, MAIN_ENTRIES / max(entries, 1))

    def probes(self) -> list[tuple[str, int]]:
        """(label, guild id) of the servers questions are asked in."""
        if self.single:
            return [("one_server", synthetic.GUILD_MAIN)]
        return [("main_server", synthetic.GUILD_MAIN), ("small_server", synthetic.other_guild(1))]


SCENARIOS = {
    "multi": Scenario("multi", "entries over 1,000 servers", 999, single=False),
    "single": Scenario("single", "entries in one server", 39, single=True),
}


def parse_scenarios(spec: str) -> list[Scenario]:
    """``multi,single`` as scenarios; an unknown name ends the run with a message."""
    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; known: {', '.join(SCENARIOS)}")
    return [SCENARIOS[n] for n in names]


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _store(scenario: Scenario, entries: int, data: Path) -> dict[str, Any]:
    """The scenario's store in ``data`` (reused when complete)."""
    from knowledge.store import KnowledgeStore

    db_path = data / "senpai.db"
    marker = data / "store.json"
    if marker.is_file() and db_path.is_file():
        return {**json.loads(marker.read_text()), "cached": True}
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    started = time.perf_counter()

    async def create() -> None:
        store = await KnowledgeStore.open(db_path)
        await store.close()

    asyncio.run(create())
    step = max(1, entries // 5)

    def progress(done: int) -> None:
        if done % step < 20_000:
            _log(f"  {scenario.name} store: {done} rows")

    synthetic.bulk_insert(
        db_path,
        SEED,
        entries,
        main_share=scenario.main_share(entries),
        other_guilds=scenario.other_guilds,
        progress=progress,
    )
    info = {"entries": entries, "build_s": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(info))
    return {**info, "cached": False}


def _guild_sizes(db_path: Path, guilds: Sequence[int]) -> dict[str, int]:
    db = sqlite3.connect(db_path)
    try:
        return {
            str(g): int(
                db.execute("SELECT COUNT(*) FROM entries WHERE guild_id = ?", (g,)).fetchone()[0]
            )
            for g in guilds
        }
    finally:
        db.close()


def _vectors(
    data: Path, base: Callable[[], np.ndarray], model: str, entries: int
) -> dict[str, Any]:
    """The saved vector index of the store in ``data`` (reused when it matches)."""
    from index.kinds import choose_kind
    from index.storage import read_meta
    from index.vectors import VectorIndex

    db = sqlite3.connect(data / "senpai.db")
    try:
        meta = dict(db.execute("SELECT key, value FROM kb_meta").fetchall())
    finally:
        db.close()
    fingerprint = f"{meta['store_id']}:{meta['revision']}"
    kind = choose_kind(entries)
    saved = read_meta(data / "index")
    if saved is not None and saved.fingerprint == fingerprint and saved.model == model:
        return {"kind": saved.kind, "cached": True}
    started = time.perf_counter()
    vectors = synthetic.mixture_vectors(base(), SEED, 0, entries)
    index = VectorIndex.build(np.arange(1, entries + 1, dtype=np.int64), vectors, kind=kind)
    del vectors
    index.save(data / "index", model=model, fingerprint=fingerprint)
    return {"kind": kind, "cached": False, "build_s": round(time.perf_counter() - started, 1)}


def _terms(data: Path) -> dict[str, Any]:
    """Build (or catch up) the derived term index of the store in ``data``."""
    from knowledge.engine import INDEX_DIR
    from knowledge.live_terms import TERMS_DIR, LiveTermIndex
    from knowledge.store import KnowledgeStore

    async def build() -> dict[str, Any]:
        store = await KnowledgeStore.open(data / "senpai.db")
        try:
            terms = LiveTermIndex(store, (data / INDEX_DIR).with_name(TERMS_DIR))
            started = time.perf_counter()
            await terms.load()
            return {"seconds": round(time.perf_counter() - started, 1)}
        finally:
            await store.close()

    info = asyncio.run(build())
    info["disk_mb"] = round(
        sum(p.stat().st_size for p in (data / "terms").rglob("*") if p.is_file()) / 2**20, 1
    )
    return info


def measure_scenarios(
    scenarios: Sequence[Scenario],
    *,
    entries: int,
    cache: Path,
    base: Callable[[], np.ndarray],
    model: str,
    model_kind: str,
    query_texts: Sequence[str],
    modes: Sequence[str] = ("before", "after"),
) -> list[dict[str, Any]]:
    """Build (or reuse) each scenario's fixtures, then serve them in fresh processes."""
    results = []
    for scenario in scenarios:
        data = cache / f"{scenario.name}-{entries}-{model_kind}"
        _log(f"scenario {scenario.name} ({entries}): store")
        store = _store(scenario, entries, data)
        _log(f"scenario {scenario.name}: vector index")
        vectors = _vectors(data, base, model, entries)
        _log(f"scenario {scenario.name}: term index")
        terms = _terms(data)
        sizes = _guild_sizes(data / "senpai.db", [g for _, g in scenario.probes()])
        row: dict[str, Any] = {
            "scenario": scenario.name,
            "title": f"{entries} {scenario.title}",
            "entries": entries,
            "store": store,
            "vector_index": vectors,
            "term_index": terms,
            "server_entries": {label: sizes[str(g)] for label, g in scenario.probes()},
            "modes": {},
        }
        for mode in modes:
            _log(f"scenario {scenario.name}: serve ({mode})")
            row["modes"][mode] = _run_serve(
                {
                    "data": str(data),
                    "model_kind": model_kind,
                    "mode": mode,
                    "probes": scenario.probes(),
                    "queries": list(query_texts),
                }
            )
        results.append(row)
    return results


def _run_serve(params: dict[str, Any]) -> dict[str, Any]:
    spec = Path(params["data"]) / f"serve-{params['mode']}.json"
    spec.write_text(json.dumps(params))
    script = Path(__file__).resolve().parent / "speed.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--worker", "scale", "--spec", str(spec)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("WORKER_RESULT "):
            result: dict[str, Any] = json.loads(line[len("WORKER_RESULT ") :])
            return result
    raise RuntimeError(
        f"scale worker failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )


class _PrecomputedEncoder:
    """The questions' vectors, encoded beforehand: retrieval without encoding time."""

    def __init__(self, inner: Any, texts: Sequence[str]) -> None:
        self._inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self._known = dict(zip(texts, inner.encode(list(texts)), strict=True))

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        if all(t in self._known for t in texts):
            return np.stack([self._known[t] for t in texts])
        return np.asarray(self._inner.encode(texts, batch_size=batch_size))


async def serve(params: dict[str, Any]) -> dict[str, Any]:
    """The worker: suggestion latency per server, steps, peak memory (one mode)."""
    from bench import speed
    from knowledge.engine import DB_FILE, INDEX_DIR, KnowledgeBase
    from knowledge.models import PUBLIC_SCOPE, Query
    from knowledge.profiles import profile_for
    from knowledge.store import KnowledgeStore

    data = Path(params["data"])
    texts: list[str] = params["queries"]
    encoder = speed.make_encoder(params["model_kind"])
    encoder.encode(["warm-up"])
    speed.reset_peak_rss()
    before_load = speed.status_kib("VmRSS")
    store = await KnowledgeStore.open(data / DB_FILE, readonly=True)
    kb = KnowledgeBase(store, encoder, data / INDEX_DIR, profile_for(encoder.name).search_config())
    out: dict[str, Any] = {"servers": {}}
    try:
        await kb.live.load()
        if not kb.index_ready:
            raise RuntimeError(f"index not loaded: {(await kb.index_status()).reason}")
        if params["mode"] == "after":
            await kb.terms.load()
            if not kb.terms.serves():
                out["note"] = "the term index does not serve at this size (FTS5 is used)"
        else:
            kb.retriever.terms = None
            kb.retriever.dense = None
        out["loaded_rss_mb"] = round((speed.status_kib("VmRSS") - before_load) / 1024, 1)
        timings = speed.Timings()
        speed.instrument(kb, timings)
        _instrument_terms(kb, timings)
        _instrument_dense(kb, timings)
        timed_encoder = kb.retriever.encoder
        precomputed = _PrecomputedEncoder(encoder, texts)
        for label, guild in params["probes"]:
            server: dict[str, Any] = {}
            for variant, chosen in (("with_encoder", timed_encoder), ("retrieval", precomputed)):
                kb.retriever.encoder = chosen
                server[variant] = await _latency(kb, timings, guild, texts, PUBLIC_SCOPE, Query)
            out["servers"][label] = server
        out["dense_cached_rows"] = kb.live.server_vectors.cached_rows
        # Before the recall check, which copies the server's vectors for its exact search.
        out["peak_rss_mb"] = round(speed.status_kib("VmHWM") / 1024, 1)
        if params["mode"] == "after":
            for label, guild in params["probes"]:
                recall = await _dense_recall(kb, guild, texts, encoder)
                out["servers"][label]["dense_recall_at_10"] = recall
    finally:
        await store.close()
    return out


def _instrument_terms(kb: Any, timings: Any) -> None:
    original = kb.retriever._indexed_terms

    def timed(*args: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            timings.add("term_index", time.perf_counter() - started)

    kb.retriever._indexed_terms = timed


def _instrument_dense(kb: Any, timings: Any) -> None:
    original = kb.live.server_search

    def timed(*args: Any, **kw: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kw)
        finally:
            timings.add("dense_server", time.perf_counter() - started)

    kb.live.server_search = timed


async def _dense_recall(kb: Any, guild: int, texts: Sequence[str], encoder: Any) -> float | None:
    """Mean recall@10 of the dense step against exact search over the server's stored
    vectors (the served index's own); ``None`` for a server without entries."""
    from knowledge.models import PUBLIC_SCOPE, Query
    from knowledge.retrieval import PreparedQuery

    scopes = frozenset({PUBLIC_SCOPE})
    index = await kb.live.current()
    allowed = np.asarray(await kb.store.allowed_ids(guild, scopes), dtype=np.int64)
    stored = index.vectors(allowed)
    recalls: list[float] = []
    if not len(allowed):
        return None
    for text in texts:
        prepared = PreparedQuery.of(Query(guild, text, scopes))
        assert prepared is not None
        vector = np.asarray(encoder.encode([prepared.text])[0], dtype=np.float32)
        found = await kb.retriever._dense_search(index, vector, prepared, len(allowed))
        visible = set(allowed.tolist())
        top = [i for i, _ in sorted(found, key=lambda h: -h[1]) if i in visible][:10]
        exact = allowed[np.argsort(-(stored @ vector), kind="stable")[:10]].tolist()
        recalls.append(len(set(top) & set(exact)) / len(exact))
    return round(float(np.mean(recalls)), 4)


async def _latency(
    kb: Any, timings: Any, guild: int, texts: Sequence[str], scope: str, query_type: Any
) -> dict[str, Any]:
    from bench.speed import percentiles

    for text in texts[:5]:  # warm-up: page cache, thread pool
        await kb.suggest(query_type(guild, text, frozenset({scope})))
    totals: list[float] = []
    steps: dict[str, list[float]] = {}
    answered = 0
    for text in texts:
        timings.current = {}
        started = time.perf_counter()
        found = await kb.suggest(query_type(guild, text, frozenset({scope})))
        totals.append(time.perf_counter() - started)
        answered += bool(found)
        for step, seconds in timings.current.items():
            steps.setdefault(step, []).append(seconds)
    return {
        "queries": len(texts),
        "answered": answered,
        "total": percentiles(totals),
        "steps": {
            step: percentiles(values + [0.0] * (len(texts) - len(values)))
            for step, values in sorted(steps.items())
        },
    }


def print_scenarios(rows: Sequence[dict[str, Any]]) -> None:
    """The scenarios' part of the report."""
    for row in rows:
        sizes = ", ".join(f"{k} {v}" for k, v in row["server_entries"].items())
        print(
            f"\nScenario {row['title']} ({sizes}; vector index {row['vector_index']['kind']}, "
            f"term index built in {row['term_index']['seconds']} s, "
            f"{row['term_index']['disk_mb']} MB)"
        )
        for mode, result in row["modes"].items():
            print(
                f"  {mode}: peak RSS {result['peak_rss_mb']} MB "
                f"(indexes loaded: +{result['loaded_rss_mb']} MB)"
            )
            for label, server in result["servers"].items():
                if "dense_recall_at_10" in server:
                    print(f"    {label}: dense recall@10 {server['dense_recall_at_10']}")
                for variant, s in server.items():
                    if not isinstance(s, dict):
                        continue
                    total = s["total"]
                    steps = ", ".join(f"{n} {p['p50']}/{p['p99']}" for n, p in s["steps"].items())
                    print(
                        f"    {label} [{variant}]: p50 {total['p50']} ms, p99 {total['p99']} ms "
                        f"({s['answered']}/{s['queries']} answered); steps p50/p99 ms: {steps}"
                    )


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Key figures for the SPEED_JSON line, and the goals met or missed."""
    out: dict[str, Any] = {}
    goals: dict[str, Any] = {}
    for row in rows:
        for mode, result in row["modes"].items():
            out[f"scale_{row['scenario']}_{mode}_peak_rss_mb"] = result["peak_rss_mb"]
            for label, server in result["servers"].items():
                for variant, s in server.items():
                    key = f"scale_{row['scenario']}_{mode}_{label}_{variant}"
                    if not isinstance(s, dict):
                        out[key] = s
                        continue
                    out[key + "_p50_ms"] = s["total"]["p50"]
                    out[key + "_p99_ms"] = s["total"]["p99"]
        after = row["modes"].get("after")
        if after is not None and row["entries"] >= 1_000_000:
            label = "one_server" if row["scenario"] == "single" else "main_server"
            p99 = after["servers"][label]["with_encoder"]["total"]["p99"]
            goal = SCALE_GOALS[row["scenario"]]
            goals[f"scale_{row['scenario']}_p99"] = {"goal": goal, "p99": p99, "met": p99 <= goal}
    out["goals"] = goals
    return out
