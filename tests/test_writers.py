"""Several processes writing one data directory: no vector lost, no stale answer.

Real ``senpai`` processes, run at the same time on one data directory.
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.db import DatabaseError, _enable_wal

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "samples" / "community" / "help-api-429-rate-limit.json"
GUILD = "915077679022095685"
THREADS_PER_EXPORT = 40
WORDS = ["webhook", "invoice", "calendar", "export", "login", "seats", "formula", "mobile"]


def write_exports(directory: Path, first_id: int) -> list[str]:
    """``THREADS_PER_EXPORT`` solved threads (asker thanks the reply), each with a unique code."""
    directory.mkdir(parents=True)
    template = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    codes = []
    for n in range(THREADS_PER_EXPORT):
        thread_id = first_id + n * 10
        code = f"ZX{first_id % 997}Q{n}"
        codes.append(code)
        export = copy.deepcopy(template)
        export["channel"]["id"] = str(thread_id)
        export["channel"]["name"] = f"{WORDS[n % len(WORDS)]} error {code}"
        question, answer, thanks = (copy.deepcopy(template["messages"][i]) for i in (0, 1, 0))
        question.update(id=str(thread_id), content=f"Error {code} when syncing {WORDS[n % 8]}")
        answer.update(id=str(thread_id + 1), content=f"For {code}, reset the {WORDS[n % 8]} key.")
        thanks.update(id=str(thread_id + 2), content="Thanks, that fixed it!")
        answer["timestamp"] = "2026-02-03T11:27:52.973+09:00"
        thanks["timestamp"] = "2026-02-03T11:40:00.000+09:00"
        export["messages"] = [question, answer, thanks]
        (directory / f"{thread_id}.json").write_text(json.dumps(export), encoding="utf-8")
    return codes


def senpai(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "senpai", "--data-dir", str(data_dir), "--model", "hashing", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    return out


@pytest.mark.parametrize("runs", [2, 3])
def test_imports_running_at_once_on_a_new_directory_lose_no_vector(tmp_path: Path, runs: int):
    data = tmp_path / "data"
    exports = [tmp_path / f"export{n}" for n in range(runs)]
    codes = [c for n, e in enumerate(exports) for c in write_exports(e, 1_500_000_000_000_000 + n)]
    processes = [senpai(data, "import", str(e)) for e in exports]
    for process in processes:
        finish(process)

    stats = json.loads(finish(senpai(data, "stats", "--json")))
    assert stats["entries"] == runs * THREADS_PER_EXPORT
    assert stats["index_entries"] == stats["entries"]
    assert stats["index_fresh"] is True
    for code in codes[:: max(1, len(codes) // 12)]:
        found = json.loads(finish(senpai(data, "ask", "--guild", GUILD, "--json", f"error {code}")))
        assert found, code
        assert code in found[0]["title"]


def test_a_reader_process_sees_what_another_process_wrote_and_forgot(tmp_path: Path):
    """A long-lived process serves from its own index; another process imports and
    forgets: the first one catches up before answering."""
    data = tmp_path / "data"
    first = write_exports(tmp_path / "first", 1_600_000_000_000_000)
    finish(senpai(data, "import", str(tmp_path / "first")))
    script = (
        "import asyncio, json, sys\n"
        "from index.encoder import HashingEncoder\n"
        "from knowledge.engine import KnowledgeBase\n"
        "from knowledge.models import Query\n"
        "async def main():\n"
        f"    kb = await KnowledgeBase.open(__import__('pathlib').Path({str(data)!r}), "
        "HashingEncoder())\n"
        "    for line in sys.stdin:\n"
        "        found = await kb.suggest(Query(int(" + GUILD + "), line.strip(), threshold=0.0))\n"
        "        print(json.dumps([s.entry.title for s in found]), flush=True)\n"
        "    await kb.close()\n"
        "asyncio.run(main())\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert reader.stdin is not None and reader.stdout is not None

    def ask(text: str) -> list[str]:
        reader.stdin.write(text + "\n")
        reader.stdin.flush()
        return json.loads(reader.stdout.readline())

    try:
        assert first[0] in ask(f"error {first[0]}")[0]
        second = write_exports(tmp_path / "second", 1_700_000_000_000_000)
        finish(senpai(data, "import", str(tmp_path / "second")))
        assert second[3] in ask(f"error {second[3]}")[0]
        asker = json.loads(TEMPLATE.read_text(encoding="utf-8"))["messages"][0]["author"]["id"]
        finish(senpai(data, "forget", "--user", asker, "--yes"))
        assert ask(f"error {second[3]}") == []
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)


class LockedWriter:
    """A writer connection whose first ``locked`` statements meet another process's lock."""

    def __init__(self, locked: int, message: str = "database is locked") -> None:
        self.locked = locked
        self.message = message
        self.statements: list[str] = []

    async def execute(self, sql: str) -> None:
        self.statements.append(sql)
        if len(self.statements) <= self.locked:
            raise sqlite3.OperationalError(self.message)


async def test_the_switch_to_wal_waits_for_another_process_setting_up_the_same_file():
    """Two processes opening a new database at once: SQLite refuses the second switch to
    WAL at once ("database is locked", no busy timeout); it is retried, not fatal."""
    writer = LockedWriter(locked=3)
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)

    await _enable_wal(writer, Path("senpai.db"), sleep=sleep)  # type: ignore[arg-type]
    assert writer.statements == ["PRAGMA journal_mode = WAL"] * 4
    assert pauses == pytest.approx([0.02, 0.04, 0.08])


async def test_a_file_locked_for_good_gives_a_clear_error_and_other_errors_pass_through():
    async def sleep(seconds: float) -> None:
        return None

    stuck = LockedWriter(locked=10**9)
    with pytest.raises(DatabaseError, match="stayed locked by another process"):
        await _enable_wal(stuck, Path("senpai.db"), within=0.0, sleep=sleep)  # type: ignore[arg-type]
    broken = LockedWriter(locked=1, message="disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk I/O error"):
        await _enable_wal(broken, Path("senpai.db"), sleep=sleep)  # type: ignore[arg-type]
    assert broken.statements == ["PRAGMA journal_mode = WAL"]
