"""Smoke tests of the speed benchmark (bench/speed.py) and its synthetic data.

The benchmark itself is not a test: nothing here checks a duration. These
tests run a tiny version of it so that it cannot rot, and check that the
synthetic stores it builds are the ones the engine would write.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench import synthetic
from knowledge import lexical
from knowledge.cleaning import detect_language
from knowledge.store import KnowledgeStore

ROOT = Path(__file__).resolve().parents[1]
ONNX_EXTRA = ("onnx", "onnxruntime")

# Runs bench/speed.py as its own __main__ with the onnx extra made unimportable.
WITHOUT_ONNX = (
    "import runpy, sys\n"
    "sys.modules.update(dict.fromkeys({extra!r}))\n"
    "sys.argv = [{script!r}, *sys.argv[1:]]\n"
    "runpy.run_path({script!r}, run_name='__main__')\n"
)


def test_a_tiny_speed_run_prints_its_tables_and_figures(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "speed.py"),
            "--sizes",
            "200",
            "--model",
            "hashing",
            "--queries",
            "8",
            "--encode-sample",
            "40",
            "--kinds",
            "flat,hnsw-sq8,ivf-sq8",
            "--scenarios",
            "",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # the script must not depend on the working directory
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout
    assert "Encoding throughput" in out
    assert "200 entries: store KnowledgeStore.upsert_entry" in out
    for kind in ("flat", "hnsw-sq8", "ivf-sq8"):
        assert f"\n{kind.rjust(8)}" in out
    assert "suggest [flat, main_guild]" in out
    assert "suggest [flat, small_guild]" in out

    last = out.strip().splitlines()[-1]
    assert last.startswith("SPEED_JSON ")
    figures = json.loads(last.removeprefix("SPEED_JSON "))
    assert figures["machine"]["cpus"] >= 1
    assert figures["encode_hashing_per_s"] > 0
    assert figures["n200_flat_recall10"] == 1.0
    assert 0.0 <= figures["n200_ivf-sq8_recall10"] <= 1.0
    assert figures["n200_flat_suggest_main_guild_p99_ms"] > 0

    report = json.loads((tmp_path / "speed.json").read_text())
    size = report["sizes"][0]
    assert size["entries"] == 200 and size["engine_kind"] == "flat"
    flat = size["kinds"]["flat"]
    assert flat["disk_mb"] >= 0 and flat["peak_rss_mb"] > 0
    steps = flat["suggest"]["main_guild"]["steps"]
    assert {"encode", "dense_search", "term_search", "fetch_entries"} <= set(steps)
    assert size["kinds"]["ivf-sq8"]["sweep"], "IVF kinds sweep nprobe"


def test_a_tiny_run_of_the_scale_scenarios_serves_each_server_before_and_after(tmp_path):
    options = (
        "--sizes= --model hashing --queries 6 --encode-sample 40 "
        "--scenarios multi,single --scale-entries 900"
    )
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "speed.py"),
            *options.split(),
            "--scale-cache",
            str(tmp_path / "scale"),
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    out = result.stdout
    assert "Scenario 900 entries over 1,000 servers" in out
    assert "Scenario 900 entries in one server" in out
    report = json.loads((tmp_path / "speed.json").read_text())
    multi, single = report["scenarios"]
    assert multi["server_entries"]["main_server"] > multi["server_entries"]["small_server"]
    assert single["server_entries"] == {"one_server": 900}
    for scenario in (multi, single):
        assert set(scenario["modes"]) == {"before", "after"}
        assert (tmp_path / "scale" / f"{scenario['scenario']}-900-hashing" / "terms").is_dir()
        for mode in scenario["modes"].values():
            assert mode["peak_rss_mb"] > 0
            for label, server in mode["servers"].items():
                assert server["with_encoder"]["queries"] == 6
                if label != "small_server":  # may hold no entry at this size: no encoding
                    assert "encode" in server["with_encoder"]["steps"]
                    assert "encode" not in server["retrieval"]["steps"]
        # The dense step against exact search over the server's vectors (flat at this
        # size, so the per-server search is exact; a server too big for it over-fetches).
        for label, server in scenario["modes"]["after"]["servers"].items():
            recall = server["dense_recall_at_10"]
            assert recall is None if scenario["server_entries"][label] == 0 else 0 < recall <= 1
        small = multi["server_entries"]["small_server"]
        if small:
            assert multi["modes"]["after"]["servers"]["small_server"]["dense_recall_at_10"] == 1.0
    figures = json.loads(out.strip().splitlines()[-1].removeprefix("SPEED_JSON "))
    assert figures["scale_single_after_one_server_with_encoder_p99_ms"] > 0


def test_backends_whose_packages_are_missing_are_skipped_with_one_line(monkeypatch, capsys):
    from bench import speed

    for name in ONNX_EXTRA:
        monkeypatch.setitem(sys.modules, name, None)  # as if the onnx extra were not installed
    encoding, rebuild = speed.runnable_variants(
        "torch,onnx,onnx-int8@64,torch@64", "torch,onnx,onnx-int8"
    )
    assert [v.label for v in encoding] == ["torch", "torch@64"]
    assert [v.label for v in rebuild] == ["torch"]
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert "skipping backends onnx, onnx-int8@64, onnx-int8:" in lines[0]
    assert "onnx, onnxruntime not installed" in lines[0] and "[onnx]" in lines[0]


def test_the_onnx_backend_names_the_missing_extra_instead_of_failing_deep_inside(
    monkeypatch, tmp_path
):
    from bench import onnx_backend

    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert "onnxruntime" in onnx_backend.missing_requirements()
    for call in (
        lambda: onnx_backend.export_onnx(tmp_path),
        lambda: onnx_backend.quantize_int8(tmp_path / "model.onnx", tmp_path),
        lambda: onnx_backend.OnnxEncoder(tmp_path / "model.onnx", variant="onnx"),
    ):
        with pytest.raises(ModuleNotFoundError, match=r"onnxruntime.*pip install -e '\.\[onnx\]'"):
            call()
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_nothing_is_skipped_when_every_backend_can_run(monkeypatch, capsys):
    from bench import onnx_backend, speed

    monkeypatch.setattr(onnx_backend, "missing_requirements", list)
    encoding, rebuild = speed.runnable_variants("torch,onnx-int8@64", "onnx")
    assert [v.label for v in encoding] == ["torch", "onnx-int8@64"] and len(rebuild) == 1
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("spec", "message"), [("torch,tensorflow", "unknown backend 'tensorflow'"), ("torch@x", "@")]
)
def test_an_unknown_backend_ends_the_run_with_a_message(spec, message):
    from bench import speed

    with pytest.raises(SystemExit, match=message):
        speed.runnable_variants(spec)


@pytest.mark.slow
def test_a_real_model_run_without_the_onnx_extra_skips_its_backends_and_finishes(tmp_path):
    # The README's run without the onnx extra: --backends torch, default rebuild backends.
    script = str(ROOT / "bench" / "speed.py")
    code = WITHOUT_ONNX.format(extra=ONNX_EXTRA, script=script)
    options = "--sizes 200 --backends torch --rebuild-entries 20 --encode-sample 40 --queries 4"
    result = subprocess.run(
        [sys.executable, "-c", code, *options.split(), "--kinds", "flat", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Traceback" not in result.stderr
    skips = [line for line in result.stdout.splitlines() if "skipping" in line]
    assert len(skips) == 1 and "onnx, onnx-int8" in skips[0]
    report = json.loads((tmp_path / "speed.json").read_text())
    assert [row["backend"] for row in report["encoding"]] == ["torch"]
    assert [row["backend"] for row in report["rebuild"]] == ["torch"]
    assert report["rebuild"][0]["entries"] == 20
    assert result.stdout.strip().splitlines()[-1].startswith("SPEED_JSON ")


async def test_the_bulk_path_writes_the_rows_the_store_api_writes(tmp_path):
    items = list(synthetic.entries(5, 0, 60, main_share=0.7))
    api = await KnowledgeStore.open(tmp_path / "api" / "senpai.db")
    try:
        await synthetic.insert_via_api(api, items)
    finally:
        await api.close()
    bulk = await KnowledgeStore.open(tmp_path / "bulk" / "senpai.db")
    await bulk.close()
    synthetic.bulk_insert(tmp_path / "bulk" / "senpai.db", 5, 60, main_share=0.7, chunk=25)

    def dump(path: Path) -> dict[str, list[tuple]]:
        db = sqlite3.connect(path)
        try:
            columns = (
                "id, guild_id, forum_id, thread_id, title, question, question_message_id, "
                "asker_id, asker_name, tags, asked_at, solved_at, jump_url, language, scope, "
                "hits, revision"
            )
            return {
                "entries": db.execute(f"SELECT {columns} FROM entries ORDER BY id").fetchall(),
                "parts": db.execute("SELECT * FROM answer_parts ORDER BY entry_id").fetchall(),
                "fts": db.execute("SELECT rowid, * FROM entries_fts ORDER BY rowid").fetchall(),
                "terms": db.execute("SELECT rowid, * FROM entries_terms ORDER BY rowid").fetchall(),
                "revision": db.execute(
                    "SELECT value FROM kb_meta WHERE key = 'revision'"
                ).fetchall(),
                "vocab": db.execute(
                    "SELECT term, doc, cnt FROM entries_terms_vocab ORDER BY term"
                ).fetchall(),
                "frequencies": db.execute(
                    "SELECT * FROM term_frequencies ORDER BY guild_id, term"
                ).fetchall(),
            }
        finally:
            db.close()

    assert dump(tmp_path / "bulk" / "senpai.db") == dump(tmp_path / "api" / "senpai.db")


def test_synthetic_entries_are_deterministic_and_labelled_like_the_engine_would():
    first = list(synthetic.entries(3, 0, 300))
    assert first == list(synthetic.entries(3, 0, 300))
    assert first[100:110] == list(synthetic.entries(3, 100, 110))
    for item in first:
        assert item.language == detect_language(f"{item.title}\n{item.question}")
        text = f"{item.title}\n{item.question}\n{item.answer}"
        assert synthetic.segmented(text) == lexical.document(text)
    assert {item.language for item in first} == {"en", "ja"}
    assert len(synthetic.queries(3, 20)) == 20


def test_synthetic_entries_spread_over_as_many_other_guilds_as_asked():
    default = {e.guild_id for e in synthetic.entries(3, 0, 2000, main_share=0.1)}
    assert default - {synthetic.GUILD_MAIN} <= set(synthetic._OTHER_GUILDS)
    spread = {e.guild_id for e in synthetic.entries(3, 0, 2000, main_share=0.1, other_guilds=999)}
    allowed = {synthetic.other_guild(n) for n in range(1, 1000)} | {synthetic.GUILD_MAIN}
    assert spread <= allowed and len(spread) > 500
    assert synthetic.other_guild(1) == synthetic._OTHER_GUILDS[0]


def test_mixture_vectors_are_unit_length_and_regenerate_by_slice():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((50, 16)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    whole = synthetic.mixture_vectors(base, 9, 0, 10_000)
    assert whole.shape == (10_000, 16) and whole.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(whole, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(synthetic.mixture_vectors(base, 9, 4000, 9000), whole[4000:9000])
    assert not np.array_equal(synthetic.mixture_vectors(base, 10, 0, 100), whole[:100])


@pytest.mark.slow
def test_the_onnx_backends_agree_with_torch(tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from bench.onnx_backend import OnnxEncoder, export_onnx, quantize_int8
    from index.encoder import SentenceTransformerEncoder

    texts = [
        "SAML login fails with an invalid audience error",
        "CSVインポートで文字化けする",
        "x",
        "webhook " * 300,  # beyond the 256-token cut
    ]
    reference = SentenceTransformerEncoder().encode(texts)
    fp32 = export_onnx(tmp_path)
    int8 = quantize_int8(fp32, tmp_path)
    exact = OnnxEncoder(fp32, variant="onnx")
    assert exact.name == "all-MiniLM-L6-v2+onnx" and exact.dim == 384
    np.testing.assert_allclose((exact.encode(texts) * reference).sum(axis=1), 1.0, atol=1e-4)
    quantised = OnnxEncoder(int8, variant="onnx-int8").encode(texts)
    assert ((quantised * reference).sum(axis=1) > 0.95).all()
    assert exact.encode([]).shape == (0, 384)
