"""Unit tests of ``knowledge.scripts``: the one Japanese script classifier."""

from __future__ import annotations

import pytest

from knowledge import cleaning, lexical
from knowledge.scripts import is_hiragana, is_japanese, japanese_script


@pytest.mark.parametrize(
    ("char", "script"),
    [
        ("ぁ", "hiragana"),
        ("あ", "hiragana"),
        ("ゖ", "hiragana"),
        ("ゝ", "hiragana"),  # hiragana iteration mark
        ("゛", "hiragana"),
        ("ア", "katakana"),
        ("ー", "katakana"),  # prolonged sound mark
        ("ヽ", "katakana"),
        ("ㇰ", "katakana"),  # phonetic extension
        ("ｱ", "katakana"),  # half-width
        ("ｰ", "katakana"),  # half-width prolonged sound mark
        ("ﾟ", "katakana"),
        ("漢", "kanji"),
        ("㐀", "kanji"),  # extension A
        ("﨑", "kanji"),  # compatibility ideograph
        ("𠮷", "kanji"),  # extension B
        ("々", "kanji"),  # iteration mark
        ("〆", "kanji"),
        ("〇", "kanji"),
    ],
)
def test_japanese_characters_get_their_script(char: str, script: str):
    assert japanese_script(char) == script
    assert is_japanese(char)
    assert is_hiragana(char) == (script == "hiragana")


@pytest.mark.parametrize(
    "char",
    ["a", "Z", "1", "１", "Ａ", " ", "\u3000", "。", "、", "「", "・", "é", "한", "😀", "\u3040"],
)
def test_other_characters_are_not_japanese(char: str):
    assert japanese_script(char) is None
    assert not is_japanese(char)
    assert not is_hiragana(char)


def test_cleaning_and_lexical_use_the_one_classifier():
    assert cleaning.is_japanese is is_japanese
    assert lexical.japanese_script is japanese_script
