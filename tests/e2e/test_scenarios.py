"""Senpai in a (local) Discord: members, moderators and admins, end to end.

Every test drives the real bot through unpatched discord.py against
LocalDiscord, then checks what the bot sent, as Discord would see it. Each
test ends with ``server.assert_clean()``: no message that could ping, no
broken embed or component, no unknown endpoint, no late heartbeat.
"""

from __future__ import annotations

import asyncio
import sys

import pytest

from localdiscord import Message, ScenarioError
from tests.builders import reply_ids, thread
from tests.e2e.conftest import Community, Senpai

SSO_TITLE = "SAML login fails with invalid audience after moving to Okta"
SSO_BODY = (
    "Since we switched our IdP to Okta, every sign-in fails with an 'invalid audience' error."
)
SSO_ANSWER = (
    "Set the Audience URI in Okta to the exact SP Entity ID shown in Admin > Security > SSO, "
    "not the app's short name."
)
SSO_AGAIN = (
    "Okta sign-in broken: audience error",
    "We moved to Okta yesterday and now users get an error that the audience does not match.",
)
CSV_TITLE = "CSVインポートで文字化けする"
CSV_BODY = "顧客リストのCSVをインポートすると、日本語の会社名が文字化けしてしまいます。"
CSV_ANSWER = (
    "ExcelでShift_JISのまま保存されています。"
    "「CSV UTF-8」で保存し直してからインポートしてください。"
)


def suggestion_messages(community: Community, thread) -> list[Message]:
    return [m for m in community.server.bot_messages(thread) if m.embeds and m.components]


async def solved_post(community: Community, title: str, body: str, answer: str, *, forum=None):
    """A post answered by Ben and marked solved by its asker with /solved."""
    server = community.server
    post = await server.open_post(community.aiko, forum or community.help, title, body)
    reply = await server.send_message(community.ben, post, answer)
    interaction = await server.run_slash(community.aiko, post, "solved")
    await interaction.wait_for_response()
    await server.wait_for(lambda: len(interaction.responses) >= 2 or None)
    return post, reply, interaction


async def _absent(value) -> bool:
    return (await value) is None


