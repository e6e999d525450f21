"""A slow rebuild in a child process, for the crash test: ``python -m tests.rebuild_worker DIR``.

Prints ``progress N`` lines as batches are encoded, so the parent knows when
to kill it mid-way.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from knowledge.engine import KnowledgeBase, RebuildProgress
from tests.encoders import SlowEncoder


def report(progress: RebuildProgress) -> None:
    print(f"progress {progress.done}", flush=True)


async def main(directory: Path) -> None:
    kb = await KnowledgeBase.open(directory, SlowEncoder(0.05), rebuild_if_needed=False)
    await kb.rebuild(report)
    await kb.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
