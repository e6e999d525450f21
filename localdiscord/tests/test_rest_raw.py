"""The server seen without discord.py: wire details a client library would hide."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib

import aiohttp
import pytest

from localdiscord import LocalDiscord
from support import ServerFactory, seed


def _auth(server: LocalDiscord) -> dict[str, str]:
    return {"Authorization": f"Bot {server.bot_user.token}"}


@pytest.mark.parametrize(
    ("path", "token", "status", "body", "rule", "message"),
    [
        (
            "/guilds/1/audit-logs",
            None,
            404,
            {"message": "404: Not Found", "code": 0},
            "unknown_route",
            "GET /guilds/1/audit-logs",
        ),
        (
            "/users/@me",
            "Bot nope",
            401,
            {"message": "401: Unauthorized", "code": 0},
            "unauthorized",
            "wrong bot token",
        ),
    ],
    ids=["unknown route", "wrong token"],
)
async def test_refused_requests_get_discords_answer_and_are_recorded(
    server: LocalDiscord,
    path: str,
    token: str | None,
    status: int,
    body: dict[str, object],
    rule: str,
    message: str,
) -> None:
    headers = _auth(server) if token is None else {"Authorization": token}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.api_url}{path}", headers=headers) as response,
    ):
        answer = await response.json()

    assert (response.status, answer) == (status, body)
    [violation] = server.take_violations()
    assert violation.rule == rule and message in violation.message


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


@pytest.mark.parametrize(
    ("options", "compress", "intents", "code", "rule"),
    [
        ({"privileged_intents": 0}, None, 1 << 15, 4014, "gateway_intents"),
        ({}, "zstd-stream", None, 4012, "gateway_compress"),
    ],
    ids=["privileged intents not enabled", "zstd without a zstd module"],
)
async def test_the_gateway_refuses_what_discord_refuses_with_its_close_code(
    make_server: ServerFactory,
    options: dict[str, object],
    compress: str | None,
    intents: int | None,
    code: int,
    rule: str,
) -> None:
    server = await make_server(**options)
    query = "?v=10&encoding=json" + (f"&compress={compress}" if compress else "")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.gateway_url}{query}") as ws,
    ):
        if intents is not None:
            await ws.receive_str()  # HELLO
            await ws.send_json({"op": 2, "d": {"token": server.bot_user.token, "intents": intents}})
        closing = await ws.receive()

    assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == code
    assert [v.rule for v in server.take_violations()] == [rule]


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
