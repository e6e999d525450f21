"""Checking a server's glossary terms and files (pure): every bad term or line is refused
with its reason (and line number), nothing is half-read."""

from __future__ import annotations

import pytest

from knowledge.glossary_store import (
    MAX_IMPORT_LINES,
    MAX_SYNONYMS,
    MAX_TERM_CHARS,
    GlossaryImportError,
    GlossaryInputError,
    TermProblem,
    export_tsv,
    parse_term,
    parse_tsv,
)


def test_a_term_is_cleaned_and_its_synonyms_split() -> None:
    assert parse_term(" スマート配信 ", "Smart Send | smart  sending") == (
        "スマート配信",
        ("Smart Send", "smart sending"),
    )
    # Half-width katakana and full-width Latin are folded like the bridge folds questions.
    assert parse_term("ｽﾏｰﾄ配信", "Ｓｍａｒｔ Send") == ("スマート配信", ("Smart Send",))
    # Kanji cut by okurigana still match in a Japanese question (one direction only).
    assert parse_term("差し戻し", "send back") == ("差し戻し", ("send back",))


@pytest.mark.parametrize(
    ("japanese", "english", "code"),
    [
        ("", "Smart Send", TermProblem.EMPTY),
        ("スマート配信", "  ", TermProblem.EMPTY),
        ("Smart Send", "Smart Send", TermProblem.NOT_JAPANESE),
        ("スマート配信", "スマート", TermProblem.HAS_JAPANESE),
        ("ス" * (MAX_TERM_CHARS + 1), "Smart Send", TermProblem.TOO_LONG),
        (
            "スマート配信",
            "|".join(f"send{i}" for i in range(MAX_SYNONYMS + 1)),
            TermProblem.TOO_MANY_SYNONYMS,
        ),
        ("税", "tax", TermProblem.TOO_SHORT),
        ("スマート配信", "a", TermProblem.TOO_SHORT),
        ("スマート配信|スマ配", "Smart Send", TermProblem.FORMAT),
    ],
)
def test_a_bad_term_is_refused_with_its_reason(japanese: str, english: str, code: str) -> None:
    with pytest.raises(GlossaryInputError) as caught:
        parse_term(japanese, english)
    assert caught.value.code == code


def test_an_import_reports_every_bad_line_with_its_number() -> None:
    text = "\n".join(
        [
            "# our product words",
            "スマート配信\tSmart Send",
            "承認フロー approval flow",  # no tab
            "",
            "承認フロー\t承認",  # Japanese on the English side
            "スマート配信\tSmart Delivery",  # twice
            "配信予約|予約配信\tscheduled send",
        ]
    )
    with pytest.raises(GlossaryImportError) as caught:
        parse_tsv(text)
    assert [(p.line, p.code) for p in caught.value.problems] == [
        (3, TermProblem.FORMAT),
        (5, TermProblem.HAS_JAPANESE),
        (6, TermProblem.DUPLICATE),
    ]


def test_an_import_gives_each_japanese_synonym_the_same_english() -> None:
    assert parse_tsv("\ufeff配信予約|予約配信\tscheduled send|send later\r\n") == [
        ("配信予約", ("scheduled send", "send later")),
        ("予約配信", ("scheduled send", "send later")),
    ]


def test_an_import_too_long_is_refused_before_reading_it() -> None:
    with pytest.raises(GlossaryImportError) as caught:
        parse_tsv("スマート配信\tSmart Send\n" * (MAX_IMPORT_LINES + 1))
    assert [p.code for p in caught.value.problems] == [TermProblem.TOO_MANY_LINES]


def test_an_empty_export_is_its_header_alone() -> None:
    assert export_tsv([]).startswith("#") and export_tsv([]).count("\n") == 1
