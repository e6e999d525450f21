"""Tests of index.encoder: the hashing encoder, and the packaged sentence-transformers model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from index import (
    DEFAULT_MODEL,
    Encoder,
    HashingEncoder,
    SentenceTransformerEncoder,
    default_model_path,
)

ROOT = Path(__file__).resolve().parents[1]

PASSWORD = "How do I reset my password?"
PASSWORD_AGAIN = "I forgot my password, how can I change it?"
CSV = "The CSV import fails with an encoding error"

TEXTS = [
    PASSWORD,
    PASSWORD_AGAIN,
    CSV,
    "パスワードをリセットする方法を教えてください",
    "",
    "Ünïcödé — ＦＵＬＬ ｗｉｄｔｈ",
]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


# HashingEncoder ------------------------------------------------------------------------


def test_hashing_rows_are_unit_float32_of_the_requested_width():
    encoder = HashingEncoder(128)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 128)
    assert vectors.dtype == np.float32
    assert vectors.flags.c_contiguous
    norms = np.linalg.norm(vectors, axis=1)
    blank = TEXTS.index("")
    np.testing.assert_allclose(np.delete(norms, blank), 1.0, rtol=1e-6)
    assert norms[blank] == 0.0  # nothing to hash: the zero vector


def test_hashing_an_empty_list_gives_zero_rows():
    assert HashingEncoder().encode([]).shape == (0, 256)


def test_hashing_refuses_a_bare_string():
    with pytest.raises(TypeError, match="not a single string"):
        HashingEncoder().encode(PASSWORD)


def test_hashing_name_and_dim_identify_the_encoder():
    encoder: Encoder = HashingEncoder(64)
    assert (encoder.name, encoder.dim) == ("hashing-64", 64)
    assert HashingEncoder().name == "hashing-256"
    with pytest.raises(ValueError, match="at least 2"):
        HashingEncoder(1)


def test_hashing_is_pinned_to_its_scheme():
    # " ab " has five grams: " a", "ab", "b ", " ab", "ab ". With blake2b they land in
    # buckets 0, 1, 2 (+) and 14, 15 (-) of 16. If this changes, saved "hashing-16"
    # indexes no longer match their queries: change the name along with the scheme.
    vector = HashingEncoder(16).encode(["ab"])[0] * np.sqrt(5)
    expected = np.zeros(16)
    expected[[0, 1, 2]] = 1
    expected[[14, 15]] = -1
    np.testing.assert_allclose(vector, expected, atol=1e-6)


def test_hashing_is_identical_across_processes_with_different_hash_seeds():
    code = (
        "import sys, json\n"
        "from index import HashingEncoder\n"
        f"texts = json.loads({json.dumps(TEXTS)!r})\n"
        "sys.stdout.write(HashingEncoder(64).encode(texts).tobytes().hex())\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
        )
        outputs.add(result.stdout)
    assert outputs == {HashingEncoder(64).encode(TEXTS).tobytes().hex()}


def test_hashing_ignores_case_width_and_spacing():
    encoder = HashingEncoder()
    a, b, c = encoder.encode(["Reset  my PASSWORD", "reset my password", "ｒｅｓｅｔ my\tpassword"])
    np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(b, c)


@pytest.mark.parametrize(
    ("query", "similar", "unrelated"),
    [
        (PASSWORD, PASSWORD_AGAIN, CSV),
        (
            "パスワードをリセットする方法を教えてください",
            "パスワードを忘れたのでリセットしたい",
            "CSVのインポートでエンコードエラーが出ます",
        ),
        ("CSV import encoding error", CSV, PASSWORD),
    ],
)
def test_hashing_ranks_similar_texts_above_unrelated_ones(query, similar, unrelated):
    q, s, u = HashingEncoder().encode([query, similar, unrelated])
    assert cosine(q, s) > cosine(q, u) + 0.2


def test_hashing_encodes_each_text_independently_of_its_batch():
    encoder = HashingEncoder()
    together = encoder.encode(TEXTS)
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    np.testing.assert_array_equal(together, alone)


# SentenceTransformerEncoder --------------------------------------------------------------


@pytest.mark.parametrize("model", [None, DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"])
def test_the_default_model_has_a_stable_name_and_loads_lazily(model):
    encoder: Encoder = SentenceTransformerEncoder(model)
    assert encoder.name == DEFAULT_MODEL
    assert isinstance(encoder, SentenceTransformerEncoder)
    assert not encoder.loaded


def test_another_model_keeps_the_name_it_was_given(tmp_path):
    assert SentenceTransformerEncoder("intfloat/multilingual-e5-small").name == (
        "intfloat/multilingual-e5-small"
    )
    assert SentenceTransformerEncoder(tmp_path).name == str(tmp_path)
    with pytest.raises(ValueError, match="max_seq_length"):
        SentenceTransformerEncoder(max_seq_length=0)


def test_the_packaged_model_directory_is_installed():
    path = default_model_path()
    assert (path / "modules.json").is_file()
    assert (path / "model.safetensors").is_file()


@pytest.fixture(scope="module")
def real_encoder() -> SentenceTransformerEncoder:
    encoder = SentenceTransformerEncoder()
    encoder.load()
    return encoder


@pytest.mark.slow
def test_the_packaged_model_encodes_offline_into_unit_rows(real_encoder):
    assert "HF_HUB_OFFLINE" in os.environ  # set for the local model, unless already set
    assert real_encoder.loaded
    assert real_encoder.dim == 384
    vectors = real_encoder.encode([PASSWORD, PASSWORD_AGAIN, CSV], batch_size=2)
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    assert real_encoder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_the_packaged_model_puts_paraphrases_closer_than_unrelated_text(real_encoder):
    query, paraphrase, unrelated = real_encoder.encode([PASSWORD, PASSWORD_AGAIN, CSV])
    assert cosine(query, paraphrase) > cosine(query, unrelated) + 0.3


@pytest.mark.slow
def test_the_packaged_model_is_safe_to_share_between_threads(real_encoder):
    expected = real_encoder.encode([PASSWORD, CSV])
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: real_encoder.encode([PASSWORD, CSV]), range(8)))
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-5)
