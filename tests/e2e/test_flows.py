"""Senpai's other flows, end to end: nudges, hand-tagging, edits, search, admin, backfill.

Same style as ``test_scenarios.py``: the real bot on unpatched discord.py against
LocalDiscord; each test checks what members would see and ends with
``server.assert_clean()``. Time-driven flows move the test clock
(``senpai.clock.now``); the bot polls for due nudges every 0.2 s.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from localdiscord import InteractionRecord, Member, Message, ScenarioError, Thread
from tests.e2e.conftest import Community, Senpai
from tests.e2e.test_scenarios import (
    CSV_ANSWER,
    CSV_BODY,
    CSV_TITLE,
    SSO_AGAIN,
    SSO_ANSWER,
    SSO_BODY,
    SSO_TITLE,
    eventually,
    solved_post,
    wait_quiet,
)

UNRELATED = (
    "Pipeline currency",
    "Can we change a pipeline's currency from USD to EUR after deals were created?",
)
WEBHOOK_TITLE = "Webhook deliveries stop after three failed retries"
WEBHOOK_BODY = "Our endpoint was down for an hour and now no webhook events arrive at all."
WEBHOOK_ANSWER = (
    "After three failed retries the subscription is paused: open Settings > Webhooks "
    "and press Resume on the subscription."
)
EXPORT_TITLE = "Scheduled report export arrives empty"
EXPORT_BODY = "The weekly scheduled export email has an empty CSV attached since Monday."
EXPORT_ANSWER = (
    "The saved filter still points at the archived pipeline; edit the report and pick "
    "the new pipeline in its filter."
)


# -- helpers ------------------------------------------------------------------------


def is_nudge(message: Message) -> bool:
    return "senpai:later" in message.custom_ids()


async def nudge_scheduled(senpai: Senpai, post: Thread) -> bool:
    return await eventually(lambda: _present(senpai.services.community.nudge(post.id)))


async def _present(value) -> bool:
    return (await value) is not None


async def _absent(value) -> bool:
    return (await value) is None


async def answered(interaction: InteractionRecord, count: int = 2) -> InteractionRecord:
    await interaction.wait_for_responses(count)
    return interaction


def texts(interaction: InteractionRecord) -> list[str]:
    return [r.content or "" for r in interaction.responses]


async def post_with_answer(
    community: Community,
    title: str = SSO_TITLE,
    body: str = SSO_BODY,
    answer: str = SSO_ANSWER,
    *,
    asker: Member | None = None,
) -> tuple[Thread, Message]:
    server = community.server
    post = await server.open_post(asker or community.aiko, community.help, title, body)
    reply = await server.send_message(community.ben, post, answer)
    return post, reply


# -- 1. nudge after idle time -------------------------------------------------------


async def test_an_unmarked_reply_gets_one_nudge_a_day_later(community: Community, senpai: Senpai):
    server = community.server
    post, reply = await post_with_answer(community)
    assert await nudge_scheduled(senpai, post)
    await wait_quiet(0.3)
    assert server.bot_messages(post) == []  # nothing before the delay

    senpai.clock.now += timedelta(hours=25)
    nudge = await server.wait_for_bot_message(post, is_nudge)
    assert nudge.reply_to_id == reply.id
    assert not nudge.pinged_user_ids
    assert nudge.custom_ids() == [f"senpai:accept:{reply.id}", "senpai:later"]
    assert "Aiko" in nudge.content and "did this reply solve" in nudge.content

    senpai.clock.now += timedelta(hours=25)
    await wait_quiet()
    assert [m.id for m in server.bot_messages(post)] == [nudge.id]  # once only
    server.assert_clean()


async def test_an_auto_archived_post_is_still_nudged_and_a_locked_one_is_not(
    community: Community, senpai: Senpai
):
    server = community.server
    post, reply = await post_with_answer(community)
    locked, _ = await post_with_answer(community, title="Webhook retries", body="Retries?")
    assert await nudge_scheduled(senpai, post) and await nudge_scheduled(senpai, locked)
    await server.archive_thread(community.mod, post)
    await server.archive_thread(community.mod, locked, locked=True)
    senpai.clock.now += timedelta(hours=25)
    nudge = await server.wait_for_bot_message(post, is_nudge)
    assert nudge.reply_to_id == reply.id
    await wait_quiet()
    assert server.bot_messages(locked) == []
    server.assert_clean()


async def test_accepting_a_nudge_captures_the_reply_and_strangers_are_refused(
    community: Community, senpai: Senpai
):
    server = community.server
    post, reply = await post_with_answer(community)
    assert await nudge_scheduled(senpai, post)
    senpai.clock.now += timedelta(hours=25)
    nudge = await server.wait_for_bot_message(post, is_nudge)
    accept = f"senpai:accept:{reply.id}"

    refused = await server.press_button(community.dan, nudge, accept)
    response = await refused.wait_for_response()
    assert response.ephemeral
    assert "Only the person who asked" in (response.content or "")
    assert await senpai.kb.entry_for_thread(post.id) is None

    pressed = await answered(await server.press_button(community.aiko, nudge, accept))
    assert pressed.responses[-1].ephemeral
    assert "Saved" in (pressed.responses[-1].content or "")
    entry = await senpai.kb.entry_for_thread(post.id)
    assert entry is not None and entry.answer_parts[0].message_id == reply.id
    assert "Solved" in server.thread_tags(post)
    await server.wait_for(lambda: not server.message(nudge.id).components or None)
    assert await senpai.services.community.is_solved(post.id)
    server.assert_clean()


# -- 2. thank-you nudge -------------------------------------------------------------

THANKS_CASES = [
    pytest.param(
        "aiko",
        (SSO_TITLE, SSO_BODY, SSO_ANSWER),
        "Thanks, that fixed it!",
        "did this reply solve",
        "No problem",
        id="en",
    ),
    pytest.param(
        "chika",
        (CSV_TITLE, CSV_BODY, CSV_ANSWER),
        "ありがとうございます、解決しました",
        "この返信で解決しましたか",
        "了解です",
        id="ja",
    ),
]


@pytest.mark.parametrize(("asker", "post_text", "thanks", "asked", "later"), THANKS_CASES)
async def test_a_thank_you_brings_the_nudge_at_once_and_not_yet_closes_it(
    community: Community, senpai: Senpai, asker, post_text, thanks, asked, later
):
    server = community.server
    member = getattr(community, asker)
    post, answer = await post_with_answer(community, *post_text, asker=member)
    await server.send_message(member, post, thanks, reply_to=answer)

    nudge = await server.wait_for_bot_message(post, is_nudge)
    assert nudge.reply_to_id == answer.id
    assert f"senpai:accept:{answer.id}" in nudge.custom_ids()
    assert asked in nudge.content
    assert not nudge.pinged_user_ids

    refused = await server.press_button(community.dan, nudge, "senpai:later")
    assert (await refused.wait_for_response()).ephemeral
    assert server.message(nudge.id).components  # still there for the asker

    pressed = await server.press_button(member, nudge, "senpai:later")
    response = await pressed.wait_for_response()
    assert response.type == 7  # the nudge message itself is updated
    edited = server.message(nudge.id)
    assert later in edited.content
    assert edited.components == []
    assert await senpai.kb.entry_for_thread(post.id) is None

    senpai.clock.now += timedelta(hours=25)  # the reply's own nudge was this one
    await wait_quiet()
    assert [m.id for m in server.bot_messages(post) if m.reference] == [nudge.id]
    server.assert_clean()


async def test_a_thank_you_that_says_it_still_fails_brings_no_nudge(
    community: Community, senpai: Senpai
):
    server = community.server
    post, answer = await post_with_answer(community)
    await server.send_message(community.aiko, post, "thanks but it still fails", reply_to=answer)
    await wait_quiet()
    assert server.bot_messages(post) == []
    server.assert_clean()


async def test_a_nudge_due_as_the_asker_says_thanks_is_sent_once(
    community: Community, senpai: Senpai
):
    server = community.server
    post, answer = await post_with_answer(community)
    assert await nudge_scheduled(senpai, post)
    solving = senpai.bot.get_cog("Solving")
    senpai.clock.now += timedelta(hours=25)
    # The poll loop and the thank-you both find the nudge pending at the same moment.
    await asyncio.gather(
        solving.send_due_nudges(),
        solving.send_due_nudges(),
        server.send_message(community.aiko, post, "Thanks, that fixed it!", reply_to=answer),
    )
    await server.wait_for_bot_message(post, is_nudge)
    await wait_quiet()
    assert len([m for m in server.bot_messages(post) if is_nudge(m)]) == 1
    server.assert_clean()


# -- 3. nudges survive a restart ----------------------------------------------------


async def test_a_scheduled_nudge_survives_a_restart(community: Community, senpai: Senpai):
    server = community.server
    post, reply = await post_with_answer(community)
    assert await nudge_scheduled(senpai, post)
    await senpai.restart()
    senpai.clock.now += timedelta(hours=25)
    nudge = await server.wait_for_bot_message(post, is_nudge)
    assert nudge.reply_to_id == reply.id
    pressed = await answered(
        await server.press_button(community.aiko, nudge, f"senpai:accept:{reply.id}")
    )
    assert "Saved" in (pressed.responses[-1].content or "")
    server.assert_clean()


# -- 4. a moderator tags a post solved by hand --------------------------------------


async def test_a_post_tagged_solved_by_hand_asks_which_reply_solved_it(
    community: Community, senpai: Senpai
):
    server = community.server
    post = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    await server.send_message(community.dan, post, "Maybe clear your cookies?")
    answer = await server.send_message(community.ben, post, SSO_ANSWER)
    await server.set_thread_tags(community.mod, post, ["Solved"])

    prompt = await server.wait_for_bot_message(post, is_nudge)
    assert "tagged solved" in prompt.content
    assert prompt.reply_to_id == answer.id
    assert prompt.custom_ids() == [f"senpai:accept:{answer.id}", "senpai:later"]
    assert not prompt.pinged_user_ids

    await answered(await server.press_button(community.aiko, prompt, f"senpai:accept:{answer.id}"))
    entry = await senpai.kb.entry_for_thread(post.id)
    assert entry is not None and entry.answer == SSO_ANSWER
    assert server.thread_tags(post) == ["Solved"]
    server.assert_clean()


async def test_the_bot_tagging_after_solved_asks_nothing(community: Community, senpai: Senpai):
    server = community.server
    post, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    assert "Solved" in server.thread_tags(post)
    await wait_quiet()
    assert [m for m in server.bot_messages(post) if m.components] == []
    assert [m for m in server.bot_messages(post) if "tagged solved" in m.content] == []
    server.assert_clean()


# -- 5. edits and deletions stay in sync; /unsolved ---------------------------------


async def test_an_edited_answer_updates_the_entry_and_a_deleted_post_removes_it(
    community: Community, senpai: Senpai
):
    server = community.server
    post, reply, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    edited = SSO_ANSWER + " Then sign out and back in."

    async def answer_is_edited() -> bool:
        entry = await senpai.kb.entry_for_thread(post.id)
        return entry is not None and entry.answer == edited

    await server.edit_message(reply, edited)
    assert await eventually(answer_is_edited)

    question = "Every Okta sign-in fails with 'invalid audience' since the IdP switch."

    async def question_is_edited() -> bool:
        entry = await senpai.kb.entry_for_thread(post.id)
        return entry is not None and entry.question == question

    await server.edit_message(server.message(post.id), question)
    assert await eventually(question_is_edited)

    await server.delete_thread(post)
    assert await eventually(lambda: _absent(senpai.kb.entry_for_thread(post.id)))
    server.assert_clean()


async def test_unsolved_by_the_asker_removes_the_entry_and_the_tag(
    community: Community, senpai: Senpai
):
    server = community.server
    post, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)

    refused = await server.run_slash(community.dan, post, "unsolved")
    response = await refused.wait_for_response()
    assert response.ephemeral and "Only the person who asked" in (response.content or "")
    assert await senpai.kb.entry_for_thread(post.id) is not None

    done = await server.run_slash(community.aiko, post, "unsolved")
    response = await done.wait_for_response()
    assert response.ephemeral and "no longer marked solved" in (response.content or "")
    assert await senpai.kb.entry_for_thread(post.id) is None
    await server.wait_for(lambda: "Solved" not in server.thread_tags(post) or None)
    assert not await senpai.services.community.is_solved(post.id)
    server.assert_clean()


# -- 6. choosing another answer later -----------------------------------------------


async def test_marking_another_reply_later_replaces_the_answer(
    community: Community, senpai: Senpai
):
    server = community.server
    post, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    first = await senpai.kb.entry_for_thread(post.id)
    better_text = "The Audience URI must also end without a trailing slash, or Okta rejects it."
    better = await server.send_message(community.dan, post, better_text)

    marked = await answered(
        await server.run_message_command(community.aiko, better, "Mark as solution")
    )
    assert "Dan" in texts(marked)[-1]
    entry = await senpai.kb.entry_for_thread(post.id)
    assert entry is not None and entry.id == first.id
    assert [p.message_id for p in entry.answer_parts] == [better.id]
    assert entry.answer == better_text and entry.answerer_name == "Dan"
    await server.wait_for_bot_message(post, lambda m: "answer by Dan" in m.content)
    server.assert_clean()


# -- 7. /senpai search --------------------------------------------------------------


async def test_search_answers_privately_with_an_embed_or_says_nothing_matched(
    community: Community, senpai: Senpai
):
    server = community.server
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)

    found = await answered(
        await server.run_slash(
            community.dan, community.help, "senpai search", {"query": "Okta audience error"}
        )
    )
    assert all(r.ephemeral for r in found.responses)
    embeds = found.followups[-1].embeds
    assert embeds and SSO_TITLE in embeds[0]["fields"][0]["name"]

    nothing = await answered(
        await server.run_slash(
            community.dan, community.help, "senpai search", {"query": " ".join(UNRELATED)}
        )
    )
    assert all(r.ephemeral for r in nothing.responses)
    assert "No solved thread" in (nothing.followups[-1].content or "")
    assert not nothing.followups[-1].embeds
    server.assert_clean()


async def test_search_shows_a_private_forum_only_to_those_who_can_read_it(
    community: Community, senpai: Senpai
):
    server = community.server
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    staff_post = await server.open_post(community.maya, community.staff, *UNRELATED)
    await server.send_message(
        community.mod, staff_post, "Currency is fixed per pipeline; clone it with EUR instead."
    )
    done = await answered(await server.run_slash(community.mod, staff_post, "solved"))
    assert "Saved" in texts(done)[-1]
    query = {"query": "change pipeline currency to EUR"}

    member = await answered(
        await server.run_slash(community.dan, community.help, "senpai search", query)
    )
    assert "No solved thread" in (member.followups[-1].content or "")
    assert not member.followups[-1].embeds

    moderator = await answered(
        await server.run_slash(community.maya, community.help, "senpai search", query)
    )
    embeds = moderator.followups[-1].embeds
    assert embeds and UNRELATED[0] in embeds[0]["fields"][0]["name"]
    assert all(r.ephemeral for r in moderator.responses)
    server.assert_clean()


# -- 8. admin flows -----------------------------------------------------------------


async def test_setup_without_options_shows_the_settings_privately(
    community: Community, senpai: Senpai
):
    server = community.server
    shown = await server.run_slash(
        server.owner(community.guild), community.help, "senpai-admin setup"
    )
    response = await shown.wait_for_response()
    assert response.ephemeral
    assert "Senpai settings" in (response.content or "")
    assert "Watched forums: all forums" in (response.content or "")
    assert "Settings saved" not in (response.content or "")
    server.assert_clean()


async def test_setup_refuses_an_invalid_threshold_and_saves_nothing(
    community: Community, senpai: Senpai
):
    server = community.server
    owner = server.owner(community.guild)
    refused = await server.run_slash(
        owner, community.help, "senpai-admin setup", {"threshold": 0.99, "nudge_hours": 2.0}
    )
    response = await refused.wait_for_response()
    assert response.ephemeral
    assert "between 0.1 and 0.95" in (response.content or "")
    settings = await senpai.services.community.settings(community.guild.id)
    assert settings.threshold is None and settings.nudge_hours == 24.0
    server.assert_clean()


async def test_watching_one_forum_silences_the_others(community: Community, senpai: Senpai):
    server = community.server
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    owner = server.owner(community.guild)
    saved = await server.run_slash(
        owner, community.help, "senpai-admin setup", {"watch": community.staff}
    )
    content = (await saved.wait_for_response()).content or ""
    assert "Settings saved" in content and "Watched forums: #staff" in content

    public = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    await server.send_message(community.ben, public, SSO_ANSWER)
    inside = await server.open_post(community.maya, community.staff, *SSO_AGAIN)
    await server.wait_for_bot_message(inside, lambda m: bool(m.embeds))
    senpai.clock.now += timedelta(hours=25)
    await wait_quiet()
    assert server.bot_messages(public) == []
    assert await senpai.services.community.nudge(public.id) is None
    server.assert_clean()


async def test_stats_show_counts_after_some_activity(community: Community, senpai: Senpai):
    server = community.server
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    await server.open_post(community.dan, community.help, *UNRELATED)
    shown = await server.run_slash(
        server.owner(community.guild), community.help, "senpai-admin stats"
    )
    response = await shown.wait_for_response()
    assert response.ephemeral
    embed = response.embeds[0]
    assert embed["title"] == "Senpai in this server"
    assert "1 solved threads" in embed["description"]
    assert "2 questions" in embed["description"] and "1 answered" in embed["description"]
    assert "solved rate 50%" in embed["description"]
    assert any("Ben — 1" in field["value"] for field in embed["fields"])

    with pytest.raises(ScenarioError, match="default_member_permissions"):
        await server.run_slash(community.dan, community.help, "senpai-admin stats")
    server.assert_clean()


async def test_forget_asks_for_confirmation_then_removes_the_member_entries(
    community: Community, senpai: Senpai
):
    server = community.server
    owner = server.owner(community.guild)
    post, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    other = await server.open_post(community.aiko, community.help, *UNRELATED)
    dans = await server.send_message(community.dan, other, "Clone the pipeline with EUR instead.")
    await answered(await server.run_message_command(community.aiko, dans, "Mark as solution"))

    with pytest.raises(ScenarioError, match="default_member_permissions"):
        await server.run_slash(
            community.dan, community.help, "senpai-admin forget", {"user": community.ben}
        )

    asked = await server.run_slash(
        owner, community.help, "senpai-admin forget", {"user": community.ben}
    )
    response = await asked.wait_for_response()
    assert response.ephemeral and "Remove everything Ben" in (response.content or "")
    confirmation = server.message(response.message_id)
    buttons = [c for row in confirmation.components for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Remove", "Cancel"]
    assert await senpai.kb.entry_for_thread(post.id) is not None

    confirmed = await server.press_button(owner, confirmation, buttons[0]["custom_id"])
    done = await confirmed.wait_for_response()
    assert done.type == 7
    await server.wait_for(
        lambda: (server.message(confirmation.id).content or "").startswith("Removed ") or None
    )
    assert "Removed 1 solved threads" in (server.message(confirmation.id).content or "")
    assert server.message(confirmation.id).components == []
    assert await senpai.kb.entry_for_thread(post.id) is None
    assert await senpai.kb.entry_for_thread(other.id) is not None
    server.assert_clean()


# -- 9. /senpai-admin backfill ------------------------------------------------------------


async def test_backfill_captures_solved_history_once(community: Community, senpai: Senpai):
    server = community.server
    owner = server.owner(community.guild)
    thanked = server.add_post(
        community.dan,
        community.help,
        WEBHOOK_TITLE,
        WEBHOOK_BODY,
        replies=[(community.ben, WEBHOOK_ANSWER), (community.dan, "Thanks, that fixed it!")],
        archived=True,
    )
    reacted = server.add_post(
        community.aiko,
        community.help,
        EXPORT_TITLE,
        EXPORT_BODY,
        replies=[(community.chika, EXPORT_ANSWER)],
    )
    answer = server.messages_in(reacted)[-1]
    await server.add_reaction(community.aiko, answer, "✅")
    await server.archive_thread(community.aiko, reacted)
    unsolved = server.add_post(
        community.chika,
        community.help,
        *UNRELATED,
        replies=[(community.ben, "Which plan are you on?")],
        archived=True,
    )

    run = await server.run_slash(owner, community.help, "senpai-admin backfill")
    first = await run.wait_for_response()
    assert first.ephemeral and "Reading past posts" in (first.content or "")
    await server.wait_for(lambda: any("Backfill finished" in t for t in texts(run)) or None)
    assert "3 posts read, 2 solved threads captured" in texts(run)[-1]
    assert run.responses[-1].kind == "edit_original"

    by_thanks = await senpai.kb.entry_for_thread(thanked.id)
    assert by_thanks is not None and by_thanks.answer == WEBHOOK_ANSWER
    by_reaction = await senpai.kb.entry_for_thread(reacted.id)
    assert by_reaction is not None and by_reaction.answerer_name == "Chika"
    assert await senpai.kb.entry_for_thread(unsolved.id) is None
    # The question history of every post read is recorded, solved or not.
    open_post = await senpai.services.community.question(unsolved.id)
    assert open_post is not None and open_post.first_reply_at is not None
    assert open_post.solved_at is None
    solved = await senpai.services.community.question(thanked.id)
    assert solved is not None and solved.solved_at is not None

    again = await server.run_slash(owner, community.help, "senpai-admin backfill")
    await server.wait_for(lambda: any("Backfill finished" in t for t in texts(again)) or None)
    assert "0 solved threads captured" in texts(again)[-1]
    assert (await senpai.kb.stats(community.guild.id)).entries == 2
    state = await senpai.services.community.backfill_state(community.help.id)
    assert state is not None and state.finished and state.captured == 2
    server.assert_clean()


async def test_backfill_skips_a_post_whose_marked_answer_has_no_text(
    community: Community, senpai: Senpai
):
    server = community.server
    image_only = server.add_post(
        community.aiko,
        community.help,
        "Logo upload spins forever",
        "Uploading our logo in Branding never finishes.",
        replies=[(community.ben, "")],  # a screenshot, no text
    )
    await server.add_reaction(community.aiko, server.messages_in(image_only)[-1], "✅")
    await server.archive_thread(community.aiko, image_only)
    older = server.add_post(
        community.dan,
        community.help,
        WEBHOOK_TITLE,
        WEBHOOK_BODY,
        replies=[(community.ben, WEBHOOK_ANSWER), (community.dan, "Thanks, that fixed it!")],
        archived=True,
        created_at=datetime.now(UTC) - timedelta(days=3),
    )

    run = await server.run_slash(
        server.owner(community.guild), community.help, "senpai-admin backfill"
    )
    await server.wait_for(lambda: any("Backfill finished" in t for t in texts(run)) or None)
    assert "2 posts read, 1 solved threads captured" in texts(run)[-1]
    assert await senpai.kb.entry_for_thread(image_only.id) is None
    assert await senpai.kb.entry_for_thread(older.id) is not None
    server.assert_clean()


# -- 10. rate limits ----------------------------------------------------------------


async def test_a_rate_limited_suggestion_still_arrives(community: Community, senpai: Senpai):
    server = community.server
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    limit = server.inject_rate_limit("POST", r"/channels/\d+/messages", retry_after=0.3)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    assert limit.hits == 1
    server.assert_clean()


# -- 11. Japanese locale ------------------------------------------------------------


async def test_a_japanese_member_is_refused_in_japanese(community: Community, senpai: Senpai):
    server = community.server
    post, _ = await post_with_answer(community)
    refused = await server.run_slash(community.chika, post, "solved")
    response = await refused.wait_for_response()
    assert response.ephemeral
    assert response.content == "解決策を選べるのは質問者、ヘルパー、モデレーターのみです。"
    server.assert_clean()


async def test_commands_carry_japanese_names(community: Community, senpai: Senpai):
    commands = {c.name: c for c in community.server.commands()}
    assert commands["solved"].payload["name_localizations"]["ja"] == "解決済み"
    assert commands["unsolved"].payload["name_localizations"]["ja"] == "未解決"
    assert commands["Mark as solution"].payload["name_localizations"]["ja"] == "解決策としてマーク"
    subcommands = {o["name"]: o for o in commands["senpai"].options}
    assert subcommands["search"]["name_localizations"]["ja"] == "検索"
    assert commands["senpai-admin"].payload["name_localizations"]["ja"] == "senpai-管理"
    admin = {o["name"]: o for o in commands["senpai-admin"].options}
    assert admin["setup"]["name_localizations"]["ja"] == "設定"
