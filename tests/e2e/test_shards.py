"""Two ``senpai run`` processes, shard 0 and shard 1 of 2, over one shared store.

The local Discord routes each guild's events to the session of the guild's shard
only, as Discord does. Each process is the real runner (``senpai run --shard-count 2
--shard-ids K``) in a process of its own (:mod:`tests.e2e.senpai_process`), with
the model-free hashing encoder so that two processes start quickly. Both share one
data directory; the store is SQLite unless ``SENPAI_TEST_DATABASE_URL`` names
another database (a throw-away one: the test writes to it), which both processes
and the command line then get as ``SENPAI_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localdiscord import Channel, Guild, LocalDiscord, Member, Message, shard_for

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "samples" / "community" / "help-api-429-rate-limit.json"
STOP_TIMEOUT = 30.0
STEP_TIMEOUT = 60.0
"""Generous: two bot processes and a command share two CPU cores with other tests."""

SSO_TITLE = "SAML login fails with invalid audience after moving to Okta"
SSO_BODY = (
    "Since we switched our IdP to Okta, every sign-in fails with an 'invalid audience' error."
)
SSO_ANSWER = (
    "Set the Audience URI in Okta to the exact SP Entity ID shown in Admin > Security > SSO, "
    "not the app's short name."
)
SSO_AGAIN = (
    "SAML login fails with invalid audience after the move to Okta",
    "Every sign-in fails with an 'invalid audience' error since we switched our IdP to Okta.",
)

DATABASES = [pytest.param(None, id="sqlite")]
if os.environ.get("SENPAI_TEST_DATABASE_URL"):
    DATABASES.append(pytest.param(os.environ["SENPAI_TEST_DATABASE_URL"], id="database-url"))


@dataclass
class Shard:
    """One bot process and where its log goes."""

    shard_id: int
    process: asyncio.subprocess.Process
    log: Path

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@dataclass
class World:
    server: LocalDiscord
    guilds: dict[int, Guild]
    """By shard: the guild whose events go to that shard."""
    forums: dict[int, Channel]
    askers: dict[int, Member]
    helpers: dict[int, Member]
    later: dict[int, Member]


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """``None``: SQLite in the shared data directory."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def world() -> AsyncIterator[World]:
    server = LocalDiscord(heartbeat_interval=1.0)
    guilds, forums, askers, helpers, later = {}, {}, {}, {}, {}
    for shard in (0, 1):
        guild = server.add_guild(f"Community on shard {shard}", shard=(shard, 2))
        guilds[shard] = guild
        forums[shard] = server.add_forum(guild, "help", tags=["Solved"])
        askers[shard] = server.add_member(guild, f"asker{shard}", nick=f"Asker {shard}")
        helpers[shard] = server.add_member(guild, f"helper{shard}", nick=f"Helper {shard}")
        later[shard] = server.add_member(guild, f"later{shard}", nick=f"Later {shard}")
    await server.start()
    try:
        yield World(server, guilds, forums, askers, helpers, later)
    finally:
        await server.stop()


def _environment(world: World, data_dir: Path, database_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "SENPAI_DATA_DIR": str(data_dir),
        "SENPAI_MODEL": "hashing",
        "SENPAI_DISCORD_TOKEN": world.server.bot_user.token,
    }
    env.pop("SENPAI_DATABASE_URL", None)
    if database_url is not None:
        env["SENPAI_DATABASE_URL"] = database_url
    return env


async def _senpai(
    world: World, env: dict[str, str], log: Path, *args: str
) -> asyncio.subprocess.Process:
    """``senpai ARGS`` against the local Discord, its output in ``log``."""
    with log.open("wb") as sink:  # the child keeps its own copy of the descriptor
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.e2e.senpai_process",
            world.server.api_url,
            world.server.gateway_url,
            *args,
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=sink,
            stderr=asyncio.subprocess.STDOUT,
        )


async def _stop(process: asyncio.subprocess.Process) -> int:
    """SIGTERM, as a service manager stops it; killed only if it does not exit."""
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise


@pytest.fixture
async def shards(
    world: World, tmp_path: Path, database_url: str | None
) -> AsyncIterator[dict[int, Shard]]:
    """Both bot processes, started together on one fresh data directory and ready."""
    env = _environment(world, tmp_path / "data", database_url)
    running: dict[int, Shard] = {}
    try:
        for shard_id in (0, 1):
            log = tmp_path / f"shard{shard_id}.log"
            process = await _senpai(
                world, env, log, "run", "--shard-count", "2", "--shard-ids", str(shard_id)
            )
            running[shard_id] = Shard(shard_id, process, log)
        for shard in running.values():
            await _wait_for_log(world, shard, f"serving the guilds of shard {shard.shard_id} of 2")
        yield running
    finally:
        for shard in running.values():
            with contextlib.suppress(TimeoutError):
                await _stop(shard.process)


