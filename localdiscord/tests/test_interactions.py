"""Application commands, components and modals through a real discord.py CommandTree."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from localdiscord import InteractionCallbackType, InteractionRecord, LocalDiscord, ScenarioError
from support import BotConnector, ServerFactory, World, make_bot, seed


class HelpfulView(discord.ui.View):
    """A persistent view: survives restarts because its custom_id is fixed."""

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Helpful", custom_id="senpai:helpful", style=discord.ButtonStyle.success
    )
    async def helpful(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        await interaction.response.edit_message(content="Thanks for the feedback!", view=None)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    comment: discord.ui.TextInput[Any] = discord.ui.TextInput(
        label="Comment", custom_id="senpai:comment", max_length=200
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"got {self.comment.value}", ephemeral=True)


def build_bot(seen: list[discord.Interaction]) -> commands.Bot:
    """A bot with a /senpai group, an admin command, a context menu and a persistent view."""
    bot = make_bot()
    senpai = app_commands.Group(name="senpai", description="Senpai knowledge base")

    @senpai.command(name="ask", description="Search solved posts")
    @app_commands.describe(query="What you are looking for")
    async def ask(
        interaction: discord.Interaction, query: str, limit: app_commands.Range[int, 1, 10] = 3
    ) -> None:
        seen.append(interaction)
        await interaction.response.send_message(
            f"[{interaction.locale.value}] {query} x{limit}", ephemeral=True
        )

    @senpai.command(name="slow", description="Defers, then edits")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await asyncio.sleep(0.05)
        await interaction.edit_original_response(content="done thinking")

    @senpai.command(name="feedback", description="Opens a modal")
    async def feedback(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @senpai.command(name="late", description="Answers after the deadline")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.4)
        await interaction.response.send_message("too late", ephemeral=True)

    @senpai.command(name="steps", description="Every webhook route once")
    async def steps(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("step 1")
        original = await interaction.original_response()
        extra = await interaction.followup.send("step 2", wait=True)
        await extra.edit(content="step 2 (edited)")
        await interaction.followup.send("only you see this", ephemeral=True)
        await original.delete()

    @senpai.command(name="topic", description="Autocompleted topic")
    async def topic(interaction: discord.Interaction, name: str) -> None:
        await interaction.response.send_message(name, ephemeral=True)

    @topic.autocomplete("name")
    async def topic_names(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        names = ["python", "pip", "poetry", "rust"]
        return [app_commands.Choice(name=n, value=n) for n in names if n.startswith(current)]

    @senpai.command(name="pick", description="Sends a select menu")
    async def pick_lang(interaction: discord.Interaction) -> None:
        view = discord.ui.View()
        select: discord.ui.Select[Any] = discord.ui.Select(
            custom_id="senpai:lang",
            options=[
                discord.SelectOption(label="日本語", value="ja"),
                discord.SelectOption(label="English", value="en"),
            ],
        )

        async def chosen(inner: discord.Interaction) -> None:
            await inner.response.edit_message(content=f"lang={select.values[0]}", view=None)

        select.callback = chosen  # type: ignore[method-assign]
        view.add_item(select)
        await interaction.response.send_message("Pick a language", view=view)

    settings = app_commands.Group(name="settings", description="Settings", parent=senpai)

    @settings.command(name="channel", description="Pick the forum")
    async def pick(
        interaction: discord.Interaction, forum: discord.ForumChannel, who: discord.Member
    ) -> None:
        await interaction.response.send_message(f"{forum.name} by {who.name}", ephemeral=True)

    @app_commands.command(name="reindex", description="Rebuild the index")
    @app_commands.default_permissions(manage_threads=True)
    async def reindex(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("reindexing", ephemeral=True)

    @app_commands.context_menu(name="Mark as solution")
    async def mark(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send(f"marked {message.id}: {message.content}", ephemeral=True)

    bot.tree.add_command(senpai)
    bot.tree.add_command(reindex)
    bot.tree.add_command(mark)
    return bot


async def connect_with_commands(
    server: LocalDiscord, connect: BotConnector, world: World
) -> tuple[commands.Bot, list[discord.Interaction]]:
    seen: list[discord.Interaction] = []

    async def before_connect(bot: commands.Bot) -> None:
        bot.add_view(HelpfulView())
        await bot.tree.sync()

    bot = await connect(server, build_bot(seen), before_connect=before_connect)
    return bot, seen


async def test_tree_sync_registers_commands_with_ids(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot, _ = await connect_with_commands(server, connect, world)

    registered = {(c.name, c.type) for c in server.commands()}
    assert registered == {("senpai", 1), ("reindex", 1), ("Mark as solution", 3)}
    senpai = next(c for c in server.commands() if c.name == "senpai")
    assert [o["name"] for o in senpai.options] == [
        "ask",
        "slow",
        "feedback",
        "late",
        "steps",
        "topic",
        "pick",
        "settings",
    ]
    fetched = await bot.tree.fetch_commands()
    assert {c.id for c in fetched} == {c.id for c in server.commands()}
    await bot.tree.sync()  # a second sync keeps the ids, as Discord does
    assert {c.id for c in await bot.tree.fetch_commands()} == {c.id for c in fetched}
    server.assert_clean()


async def test_guild_sync_registers_guild_commands(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server, build_bot([]))
    guild = discord.Object(world.guild.id)
    bot.tree.copy_global_to(guild=guild)

    await bot.tree.sync(guild=guild)
    record = await server.run_slash(world.bob, world.general, "senpai ask", {"query": "q"})

    assert {c.name for c in server.commands(world.guild)} >= {"senpai", "reindex"}
    assert record.data["guild_id"] == str(world.guild.id)
    assert (await record.wait_for_response()).content == "[en-US] q x3"


async def test_members_can_be_fetched(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot = await connect(server)
    guild = bot.get_guild(world.guild.id)
    assert guild is not None

    member = await guild.fetch_member(world.mod.id)

    assert member.get_role(world.helper.id) is not None
    with pytest.raises(discord.NotFound):
        await guild.fetch_member(12345)


async def test_slash_subcommand_is_answered_ephemerally_in_the_members_locale(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    _, seen = await connect_with_commands(server, connect, world)

    record = await server.run_slash(
        world.alice, world.general, "senpai ask", {"query": "pip", "limit": 5}
    )
    response = await record.wait_for_response()

    assert response.type == 4 and response.ephemeral
    assert response.content == "[ja] pip x5"
    [interaction] = seen
    assert interaction.guild_locale is discord.Locale.japanese
    assert interaction.user.id == world.alice.id
    assert interaction.permissions.send_messages and not interaction.permissions.manage_threads
    assert interaction.app_permissions.manage_threads
    assert server.bot_messages(world.general) == []  # ephemeral: not in the channel
    server.assert_clean()


async def test_slash_command_in_a_thread_sees_the_thread(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    _, seen = await connect_with_commands(server, connect, world)
    post = await server.open_post(world.bob, world.forum, "Q", "body")

    record = await server.run_slash(world.bob, post, "senpai ask", {"query": "x"}, locale="en-US")
    await record.wait_for_response()

    assert isinstance(seen[0].channel, discord.Thread) and seen[0].channel.id == post.id
    assert record.callback is not None and record.callback.content == "[en-US] x x3"


async def test_options_resolve_members_and_channels(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)

    record = await server.run_slash(
        world.mod,
        world.general,
        "senpai settings channel",
        {"forum": world.forum, "who": world.bob},
    )

    response = await record.wait_for_response()
    assert response.content == "help by bob"


async def test_default_member_permissions_hide_commands_from_members(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)

    with pytest.raises(ScenarioError):
        await server.run_slash(world.alice, world.general, "reindex")
    record = await server.run_slash(world.mod, world.general, "reindex")

    assert (await record.wait_for_response()).content == "reindexing"


@pytest.mark.parametrize(
    ("command", "options"),
    [("senpai nope", None), ("senpai ask", {"querry": "typo"}), ("senpai ask", None)],
    ids=["unknown command", "unknown option", "required option missing"],
)
async def test_unknown_commands_and_options_are_scenario_errors(
    server: LocalDiscord,
    world: World,
    connect: BotConnector,
    command: str,
    options: dict[str, Any] | None,
) -> None:
    await connect_with_commands(server, connect, world)

    with pytest.raises(ScenarioError):
        await server.run_slash(world.alice, world.general, command, options)


async def test_defer_then_edit_original(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)

    record = await server.run_slash(world.alice, world.general, "senpai slow")
    await record.wait_for_responses(2)

    assert [r.kind for r in record.responses] == ["callback", "edit_original"]
    assert record.response_type == 5
    [message] = server.bot_messages(world.general)
    assert message.content == "done thinking" and not message.loading
    assert message.interaction_metadata is not None
    assert message.interaction_metadata["user"]["id"] == str(world.alice.id)
    server.assert_clean()


async def test_original_response_and_followups_go_through_the_webhook_routes(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)

    record = await server.run_slash(world.alice, world.general, "senpai steps")
    await record.wait_for_responses(5)

    kinds = [r.kind for r in record.responses]
    assert kinds == ["callback", "followup", "edit_followup", "followup", "delete_original"]
    assert [m.content for m in server.bot_messages(world.general)] == ["step 2 (edited)"]
    assert record.followups[1].ephemeral
    webhook_gets = [r for r in server.requests if r.method == "GET" and "/webhooks/" in r.path]
    assert [r.status for r in webhook_gets] == [200]
    server.assert_clean()


async def test_message_context_menu_defers_and_follows_up(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)
    post = await server.open_post(world.alice, world.forum, "Q", "question")
    answer = await server.send_message(world.bob, post, "try reinstalling")

    record = await server.run_message_command(world.alice, answer, "Mark as solution")
    await record.wait_for_responses(2)

    callback, followup = record.responses
    assert callback.type == 5 and callback.ephemeral
    assert followup.kind == "followup" and followup.ephemeral
    assert followup.content == f"marked {answer.id}: try reinstalling"
    server.assert_clean()


async def test_persistent_view_button_edits_the_message(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    bot, _ = await connect_with_commands(server, connect, world)
    channel = bot.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("Was this helpful?", view=HelpfulView())
    message = server.message(sent.id)
    assert message.custom_ids() == ["senpai:helpful"]

    record = await server.press_button(world.alice, message, "senpai:helpful")
    await record.wait_for_response()

    assert record.response_type == 7
    assert message.content == "Thanks for the feedback!" and message.components == []
    server.assert_clean()


async def test_modal_is_shown_and_submitted(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)

    opened = await server.run_slash(world.alice, world.general, "senpai feedback")
    await opened.wait_for_response()
    assert opened.response_type == 9 and opened.modal is not None
    assert opened.modal["title"] == "Feedback"

    submitted = await server.submit_modal(world.alice, opened, {"senpai:comment": "very useful"})
    response = await submitted.wait_for_response()

    assert response.content == "got very useful" and response.ephemeral
    server.assert_clean()


async def test_answering_after_the_deadline_is_a_violation(
    make_server: ServerFactory, connect: BotConnector
) -> None:
    server = await make_server(interaction_timeout=0.3)
    world = seed(server)
    await connect_with_commands(server, connect, world)

    record = await server.run_slash(world.alice, world.general, "senpai late")
    await server.wait_for(
        lambda: any(r.path.endswith("/callback") for r in server.requests), timeout=5
    )

    assert not record.acknowledged
    assert {v.rule for v in server.take_violations()} == {
        "interaction_unanswered",
        "interaction_timeout",
    }


async def test_autocomplete_returns_choices(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)

    record = await server.run_autocomplete(
        world.alice, world.general, "senpai topic", {"name": "p"}, "name"
    )
    response = await record.wait_for_response()

    assert response.type == 8
    assert [c["value"] for c in record.autocomplete_choices or []] == ["python", "pip", "poetry"]
    server.assert_clean()


async def test_a_select_menu_choice_reaches_the_view(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    await connect_with_commands(server, connect, world)
    command = await server.run_slash(world.alice, world.general, "senpai pick")
    await command.wait_for_response()
    [menu] = server.bot_messages(world.general)

    with pytest.raises(ScenarioError):
        await server.choose(world.alice, menu, "senpai:lang", ["fr"])
    picked = await server.choose(world.alice, menu, "senpai:lang", ["ja"])
    await picked.wait_for_response()

    assert menu.content == "lang=ja" and menu.components == []
    server.assert_clean()


HELPFUL_ROW = {
    "type": 1,
    "components": [{"type": 2, "style": 3, "label": "Helpful", "custom_id": "senpai:helpful"}],
}


async def test_a_persistent_view_works_on_a_message_sent_before_a_restart(
    server: LocalDiscord, world: World, connect: BotConnector
) -> None:
    old = server.add_bot_message(world.general, "Was this helpful?", components=[HELPFUL_ROW])
    await connect_with_commands(server, connect, world)

    record = await server.press_button(world.bob, old, "senpai:helpful")
    await record.wait_for_response()

    assert old.content == "Thanks for the feedback!"
    server.assert_clean()


async def _post(session: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> tuple[int, Any]:
    async with session.post(url, json=body) as response:
        return response.status, await response.json() if response.status != 204 else None


async def test_an_interaction_can_be_acknowledged_only_once(server: LocalDiscord) -> None:
    world = seed(server)
    message = server.add_bot_message(world.general, "?", components=[HELPFUL_ROW])
    record: InteractionRecord = await server.press_button(world.alice, message, "senpai:helpful")
    url = f"{server.api_url}/interactions/{record.id}/{record.token}/callback"
    body = {"type": 4, "data": {"content": "hi", "flags": 64, "allowed_mentions": {"parse": []}}}

    async with aiohttp.ClientSession() as session:
        first = await _post(session, url, body)
        second = await _post(session, url, body)

    assert first == (204, None)
    assert second == (400, {"message": "Interaction has already been acknowledged.", "code": 40060})
    assert [v.rule for v in server.take_violations()] == ["interaction_double_ack"]
    assert record.callback is not None and record.callback.ephemeral


SAFE = {"allowed_mentions": {"parse": []}}
FEEDBACK_MODAL = {
    "title": "Feedback",
    "custom_id": "senpai:feedback",
    "components": [
        {
            "type": 1,
            "components": [
                {"type": 4, "custom_id": "senpai:comment", "label": "Comment", "style": 1}
            ],
        }
    ],
}
# What each answer to a button press carries, and whether Discord accepts it.
BUTTON_ANSWERS = [
    (InteractionCallbackType.PONG, None, False),
    (InteractionCallbackType.CHANNEL_MESSAGE_WITH_SOURCE, {"content": "hi", **SAFE}, True),
    (InteractionCallbackType.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, None, True),
    (InteractionCallbackType.DEFERRED_UPDATE_MESSAGE, None, True),
    (InteractionCallbackType.UPDATE_MESSAGE, {"content": "thanks", **SAFE}, True),
    (InteractionCallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, {"choices": []}, False),
    (InteractionCallbackType.MODAL, FEEDBACK_MODAL, True),
    (InteractionCallbackType.PREMIUM_REQUIRED, None, False),
    (InteractionCallbackType.LAUNCH_ACTIVITY, None, False),
]


@pytest.mark.parametrize(
    ("answer", "data", "accepted"), BUTTON_ANSWERS, ids=[a.name for a, _, _ in BUTTON_ANSWERS]
)
async def test_a_button_press_accepts_only_the_answers_discord_allows(
    server: LocalDiscord,
    answer: InteractionCallbackType,
    data: dict[str, Any] | None,
    accepted: bool,
) -> None:
    world = seed(server)
    message = server.add_bot_message(world.general, "?", components=[HELPFUL_ROW])
    record = await server.press_button(world.alice, message, "senpai:helpful")
    url = f"{server.api_url}/interactions/{record.id}/{record.token}/callback"
    body: dict[str, Any] = {"type": int(answer)} | ({} if data is None else {"data": data})

    async with aiohttp.ClientSession() as session:
        status, reply = await _post(session, url, body)

    if accepted:
        assert status == 204 and record.response_type == answer
        server.assert_clean()
    else:
        assert status == 400 and reply["errors"]["type"]
        assert not record.acknowledged
        assert [v.rule for v in server.take_violations()] == ["interaction_response_type"]
