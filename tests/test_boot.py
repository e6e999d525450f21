"""Boot check: every extension loads into a real bot; the command tree is what we ship."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from cogs.bot import EXTENSIONS, SenpaiBot
from cogs.checks import require_admin
from cogs.i18n import MESSAGES, SenpaiTranslator
from cogs.services import attach
from index.encoder import HashingEncoder
from senpai.app import Settings, close_services, open_services


@pytest.fixture
async def bot(tmp_path: Path):
    services = await open_services(Settings(tmp_path, "hashing"), encoder=HashingEncoder())
    bot = SenpaiBot(services, sync_commands=False)
    await bot.tree.set_translator(SenpaiTranslator())
    for extension in EXTENSIONS:
        await bot.load_extension(extension)
    yield bot
    for extension in EXTENSIONS:
        await bot.unload_extension(extension)
    await close_services(services)


@pytest.fixture
async def host_bot(tmp_path: Path):
    """Someone else's bot (a plain ``commands.Bot``, no gateway) that embeds Senpai."""
    services = await open_services(Settings(tmp_path, "hashing"), encoder=HashingEncoder())
    host = commands.Bot(command_prefix="!", intents=discord.Intents.none())
    attach(host, services)
    await host.tree.set_translator(SenpaiTranslator())
    for extension in EXTENSIONS:
        await host.load_extension(extension)
    yield host
    for extension in EXTENSIONS:
        await host.unload_extension(extension)
    await close_services(services)


def walk(payload: dict):
    yield payload
    for option in payload.get("options", []):
        yield option
        yield from walk(option) if option.get("type") in (1, 2) else ()


async def payloads(bot) -> dict[str, dict]:
    translator = bot.tree.translator
    result = {}
    for command in bot.tree.get_commands():
        payload = await command.get_translated_payload(bot.tree, translator)
        result[payload["name"]] = payload
    return result


async def test_every_extension_loads_and_registers_its_commands(bot):
    commands = await payloads(bot)
    assert set(commands) == {"senpai", "senpai-admin", "solved", "unsolved", "Mark as solution"}
    assert {o["name"] for o in commands["senpai"]["options"]} == {
        "search",
        "forget-me",
        "privacy",
        "helpers",
        "credit",
        "invites",
    }
    assert {o["name"] for o in commands["senpai-admin"]["options"]} == {
        "setup",
        "rebuild",
        "backfill",
        "stats",
        "report",
        "forget",
        "schedule",
        "credit",
        "glossary",
    }
    assert commands["Mark as solution"]["type"] == discord.AppCommandType.message.value


async def test_every_command_name_and_description_has_a_japanese_localisation(bot):
    for top in (await payloads(bot)).values():
        for item in walk(top):
            assert item.get("name_localizations", {}).get("ja"), item["name"]
            if top["type"] == 1:
                assert item.get("description_localizations", {}).get("ja"), item["name"]


async def test_the_privacy_choices_read_in_japanese(bot):
    members = {o["name"]: o for o in (await payloads(bot))["senpai"]["options"]}
    (capture,) = members["privacy"]["options"]
    assert [c["value"] for c in capture["choices"]] == ["stop", "allow"]
    for choice in capture["choices"]:
        assert choice.get("name_localizations", {}).get("ja"), choice["name"]


async def test_the_report_periods_read_in_japanese(bot):
    members = {o["name"]: o for o in (await payloads(bot))["senpai-admin"]["options"]}
    (period,) = members["report"]["options"]
    assert [c["value"] for c in period["choices"]] == ["7d", "30d", "month"]
    for choice in period["choices"]:
        assert choice.get("name_localizations", {}).get("ja"), choice["name"]


async def test_setup_names_a_staff_role_in_both_languages(bot):
    members = {o["name"]: o for o in (await payloads(bot))["senpai-admin"]["options"]}
    options = {o["name"]: o for o in members["setup"]["options"]}
    assert options["staff_role"]["type"] == discord.AppCommandOptionType.role.value
    assert options["staff_role"]["name_localizations"]["ja"] == "スタッフロール"


async def test_commands_are_guild_only_and_only_admin_commands_are_hidden_by_default(bot):
    manage_guild = discord.Permissions(manage_guild=True).value
    for name, payload in (await payloads(bot)).items():
        assert payload.get("contexts") in ([0], None) or payload.get("dm_permission") is False
        # Members need /senpai search and the asker needs /solved; /senpai-admin is
        # for Manage Server, which a server can change in its integration settings.
        expected = manage_guild if name == "senpai-admin" else None
        assert payload.get("default_member_permissions") == expected, name


