"""``senpai run --shard-count N --shard-ids a,b``: the options, and the bot they build."""

from __future__ import annotations

from pathlib import Path

import pytest
from discord.ext import commands

from cogs.bot import SenpaiBot, ShardedSenpaiBot, make_bot
from cogs.services import Services
from cogs.shards import shards_of
from knowledge.shards import Shards
from senpai.app import Settings, close_services, open_services
from senpai.cli import main


@pytest.fixture
def no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad shard options are refused before the token is even looked for."""
    monkeypatch.delenv("SENPAI_DISCORD_TOKEN", raising=False)
    monkeypatch.setenv("SENPAI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SENPAI_MODEL", "hashing")
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--shard-ids", "0"], "--shard-ids needs --shard-count"),
        (["--shard-count", "2", "--shard-ids", "2"], "shard id 2 is out of range"),
        (["--shard-count", "2", "--shard-ids", "0,3"], "shard id 3 is out of range"),
    ],
    ids=["ids without a count", "id = count", "one id too large"],
)
def test_inconsistent_shard_options_are_refused_with_the_reason(
    no_token: None, capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    assert main(["run", *argv]) == 2
    err = capsys.readouterr().err
    assert reason in err and "SENPAI_DISCORD_TOKEN" not in err
    assert not (Path("data") / "senpai.db").exists()


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--shard-count", "0"], "the shard count must be at least 1, not 0"),
        (["--shard-count", "two"], "not a number of shards: 'two'"),
        (["--shard-count", "2", "--shard-ids", "0,0"], "shard 0 is given twice"),
        (["--shard-count", "2", "--shard-ids", "-1"], "-1 is negative"),
        (["--shard-count", "2", "--shard-ids", "0;1"], "not a shard id: '0;1'"),
    ],
    ids=["zero shards", "not a number", "duplicate", "negative", "bad separator"],
)
def test_malformed_shard_options_are_usage_errors(
    no_token: None, capsys: pytest.CaptureFixture[str], argv: list[str], reason: str
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["run", *argv])
    assert exit_.value.code == 2
    assert reason in capsys.readouterr().err


def test_good_shard_options_get_as_far_as_the_token(
    no_token: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--shard-count", "4", "--shard-ids", "3,1"]) == 2
    assert "SENPAI_DISCORD_TOKEN" in capsys.readouterr().err


def test_settings_carry_the_shards_of_the_process(tmp_path: Path) -> None:
    settings = Settings.resolve(data_dir=tmp_path, model="hashing", shard_count=4, shard_ids=(3, 1))
    assert settings.shards() == Shards(4, frozenset({1, 3}))
    assert Settings.resolve(data_dir=tmp_path, model="hashing").shards() is None
    assert Settings.resolve(data_dir=tmp_path, model="hashing", shard_count=2).shards() == Shards(
        2, frozenset({0, 1})
    )


@pytest.fixture
async def services(tmp_path: Path):
    opened = await open_services(Settings(data_dir=tmp_path / "data", model="hashing"))
    yield opened
    await close_services(opened)


async def test_without_sharding_the_runner_builds_a_plain_bot(services: Services) -> None:
    bot = make_bot(services)
    assert type(bot) is SenpaiBot and not isinstance(bot, commands.AutoShardedBot)
    assert bot.sync_commands
    assert shards_of(bot) is None
    await bot.close()


async def test_with_shards_the_runner_builds_an_auto_sharded_bot_running_them(
    services: Services,
) -> None:
    bot = make_bot(services, Shards(4, frozenset({3, 1})))
    assert isinstance(bot, ShardedSenpaiBot) and isinstance(bot, commands.AutoShardedBot)
    assert (bot.shard_count, bot.shard_ids) == (4, [1, 3])
    assert shards_of(bot) == Shards(4, frozenset({1, 3}))
    assert not bot.sync_commands  # global commands: the process running shard 0 syncs them
    assert make_bot(services, Shards(2, frozenset({0}))).sync_commands


async def test_a_process_running_every_shard_serves_every_server(services: Services) -> None:
    assert shards_of(make_bot(services, Shards(2, frozenset({0, 1})))) is None
