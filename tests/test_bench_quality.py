"""Smoke test of the quality benchmark (bench/quality.py), so that it cannot rot.

The real benchmark takes minutes with the real model; this runs its --quick
mode with the model-free hashing encoder, in seconds. The bilingual community's
data is checked for the shape its README promises, and its protocol is run alone.
"""

from __future__ import annotations

import json
import runpy
from collections import Counter

import pytest

from bench import bilingual, quality, semeval
from knowledge.discord_chat_exporter import load_export
from knowledge.solution_inference import infer_solution

DATA = semeval.default_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA / semeval.DEV_GOLD_FILE).is_file(), reason="SemEval-2016 data not found"
)


def test_official_average_precision() -> None:
    # Relevant at ranks 1 and 3: (1/1 + 2/3) / 2; nothing relevant: 0.
    assert semeval.average_precision([True, False, True]) == pytest.approx(5 / 6)
    assert semeval.average_precision([False] * 10) == 0.0
    # Only the top 10 count.
    assert semeval.average_precision([False] * 10 + [True]) == 0.0
    scores = semeval.score_rankings([[False, True], [False, False]])
    assert scores.map == pytest.approx(0.25)
    assert scores.mrr == pytest.approx(0.25)
    assert scores.p1 == 0.0


@needs_data
def test_scorer_reproduces_the_published_search_engine_baseline() -> None:
    gold = semeval.load_gold(DATA / semeval.DEV_GOLD_FILE)
    scores = semeval.score_rankings(semeval.gold_engine_rankings(gold))
    assert round(100 * scores.map, 2) == 71.35
    dev = semeval.load("dev", DATA)
    assert len(dev) == 50 and sum(len(q.related) for q in dev) == 500
    assert semeval.score_rankings(semeval.engine_rankings(dev)) == scores


@needs_data
def test_quick_run_ends_with_json_summary(tmp_path, capsys) -> None:
    assert quality.main(["--quick", "--model", "hashing", "--out", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    for key in ("rerank_map", "kb_p1", "kb_r3", "kb_silence"):
        assert 0.0 <= summary[key] <= 1.0, key
    assert any(line.startswith("Re-ranking") for line in lines)
    assert any(line.startswith("Knowledge base") for line in lines)
    # The default runs the bilingual protocol too, after SemEval's tables.
    assert any(line.startswith("Bilingual community") for line in lines)
    assert 0.0 <= summary["bilingual_p1"] <= 1.0


# -- the bilingual community (bench/data/bilingual) -----------------------------------------


def test_bilingual_data_has_the_promised_shape() -> None:
    data = bilingual.load()
    questions = data.questions
    kinds = Counter(q.kind for q in questions)
    assert len(data.thread_ids) >= 40 and len(questions) >= 60
    assert kinds["cross-language"] >= 20
    assert kinds["unanswerable-near-miss"] + kinds["unanswerable-unrelated"] >= 15
    assert len({q.id for q in questions}) == len(questions)
    # Every kind is split about half and half between tuning and held-out.
    for kind in bilingual.KINDS:
        splits = Counter(q.split for q in questions if q.kind == kind)
        assert abs(splits["tuning"] - splits["held-out"]) <= 1, kind
    # Both languages ask, and every thread is the answer to some question.
    assert {q.language for q in questions} == {"en", "ja"}
    assert set().union(*(q.relevant for q in questions)) == data.thread_ids


def test_bilingual_threads_are_generated_from_their_source() -> None:
    build = runpy.run_path(str(bilingual.DATA_DIR / "build.py"))
    assert build["main"](["--check"]) == 0


def test_every_bilingual_thread_is_solved_by_a_reply() -> None:
    data = bilingual.load()
    files = sorted(data.threads_dir.glob("*.json"))
    assert len(files) == len(data.thread_ids)
    for path in files:
        thread = load_export(path)
        solution = infer_solution(thread)
        assert solution is not None, path.name
        asker = thread.messages[0].author.id
        answers = [m for m in thread.messages if m.id in solution.answer_ids]
        assert answers and all(m.author.id != asker and not m.author.bot for m in answers)


def test_bilingual_load_rejects_a_question_about_an_unknown_thread(tmp_path) -> None:
    raw = json.loads((bilingual.DATA_DIR / "questions.json").read_text(encoding="utf-8"))
    raw["questions"][0]["relevant"] = ["123"]
    (tmp_path / "questions.json").write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(bilingual.BilingualDataError, match="not listed"):
        bilingual.load(tmp_path)


def test_bilingual_protocol_alone_ends_with_its_json_fields(tmp_path, capsys) -> None:
    assert (
        quality.main(["--protocol", "bilingual", "--model", "hashing", "--out", str(tmp_path)]) == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(lines[-1])
    for suffix in ("", "_tuning"):
        for key in ("p1", "cross_p1", "r3", "silence", "precision"):
            assert 0.0 <= summary[f"bilingual_{key}{suffix}"] <= 1.0, key
    # The labels reach the imported threads: same-language questions are found.
    assert summary["bilingual_r3"] > 0 and summary["bilingual_r3_tuning"] > 0
    assert "rerank_map" not in summary
    assert any(line.startswith("Bilingual community") for line in lines)
    assert not any(line.startswith("Re-ranking") for line in lines)
