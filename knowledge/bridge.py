"""A cross-language lexical bridge: Japanese and English terms of the same concept.

The lexical channel matches words, so a Japanese question ("請求書が届かない")
shares no term with an English thread ("invoice email never arrived"), and a
small multilingual encoder is weak across the two languages. The bridge reads
a bilingual glossary (``knowledge/glossary/ja_en.tsv``), finds its terms in a
question and gives the retriever the other language's equivalents, as a
query-side expansion with less weight than the question's own words
(:func:`bridged_overlap`). Documents are not touched, so the lexical engines
(FTS5 today, any other over :func:`knowledge.lexical.terms`) need no change.

Matching respects segmentation: a Japanese glossary term matches as a
substring of the Japanese text, an English one only as whole words (compared
after the lexical stemmer), and at each position the longest term wins, so
"ログインできない" is one concept, not "ログイン" plus "できない".

A server's own product vocabulary extends the shipped glossary with
:meth:`Glossary.extended` (the same "Japanese<TAB>English" lines).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from knowledge import lexical
from knowledge.scripts import japanese_script

SYNONYMS = "|"
"""Separates the synonyms on one side of a glossary line."""

_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Concept:
    """One glossary line: the same meaning in Japanese and in English."""

    japanese: tuple[str, ...]
    english: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Expansion:
    """A glossary concept found in a text, and what it adds to the query.

    ``source``: the text's own lexical terms of the matched span;
    ``targets``: the lexical terms of each synonym in the other language.
    """

    surface: str
    source: tuple[str, ...]
    targets: tuple[tuple[str, ...], ...]


class GlossaryError(ValueError):
    """A glossary line that cannot be read (its line number says where)."""


def _match_key(word: str) -> str:
    """An English word as compared with glossary words: stemmed, a final ``e`` dropped,
    so "invoice", "invoices" and "invoiced" meet."""
    stem = lexical._stem(word)
    return stem[:-1] if len(stem) > 4 and stem.endswith("e") else stem


def _english_words(text: str) -> list[str]:
    return [_match_key(w) for w in _WORD.findall(lexical.normalise(text))]


def _is_japanese(text: str) -> bool:
    return any(japanese_script(c) for c in text)


class Glossary:
    """Japanese and English terms of the same concepts, indexed for longest-first matching."""

    def __init__(self, concepts: Iterable[Concept]) -> None:
        self.concepts: tuple[Concept, ...] = tuple(concepts)
        # Japanese surface -> concepts, by first character, longest surfaces first.
        self._ja: dict[str, list[tuple[str, Concept]]] = {}
        # English word-key sequence -> concepts, by first key, longest first.
        self._en: dict[str, list[tuple[tuple[str, ...], Concept]]] = {}
        for concept in self.concepts:
            for term in concept.japanese:
                surface = lexical.normalise(term)
                self._ja.setdefault(surface[0], []).append((surface, concept))
            for term in concept.english:
                keys = tuple(_english_words(term))
                if keys:
                    self._en.setdefault(keys[0], []).append((keys, concept))
        for entries in self._ja.values():
            entries.sort(key=lambda e: -len(e[0]))
        for en_entries in self._en.values():
            en_entries.sort(key=lambda e: -len(e[0]))

    def __len__(self) -> int:
        return len(self.concepts)

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Glossary:
        """A glossary from "Japanese<TAB>English" lines (``|`` between synonyms, ``#`` comments).

        Raises :class:`GlossaryError` naming the first bad line.
        """
        return cls(_parse(lines))

    def extended(self, lines: Iterable[str]) -> Glossary:
        """This glossary with more concepts (a server's own product terms) in the same format."""
        return Glossary((*self.concepts, *_parse(lines)))

    def find(self, text: str) -> list[Expansion]:
        """The glossary concepts in ``text``, in order, longest match first at each position.

        Japanese terms match inside Japanese runs; English terms as whole words.
        A span is only an expansion if it has lexical terms of its own in the
        text (a hiragana-only word inside a sentence is grammar, not topic).
        """
        text = lexical.normalise(text)
        own = set(lexical.terms(text))
        found: list[Expansion] = []
        for surface, concept in self._find_japanese(text):
            source = tuple(t for t in dict.fromkeys(lexical.terms(surface)) if t in own)
            if source:
                found.append(Expansion(surface, source, _targets(concept.english)))
        for surface, concept in self._find_english(text):
            source = tuple(t for t in dict.fromkeys(lexical.terms(surface)) if t in own)
            if source:
                found.append(Expansion(surface, source, _targets(concept.japanese)))
        return found

    def _find_japanese(self, text: str) -> Iterable[tuple[str, Concept]]:
        i = 0
        while i < len(text):
            for surface, concept in self._ja.get(text[i], ()):
                if text.startswith(surface, i) and self._whole_latin(text, i, len(surface)):
                    yield surface, concept
                    i += len(surface)
                    break
            else:
                i += 1

    @staticmethod
    def _whole_latin(text: str, start: int, length: int) -> bool:
        """A surface starting or ending with Latin letters ("csvファイル") must not cut a word."""
        end = start + length
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        first, last = text[start], text[end - 1]
        return not (
            (first.isascii() and first.isalnum() and before.isascii() and before.isalnum())
            or (last.isascii() and last.isalnum() and after.isascii() and after.isalnum())
        )

    def _find_english(self, text: str) -> Iterable[tuple[str, Concept]]:
        words = _WORD.findall(text)
        keys = [_match_key(w) for w in words]
        i = 0
        while i < len(keys):
            for sequence, concept in self._en.get(keys[i], ()):
                if tuple(keys[i : i + len(sequence)]) == sequence:
                    yield " ".join(words[i : i + len(sequence)]), concept
                    i += len(sequence)
                    break
            else:
                i += 1


def _targets(synonyms: Sequence[str]) -> tuple[tuple[str, ...], ...]:
    """Each synonym's lexical terms; single characters (a kanji cut off by hiragana, as in
    "書き出し") match far too much to stand for the concept and are left out."""
    out = (tuple(dict.fromkeys(t for t in lexical.terms(s) if len(t) > 1)) for s in synonyms)
    return tuple(dict.fromkeys(t for t in out if t))


def _parse(lines: Iterable[str]) -> list[Concept]:
    concepts: list[Concept] = []
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) != 2:
            raise GlossaryError(f"line {number}: expected 'Japanese<TAB>English', got {line!r}")
        japanese = tuple(s.strip() for s in fields[0].split(SYNONYMS) if s.strip())
        english = tuple(s.strip() for s in fields[1].split(SYNONYMS) if s.strip())
        if not japanese or not english:
            raise GlossaryError(f"line {number}: both sides need at least one term")
        if not all(_is_japanese(term) for term in japanese):
            raise GlossaryError(f"line {number}: every Japanese term needs Japanese characters")
        if any(_is_japanese(term) for term in english):
            raise GlossaryError(f"line {number}: English terms cannot hold Japanese characters")
        concepts.append(Concept(japanese, english))
    return concepts


@cache
def shipped() -> Glossary:
    """The glossary shipped with Senpai (``knowledge/glossary/ja_en.tsv``)."""
    source = resources.files("knowledge") / "glossary" / "ja_en.tsv"
    return Glossary.parse(source.read_text("utf-8").splitlines())


def expansion_terms(expansions: Iterable[Expansion], own: Iterable[str]) -> list[str]:
    """Every target term of ``expansions`` that the query does not already hold, in order."""
    mine = set(own)
    out = (t for e in expansions for synonym in e.targets for t in synonym if t not in mine)
    return list(dict.fromkeys(out))


def bridged_overlap(
    query_terms: Iterable[str],
    expansions: Sequence[Expansion],
    doc_terms: set[str],
    weights: Mapping[str, float],
    factor: float,
) -> float:
    """:func:`knowledge.lexical.weighted_overlap`, where a concept the document holds
    in the other language also counts, at ``factor`` of its own weight.

    A concept weighs what its terms in the query weigh; the credit from its
    translation is ``factor`` times that weight times the share of the best
    synonym's terms the document holds, and never more than what the
    document's own-language terms left unfound. The denominator is the query's
    own weight, so a same-language match scores exactly as without the bridge.
    """
    unique = set(query_terms)
    total = sum(weights.get(t, 0.0) for t in unique)
    if total <= 0.0:
        return 0.0
    found = sum(weights.get(t, 0.0) for t in unique if t in doc_terms)
    credited: set[str] = set()
    for expansion in expansions:
        source = [t for t in expansion.source if t in unique and t not in credited]
        missing = sum(weights.get(t, 0.0) for t in source if t not in doc_terms)
        if missing <= 0.0:
            continue
        best = max(
            (sum(t in doc_terms for t in synonym) / len(synonym) for synonym in expansion.targets),
            default=0.0,
        )
        if best <= 0.0:
            continue
        concept = sum(weights.get(t, 0.0) for t in source)
        found += min(missing, factor * best * concept)
        credited.update(source)
    return min(1.0, found / total)
