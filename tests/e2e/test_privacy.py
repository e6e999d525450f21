"""Deletion and consent, end to end: a member deletes their own data, stops (or allows)
its capture, and a server's data goes when Senpai has been out of it for the grace period.

Same style as ``test_flows.py``: the real bot on unpatched discord.py against
LocalDiscord; every test ends with ``server.assert_clean()``. LocalDiscord cannot
remove the bot from a guild, so "removed" is the event dispatched on the real client;
the grace period passes on the test clock (``senpai.clock.now``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localdiscord import Message
from tests.builders import reply_ids, thread
from tests.e2e.conftest import Community, Senpai
from tests.e2e.test_flows import (
    EXPORT_ANSWER,
    EXPORT_BODY,
    EXPORT_TITLE,
    UNRELATED,
    WEBHOOK_ANSWER,
    WEBHOOK_BODY,
    WEBHOOK_TITLE,
    answered,
    texts,
)
from tests.e2e.test_scenarios import (
    SSO_AGAIN,
    SSO_ANSWER,
    SSO_BODY,
    SSO_TITLE,
    eventually,
    solved_post,
    wait_quiet,
)

EVER = datetime(2000, 1, 1, tzinfo=UTC)


def buttons(message: Message) -> list[dict[str, Any]]:
    return [c for row in message.components for c in row["components"]]


async def prompt(community: Community, member, command: str = "senpai forget-me") -> Message:
    """Run a command that answers with a Confirm / Cancel prompt; the prompt."""
    asked = await community.server.run_slash(member, community.help, command)
    response = await asked.wait_for_response()
    assert response.ephemeral
    return community.server.message(response.message_id)


async def content_becomes(community: Community, message: Message, start: str) -> str:
    server = community.server
    return await server.wait_for(
        lambda: (
            (server.message(message.id).content or "").startswith(start)
            and server.message(message.id).content
        )
    )


async def privacy(community: Community, member, capture: str | None = None) -> str:
    options = {} if capture is None else {"capture": capture}
    run = await community.server.run_slash(member, community.help, "senpai privacy", options)
    response = await run.wait_for_response()
    assert response.ephemeral
    return response.content or ""


async def questions_recorded(senpai: Senpai, community: Community) -> int:
    return (await senpai.services.community.figures(community.guild.id, since=EVER)).questions


# -- forget-me -------------------------------------------------------------------------


async def test_forget_me_asks_first_refuses_others_then_removes_only_the_member_data(
    community: Community, senpai: Senpai
):
    server = community.server
    bens, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    other = await server.open_post(community.aiko, community.help, *UNRELATED)
    dans = await server.send_message(community.dan, other, "Clone the pipeline with EUR instead.")
    await answered(await server.run_message_command(community.aiko, dans, "Mark as solution"))
    assert await senpai.kb.entry_for_thread(bens.id) is not None

    confirmation = await prompt(community, community.ben)
    assert "Delete everything Senpai keeps about you" in (confirmation.content or "")
    confirm, cancel = buttons(confirmation)
    assert [confirm["label"], cancel["label"]] == ["Delete my data", "Cancel"]

    stranger = await server.press_button(community.dan, confirmation, confirm["custom_id"])
    refused = await stranger.wait_for_response()
    assert refused.ephemeral and "Only the member who ran this command" in (refused.content or "")
    assert await senpai.kb.entry_for_thread(bens.id) is not None

    pressed = await server.press_button(community.ben, confirmation, confirm["custom_id"])
    assert (await pressed.wait_for_response()).type == 7
    done = await content_becomes(community, confirmation, "Deleted:")
    assert "1 solved threads" in done and "/senpai privacy" in done
    assert server.message(confirmation.id).components == []
    assert await senpai.kb.entry_for_thread(bens.id) is None
    assert await senpai.kb.entry_for_thread(other.id) is not None
    server.assert_clean()


async def test_forget_me_cancelled_or_left_unanswered_removes_nothing(
    community: Community, senpai: Senpai
):
    server = community.server
    post, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)

    confirmation = await prompt(community, community.ben)
    _, cancel = buttons(confirmation)
    await (
        await server.press_button(community.ben, confirmation, cancel["custom_id"])
    ).wait_for_response()
    assert await content_becomes(community, confirmation, "Nothing was removed")
    assert server.message(confirmation.id).components == []

    senpai.services.confirm_seconds = 0.3
    forgotten = await prompt(community, community.ben)
    assert await content_becomes(community, forgotten, "This confirmation expired")
    assert server.message(forgotten.id).components == []
    assert await senpai.kb.entry_for_thread(post.id) is not None
    server.assert_clean()


async def test_the_admin_forget_prompt_refuses_anyone_but_the_admin(
    community: Community, senpai: Senpai
):
    server = community.server
    post, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    owner = server.owner(community.guild)
    run = await server.run_slash(
        owner, community.help, "senpai-admin forget", {"user": community.ben}
    )
    confirmation = server.message((await run.wait_for_response()).message_id)
    confirm, _ = buttons(confirmation)
    stranger = await server.press_button(community.maya, confirmation, confirm["custom_id"])
    assert "Only the member who ran" in ((await stranger.wait_for_response()).content or "")
    assert await senpai.kb.entry_for_thread(post.id) is not None
    server.assert_clean()


# -- opting out of capture -------------------------------------------------------------


async def test_an_opted_out_asker_is_not_captured_and_told_why_until_they_opt_in(
    community: Community, senpai: Senpai
):
    server = community.server
    shown = await privacy(community, community.aiko)
    assert shown.startswith("When a post you asked or answered is marked solved")

    stopped = await privacy(community, community.aiko, "stop")
    assert stopped.startswith("Saved. Senpai will not keep your future questions or answers")
    assert "stays until you use /senpai forget-me" in stopped
    assert (await privacy(community, community.aiko, "stop")).startswith("That was already")
    assert await senpai.kb.is_opted_out(community.aiko.id)

    post = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    await server.send_message(community.ben, post, SSO_ANSWER)
    await wait_quiet(0.3)
    assert await questions_recorded(senpai, community) == 0
    assert await senpai.services.community.nudge(post.id) is None

    run = await server.run_slash(community.aiko, post, "solved")
    await answered(run)
    assert texts(run)[-1] == (
        "Not saved: you asked Senpai not to keep your messages (/senpai privacy)."
    )
    assert await senpai.kb.entry_for_thread(post.id) is None
    assert "Solved" not in server.thread_tags(post)

    # Someone else marking it gets the reason without being told who opted out.
    moderator = await server.run_slash(community.mod, post, "solved")
    await answered(moderator)
    assert texts(moderator)[-1].startswith("Not saved: a member of this post asked Senpai")
    assert await senpai.kb.entry_for_thread(post.id) is None

    allowed = await privacy(community, community.aiko, "allow")
    assert allowed.startswith("Saved. When a post you asked or answered is marked solved")
    again = await server.run_slash(community.aiko, post, "solved")
    await answered(again)
    assert "Saved" in texts(again)[-1]
    assert await senpai.kb.entry_for_thread(post.id) is not None
    server.assert_clean()


async def test_an_opted_out_answerer_is_not_captured_and_the_japanese_member_reads_why(
    community: Community, senpai: Senpai
):
    server = community.server
    shown = await privacy(community, community.chika, "stop")
    assert shown.startswith("設定しました。Senpai は今後")
    post = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    reply = await server.send_message(community.chika, post, SSO_ANSWER)
    run = await server.run_message_command(community.aiko, reply, "Mark as solution")
    await answered(run)
    assert texts(run)[-1].startswith("Not saved: a member of this post asked Senpai")
    assert await senpai.kb.entry_for_thread(post.id) is None

    own = await server.run_slash(community.chika, community.help, "senpai privacy")
    assert (await own.wait_for_response()).content.startswith("Senpai は今後")
    server.assert_clean()


async def test_backfill_skips_posts_of_members_who_opted_out_and_says_so(
    community: Community, senpai: Senpai
):
    server = community.server
    owner = server.owner(community.guild)
    await privacy(community, community.dan, "stop")
    server.add_post(
        community.dan,
        community.help,
        WEBHOOK_TITLE,
        WEBHOOK_BODY,
        replies=[(community.ben, WEBHOOK_ANSWER), (community.dan, "Thanks, that fixed it!")],
        archived=True,
    )
    kept = server.add_post(
        community.aiko,
        community.help,
        EXPORT_TITLE,
        EXPORT_BODY,
        replies=[(community.chika, EXPORT_ANSWER), (community.aiko, "Thanks, that fixed it!")],
        archived=True,
    )
    run = await server.run_slash(owner, community.help, "senpai-admin backfill")
    await run.wait_for_response()
    await server.wait_for(lambda: any("Backfill finished" in t for t in texts(run)) or None)
    assert texts(run)[-1] == (
        "Backfill finished: 2 posts read, 1 solved threads captured.\n"
        "Not saved: 1 (a member opted out)."
    )
    assert (await senpai.kb.stats(community.guild.id)).entries == 1
    assert await senpai.kb.entry_for_thread(kept.id) is not None
    server.assert_clean()


# -- servers Senpai leaves -------------------------------------------------------------


async def solved_in_other_guild(community: Community, senpai: Senpai):
    server = community.server
    finn = server.add_member(community.other_guild, "finn", nick="Finn")
    post = await server.open_post(community.eve, community.other_forum, SSO_TITLE, SSO_BODY)
    await server.send_message(finn, post, SSO_ANSWER)
    await answered(await server.run_slash(community.eve, post, "solved"))
    assert await senpai.kb.entry_for_thread(post.id) is not None
    return post


async def restart_purging_often(senpai: Senpai) -> None:
    """Restart the bot with a purge every 0.2 s, and wait for its first round (which
    counts in the servers the bot is in)."""
    senpai.services.guild_purge_seconds = 0.2
    await senpai.restart()
    background = senpai.bot.get_cog("Background")
    assert await eventually(lambda: _true(background.purger.current_loop > 0))


async def _true(value: bool) -> bool:
    return value


async def departed(senpai: Senpai) -> list[int]:
    return await senpai.services.community.departures_before(senpai.clock.now)


async def test_a_server_senpai_left_is_forgotten_after_the_grace_period(
    community: Community, senpai: Senpai, caplog: pytest.LogCaptureFixture
):
    server = community.server
    ours, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    theirs = await solved_in_other_guild(community, senpai)
    await restart_purging_often(senpai)

    caplog.set_level(logging.INFO, logger="cogs.background")
    senpai.bot.dispatch("guild_remove", senpai.bot.get_guild(community.other_guild.id))
    assert await eventually(lambda: _equals(departed(senpai), [community.other_guild.id]))

    senpai.clock.now += timedelta(days=29)
    await wait_quiet()
    assert await senpai.kb.entry_for_thread(theirs.id) is not None

    senpai.clock.now += timedelta(days=2)
    assert await eventually(lambda: _absent(senpai.kb.entry_for_thread(theirs.id)))
    assert await senpai.kb.entry_for_thread(ours.id) is not None
    # The entries go first, then the rest of the server's rows: wait for the last.
    assert await eventually(lambda: _equals(departed(senpai), []))
    logged = f"forgot departed guilds {community.other_guild.id}"
    assert await eventually(lambda: _true(logged in caplog.text))  # logged once purged
    assert "Other" not in caplog.text
    server.assert_clean()


async def test_a_server_that_adds_senpai_back_in_time_keeps_its_data(
    community: Community, senpai: Senpai
):
    server = community.server
    theirs = await solved_in_other_guild(community, senpai)
    await restart_purging_often(senpai)
    guild = senpai.bot.get_guild(community.other_guild.id)
    senpai.bot.dispatch("guild_remove", guild)
    assert await eventually(lambda: _equals(departed(senpai), [community.other_guild.id]))
    senpai.clock.now += timedelta(days=10)
    senpai.bot.dispatch("guild_join", guild)
    assert await eventually(lambda: _equals(departed(senpai), []))

    senpai.clock.now += timedelta(days=60)
    await wait_quiet()
    assert await senpai.kb.entry_for_thread(theirs.id) is not None
    server.assert_clean()


async def test_a_server_left_while_senpai_was_offline_is_counted_from_its_return(
    community: Community, senpai: Senpai
):
    ours, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    gone = thread("Export stuck", "The export never finishes.", ["Clear the export queue."])
    await senpai.kb.capture(gone, reply_ids(gone))  # a server Senpai is not in (any more)
    await restart_purging_often(senpai)
    assert await eventually(lambda: _equals(departed(senpai), [gone.guild_id]))
    assert await senpai.kb.entry_for_thread(ours.id) is not None
    community.server.assert_clean()


async def _equals(value, expected) -> bool:
    return (await value) == expected


async def _absent(value) -> bool:
    return (await value) is None


# -- what Senpai showed of forgotten content --------------------------------------------


async def test_a_forgotten_answer_is_taken_out_of_the_posts_where_senpai_showed_it(
    community: Community, senpai: Senpai
):
    server = community.server
    solved, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    suggestion = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    entry = await senpai.kb.entry_for_thread(solved.id)
    assert entry is not None
    pressed = await server.press_button(community.chika, suggestion, f"senpai:solved:{entry.id}")
    await pressed.wait_for_response()
    note = await server.wait_for_bot_message(post, lambda m: f"/{solved.id})" in m.content)
    await server.wait_for(lambda: "Solved" in server.thread_tags(post) or None)
    await server.archive_thread(community.chika, post)  # Discord archives idle posts

    await senpai.kb.forget_member(community.ben.id)  # Ben wrote the answer it quotes

    await server.wait_for(lambda: server.message(suggestion.id).deleted or None)
    changed = await content_becomes(community, note, "✅ Solved by an earlier thread (since")
    assert str(solved.id) not in changed and SSO_TITLE not in changed
    assert all(
        SSO_TITLE not in (m.content or "") and not m.embeds for m in server.bot_messages(post)
    )
    assert await eventually(lambda: _none_due(senpai))
    assert server.channel(post.id).archived  # archived again after the edit
    server.assert_clean()


async def _none_due(senpai: Senpai) -> bool:
    return await senpai.kb.due_retractions() == []
