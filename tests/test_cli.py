"""The ``senpai`` command, run in-process on a real data directory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from senpai.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "community"
GUILD_A = "915077679022095685"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SENPAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    return tmp_path / "data"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_reports_captured_and_skipped_threads_with_reasons(data_dir, capsys):
    code, out, _ = run(capsys, "import", str(SAMPLES))
    assert code == 0
    assert "read 16 thread(s): 13 captured, 0 updated, 3 skipped" in out
    assert out.count("unsolved: no accepted answer found") == 3
    code, out, _ = run(capsys, "import", str(SAMPLES))
    assert "0 captured, 13 updated" in out


def test_a_malformed_file_is_reported_by_name_and_nothing_is_lost(data_dir, tmp_path, capsys):
    run(capsys, "import", str(SAMPLES))
    bad = tmp_path / "broken.json"
    bad.write_text('{"guild": {', encoding="utf-8")
    code, out, err = run(capsys, "import", str(bad))
    assert code == 2
    assert "broken.json" in out and "malformed" in out
    assert "nothing could be read" in err
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["entries"] == 13


def hostile_directory(root: Path) -> dict[str, str]:
    """Two good sample posts beside bad files; the bad files' names and reason kinds."""
    root.mkdir()
    good = SAMPLES / "help-billing-seats.json"
    (root / "good.json").write_bytes(good.read_bytes())
    (root / "also-good.json").write_bytes((SAMPLES / "help-full-data-export.json").read_bytes())
    data = json.loads(good.read_text(encoding="utf-8"))
    bad: dict[str, str] = {}

    (root / "deep.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    bad["deep.json"] = "malformed: nested deeper than"
    data["channel"]["id"] = str(2**64)
    (root / "huge-id.json").write_text(json.dumps(data), encoding="utf-8")
    bad["huge-id.json"] = "malformed: channel.id must be an id"
    data = json.loads(good.read_text(encoding="utf-8"))
    data["channel"]["id"] = str(int(data["channel"]["id"]) + 1)
    data["messages"][1]["timestamp"] = "0001-01-01T00:00:00+14:00"
    (root / "year-one.json").write_text(json.dumps(data), encoding="utf-8")
    bad["year-one.json"] = "malformed: messages[1].timestamp is out of range"
    (root / "latin1.json").write_bytes(b'{"guild": "caf\xe9"}')
    bad["latin1.json"] = "malformed: not UTF-8 text"
    (root / "settings.json").write_text('{"theme": "dark"}', encoding="utf-8")
    bad["settings.json"] = "malformed: guild is missing"
    (root / "later-copy.json").write_bytes(good.read_bytes())  # sorted after good.json
    bad["later-copy.json"] = "collision: thread"
    (root / "loop.json").symlink_to("loop.json")
    bad["loop.json"] = "unreadable: symbolic link loop"
    (root / "empty-subdirectory").mkdir()  # holds no file, so it is no problem
    return bad


def test_a_directory_of_good_and_bad_files_imports_the_good_and_names_the_bad(
    data_dir, tmp_path, capsys
):
    bad = hostile_directory(tmp_path / "exports")
    unsolved = tmp_path / "unsolved.json"
    unsolved.write_bytes((SAMPLES / "help-calendar-recurring-events.json").read_bytes())

    code, out, err = run(capsys, "import", str(tmp_path / "exports"), str(unsolved))

    assert code == 1
    assert "Traceback" not in out + err
    lines = [line.strip() for line in out.splitlines() if line.startswith("  skipped ")]
    for name, reason in bad.items():
        path = tmp_path / "exports" / name
        assert [line for line in lines if line.startswith(f"skipped {path}: {reason}")], name
    assert f"skipped {unsolved}: unsolved" in out
    assert len(lines) == len(bad) + 1
    assert f"read 3 thread(s): 2 captured, 0 updated, {len(bad) + 1} skipped" in out
    assert f"{len(bad)} file(s) could not be read" in out
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["entries"] == 2


def test_an_import_where_every_file_is_read_exits_0_even_with_unsolved_threads(
    data_dir, tmp_path, capsys
):
    unsolved = tmp_path / "unsolved.json"
    unsolved.write_bytes((SAMPLES / "help-calendar-recurring-events.json").read_bytes())

    code, out, _ = run(capsys, "import", str(unsolved), str(SAMPLES / "help-billing-seats.json"))

    assert code == 0
    assert "1 captured" in out and "unsolved" in out


def test_an_unreadable_path_alone_exits_2(data_dir, tmp_path, capsys):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)

    code, out, err = run(capsys, "import", str(fifo))

    assert code == 2
    assert f"skipped {fifo}: not a regular file: a FIFO" in out
    assert "nothing could be read" in err


