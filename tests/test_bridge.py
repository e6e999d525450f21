"""The cross-language lexical bridge: glossary loading, matching, expansion and scoring,
and the engine finding an English thread for a Japanese question through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge import bridge, lexical
from knowledge.engine import KnowledgeBase, SearchConfig
from knowledge.models import Query
from knowledge.profiles import E5, MINILM
from tests.builders import GUILD, reply_ids, thread

SMALL = bridge.Glossary.parse(
    [
        "# a comment",
        "",
        "請求書\tinvoice",
        "ログイン|サインイン\tlogin|log in|sign in",
        "ログインできない\tcan't log in|unable to log in",
        "文字化け\tgarbled characters|mojibake",
        "書き出し|エクスポート\texport",
        "設定\tsettings",
    ]
)


def surfaces(text: str, glossary: bridge.Glossary = SMALL) -> list[str]:
    return [e.surface for e in glossary.find(text)]


def test_the_shipped_glossary_loads_with_hundreds_of_concepts_both_ways():
    glossary = bridge.shipped()
    assert len(glossary) >= 600
    assert "請求書" in surfaces("請求書はどこ?", glossary)
    assert "invoice" in surfaces("Where is the invoice?", glossary)


def test_a_japanese_term_brings_its_english_equivalents():
    (found,) = SMALL.find("請求書が届きません")
    assert found.surface == "請求書"
    assert found.source == ("請求", "求書")
    assert found.targets == (("invoice",),)


def test_an_english_term_brings_its_japanese_bigrams_whatever_its_inflection():
    (found,) = SMALL.find("Our invoices never arrive")
    assert found.surface == "invoices"
    assert found.targets == (("請求", "求書"),)


def test_english_terms_match_whole_words_only():
    assert surfaces("the login page") == ["login"]
    assert surfaces("my bloginfo page and the invoicer tool") == []


def test_multi_word_english_terms_match_as_a_sequence():
    assert surfaces("I can't log in since Monday") == ["can t log in"]  # the words, as matched
    assert surfaces("please log the error in the ticket") == []


def test_the_longest_japanese_term_wins_at_each_position():
    assert surfaces("今朝からログインできない") == ["ログインできない"]
    assert surfaces("ログイン画面の設定") == ["ログイン", "設定"]


def test_a_latin_prefix_in_a_japanese_term_does_not_cut_an_english_word():
    glossary = bridge.Glossary.parse(["csvファイル\tcsv file"])
    assert surfaces("CSVファイルが開けない", glossary) == ["csvファイル"]
    assert surfaces("xcsvファイル", glossary) == []


def test_unrelated_text_gets_no_expansion():
    for text in ("今日は天気がいいですね", "The weather is nice today", "", "!!!"):
        found = SMALL.find(text)
        assert found == []
        assert bridge.expansion_terms(found, lexical.terms(text)) == []


def test_single_kanji_cut_off_by_hiragana_is_not_an_equivalent():
    (found,) = SMALL.find("How do I export this?")
    assert found.targets == (("エク", "クス", "スポ", "ポー", "ート"),)  # not 書 nor 出


def test_expansion_terms_skip_what_the_question_already_holds():
    text = "invoice 請求書"
    found = SMALL.find(text)
    assert bridge.expansion_terms(found, lexical.terms(text)) == []


@pytest.mark.parametrize(
    "line",
    ["請求書 invoice", "請求書\t", "\tinvoice", "invoice\tinvoice", "請求書\t請求書", "a\tb\tc"],
)
def test_a_bad_glossary_line_is_refused_with_its_line_number(line: str):
    with pytest.raises(bridge.GlossaryError, match="line 2"):
        bridge.Glossary.parse(["# header", line])


def test_a_server_can_extend_the_glossary_with_its_own_product_terms():
    extended = SMALL.extended(["積み木ボード\tblock board"])
    assert surfaces("積み木ボードが消えた", extended) == ["積み木ボード"]
    assert surfaces("積み木ボードが消えた") == []
    assert len(extended) == len(SMALL) + 1


def test_a_concept_found_in_the_other_language_counts_at_the_bridge_weight():
    query = "請求書"
    terms = lexical.terms(query)
    found = SMALL.find(query)
    weights = {"請求": 2.0, "求書": 2.0}
    english_doc = {"invoice", "email"}
    assert lexical.weighted_overlap(terms, english_doc, weights) == 0.0
    assert bridge.bridged_overlap(terms, found, english_doc, weights, 0.5) == pytest.approx(0.5)
    assert bridge.bridged_overlap(terms, found, english_doc, weights, 0.0) == 0.0


def test_a_same_language_match_scores_as_without_the_bridge():
    query = "請求書の設定"
    terms = lexical.terms(query)
    found = SMALL.find(query)
    weights = {t: 1.0 + i for i, t in enumerate(terms)}
    japanese_doc = set(lexical.terms("請求書の設定を変える"))
    partly = {"請求", "求書", "settings"}
    assert bridge.bridged_overlap(terms, found, japanese_doc, weights, 0.5) == pytest.approx(
        lexical.weighted_overlap(terms, japanese_doc, weights)
    )
    # The concept found in Japanese is not credited again by its translation.
    bridged = bridge.bridged_overlap(terms, found, partly | {"invoice"}, weights, 0.5)
    assert bridged == pytest.approx(bridge.bridged_overlap(terms, found, partly, weights, 0.5))
    assert 0.0 < bridged <= 1.0


def test_the_bridge_is_in_the_profiles_search_settings():
    for profile in (E5, MINILM):
        config = profile.search_config()
        assert (config.glossary is bridge.shipped()) == profile.bridge
        assert config.bridge_weight == profile.bridge_weight


def test_a_bridge_weight_outside_0_and_1_is_refused():
    with pytest.raises(ValueError, match="bridge_weight"):
        SearchConfig(bridge_weight=1.5)


INVOICE = (
    "Invoice PDF download fails",
    "Downloading the monthly invoice as PDF fails with an error in the billing page.",
    ["Turn off the pop-up blocker for our domain; the PDF opens in a new window."],
)
WEBHOOK = (
    "Webhook deliveries retried forever",
    "Our endpoint returns 200 but the webhook keeps retrying the same event.",
    ["Respond within 5 seconds; slow responses count as failures and are retried."],
)
CALENDAR = (
    "Calendar events show the wrong time zone",
    "Meetings created on mobile appear one hour off in the web calendar.",
    ["Set the workspace time zone in Settings > General; mobile follows the device."],
)


async def _first_for(tmp_path: Path, config: SearchConfig, question: str) -> tuple[int, list[int]]:
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), config)
    try:
        ids = []
        for title, text, answers in (INVOICE, WEBHOOK, CALENDAR):
            t = thread(title, text, answers)
            ids.append((await kb.capture(t, reply_ids(t))).entry_id)
        suggestions = await kb.suggest(Query(guild_id=GUILD, text=question))
        return ids[0], [s.entry.id for s in suggestions]
    finally:
        await kb.close()


async def test_a_japanese_question_finds_the_english_thread_only_through_the_bridge(
    tmp_path: Path,
):
    question = "請求書がダウンロードできません"
    plain = SearchConfig(threshold=0.2, dense_weight=0.5)
    bridged = SearchConfig(threshold=0.2, dense_weight=0.5, glossary=bridge.shipped())
    invoice, without = await _first_for(tmp_path / "plain", plain, question)
    assert without[:1] != [invoice]
    invoice, with_bridge = await _first_for(tmp_path / "bridged", bridged, question)
    assert with_bridge[:1] == [invoice]


def test_an_english_question_over_english_documents_scores_as_without_the_bridge():
    query = "I can't log in and the invoice export is garbled"
    terms = lexical.terms(query)
    found = bridge.shipped().find(query)
    assert found  # the glossary does know these words
    weights = {t: 1.0 + len(t) for t in terms}
    for doc in ("invoice export fails", "login loop after sso", "nothing in common"):
        doc_terms = set(lexical.terms(doc))
        assert bridge.bridged_overlap(terms, found, doc_terms, weights, 1.0) == pytest.approx(
            lexical.weighted_overlap(terms, doc_terms, weights)
        )
