"""The encoder benchmark's query-pair mode (bench/encoders.py --query-pair).

No duration is checked: these tests pin what is encoded per question, so the
figures keep measuring the retriever's two shapes of query.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bench import bilingual
from bench.encoders import PAIR_SHAPES, pair_table, query_pair
from index.encoder import HashingEncoder


class RecordingEncoder(HashingEncoder):
    """A hashing encoder that keeps every batch it was asked to encode."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Record ``texts``, then encode them."""
        self.batches.append(list(texts))
        return super().encode(texts, batch_size=batch_size)


def test_query_pair_encodes_post_and_title_then_post_then_title() -> None:
    questions = bilingual.load().questions
    encoder = RecordingEncoder()

    result = query_pair(encoder, rounds=2)

    warm_up = 10
    measured = encoder.batches[warm_up:]
    assert len(measured) == 2 * len(questions) * len(PAIR_SHAPES)
    first = questions[0]
    assert measured[:3] == [[first.post, first.title], [first.post], [first.title]]
    assert measured[-1] == [questions[-1].title]
    assert result["questions"] == len(questions)
    assert set(result["rows"]) == set(PAIR_SHAPES)


def test_pair_table_has_one_line_per_shape_and_the_saving() -> None:
    result = query_pair(HashingEncoder(), rounds=1)

    lines = pair_table(result)

    assert len(lines) == 2 + len(PAIR_SHAPES) + 1
    assert lines[-1].startswith("saving per question")
