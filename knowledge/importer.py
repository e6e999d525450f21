"""Importing history: DiscordChatExporter files in, solved threads captured.

One bad file never stops the run: every file that cannot be read (missing,
unreadable, not a regular file, too large, malformed, or holding a thread another
file of this run already gave) is reported by name with a one-line reason and
skipped, and so is every thread that was read but cannot be captured. Nothing
already imported is lost, and importing the same files again updates their entries
in place.

Every thread read, solved or not, also leaves its question history (asked, first
reply, solved) for the community's figures; see :meth:`KnowledgeBase.record_history`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.discord_chat_exporter import (
    MAX_EXPORT_BYTES,
    ExportFileError,
    ExportFormatError,
    display_path,
    find_export_files,
    load_export,
)
from knowledge.engine import CaptureError, KnowledgeBase
from knowledge.models import Thread, private_scope
from knowledge.solution_inference import infer_solution

log = logging.getLogger(__name__)

BATCH = 64


@dataclass(slots=True)
class ImportReport:
    """How an import went: counts, and every skipped file or thread with its reason.

    ``read`` counts the threads read from files; ``skipped`` lists, in order, each
    ``(source, reason)`` not imported, whose reason starts with its kind ("malformed",
    "unreadable", "collision", "unsolved", ...). ``files_skipped`` of those entries are
    files (or paths) that could not be read at all; the others are threads that were
    read but not captured.
    """

    read: int = 0
    histories: int = 0
    """Threads whose question history was recorded (solved or not)."""
    captured: int = 0
    updated: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    files_skipped: int = 0
    widened: list[str] = field(default_factory=list)
    """Sources of private entries made visible more widely (``widen_scope``)."""

    def skip_file(self, source: str, reason: str) -> None:
        """Record a file that could not be read."""
        self.skipped.append((source, reason))
        self.files_skipped += 1
        log.info("skipped export file %s (%s)", source, reason.split(":", 1)[0])


@dataclass(frozen=True, slots=True)
class _Solved:
    source: str
    thread: Thread
    answer_ids: Sequence[int]


async def import_exports(
    kb: KnowledgeBase,
    paths: Iterable[Path],
    *,
    private: bool = False,
    widen_scope: bool = False,
    progress: Callable[[int, int], None] | None = None,
    max_bytes: int = MAX_EXPORT_BYTES,
) -> ImportReport:
    """Import DiscordChatExporter JSON files (or directories of them) into ``kb``.

    ``private`` marks every imported thread as visible only from its own forum.
    A thread already stored as private stays private unless ``widen_scope``: then
    it takes the scope of this import, and the report lists it.
    ``progress(done, total)`` is called as files are processed. Files larger than
    ``max_bytes`` are skipped unread. Within one run, a file whose thread an earlier
    file already gave is a collision: it is skipped, naming both, never merged.
    Raises nothing for bad input: see :class:`ImportReport`.
    """
    found = await asyncio.to_thread(lambda: list(find_export_files(list(paths))))
    report = ImportReport()
    first_source: dict[int, str] = {}
    pending: list[_Solved] = []
    read: list[Thread] = []
    for number, item in enumerate(found, start=1):
        if isinstance(item, ExportFileError):
            report.skip_file(item.source, item.problem)
        else:
            thread = await _read(item, max_bytes, report)
            if thread is not None and _accept(
                thread, display_path(item), first_source, private, pending, report
            ):
                read.append(thread)
        if len(pending) >= BATCH:
            await _capture(kb, pending, report, widen_scope)
            pending.clear()
        if len(read) >= BATCH:
            report.histories += await kb.record_history(read)
            read.clear()
        if progress is not None:
            progress(number, len(found))
    await _capture(kb, pending, report, widen_scope)
    report.histories += await kb.record_history(read)
    return report


async def _read(path: Path, max_bytes: int, report: ImportReport) -> Thread | None:
    try:
        return await asyncio.to_thread(load_export, path, max_bytes=max_bytes)
    except ExportFileError as error:
        report.skip_file(error.source, error.problem)
    except ExportFormatError as error:
        report.skip_file(error.source, f"malformed: {error.problem}")
    return None


def _accept(
    thread: Thread,
    source: str,
    first_source: dict[int, str],
    private: bool,
    pending: list[_Solved],
    report: ImportReport,
) -> bool:
    """Queue a thread read from ``source`` for capture if solved; False for a collision."""
    first = first_source.get(thread.thread_id)
    if first is not None:
        report.skip_file(
            source,
            f"collision: thread {thread.thread_id} is also in {first}, read first; "
            "this file is not merged",
        )
        return False
    first_source[thread.thread_id] = source
    report.read += 1
    if private:
        thread = dataclasses.replace(thread, scope=private_scope(thread.forum_id))
    solution = infer_solution(thread)
    if solution is None:
        report.skipped.append((source, "unsolved: no accepted answer found"))
        return True
    pending.append(_Solved(source, thread, solution.answer_ids))
    return True


async def _capture(
    kb: KnowledgeBase, solved: Sequence[_Solved], report: ImportReport, widen_scope: bool
) -> None:
    """Capture ``solved`` in one batch; a thread the knowledge base refuses is skipped.

    Drafting first catches the common refusals cheaply. When the batch as a whole is
    refused (a store that raises :class:`CaptureError` for one thread), it is split in
    halves until the refused thread stands alone, so the others are still captured.
    """
    valid: list[_Solved] = []
    for item in solved:
        try:
            kb.draft(item.thread, item.answer_ids)
        except CaptureError as error:
            _refused(item, error, report)
        else:
            valid.append(item)
    await _capture_valid(kb, valid, report, widen_scope)


async def _capture_valid(
    kb: KnowledgeBase, items: Sequence[_Solved], report: ImportReport, widen_scope: bool
) -> None:
    if not items:
        return
    batch = [(i.thread, i.answer_ids, None) for i in items]
    try:
        results = await kb.capture_many(batch, widen_scope=widen_scope)
    except CaptureError as error:
        if len(items) == 1:
            _refused(items[0], error, report)
            return
        middle = len(items) // 2
        await _capture_valid(kb, items[:middle], report, widen_scope)
        await _capture_valid(kb, items[middle:], report, widen_scope)
        return
    for item, result in zip(items, results, strict=True):
        if result.widened:
            report.widened.append(item.source)
        if result.created:
            report.captured += 1
        else:
            report.updated += 1


def _refused(item: _Solved, error: CaptureError, report: ImportReport) -> None:
    report.skipped.append((item.source, f"not capturable: {error}"))
    log.info("thread %d not capturable (%s)", item.thread.thread_id, error.code)
