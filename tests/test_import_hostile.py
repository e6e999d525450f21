"""``import_exports`` over hostile and odd files: each bad one is named and skipped.

Every test puts a good export beside the bad input and checks that the good one is
still imported, that the bad one is reported by name with a reason, and that nothing
raises. Files are real files in ``tmp_path`` (FIFOs, sockets, symlink loops included).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from index.encoder import HashingEncoder
from knowledge.discord_chat_exporter import (
    MAX_EXPORT_BYTES,
    MAX_NESTING,
    ExportFileError,
    ExportFormatError,
    load_export,
)
from knowledge.engine import CaptureError, CaptureResult, KnowledgeBase, SearchConfig
from knowledge.importer import ImportReport, import_exports
from knowledge.models import Thread

GUILD = "300000000000000001"
FORUM = "500000000000000001"
ASKER = "200000000000000001"
HELPER = "200000000000000002"
GOOD_THREAD = 400000000000000001


def person(user_id: str, name: str) -> dict[str, object]:
    return {"id": user_id, "name": name, "nickname": None, "isBot": False}


def solved_export(
    thread_id: int = GOOD_THREAD,
    *,
    question: str = "How do I export my data?",
    answer: str = "Settings > Data > Export, then wait for the e-mail.",
) -> dict[str, object]:
    """A solved forum post: the asker put a check mark on the helper's reply."""
    answer_id = str(thread_id + 1)
    return {
        "guild": {"id": GUILD, "name": "G"},
        "channel": {
            "id": str(thread_id),
            "type": "GuildPublicThread",
            "categoryId": FORUM,
            "name": question,
        },
        "messages": [
            {
                "id": str(thread_id),
                "type": "Default",
                "timestamp": "2026-01-14T10:02:13+09:00",
                "content": question,
                "author": person(ASKER, "maria"),
            },
            {
                "id": answer_id,
                "type": "Reply",
                "timestamp": "2026-01-14T10:12:00+09:00",
                "content": answer,
                "author": person(HELPER, "alex"),
                "reactions": [
                    {"emoji": {"name": "✅"}, "count": 1, "users": [person(ASKER, "maria")]}
                ],
            },
        ],
    }


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def good_file(directory: Path, name: str = "good.json") -> Path:
    return write_json(directory / name, solved_export())


@pytest.fixture
async def kb(tmp_path: Path) -> Iterator[KnowledgeBase]:
    base = await KnowledgeBase.open(tmp_path / "kb", HashingEncoder(), SearchConfig())
    yield base
    await base.close()


def reasons(report: ImportReport) -> dict[str, str]:
    return dict(report.skipped)


def assert_good_imported_and_bad_named(
    report: ImportReport, bad: Path | str, *words: str, files_skipped: int = 1
) -> str:
    """The good thread was captured, ``bad`` is named once with a reason holding ``words``."""
    assert report.read == 1
    assert report.captured == 1
    assert report.files_skipped == files_skipped
    named = [reason for source, reason in report.skipped if source == str(bad)]
    assert len(named) == 1, report.skipped
    for word in words:
        assert word in named[0]
    assert "\n" not in named[0]
    return named[0]


# --- the parser: ids, timestamps, text -------------------------------------------------


@pytest.mark.parametrize(
    ("where", "value", "problem"),
    [
        ("thread", str(2**63), "channel.id must be an id"),
        ("thread", 2**64, "channel.id must be an id"),
        ("message", str(2**70), "messages[1].id must be an id"),
        ("thread", "0", "channel.id must be an id"),
        ("thread", "-1", "channel.id must be an id"),
        ("thread", -5, "channel.id must be an id"),
        ("thread", "12ab", "channel.id must be an id"),
        ("thread", "", "channel.id must be an id"),
        ("thread", 1.5, "channel.id must be an id"),
        ("thread", "9" * 5000, "channel.id must be an id"),
    ],
)
async def test_ids_out_of_range_or_not_numbers_are_named(
    kb: KnowledgeBase, tmp_path: Path, where: str, value: object, problem: str
) -> None:
    good_file(tmp_path / "in")
    data = solved_export(GOOD_THREAD + 100)
    if where == "thread":
        data["channel"]["id"] = value  # type: ignore[index]
    else:
        data["messages"][1]["id"] = value  # type: ignore[index]
    bad = write_json(tmp_path / "in" / "bad.json", data)

    report = await import_exports(kb, [tmp_path / "in"])

    assert_good_imported_and_bad_named(report, bad, "malformed", problem)


