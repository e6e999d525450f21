"""A slow rebuild in a child process, for the crash test: ``python -m tests.rebuild_worker DIR``.

Prints ``progress N`` lines as batches are encoded, so the parent knows when
to kill it mid-way.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase, RebuildProgress


class SlowEncoder(HashingEncoder):
    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        time.sleep(0.05)
        return super().encode(texts, batch_size=batch_size)


def report(progress: RebuildProgress) -> None:
    print(f"progress {progress.done}", flush=True)


async def main(directory: Path) -> None:
    kb = await KnowledgeBase.open(directory, SlowEncoder(), rebuild_if_needed=False)
    await kb.rebuild(report)
    await kb.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
