"""Encoders for tests that need one with a particular behaviour."""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from index.encoder import HashingEncoder


class SlowEncoder(HashingEncoder):
    """The hashing encoder, slowed down to make a rebuild take a while."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        time.sleep(self.delay)
        return super().encode(texts, batch_size=batch_size)
