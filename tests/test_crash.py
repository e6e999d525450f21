"""Killing the process during a rebuild loses nothing (a real subprocess and SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase
from knowledge.models import Query
from tests.builders import GUILD, reply_ids, thread

ROOT = Path(__file__).resolve().parent.parent
ENTRIES = 600


async def populate(directory: Path, *, save_index: bool) -> None:
    kb = await KnowledgeBase.open(directory, HashingEncoder())
    threads = [
        thread(f"Webhook retries topic {n}", f"Webhook keeps retrying event {n}", [f"fix {n}"])
        for n in range(ENTRIES)
    ]
    await kb.capture_many([(t, reply_ids(t), None) for t in threads])
    if save_index:
        await kb.close()
    else:
        (directory / "index").mkdir(exist_ok=True)
        for child in (directory / "index").iterdir():
            child.unlink()
        await kb.store.close()


def kill_mid_rebuild(directory: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.rebuild_worker", str(directory)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    try:
        for line in child.stdout:
            if line.startswith("progress") and int(line.split()[1]) >= ENTRIES // 3:
                break
        else:
            pytest.fail("the rebuild worker ended before it could be killed")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL


@pytest.mark.parametrize("had_index", [True, False], ids=["saved-index", "first-build"])
async def test_killing_a_rebuild_leaves_a_loadable_index_and_no_lost_entries(
    tmp_path: Path, had_index: bool
):
    await populate(tmp_path, save_index=had_index)
    kill_mid_rebuild(tmp_path)
    kb = await KnowledgeBase.open(tmp_path, HashingEncoder(), rebuild_if_needed=False)
    try:
        assert await kb.store.count() == ENTRIES
        if had_index:
            # The previous index is still there, whole and matching the store.
            assert kb.index_ready
        else:
            assert not kb.index_ready
            await kb.rebuild()
        assert (await kb.index_status()).entries == ENTRIES
        found = await kb.suggest(Query(guild_id=GUILD, text="Webhook keeps retrying event 42"))
        assert found and found[0].entry.title == "Webhook retries topic 42"
    finally:
        await kb.close()
