"""Boot check: every extension loads into a real bot; the command tree is what we ship."""

from __future__ import annotations

from pathlib import Path

import discord
import pytest

from cogs.bot import EXTENSIONS, SenpaiBot
from cogs.i18n import MESSAGES, SenpaiTranslator
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


async def payloads(bot) -> dict[str, dict]:
    translator = bot.tree.translator
    result = {}
    for command in bot.tree.get_commands():
        payload = await command.get_translated_payload(bot.tree, translator)
        result[payload["name"]] = payload
    return result


async def test_every_extension_loads_and_registers_its_commands(bot):
    commands = await payloads(bot)
    assert set(commands) == {"senpai", "solved", "unsolved", "Mark as solution"}
    senpai = commands["senpai"]
    assert {o["name"] for o in senpai["options"]} == {
        "search",
        "setup",
        "rebuild",
        "backfill",
        "stats",
        "forget",
    }
    assert commands["Mark as solution"]["type"] == discord.AppCommandType.message.value


async def test_every_command_name_and_description_has_a_japanese_localisation(bot):
    def walk(payload: dict):
        yield payload
        for option in payload.get("options", []):
            yield option
            yield from walk(option) if option.get("type") in (1, 2) else ()

    for top in (await payloads(bot)).values():
        for item in walk(top):
            assert item.get("name_localizations", {}).get("ja"), item["name"]
            if top["type"] == 1:
                assert item.get("description_localizations", {}).get("ja"), item["name"]


async def test_commands_are_guild_only_and_default_permissions_are_as_designed(bot):
    for payload in (await payloads(bot)).values():
        assert payload.get("contexts") in ([0], None) or payload.get("dm_permission") is False
        # Members need /senpai search and the asker needs /solved: no command is
        # hidden by default; admin subcommands check Manage Server at run time.
        assert payload.get("default_member_permissions") is None


async def test_no_two_commands_shadow_each_other(bot):
    names = [(c.name, type(c).__name__) for c in bot.tree.get_commands()]
    assert len(names) == len(set(names))


def test_every_message_exists_in_english_and_japanese():
    for key, texts in MESSAGES.items():
        assert set(texts) == {"en", "ja"}, key
        assert all(text.strip() for text in texts.values()), key


def test_the_bot_asks_only_for_the_intents_it_needs(tmp_path):
    from cogs.bot import intents

    wanted = intents()
    assert wanted.guilds and wanted.guild_messages and wanted.message_content
    assert not wanted.members and not wanted.presences and not wanted.dm_messages
