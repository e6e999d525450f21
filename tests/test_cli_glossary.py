"""``senpai glossary add|remove|list|import --guild ID``, run in-process on a real data
directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.glossary_store import parse_tsv
from senpai.cli import main

GUILD = "915077679022095685"
OTHER = "915077679022095686"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SENPAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    return tmp_path / "data"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_terms_are_added_listed_and_removed_per_server(data_dir, capsys):
    code, out, err = run(capsys, "glossary", "add", "スマート配信", "Smart Send", "--guild", GUILD)
    assert (code, out, err) == (0, "added: スマート配信\n", "")
    code, out, _ = run(
        capsys, "glossary", "add", "スマート配信", "Smart Send|smart delivery", "--guild", GUILD
    )
    assert out == "changed: スマート配信\n"
    code, out, _ = run(capsys, "glossary", "list", "--guild", GUILD)
    assert code == 0
    assert parse_tsv(out) == [("スマート配信", ("Smart Send", "smart delivery"))]
    code, out, _ = run(capsys, "glossary", "list", "--guild", OTHER)
    assert parse_tsv(out) == []

    code, _, err = run(capsys, "glossary", "remove", "スマート配信", "--guild", OTHER)
    assert code == 2 and "has no term 'スマート配信'" in err
    code, out, _ = run(capsys, "glossary", "remove", "スマート配信", "--guild", GUILD)
    assert (code, out) == (0, "removed: スマート配信\n")


def test_a_bad_term_is_refused_with_its_reason(data_dir, capsys):
    code, out, err = run(capsys, "glossary", "add", "Smart Send", "Smart Send", "--guild", GUILD)
    assert code == 2 and out == ""
    assert err == "senpai: the Japanese term has no Japanese characters\n"


def test_an_import_names_every_bad_line_and_saves_nothing(
    data_dir,
    tmp_path: Path,
    capsys,
):
    bad = tmp_path / "bad.tsv"
    bad.write_text("スマート配信\tSmart Send\nno tab here\n税\ttax\n", encoding="utf-8")
    code, out, err = run(capsys, "glossary", "import", str(bad), "--guild", GUILD)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"senpai: nothing imported from {bad}:",
        "  line 2: expected 'Japanese<TAB>English'",
        "  line 3: the Japanese term '税' has nothing Senpai can match (too short)",
    ]
    _, out, _ = run(capsys, "glossary", "list", "--guild", GUILD)
    assert parse_tsv(out) == []

    good = tmp_path / "good.tsv"
    good.write_text("スマート配信\tSmart Send\n承認フロー\tapproval flow\n", encoding="utf-8")
    code, out, _ = run(capsys, "glossary", "import", str(good), "--guild", GUILD)
    assert (code, out) == (
        0,
        f"imported into server {GUILD}: 2 added, 0 changed, 0 already there\n",
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("スマート配信\tSmart Send\n".encode("shift_jis"), "is not UTF-8 text"),
    ],
)
def test_an_unreadable_file_is_a_clear_error(
    data_dir,
    tmp_path: Path,
    capsys,
    content: bytes | None,
    message: str,
):
    path = tmp_path / "terms.tsv"
    if content is not None:
        path.write_bytes(content)
    code, _, err = run(capsys, "glossary", "import", str(path), "--guild", GUILD)
    assert code == 2 and message in err


def test_the_guild_is_required(data_dir, capsys):
    with pytest.raises(SystemExit):
        run(capsys, "glossary", "list")
    assert "--guild" in capsys.readouterr().err