async def test_the_largest_snowflake_is_accepted(kb: KnowledgeBase, tmp_path: Path) -> None:
    largest = 2**63 - 1
    data = solved_export(GOOD_THREAD)
    data["guild"]["id"] = str(largest)  # type: ignore[index]
    path = write_json(tmp_path / "big.json", data)

    report = await import_exports(kb, [path])

    assert (report.read, report.captured, report.skipped) == (1, 1, [])


async def test_an_integer_literal_too_long_to_convert_is_named(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    good_file(tmp_path / "in")
    text = json.dumps(solved_export(GOOD_THREAD + 100))
    bad = tmp_path / "in" / "digits.json"
    bad.write_text(text.replace('"guild": {', '"guild": {"x": ' + "7" * 5000 + ", ", 1))

    report = await import_exports(kb, [tmp_path / "in"])

    assert_good_imported_and_bad_named(report, bad, "malformed")


@pytest.mark.parametrize(
    "stamp", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2014-12-31T23:59:59Z"]
)
async def test_timestamps_out_of_range_are_named(
    kb: KnowledgeBase, tmp_path: Path, stamp: str
) -> None:
    good_file(tmp_path / "in")
    data = solved_export(GOOD_THREAD + 100)
    data["messages"][1]["timestamp"] = stamp  # type: ignore[index]
    bad = write_json(tmp_path / "in" / "when.json", data)

    report = await import_exports(kb, [tmp_path / "in"])

    assert_good_imported_and_bad_named(
        report, bad, "malformed", "messages[1].timestamp", "out of range"
    )


def test_timestamps_are_normalised_to_utc(tmp_path: Path) -> None:
    path = write_json(tmp_path / "post.json", solved_export())

    created = load_export(path).messages[0].created_at

    assert created == datetime(2026, 1, 14, 1, 2, 13, tzinfo=UTC)
    assert created.tzinfo is UTC


async def test_lone_surrogates_become_replacement_characters(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    good_file(tmp_path / "in")
    odd = tmp_path / "in" / "odd.json"
    data = solved_export(
        GOOD_THREAD + 100, question="Broken \ud800 text \udfff here?", answer="Fix \udc80 it"
    )
    data["messages"][1]["author"]["name"] = "al\ud83dex"  # type: ignore[index]
    odd.write_text(json.dumps(data, ensure_ascii=True), encoding="ascii")

    thread = load_export(odd)
    report = await import_exports(kb, [tmp_path / "in"])

    assert thread.title == "Broken \ufffd text \ufffd here?"
    assert thread.messages[1].content == "Fix \ufffd it"
    assert thread.messages[1].author.name == "al\ufffdex"
    assert (report.read, report.captured, report.skipped) == (2, 2, [])


def test_escaped_surrogate_pairs_still_make_one_character(tmp_path: Path) -> None:
    path = tmp_path / "emoji.json"
    path.write_text(json.dumps(solved_export(question="ok 😀?"), ensure_ascii=True))

    assert load_export(path).title == "ok 😀?"


# --- the parser: the document -----------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "[" * 200_000 + "1" + "]" * 200_000,
        '{"a":' * 200_000 + "1" + "}" * 200_000,
        "[" * 200_000,  # truncated: never closed
        '[{"a": [' * 30_000 + "]}" * 5,  # truncated, mixed
    ],
    ids=["arrays", "objects", "truncated", "truncated-mixed"],
)
async def test_deep_nesting_is_refused_without_recursion(
    kb: KnowledgeBase, tmp_path: Path, text: str
) -> None:
    good_file(tmp_path / "in")
    bad = tmp_path / "in" / "deep.json"
    bad.write_text(text, encoding="utf-8")

    report = await import_exports(kb, [tmp_path / "in"])

    assert_good_imported_and_bad_named(report, bad, "malformed", f"deeper than {MAX_NESTING}")


