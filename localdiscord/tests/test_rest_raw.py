"""The server seen without discord.py: wire details a client library would hide."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib

import aiohttp

from localdiscord import LocalDiscord
from support import seed


def _auth(server: LocalDiscord) -> dict[str, str]:
    return {"Authorization": f"Bot {server.bot_user.token}"}


async def test_unknown_routes_answer_404_and_are_recorded(server: LocalDiscord) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.api_url}/guilds/1/audit-logs", headers=_auth(server)) as response,
    ):
        body = await response.json()

    assert response.status == 404
    assert body == {"message": "404: Not Found", "code": 0}
    [violation] = server.take_violations("unknown_route")
    assert "GET /guilds/1/audit-logs" in violation.message


async def test_a_wrong_token_is_401(server: LocalDiscord) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{server.api_url}/users/@me", headers={"Authorization": "Bot nope"}
        ) as response,
    ):
        assert response.status == 401
    assert [v.rule for v in server.take_violations()] == ["unauthorized"]


async def test_gateway_bot_describes_the_local_gateway(server: LocalDiscord) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.api_url}/gateway/bot", headers=_auth(server)) as response,
    ):
        body = await response.json()

    assert response.headers["Content-Type"] == "application/json"
    assert body["url"] == server.gateway_url
    assert body["shards"] == 1
    assert body["session_start_limit"]["max_concurrency"] == 1


async def test_gateway_speaks_zlib_stream_with_sync_flush_frames(server: LocalDiscord) -> None:
    world = seed(server)
    inflate = zlib.decompressobj()
    frames: list[dict[str, object]] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.gateway_url}?v=10&encoding=json&compress=zlib-stream") as ws,
    ):
        hello = await ws.receive_bytes()
        assert hello.endswith(b"\x00\x00\xff\xff")
        frames.append(json.loads(inflate.decompress(hello)))
        await ws.send_json(
            {
                "op": 2,
                "d": {"token": server.bot_user.token, "intents": 1, "properties": {}},
            }
        )
        for _ in range(2):  # READY, GUILD_CREATE
            raw = await ws.receive_bytes()
            assert raw.endswith(b"\x00\x00\xff\xff")
            frames.append(json.loads(inflate.decompress(raw)))
        await ws.send_json({"op": 1, "d": 2})
        ack = json.loads(inflate.decompress(await ws.receive_bytes()))

    assert frames[0]["op"] == 10
    assert frames[0]["d"] == {"heartbeat_interval": 1000}
    assert [f["t"] for f in frames[1:]] == ["READY", "GUILD_CREATE"]
    assert [f["s"] for f in frames[1:]] == [1, 2]
    assert frames[2]["d"]["id"] == str(world.guild.id)  # type: ignore[index]
    assert ack["op"] == 11
    assert len(server.heartbeats) == 1


async def test_disallowed_privileged_intents_close_with_4014() -> None:
    server = LocalDiscord(privileged_intents=0)
    await server.start()
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{server.gateway_url}?v=10&encoding=json") as ws,
        ):
            await ws.receive_str()  # HELLO
            await ws.send_json({"op": 2, "d": {"token": server.bot_user.token, "intents": 1 << 15}})
            closing = await ws.receive()
        assert closing.type is aiohttp.WSMsgType.CLOSE
        assert closing.data == 4014
        assert [v.rule for v in server.take_violations()] == ["gateway_intents"]
    finally:
        await server.stop()


async def test_zstd_without_a_zstd_module_is_refused_with_a_non_resumable_code(
    server: LocalDiscord,
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.gateway_url}?v=10&encoding=json&compress=zstd-stream") as ws,
    ):
        closing = await ws.receive()

    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 4012
    assert [v.rule for v in server.take_violations()] == ["gateway_compress"]


def test_the_package_does_not_import_discord_py_or_senpai() -> None:
    code = (
        "import sys, localdiscord; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'discord', 'senpai', 'cogs', 'knowledge', 'index'}); print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
