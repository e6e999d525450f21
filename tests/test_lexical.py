"""Pure unit tests of the lexical segmentation and weights."""

from __future__ import annotations

import pytest

from knowledge import lexical


def test_english_words_are_lowercased_lightly_stemmed_and_stopwords_dropped():
    assert lexical.terms("How do I reset the Passwords for users?") == ["reset", "password", "user"]


def test_japanese_runs_become_bigrams_and_particles_are_dropped():
    assert lexical.terms("CSVを取り込むと文字化けします") == ["csv", "取", "込", "文字", "字化"]


def test_full_width_text_is_normalised_before_segmentation():
    assert lexical.terms("ＳＡＭＬ　ログイン") == lexical.terms("SAML ログイン")


def test_text_of_only_hiragana_keeps_its_bigrams():
    assert lexical.terms("ありがとう") == ["あり", "りが", "がと", "とう"]


def test_match_expressions_quote_every_term():
    assert lexical.match_expression(['a"b', "c"]) == '"a""b" OR "c"'


def test_identifiers_are_kept_whole_for_substring_search():
    needles = lexical.substring_needles("Error 0x80070005 after upgrading to SAML2.0 on v3")
    assert "0x80070005" in needles and "saml2.0" in needles
    assert "error" not in needles


def test_selective_terms_prefer_rare_terms_and_skip_absent_and_common_ones():
    freqs = {"the": 900, "saml": 3, "login": 40, "okta": 1}
    chosen = lexical.selective_terms(["the", "saml", "login", "okta", "nowhere"], freqs, 1000)
    assert chosen == ["okta", "saml", "login"]
    assert lexical.selective_terms(["the"], freqs, 1000) == ["the"]  # nothing rarer left
    assert lexical.selective_terms(["nowhere"], freqs, 1000) == []


def test_weighted_overlap_is_the_share_of_query_weight_found():
    weights = {"saml": 3.0, "login": 1.0}
    assert lexical.weighted_overlap(["saml", "login"], {"saml"}, weights) == pytest.approx(0.75)
    assert lexical.weighted_overlap(["saml"], set(), weights) == 0.0
    assert lexical.weighted_overlap([], {"saml"}, weights) == 0.0


def test_idf_is_positive_and_falls_with_frequency():
    assert lexical.idf(100, 1) > lexical.idf(100, 50) > 0
    assert lexical.idf(100, 0) == lexical.idf(100, 1)
    assert lexical.idf(0, 0) == lexical.idf(1, 1) > 0  # an emptied server: no negative weight


def test_iteration_marks_and_rare_kanji_are_kanji_like_in_cleaning():
    assert lexical.terms("人々の設定") == ["人々", "設定"]
    assert lexical.terms("𠮷野家") == ["𠮷野", "野家"]