def test_import_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["import", "--help"])
    out = capsys.readouterr().out
    assert "exit status" in out
    assert "0  every file was read" in out
    assert "1  some files were read" in out
    assert "2  nothing could be read" in out


def test_ask_prints_json_suggestions_or_an_empty_list(data_dir, capsys):
    run(capsys, "import", str(SAMPLES))
    code, out, _ = run(
        capsys, "ask", "--guild", GUILD_A, "--json", "SAML", "login", "invalid", "audience", "Okta"
    )
    assert code == 0
    results = json.loads(out)
    assert results[0]["thread_id"] == "1460801145660059949"
    assert {"thread_id", "title", "score"} <= set(results[0])
    code, out, _ = run(capsys, "ask", "--guild", GUILD_A, "--json", "zzzz qqqq")
    assert json.loads(out) == []


def test_ask_needs_a_guild_when_several_are_stored(data_dir, capsys):
    run(capsys, "import", str(SAMPLES))
    code, _, err = run(capsys, "ask", "anything")
    assert code == 2
    assert "--guild" in err


def test_forget_removes_a_member_content_and_says_what_went(data_dir, capsys):
    run(capsys, "import", str(SAMPLES))
    code, _, err = run(capsys, "forget", "--user", "1")
    assert code == 2 and "--yes" in err
    _, out, _ = run(capsys, "stats", "--json")
    leader = json.loads(out)["top_answerers"][0]
    code, out, _ = run(capsys, "forget", "--user", leader["user_id"], "--yes")
    assert code == 0
    assert f"removed {leader['answers']} entries" in out


def test_rebuild_and_stats_describe_the_index(data_dir, capsys):
    run(capsys, "import", str(SAMPLES))
    code, out, err = run(capsys, "rebuild")
    assert code == 0 and "index rebuilt: 13 entries" in out
    assert "rebuilding index" in err
    code, out, _ = run(capsys, "stats")
    assert "entries: 13 in 2 guild(s)" in out and "up to date" in out


def test_a_missing_path_is_a_clear_error(data_dir, capsys):
    code, _, err = run(capsys, "import", "/nonexistent/export.json")
    assert code == 2 and "no such file" in err


def test_a_missing_path_beside_a_good_one_is_named_and_the_good_one_imported(data_dir, capsys):
    code, out, _ = run(
        capsys, "import", "/nonexistent/export.json", str(SAMPLES / "help-billing-seats.json")
    )
    assert code == 1
    assert "1 captured" in out
    assert "skipped /nonexistent/export.json: not found" in out