async def _wait_for_log(world: World, shard: Shard, line: str) -> None:
    def seen() -> bool:
        if shard.process.returncode is not None:
            raise AssertionError(f"shard {shard.shard_id} exited early:\n{shard.text()}")
        return line in shard.text()

    try:
        await world.server.wait_for(seen, timeout=STEP_TIMEOUT)
    except TimeoutError:
        raise AssertionError(
            f"shard {shard.shard_id} never logged {line!r}:\n{shard.text()}"
        ) from None


def _suggestions(world: World, post: Channel) -> list[Message]:
    return [m for m in world.server.bot_messages(post) if m.embeds and m.components]


async def _suggested(world: World, post: Channel, shard: Shard) -> Message:
    """The suggestion on ``post``; the shard's log shows what happened if none comes."""
    try:
        return await world.server.wait_for_bot_message(
            post, lambda m: bool(m.embeds and m.components), timeout=STEP_TIMEOUT
        )
    except TimeoutError:
        raise AssertionError(f"no suggestion on post {post.id}:\n{shard.text()}") from None


def export_for(guild: Guild, forum: Channel) -> dict[str, object]:
    """A solved thread of ``guild`` as DiscordChatExporter writes it (the sample's)."""
    export = copy.deepcopy(json.loads(TEMPLATE.read_text(encoding="utf-8")))
    export["guild"]["id"] = str(guild.id)  # type: ignore[index]
    export["guild"]["name"] = guild.name  # type: ignore[index]
    export["channel"]["categoryId"] = str(forum.id)  # type: ignore[index]
    return export


async def test_two_shard_processes_each_serve_their_guilds_over_one_store(
    world: World, shards: dict[int, Shard], tmp_path: Path, database_url: str | None
) -> None:
    server = world.server
    assert [shard_for(world.guilds[s].id, 2) for s in (0, 1)] == [0, 1]
    await server.wait_for(lambda: server.commands(), timeout=STEP_TIMEOUT)  # shard 0 syncs

    # Shard 0's guild: a post is solved with /solved, then a later post finds it.
    first = await server.open_post(world.askers[0], world.forums[0], SSO_TITLE, SSO_BODY)
    reply = await server.send_message(world.helpers[0], first, SSO_ANSWER)
    solved = await server.run_slash(world.askers[0], first, "solved")
    await server.wait_for(lambda: len(solved.responses) >= 2 or None, timeout=STEP_TIMEOUT)
    again = await server.open_post(world.later[0], world.forums[0], *SSO_AGAIN)
    on_shard_0 = await _suggested(world, again, shards[0])
    assert f"/{first.id})" in on_shard_0.embeds[0]["fields"][0]["value"]

    # Shard 1's guild: a solved thread imported by the command line while the bots
    # run is found by a post there, without a restart.
    export = export_for(world.guilds[1], world.forums[1])
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "thread.json").write_text(json.dumps(export), encoding="utf-8")
    env = _environment(world, tmp_path / "data", database_url)
    importer = await _senpai(
        world, env, tmp_path / "import.log", "import", str(tmp_path / "exports")
    )
    assert await asyncio.wait_for(importer.wait(), STEP_TIMEOUT) == 0, (
        tmp_path / "import.log"
    ).read_text()
    messages = export["messages"]
    assert isinstance(messages, list)
    asked = await server.open_post(
        world.later[1],
        world.forums[1],
        str(export["channel"]["name"]),
        messages[0]["content"],  # type: ignore[index]
    )
    on_shard_1 = await _suggested(world, asked, shards[1])
    imported_thread = str(export["channel"]["id"])  # type: ignore[index]
    assert f"/{imported_thread})" in on_shard_1.embeds[0]["fields"][0]["value"]

    # Each post's events went to its guild's shard only, and each was handled there.
    created = {
        s: {d["id"] for t, d in server.dispatched_to_shard(s) if t == "THREAD_CREATE"}
        for s in (0, 1)
    }
    assert {str(first.id), str(again.id)} <= created[0] and not created[0] & {str(asked.id)}
    assert str(asked.id) in created[1] and not created[1] & {str(first.id), str(again.id)}
    await _wait_for_log(world, shards[0], f"suggested 1 entries for post {again.id}")
    await _wait_for_log(world, shards[1], f"suggested 1 entries for post {asked.id}")
    assert f"post {again.id}" not in shards[1].text()
    assert f"post {asked.id}" not in shards[0].text()

    # Stopped cleanly: both exit 0 on SIGTERM (waited for: nothing left running).
    codes = [await _stop(shards[s].process) for s in (0, 1)]
    assert codes == [0, 0], "\n".join(shards[s].text() for s in (0, 1))
    for shard in shards.values():
        assert "Traceback" not in shard.text(), shard.text()
        assert "shutting down" in shard.text()

    # Answered exactly once, and nothing else was said in the posts.
    assert [len(_suggestions(world, p)) for p in (again, asked)] == [1, 1]
    assert _suggestions(world, first) == []
    assert reply.id in {m.id for m in server.messages_in(first)}
    server.assert_clean()
