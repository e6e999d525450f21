"""Smoke test of bench/glossary_terms.py (a community's own terms on the bilingual
communities), with the model-free hashing encoder, so that it cannot rot."""

from __future__ import annotations

import pytest

from bench import bilingual, glossary_terms
from knowledge.glossary_store import MAX_TERMS, parse_tsv


@pytest.mark.parametrize("directory", bilingual.community_dirs(bilingual.DATA_DIR))
def test_every_community_has_a_glossary_an_admin_could_import(directory) -> None:
    terms = parse_tsv((directory / glossary_terms.GLOSSARY_FILE).read_text("utf-8"))
    assert 0 < len(terms) <= MAX_TERMS


def test_the_experiment_runs_and_reports_both_splits_apart(capsys) -> None:
    assert glossary_terms.main(["--model", "hashing"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("model hashing")
    assert "salesloom" in out[0] and "tsumiki" in out[0]
    rows = [line.split() for line in out if line.startswith(("tuning", "held-out"))]
    # Both splits, three kinds of question, without and with the terms.
    assert {(r[0], r[1], r[2]) for r in rows} == {
        (split, kind, label)
        for split in ("tuning", "held-out")
        for kind in ("all", "same-language", "cross-language")
        for label in ("without", "with")
    }
    assert "changed by the terms:" in out