def test_run_without_a_token_explains_what_is_missing(data_dir, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("SENPAI_DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "run")
    assert code == 2 and "SENPAI_DISCORD_TOKEN" in err


@pytest.mark.parametrize("before", [True, False])
def test_common_options_work_before_or_after_the_subcommand(tmp_path, monkeypatch, capsys, before):
    """`senpai --data-dir X forget ...` must act on X, not on the default directory."""
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    default_dir = tmp_path / "default"
    chosen = tmp_path / "chosen"
    monkeypatch.setenv("SENPAI_DATA_DIR", str(default_dir))

    def argv(*rest: str) -> list[str]:
        common = ["--data-dir", str(chosen)]
        return [*common, *rest] if before else [rest[0], *common, *rest[1:]]

    assert main(argv("import", str(SAMPLES))) == 0
    capsys.readouterr()
    asker = "492244775732365300"
    code, out, _ = run(capsys, *argv("forget", "--user", asker, "--yes"))
    assert code == 0
    assert "removed 0 entries" not in out
    assert not default_dir.exists()
    code, out, _ = run(capsys, *argv("stats", "--json"))
    assert json.loads(out)["entries"] < 13


def test_a_file_that_is_not_a_database_gets_a_one_line_error(data_dir, capsys):
    data_dir.mkdir(parents=True)
    (data_dir / "senpai.db").write_bytes(b"this is not sqlite" * 100)
    for command in (["stats"], ["ask", "--guild", GUILD_A, "hello"], ["import", str(SAMPLES)]):
        code, _, err = run(capsys, *command)
        assert code == 2
        assert "not a Senpai knowledge base" in err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_an_index_path_that_is_a_file_gets_a_clear_error(data_dir, capsys):
    run(capsys, "import", str(SAMPLES))
    for child in (data_dir / "index").iterdir():
        child.unlink()
    (data_dir / "index").rmdir()
    (data_dir / "index").write_text("oops", encoding="utf-8")
    code, _, err = run(capsys, "stats")
    assert code == 2 and "is a file" in err


@pytest.mark.parametrize("guild", ["9223372036854775808", "-5", "abc"])
def test_ids_out_of_range_are_refused_by_the_parser(data_dir, capsys, guild):
    with pytest.raises(SystemExit) as raised:
        main(["ask", "--guild", guild, "hello"])
    assert raised.value.code == 2
    assert "Discord id" in capsys.readouterr().err


def test_undecodable_bytes_in_a_question_are_replaced_not_fatal(data_dir, capsys):
    run(capsys, "import", str(SAMPLES))
    broken = b"SAML \xff\xfe login".decode("utf-8", "surrogateescape")
    code, out, err = run(capsys, "ask", "--guild", GUILD_A, "--json", broken)
    assert code == 0, err
    assert isinstance(json.loads(out), list)


def test_read_only_commands_work_on_a_directory_nobody_may_write(data_dir, capsys, monkeypatch):
    """`stats` and `ask` on a data directory the user cannot write. Root may write
    anything, so under root the CLI is told the directory is not writable."""
    run(capsys, "import", str(SAMPLES))
    before = {p.name: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    if os.geteuid() == 0:
        monkeypatch.setattr("senpai.cli.os.access", lambda *_args, **_kw: False)
    else:
        for path in [*data_dir.rglob("*"), data_dir]:
            path.chmod(0o500 if path.is_dir() else 0o400)
    try:
        code, out, err = run(capsys, "stats", "--json")
        assert code == 0, err
        assert json.loads(out)["entries"] == 13
        code, out, err = run(capsys, "ask", "--guild", GUILD_A, "--json", "SAML login audience")
        assert code == 0, err
        assert json.loads(out)
    finally:
        for path in [data_dir, *data_dir.rglob("*")]:
            path.chmod(0o700 if path.is_dir() else 0o600)
    after = {p.name: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    # A reader may leave SQLite's shared-memory file behind; nothing else changes.
    assert {k: v for k, v in after.items() if not k.endswith("-shm")} == {
        k: v for k, v in before.items() if not k.endswith("-shm")
    } | ({"senpai.db-wal": b""} if "senpai.db-wal" in after else {})


def test_a_private_forum_reimported_without_private_stays_private(data_dir, capsys):
    run(capsys, "import", "--private", str(SAMPLES))
    question = ["ask", "--guild", GUILD_A, "--json", "SAML", "login", "invalid", "audience", "Okta"]
    assert json.loads(run(capsys, *question)[1]) == []
    _, out, _ = run(capsys, "import", str(SAMPLES))
    assert "not capturable" in out and "private" in out
    assert json.loads(run(capsys, *question)[1]) == []
    code, out, _ = run(capsys, "import", "--widen-scope", str(SAMPLES))
    assert code == 0 and "made visible more widely" in out
    assert json.loads(run(capsys, *question)[1])