async def eventually(check, timeout: float = 5.0) -> bool:
    """Poll an async check until it holds (state the bot changes in its own time)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def wait_quiet(seconds: float = 0.6) -> None:
    """Give the bot time to (not) answer."""
    await asyncio.sleep(seconds)


async def test_the_asker_marks_a_post_solved_and_it_is_captured_and_tagged(
    community: Community, senpai: Senpai
):
    post, reply, interaction = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    entry = await senpai.kb.entry_for_thread(post.id)
    assert entry is not None and entry.answer_parts[0].message_id == reply.id
    assert entry.answerer_name == "Ben"
    assert "Solved" in community.server.thread_tags(post)
    assert interaction.responses[-1].ephemeral  # ephemeral confirmation
    public = await community.server.wait_for_bot_message(post, lambda m: "Ben" in m.content)
    assert not public.pinged_user_ids
    community.server.assert_clean()


async def test_a_new_post_about_a_solved_problem_gets_a_suggestion(
    community: Community, senpai: Senpai
):
    solved, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await community.server.open_post(community.chika, community.help, *SSO_AGAIN)
    reply = await community.server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    embed = reply.embeds[0]
    assert len(embed["fields"]) <= 3
    assert SSO_TITLE in embed["fields"][0]["name"]
    assert f"/{solved.id})" in embed["fields"][0]["value"]
    assert "Ben" in embed["fields"][0]["value"]
    custom_ids = [c["custom_id"] for row in reply.components for c in row["components"]]
    assert "senpai:dismiss" in custom_ids
    assert not reply.pinged_user_ids
    community.server.assert_clean()


async def test_a_new_post_with_nothing_similar_gets_silence(community: Community, senpai: Senpai):
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await community.server.open_post(
        community.chika,
        community.help,
        "Pipeline currency",
        "Can we change a pipeline's currency from USD to EUR after deals were created?",
    )
    await wait_quiet()
    assert community.server.bot_messages(post) == []
    community.server.assert_clean()


async def test_a_helper_may_mark_a_solution_with_a_message_link(
    community: Community, senpai: Senpai
):
    server = community.server
    owner = server.owner(community.guild)
    setup = await server.run_slash(
        owner, community.help, "senpai-admin setup", {"helper_role": community.helper_role}
    )
    assert "Settings saved" in ((await setup.wait_for_response()).content or "")
    post = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    first = await server.send_message(community.dan, post, "Maybe clear your cookies?")
    await server.send_message(community.ben, post, SSO_ANSWER)
    link = f"https://discord.com/channels/{community.guild.id}/{post.id}/{first.id}"
    interaction = await server.run_slash(community.ben, post, "solved", {"message": link})
    await server.wait_for(lambda: len(interaction.responses) >= 2 or None)
    entry = await senpai.kb.entry_for_thread(post.id)
    assert entry is not None and entry.answer_parts[0].message_id == first.id
    assert "Solved" in server.thread_tags(post)
    server.assert_clean()


async def test_a_stranger_running_solved_is_refused_and_nothing_is_captured(
    community: Community, senpai: Senpai
):
    server = community.server
    post = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    await server.send_message(community.ben, post, SSO_ANSWER)
    interaction = await server.run_slash(community.dan, post, "solved")
    response = await interaction.wait_for_response()
    assert response.ephemeral
    assert "Only the person who asked" in response.content
    assert await senpai.kb.entry_for_thread(post.id) is None
    assert "Solved" not in server.thread_tags(post)
    server.assert_clean()


async def test_mark_as_solution_on_a_reply_captures_it(community: Community, senpai: Senpai):
    server = community.server
    post = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    reply = await server.send_message(community.ben, post, SSO_ANSWER)
    interaction = await server.run_message_command(community.aiko, reply, "Mark as solution")
    await server.wait_for(lambda: len(interaction.responses) >= 2 or None)
    entry = await senpai.kb.entry_for_thread(post.id)
    assert entry is not None and entry.answer_parts[0].message_id == reply.id
    server.assert_clean()


async def test_this_solved_it_marks_the_duplicate_and_credits_the_entry(
    community: Community, senpai: Senpai
):
    server = community.server
    solved, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    suggestion = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    entry = await senpai.kb.entry_for_thread(solved.id)
    custom_id = f"senpai:solved:{entry.id}"
    refused = await server.press_button(community.dan, suggestion, custom_id)
    assert "Only the person who asked" in (await refused.wait_for_response()).content
    pressed = await server.press_button(community.chika, suggestion, custom_id)
    await pressed.wait_for_response()
    await server.wait_for(lambda: "Solved" in server.thread_tags(post) or None)
    assert (await senpai.kb.entry(entry.id)).hits == 1
    assert await senpai.services.community.is_solved(post.id)
    server.assert_clean()


async def test_not_relevant_is_recorded_and_dismiss_deletes_the_reply(
    community: Community, senpai: Senpai
):
    server = community.server
    solved, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    suggestion = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    entry = await senpai.kb.entry_for_thread(solved.id)
    pressed = await server.press_button(community.dan, suggestion, f"senpai:irrelevant:{entry.id}")
    await pressed.wait_for_response()
    feedback = await senpai.kb.store.feedback_for(entry.id)
    assert [f.kind.value for f in feedback] == ["not_relevant"]
    refused = await server.press_button(community.dan, suggestion, "senpai:dismiss")
    assert (await refused.wait_for_response()).ephemeral
    dismissed = await server.press_button(community.chika, suggestion, "senpai:dismiss")
    await dismissed.wait_for_response()
    await server.wait_for(lambda: not suggestion_messages(community, post) or None)
    server.assert_clean()


async def test_a_private_forum_never_leaks_into_a_public_one(community: Community, senpai: Senpai):
    server = community.server
    staff_post = await server.open_post(community.maya, community.staff, SSO_TITLE, SSO_BODY)
    await server.send_message(community.mod, staff_post, SSO_ANSWER)
    done = await server.run_slash(community.mod, staff_post, "solved")
    await server.wait_for(lambda: len(done.responses) >= 2 or None)
    assert await senpai.kb.entry_for_thread(staff_post.id) is not None
    public = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    await wait_quiet()
    assert server.bot_messages(public) == []
    inside = await server.open_post(community.mod, community.staff, *SSO_AGAIN)
    await server.wait_for_bot_message(inside, lambda m: bool(m.embeds))
    server.assert_clean()


async def test_a_second_guild_never_sees_the_first_guild_entries(
    community: Community, senpai: Senpai
):
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await community.server.open_post(community.eve, community.other_forum, *SSO_AGAIN)
    await wait_quiet()
    assert community.server.bot_messages(post) == []
    community.server.assert_clean()


async def test_a_deleted_answer_disappears_from_suggestions(community: Community, senpai: Senpai):
    server = community.server
    solved, reply, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    await server.delete_message(reply)
    assert await eventually(lambda: _absent(senpai.kb.entry_for_thread(solved.id)))
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    await wait_quiet()
    assert server.bot_messages(post) == []
    server.assert_clean()


async def test_japanese_posts_get_japanese_replies(community: Community, senpai: Senpai):
    server = community.server
    await solved_post(community, CSV_TITLE, CSV_BODY, CSV_ANSWER)
    post = await server.open_post(
        community.chika,
        community.help,
        "CSVの文字化け",
        "Excelで作った顧客リストをインポートしたら、会社名が文字化けしました。",
    )
    reply = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    assert reply.embeds[0]["title"] == "同じ問題を解決した先輩がいます"
    labels = [c.get("label", "") for row in reply.components for c in row["components"]]
    assert "閉じる" in labels
    server.assert_clean()


async def test_buttons_keep_working_after_a_restart(community: Community, senpai: Senpai):
    server = community.server
    solved, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    suggestion = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    await senpai.restart()
    entry = await senpai.kb.entry_for_thread(solved.id)
    pressed = await server.press_button(community.chika, suggestion, f"senpai:solved:{entry.id}")
    await pressed.wait_for_response()
    await server.wait_for(lambda: "Solved" in server.thread_tags(post) or None)
    server.assert_clean()


async def test_an_admin_command_is_not_offered_to_a_member(community: Community, senpai: Senpai):
    with pytest.raises(ScenarioError, match="default_member_permissions"):
        await community.server.run_slash(community.dan, community.help, "senpai-admin rebuild")
    community.server.assert_clean()


async def test_an_admin_command_a_server_opened_to_everyone_is_still_refused(
    community: Community, senpai: Senpai
):
    # What a server does in Server Settings > Integrations when it lets @everyone use
    # /senpai-admin: Discord then offers it to any member.
    server = community.server
    (admin,) = [c for c in server.commands() if c.name == "senpai-admin"]
    admin.payload["default_member_permissions"] = None
    interaction = await server.run_slash(community.dan, community.help, "senpai-admin rebuild")
    response = await interaction.wait_for_response()
    assert response.ephemeral
    assert "Manage Server" in response.content
    japanese = await server.run_slash(community.chika, community.help, "senpai-admin stats")
    assert "サーバー管理" in ((await japanese.wait_for_response()).content or "")
    assert not any(r.embeds for r in japanese.responses)  # no statistics leaked
    server.assert_clean()


async def test_rebuild_shows_progress_and_heartbeats_keep_flowing(
    community: Community, senpai: Senpai, monkeypatch
):
    # The extension module the running bot loaded (discord.py loads a fresh copy).
    monkeypatch.setattr(sys.modules["cogs.admin"], "PROGRESS_EDIT_SECONDS", 0.05)
    server = community.server
    threads = [
        thread(f"{SSO_TITLE} #{n}", SSO_BODY, [SSO_ANSWER], guild_id=community.guild.id)
        for n in range(300)
    ]
    await senpai.kb.capture_many([(t, reply_ids(t), None) for t in threads])
    owner = server.owner(community.guild)
    interaction = await server.run_slash(owner, community.help, "senpai-admin rebuild")
    await server.wait_for(
        lambda: (
            any("Index rebuilt: 300" in (r.content or "") for r in interaction.responses) or None
        ),
        timeout=60,
    )
    progress = [r.content or "" for r in interaction.responses if "█" in (r.content or "")]
    assert any("/300" in text for text in progress), progress
    assert interaction.responses[0].ephemeral
    # The bot kept its gateway heartbeats on time while encoding 300 entries.
    assert server.max_heartbeat_gap() < 1.6
    server.assert_clean()


async def test_an_unexpected_error_gets_a_short_apology_and_is_logged(
    community: Community, senpai: Senpai, monkeypatch, caplog
):
    async def broken(query):
        raise RuntimeError("boom")

    monkeypatch.setattr(senpai.kb, "suggest", broken)
    interaction = await community.server.run_slash(
        community.dan, community.help, "senpai search", {"query": "SAML"}
    )
    await community.server.wait_for(
        lambda: any("went wrong" in (r.content or "") for r in interaction.responses) or None
    )
    assert all(r.ephemeral for r in interaction.responses if r.content)
    assert "command senpai search failed" in caplog.text
    community.server.assert_clean()


async def test_commands_that_discord_would_not_offer_raise(community: Community, senpai: Senpai):
    with pytest.raises(ScenarioError):
        await community.server.run_slash(community.dan, community.help, "senpai nonexistent")