async def test_every_admin_subcommand_checks_manage_server_at_run_time(bot):
    group = bot.tree.get_command("senpai-admin")
    assert isinstance(group, app_commands.Group)
    assert group.commands
    for command in group.walk_commands():  # subgroups' commands too (glossary)
        if isinstance(command, app_commands.Command):
            assert require_admin in command.checks, command.qualified_name


async def test_no_two_commands_shadow_each_other(bot):
    names = [(c.name, type(c).__name__) for c in bot.tree.get_commands()]
    assert len(names) == len(set(names))


async def test_a_host_bot_loading_the_extensions_gets_every_command_and_no_clash(host_bot):
    """Top-level commands of one type, and the subcommands of one group, have distinct
    names in every locale Senpai translates (a clash would hide one of them)."""
    tops = await payloads(host_bot)
    assert set(tops) == {"senpai", "senpai-admin", "solved", "unsolved", "Mark as solution"}

    def localised(items: list[dict]) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {"en": [i["name"] for i in items]}
        names["ja"] = [i.get("name_localizations", {}).get("ja", i["name"]) for i in items]
        return names

    for kind in {p["type"] for p in tops.values()}:
        for locale, names in localised([p for p in tops.values() if p["type"] == kind]).items():
            assert len(names) == len(set(names)), (locale, names)
    for top in tops.values():
        for item in walk(top):
            options = [o for o in item.get("options", []) if o.get("type") in (1, 2)]
            for locale, names in localised(options).items():
                assert len(names) == len(set(names)), (item["name"], locale, names)


async def test_background_work_comes_with_the_extensions_and_leaves_with_them(host_bot):
    background = host_bot.get_cog("Background")
    assert background is not None
    assert background.flusher.is_running()
    assert host_bot.tree.on_error == background.on_app_command_error
    flushing = background.flusher.get_task()
    await host_bot.unload_extension("cogs.background")
    with contextlib.suppress(asyncio.CancelledError):
        await flushing
    assert flushing.cancelled()
    assert host_bot.tree.on_error != background.on_app_command_error
    await host_bot.load_extension("cogs.background")


def test_every_message_exists_in_english_and_japanese():
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "ja"}, key
        assert all(text.strip() for text in texts.values()), key


async def test_the_runner_passes_the_guild_grace_period(tmp_path):
    settings = Settings(tmp_path, "hashing", guild_grace=timedelta(days=3))
    services = await open_services(settings, encoder=HashingEncoder())
    try:
        assert services.guild_grace == timedelta(days=3)
    finally:
        await close_services(services)
    assert Settings(tmp_path, "hashing").guild_grace == timedelta(days=30)


def test_the_bot_asks_only_for_the_intents_it_needs(tmp_path):
    from cogs.bot import intents

    wanted = intents()
    assert wanted.guilds and wanted.guild_messages and wanted.message_content
    assert not wanted.members and not wanted.presences and not wanted.dm_messages


async def test_the_credit_choices_and_helper_periods_read_in_japanese(bot):
    members = {o["name"]: o for o in (await payloads(bot))["senpai"]["options"]}
    (period,) = members["helpers"]["options"]
    assert [c["value"] for c in period["choices"]] == ["7d", "30d", "month", "all"]
    notices, listed = members["credit"]["options"]
    assert (notices["name"], listed["name"]) == ("notices", "listed")
    for option in (period, notices, listed):
        for choice in option["choices"]:
            assert choice.get("name_localizations", {}).get("ja"), choice["name"]
    admin = {o["name"]: o for o in (await payloads(bot))["senpai-admin"]["options"]}
    options = {o["name"]: o for o in admin["credit"]["options"]}
    assert options["role"]["type"] == discord.AppCommandOptionType.role.value
    assert options["role_after"]["max_value"] == 1000


async def test_the_invites_choices_read_in_japanese(bot):
    members = {o["name"]: o for o in (await payloads(bot))["senpai"]["options"]}
    (choice,) = members["invites"]["options"]
    assert not choice.get("required", False)
    assert [c["value"] for c in choice["choices"]] == ["on", "off"]
    assert [c["name_localizations"]["ja"] for c in choice["choices"]] == ["オン", "オフ"]
