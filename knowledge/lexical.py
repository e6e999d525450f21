"""Language-aware terms for lexical matching, in English and Japanese.

Japanese has no spaces, and most of its content words are two characters
long ("設定", "請求", "権限"), shorter than FTS5's trigrams. So text is segmented
here, the same way at index and at query time: runs of Latin letters and
digits become lower-cased, lightly stemmed words; runs of kanji and katakana
become overlapping character bigrams (the classic CJK bigram scheme; a
single character stays a unigram), and hiragana, which mostly carries grammar
(particles, verb endings), is left out unless the text has nothing else.
The segmented text goes into an FTS5 ``unicode61`` table, whose vocabulary
also gives the document frequencies behind :func:`weighted_overlap`.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping

from knowledge.scripts import japanese_script

_RUN = re.compile(r"[^\W_]+", re.UNICODE)

# Very frequent English words that carry no topic.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "my",
        "no",
        "nor",
        "not",
        "of",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "hi",
        "hello",
        "thanks",
        "thank",
        "please",
        "anyone",
        "someone",
        "help",
        "any",
        "get",
        "got",
        "getting",
        "also",
        "still",
        "now",
        "again",
        "all",
        "there",
        "way",
        "try",
        "tried",
        "trying",
        "use",
        "using",
        "used",
        "know",
        "need",
        "want",
        "like",
        "one",
    ]
)


def _script(char: str) -> str:
    """``hiragana``, ``katakana`` or ``kanji`` (as ``knowledge.scripts`` says), else ``latin``."""
    return japanese_script(char) or "latin"


def _stem(word: str) -> str:
    """A deliberately light English stemmer: plural and common verb endings."""
    if len(word) <= 4 or not word.isascii() or not word.isalpha():
        return word
    for suffix, replacement in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)] + replacement
    return word


def _segments(run: str) -> Iterable[tuple[str, str]]:
    """Split a run of word characters where the script changes."""
    start = 0
    for i in range(1, len(run) + 1):
        if i == len(run) or _script(run[i]) != _script(run[start]):
            yield _script(run[start]), run[start:i]
            start = i


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str) -> list[str]:
    """The terms of ``text`` in order, duplicates kept (for indexing and queries)."""
    out: list[str] = []
    for run in _RUN.findall(normalise(text)):
        segments = list(_segments(run))
        only_hiragana = all(script == "hiragana" for script, _ in segments)
        for script, seg in segments:
            if script == "latin":
                if len(seg) >= 2 and seg not in _STOPWORDS:
                    out.append(_stem(seg))
            elif script == "hiragana" and not only_hiragana:
                # Particles and verb endings: grammar, not topic.
                continue
            elif len(seg) == 1:
                out.append(seg)
            else:
                out.extend(seg[i : i + 2] for i in range(len(seg) - 1))
    return out


def document(text: str) -> str:
    """Segmented text, as stored in the ``unicode61`` full-text table."""
    return " ".join(terms(text))


def match_expression(query_terms: Iterable[str], limit: int = 48) -> str:
    """An FTS5 query matching any of the terms (each quoted, so never a syntax error)."""
    unique = list(dict.fromkeys(query_terms))[:limit]
    return " OR ".join('"' + term.replace('"', '""') + '"' for term in unique)


def substring_needles(text: str, limit: int = 12) -> list[str]:
    """Identifier-like tokens (codes, versions, product names) for trigram substring search.

    Tokens of at least 3 characters that mix letters and digits or symbols,
    such as ``0x80070005``, ``E401`` or ``SAML2.0``: word segmentation would
    split them, substring matching keeps them whole.
    """
    needles: list[str] = []
    for token in re.findall(r"[\w.\-/:]{3,}", normalise(text)):
        token = token.strip(".-/:")
        has_digit = any(c.isdigit() for c in token)
        has_alpha = any(c.isalpha() for c in token)
        if len(token) >= 3 and has_digit and (has_alpha or "." in token or "-" in token):
            needles.append(token)
    return list(dict.fromkeys(needles))[:limit]


def selective_terms(
    query_terms: Iterable[str],
    frequencies: Mapping[str, int],
    total: int,
    *,
    limit: int = 8,
    common: float = 0.05,
) -> list[str]:
    """The query terms worth a full-text lookup, rarest first.

    Terms no entry contains cannot match; terms in more than ``common`` of all
    entries match too much to help ranking and make the lookup slow on a large
    base (their posting lists are long), unless nothing else is left.
    """
    present = sorted(
        {t for t in query_terms if frequencies.get(t, 0) > 0}, key=lambda t: (frequencies[t], t)
    )
    selective = [t for t in present if frequencies[t] <= common * max(total, 1)]
    return (selective or present)[:limit]


def idf(total: int, frequency: int) -> float:
    """BM25's inverse document frequency, never negative.

    A term no entry contains weighs like the rarest known term: it still
    counts against a partial match, without dominating the query. A server that
    holds nothing (its last entry removed while a question was answered) counts
    as one entry, not as a negative weight.
    """
    total = max(total, 1)
    frequency = max(1, min(frequency, total))
    return math.log(1.0 + (total - frequency + 0.5) / (frequency + 0.5))


def weighted_overlap(
    query_terms: Iterable[str], doc_terms: set[str], weights: Mapping[str, float]
) -> float:
    """Share of the query's term weight found in the document, in [0, 1].

    An absolute measure (unlike bm25, which only orders documents), so that a
    confidence threshold can be set on it.
    """
    unique = set(query_terms)
    total = sum(weights.get(term, 0.0) for term in unique)
    if total <= 0.0:
        return 0.0
    found = sum(weights.get(term, 0.0) for term in unique if term in doc_terms)
    return found / total