def test_nesting_up_to_the_limit_is_left_to_the_parser(tmp_path: Path) -> None:
    within = tmp_path / "within.json"
    within.write_text("[" * MAX_NESTING + "]" * MAX_NESTING, encoding="utf-8")
    beyond = tmp_path / "beyond.json"
    beyond.write_text("[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1), encoding="utf-8")

    with pytest.raises(ExportFormatError, match="must be a JSON object"):
        load_export(within)
    with pytest.raises(ExportFormatError, match=f"nested deeper than {MAX_NESTING}"):
        load_export(beyond)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    deep_text = '"[{\\"' + "[" * (MAX_NESTING * 3) + "}"
    path = write_json(tmp_path / "post.json", solved_export(answer=deep_text))

    assert load_export(path).messages[1].content == deep_text


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"foo": [1, 2, 3]}', "guild is missing"),
        (b"[]", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"", "invalid JSON"),
        (b"\xff\xfe{\x00}\x00", "not UTF-8"),
        (b'{"guild": "caf\xe9"}', "not UTF-8"),
        (b'{"a": NaN', "invalid JSON"),
    ],
)
async def test_files_that_are_not_exports_are_named(
    kb: KnowledgeBase, tmp_path: Path, content: bytes, problem: str
) -> None:
    good_file(tmp_path / "in")
    bad = tmp_path / "in" / "other.json"
    bad.write_bytes(content)

    report = await import_exports(kb, [tmp_path / "in"])

    assert_good_imported_and_bad_named(report, bad, "malformed", problem)


async def test_a_byte_order_mark_is_read_past(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(solved_export()).encode("utf-8"))

    report = await import_exports(kb, [path])

    assert (report.read, report.captured, report.files_skipped) == (1, 1, 0)


# --- files that are not regular files, or too large ------------------------------------


