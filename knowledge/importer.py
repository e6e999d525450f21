"""Importing history: DiscordChatExporter files in, solved threads captured.

A malformed file is reported by name and skipped; nothing already imported is
lost, and importing the same files again updates their entries in place.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from knowledge.discord_chat_exporter import ExportFormatError, iter_export_files, load_export
from knowledge.engine import CaptureError, KnowledgeBase
from knowledge.models import Thread, private_scope
from knowledge.solution_inference import infer_solution

log = logging.getLogger(__name__)

BATCH = 64


@dataclass(slots=True)
class ImportReport:
    """How an import went: counts, and every skipped thread or file with its reason."""

    read: int = 0
    captured: int = 0
    updated: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, reason in self.skipped:
            key = reason.split(":", 1)[0]
            counts[key] = counts.get(key, 0) + 1
        return counts


async def import_exports(
    kb: KnowledgeBase,
    paths: Iterable[Path],
    *,
    private: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import DiscordChatExporter JSON files (or directories of them) into ``kb``.

    ``private`` marks every imported thread as visible only from its own forum.
    ``progress(done, total)`` is called as files are processed.
    """
    files = await asyncio.to_thread(lambda: list(iter_export_files(list(paths))))
    report = ImportReport()
    pending: list[tuple[str, Thread, Sequence[int], datetime | None]] = []
    for number, path in enumerate(files, start=1):
        try:
            thread = await asyncio.to_thread(load_export, path)
        except (ExportFormatError, OSError) as error:
            report.skipped.append((str(path), f"malformed: {error}"))
            log.warning("skipped malformed export %s", path)
            continue
        report.read += 1
        if private:
            thread = dataclasses.replace(thread, scope=private_scope(thread.forum_id))
        solution = infer_solution(thread)
        if solution is None:
            report.skipped.append((str(path), "unsolved: no accepted answer found"))
        else:
            pending.append((str(path), thread, solution.answer_ids, None))
        if len(pending) >= BATCH:
            await _flush(kb, pending, report)
        if progress is not None:
            progress(number, len(files))
    await _flush(kb, pending, report)
    return report


async def _flush(
    kb: KnowledgeBase,
    pending: list[tuple[str, Thread, Sequence[int], datetime | None]],
    report: ImportReport,
) -> None:
    valid: list[tuple[Thread, Sequence[int], datetime | None]] = []
    for source, thread, answer_ids, solved_at in pending:
        try:
            kb.draft(thread, answer_ids)
        except CaptureError as error:
            report.skipped.append((source, f"not capturable: {error}"))
            continue
        valid.append((thread, answer_ids, solved_at))
    pending.clear()
    if not valid:
        return
    for result in await kb.capture_many(valid):
        if result.created:
            report.captured += 1
        else:
            report.updated += 1
