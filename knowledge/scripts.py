"""Which Japanese script a character is written in: the one classifier of the code base.

Cleaning (language detection, cuts that may fall between two Japanese characters)
and lexical matching (segmentation into words and character bigrams) both ask it,
so they never disagree on what counts as Japanese.

* Hiragana: U+3041..U+309F, including the voicing marks ゛ ゜ and the iteration
  marks ゝ ゞ.
* Katakana: U+30A1..U+30FF (the prolonged sound mark ー and the iteration marks
  ヽ ヾ included; the punctuation ゠ and ・ are not letters and left out), the
  phonetic extensions U+31F0..U+31FF and half-width katakana U+FF66..U+FF9F
  (half-width ｰ ﾞ ﾟ included, the half-width ･ left out).
* Kanji: the CJK unified ideographs U+4E00..U+9FFF, extension A U+3400..U+4DBF,
  the compatibility ideographs U+F900..U+FAFF, extensions B and later
  U+20000..U+3FFFF, and the ideographic marks 々 〆 〇 (U+3005..U+3007).
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["JapaneseScript", "is_hiragana", "is_japanese", "japanese_script"]

JapaneseScript = Literal["hiragana", "katakana", "kanji"]

_HIRAGANA: Final = ((0x3041, 0x309F),)
_KATAKANA: Final = ((0x30A1, 0x30FA), (0x30FC, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
_KANJI: Final = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0xF900, 0xFAFF),
    (0x20000, 0x3FFFF),
    (0x3005, 0x3007),
)


def japanese_script(char: str) -> JapaneseScript | None:
    """The Japanese script of the single character ``char``, or ``None`` for anything else."""
    code = ord(char)
    if code < 0x3005:  # ASCII, Latin, punctuation: the common case, answered at once
        return None
    if _within(code, _HIRAGANA):
        return "hiragana"
    if _within(code, _KATAKANA):
        return "katakana"
    if _within(code, _KANJI):
        return "kanji"
    return None


def _within(code: int, ranges: tuple[tuple[int, int], ...]) -> bool:
    return any(low <= code <= high for low, high in ranges)


def is_japanese(char: str) -> bool:
    """Whether ``char`` is kana (full- or half-width) or a kanji."""
    return japanese_script(char) is not None


def is_hiragana(char: str) -> bool:
    """Whether ``char`` is hiragana, the script of Japanese grammar."""
    return japanese_script(char) == "hiragana"