class FifoWriter:
    """A writer waiting on a FIFO: it connects only if someone opens the FIFO to read.

    Opening a FIFO for reading blocks until a writer comes, so an importer that opens it
    would hang; this writer comes, which turns such a hang into a visible connection.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.connected = threading.Event()
        self._thread = threading.Thread(target=self._write, daemon=True)
        self._thread.start()

    def _write(self) -> None:
        with open(self.path, "wb") as pipe:
            self.connected.set()
            pipe.write(b"{}")

    def release(self) -> None:
        """Open the reading end ourselves so the writer thread can finish."""
        reader = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self._thread.join()
        finally:
            os.close(reader)


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[tuple[Path, FifoWriter]]:
    path = tmp_path / "in" / "pipe.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    writer = FifoWriter(path)
    yield path, writer
    writer.release()


@pytest.mark.parametrize("given", ["directory", "path"])
async def test_a_fifo_is_skipped_without_being_opened(
    kb: KnowledgeBase, tmp_path: Path, fifo: tuple[Path, FifoWriter], given: str
) -> None:
    path, writer = fifo
    good = good_file(tmp_path / "in")
    roots = [tmp_path / "in"] if given == "directory" else [good, path]

    report = await import_exports(kb, roots)

    assert not writer.connected.is_set()
    assert_good_imported_and_bad_named(report, path, "not a regular file", "FIFO")


async def test_a_socket_and_a_device_are_skipped(kb: KnowledgeBase, tmp_path: Path) -> None:
    good = good_file(tmp_path / "in")
    sock_path = tmp_path / "in" / "s.json"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(sock_path))
        device = tmp_path / "in" / "zero.json"
        device.symlink_to("/dev/zero")

        report = await import_exports(kb, [tmp_path / "in", Path("/dev/null"), good])
    finally:
        listener.close()

    assert report.read == 1 and report.files_skipped == 3
    found = reasons(report)
    assert "socket" in found[str(sock_path)]
    assert "character device" in found[str(device)]
    assert "character device" in found["/dev/null"]
    assert all(reason.startswith("not a regular file") for reason in found.values())


async def test_a_file_claiming_two_gigabytes_is_skipped_unread(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    good_file(tmp_path / "in")
    huge = tmp_path / "in" / "huge.json"
    with open(huge, "wb") as sparse:
        sparse.truncate(2 * 1024**3)
    just_over = tmp_path / "in" / "over.json"
    with open(just_over, "wb") as sparse:
        sparse.truncate(MAX_EXPORT_BYTES + 1)

    report = await import_exports(kb, [tmp_path / "in"])

    assert report.files_skipped == 2
    found = reasons(report)
    assert found[str(huge)].startswith("too large: 2048 MB")
    assert found[str(just_over)].startswith("too large")
    assert (report.read, report.captured) == (1, 1)


def test_a_file_is_read_only_up_to_the_bound(tmp_path: Path) -> None:
    path = write_json(tmp_path / "post.json", solved_export())
    size = path.stat().st_size

    assert load_export(path, max_bytes=size).thread_id == GOOD_THREAD
    problem = f"too large: {size} bytes, over the limit of {size - 1} bytes"
    with pytest.raises(ExportFileError, match=problem):
        load_export(path, max_bytes=size - 1)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="needs Linux /proc")
def test_a_file_whose_size_is_not_known_is_still_bounded() -> None:
    assert os.stat("/proc/self/status").st_size == 0

    with pytest.raises(ExportFileError, match="too large: more than that, over the limit of 64"):
        load_export(Path("/proc/self/status"), max_bytes=64)


# --- directories ------------------------------------------------------------------------


def _can_read_despite(mode: int, path: Path) -> bool:
    """Whether ``path`` stays readable after chmod (it does for root)."""
    path.chmod(mode)
    try:
        if path.is_dir():
            os.listdir(path)
        else:
            path.read_bytes()
    except PermissionError:
        return False
    return True


@pytest.fixture
def make_unreadable(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """chmod 000 a path; as root (where that blocks nothing), make the OS refuse it."""
    refused: set[str] = set()
    real_scandir, real_open = os.scandir, os.open
    changed: list[Path] = []

    def scandir(path: object = ".") -> object:
        if os.fspath(path) in refused:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return real_scandir(path)  # type: ignore[arg-type]

    def open_(path: object, flags: int, *args: object, **kwargs: object) -> int:
        if os.fspath(path) in refused:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", os.fspath(path))  # type: ignore[arg-type]
        return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

    def make(path: Path) -> None:
        changed.append(path)
        if _can_read_despite(0, path):
            refused.add(str(path))
            monkeypatch.setattr(os, "scandir", scandir)
            monkeypatch.setattr(os, "open", open_)

    yield make
    for path in changed:
        path.chmod(stat.S_IRWXU)


async def test_an_unreadable_directory_is_named(
    kb: KnowledgeBase, tmp_path: Path, make_unreadable
) -> None:
    good_file(tmp_path / "in")
    locked = tmp_path / "in" / "locked"
    good_file(locked, "hidden-from-us.json")
    make_unreadable(locked)

    report = await import_exports(kb, [tmp_path / "in"])

    assert_good_imported_and_bad_named(report, locked, "unreadable", "ermission denied")


async def test_an_unreadable_directory_alone_reads_nothing_and_says_so(
    kb: KnowledgeBase, tmp_path: Path, make_unreadable
) -> None:
    locked = tmp_path / "locked"
    good_file(locked)
    make_unreadable(locked)

    report = await import_exports(kb, [locked])

    assert (report.read, report.files_skipped) == (0, 1)
    assert report.skipped[0][0] == str(locked)


async def test_an_unreadable_file_is_named(
    kb: KnowledgeBase, tmp_path: Path, make_unreadable
) -> None:
    good_file(tmp_path / "in")
    locked = write_json(tmp_path / "in" / "locked.json", solved_export(GOOD_THREAD + 100))
    make_unreadable(locked)

    report = await import_exports(kb, [tmp_path / "in"])

    assert_good_imported_and_bad_named(report, locked, "unreadable", "ermission denied")


async def test_symlink_loops_end_and_are_named(kb: KnowledgeBase, tmp_path: Path) -> None:
    root = tmp_path / "in"
    good_file(root / "sub")
    (root / "sub" / "again").symlink_to("..", target_is_directory=True)
    (root / "self").symlink_to("self")
    (root / "a.json").symlink_to("b.json")
    (root / "b.json").symlink_to("a.json")

    report = await import_exports(kb, [root, root / "a.json"])

    assert (report.read, report.captured) == (1, 1)
    found = reasons(report)
    assert set(found) == {str(root / "a.json"), str(root / "b.json")}
    assert all(reason.startswith("unreadable: symbolic link loop") for reason in found.values())


async def test_an_empty_directory_is_named(kb: KnowledgeBase, tmp_path: Path) -> None:
    good = good_file(tmp_path / "in")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an export")

    report = await import_exports(kb, [good, empty])

    assert_good_imported_and_bad_named(report, empty, "no export files")


async def test_a_missing_path_beside_a_good_one_is_named(kb: KnowledgeBase, tmp_path: Path) -> None:
    good = good_file(tmp_path / "in")
    missing = tmp_path / "gone.json"

    report = await import_exports(kb, [missing, good])

    assert_good_imported_and_bad_named(report, missing, "not found")


async def test_a_file_name_that_is_not_utf8_is_reported_printably(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    good_file(tmp_path / "in")
    raw = os.fsencode(tmp_path / "in") + b"/bad\xff.json"
    with open(raw, "wb") as bad:
        bad.write(b"{")

    report = await import_exports(kb, [tmp_path / "in"])

    source, reason = next(item for item in report.skipped if "bad" in item[0])
    assert source.endswith("bad\\xff.json")
    source.encode("utf-8")  # printable: no surrogate escapes left
    assert reason.startswith("malformed")


# --- threads ----------------------------------------------------------------------------


async def test_the_same_thread_in_two_files_is_a_collision_naming_both(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    first = good_file(tmp_path / "in", "a.json")
    second = write_json(
        tmp_path / "in" / "b.json", solved_export(answer="A different answer, later export.")
    )

    report = await import_exports(kb, [tmp_path / "in"])

    reason = assert_good_imported_and_bad_named(report, second, "collision", str(GOOD_THREAD))
    assert str(first) in reason
    assert "not merged" in reason


async def test_importing_again_in_another_run_still_updates(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = good_file(tmp_path)

    await import_exports(kb, [path])
    again = await import_exports(kb, [path])

    assert (again.read, again.captured, again.updated, again.skipped) == (1, 0, 1, [])


class RefusingKnowledgeBase(KnowledgeBase):
    """Raises CaptureError when one given thread is in a batch, as a conflicting store does."""

    refused = 0

    async def capture_many(
        self,
        items: Sequence[tuple[Thread, Sequence[int], datetime | None]],
        *,
        widen_scope: bool = False,
    ) -> list[CaptureResult]:
        if any(thread.thread_id == self.refused for thread, _, _ in items):
            raise CaptureError("conflict", f"thread {self.refused} belongs to another guild")
        return await super().capture_many(items, widen_scope=widen_scope)


async def test_a_thread_the_store_refuses_is_skipped_and_the_batch_goes_on(
    tmp_path: Path,
) -> None:
    base = await RefusingKnowledgeBase.open(tmp_path / "kb", HashingEncoder(), SearchConfig())
    base.refused = GOOD_THREAD + 30
    for n in range(100):
        write_json(tmp_path / "in" / f"{n:03}.json", solved_export(GOOD_THREAD + n * 10))
    try:
        report = await import_exports(base, [tmp_path / "in"])
    finally:
        await base.close()

    assert (report.read, report.captured, report.files_skipped) == (100, 99, 0)
    assert report.skipped == [
        (
            str(tmp_path / "in" / "003.json"),
            f"not capturable: thread {GOOD_THREAD + 30} belongs to another guild",
        )
    ]
