"""`senpai report`, run in-process on a real data directory filled by `senpai import`.

The figures themselves are checked against a hand count in tests/test_report.py;
here: the three formats agree with each other and with the core, both languages,
the chart is a real PNG, and bad input gets a clear message.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import struct
import sys
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase
from knowledge.report_format import FIGURES
from senpai.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "community"
GUILD = "915077679022095685"
STAFF_ROLE = "915391748506212819"  # "Flowdesk Staff" in the samples
PERIOD = ("--since", "2026-02-02", "--until", "2026-03-02", "--tz", "Asia/Tokyo", "--guild", GUILD)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch, capsys) -> Path:
    monkeypatch.setenv("SENPAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    assert main(["import", str(SAMPLES)]) == 0
    capsys.readouterr()
    return tmp_path / "data"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def core_report(data_dir: Path):
    async def go():
        kb = await KnowledgeBase.open(data_dir, HashingEncoder(), rebuild_if_needed=False)
        try:
            return await kb.report(
                int(GUILD),
                date(2026, 2, 2),
                date(2026, 3, 2),
                zone=ZoneInfo("Asia/Tokyo"),
                staff_roles=[int(STAFF_ROLE)],
            )
        finally:
            await kb.close()

    return asyncio.run(go())


def test_json_has_the_figures_of_both_periods_as_the_core_counts_them(data_dir, capsys):
    code, out, _ = run(capsys, "report", *PERIOD, "--staff-role", STAFF_ROLE, "--format", "json")
    assert code == 0
    data = json.loads(out)
    expected = core_report(data_dir)
    for key in (
        "questions",
        "answered",
        "solved",
        "solved_rate",
        "first_reply_median_seconds",
        "solve_median_seconds",
        "top_helpers",
        "recurring",
        "unanswered",
        "previous",
    ):
        assert key in data
    assert data["questions"] == expected.current.questions > 0
    assert data["solved"] == expected.current.solved
    assert data["first_reply_median_seconds"] == expected.current.first_reply_median_seconds
    assert data["answered_by_staff"] == expected.current.answered_by_staff
    assert data["previous"]["questions"] == expected.previous.questions > 0
    assert data["previous"]["since"] == "2026-01-05"
    assert data["staff_roles"] == [STAFF_ROLE] and data["time_zone"] == "Asia/Tokyo"
    helper = data["top_helpers"][0]
    assert set(helper) == {"user_id", "name", "answers"} and isinstance(helper["user_id"], str)
    assert [w["monday"] for w in data["weeks"]] == [
        "2026-02-02",
        "2026-02-09",
        "2026-02-16",
        "2026-02-23",
    ]


def test_csv_has_one_row_per_figure_with_both_periods(data_dir, capsys):
    code, out, _ = run(capsys, "report", *PERIOD, "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["figure", "2026-02-02..2026-03-02", "2026-01-05..2026-02-02"]
    assert [r[0] for r in rows[1:]] == [name for name, _ in FIGURES]
    assert all(len(r) == 3 for r in rows)
    by_name = {r[0]: r for r in rows[1:]}
    _, json_out, _ = run(capsys, "report", *PERIOD, "--format", "json")
    data = json.loads(json_out)
    assert by_name["questions"][1:] == [str(data["questions"]), str(data["previous"]["questions"])]
    assert by_name["answered_by_staff"][1:] == ["", ""]  # no staff role named


def test_text_reads_in_english_and_in_japanese(data_dir, capsys):
    code, en, _ = run(capsys, "report", *PERIOD, "--staff-role", STAFF_ROLE)
    assert code == 0
    questions = json.loads(run(capsys, "report", *PERIOD, "--format", "json")[1])["questions"]
    assert f"Questions asked: {questions}  (previous: " in en
    assert "Top helpers (accepted answers):" in en and "First reply by staff" in en
    code, ja, _ = run(capsys, "report", *PERIOD, "--lang", "ja")
    assert code == 0
    assert f"質問数: {questions}  (前期間: " in ja
    assert "トップヘルパー" in ja and "スタッフのロールが未設定" in ja


def test_the_chart_is_a_png_of_the_expected_size(data_dir, tmp_path, capsys):
    chart = tmp_path / "weekly.png"
    code, _, err = run(capsys, "report", *PERIOD, "--chart", str(chart))
    assert code == 0 and "chart written" in err
    data = chart.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (800, 450)
    assert len(data) > 10_000


def test_a_missing_matplotlib_is_said_plainly_before_any_work(
    data_dir, tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    chart = tmp_path / "weekly.png"
    code, out, err = run(capsys, "report", *PERIOD, "--chart", str(chart))
    assert code == 2 and out == ""
    assert "needs matplotlib" in err and "senpai[report]" in err
    assert not chart.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--since", "2026-13-01", "--until", "2026-02-01"), "not a date"),
        (("--since", "2026-02-01", "--until", "2026-03-01", "--tz", "Mars/Base"), "time zone"),
    ],
)
def test_unreadable_dates_and_zones_are_refused_by_name(data_dir, capsys, argv, message):
    with pytest.raises(SystemExit) as exited:
        main(["report", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_an_empty_or_reversed_period_is_refused(data_dir, capsys):
    for until in ("2026-02-01", "2026-01-01"):
        code, out, err = run(capsys, "report", "--since", "2026-02-01", "--until", until)
        assert code == 2 and out == "" and "must be after" in err


def test_a_chart_path_that_is_a_directory_is_refused(data_dir, tmp_path, capsys):
    code, out, err = run(capsys, "report", *PERIOD, "--chart", str(tmp_path))
    assert code == 2 and out == "" and "is a directory" in err


def test_an_empty_knowledge_base_has_nothing_to_report(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SENPAI_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    code, _, err = run(capsys, "report", "--since", "2026-02-02", "--until", "2026-03-02")
    assert code == 2 and "nothing to report" in err


def test_several_guilds_need_a_choice(data_dir, capsys):
    code, _, err = run(capsys, "report", "--since", "2026-02-02", "--until", "2026-03-02")
    assert code == 2 and "choose one with --guild" in err and GUILD in err
