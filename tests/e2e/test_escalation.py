"""No question left alone, end to end: unanswered posts go to the staff channel once,
and leave the list when answered; "me too" counts in place and hears back when solved.

The real bot on unpatched discord.py against LocalDiscord; time moves with the test
clock (``senpai.clock.now``), the bot polls every 0.2 s. Each test ends with
``server.assert_clean()`` (nothing could ping, nothing broken).
"""

from __future__ import annotations

from datetime import timedelta

from localdiscord import Channel, Message
from tests.e2e.conftest import Community, Senpai
from tests.e2e.test_scenarios import (
    CSV_BODY,
    CSV_TITLE,
    SSO_AGAIN,
    SSO_ANSWER,
    SSO_BODY,
    SSO_TITLE,
    eventually,
    solved_post,
    suggestion_messages,
    wait_quiet,
)

ME_TOO = "senpai:metoo"


async def configure(community: Community, options: dict[str, object]) -> str:
    """/senpai-admin setup by the server owner; returns what it answered."""
    server = community.server
    run = await server.run_slash(
        server.owner(community.guild), community.help, "senpai-admin setup", options
    )
    response = await run.wait_for_response()
    assert response.ephemeral
    return response.content or ""


async def staff_channel(community: Community, senpai: Senpai) -> Channel:
    """A moderators-only text channel, set as the staff channel with a 6-hour delay."""
    mods = community.server.add_text_channel(
        community.guild, "mods", private=True, allow=[community.mod_role]
    )
    assert await eventually(lambda: _known(senpai, mods.id))
    content = await configure(community, {"staff_channel": mods, "escalation_hours": 6.0})
    assert "Settings saved" in content
    assert "Staff channel: #mods" in content and "after: 6 h" in content
    return mods


async def _known(senpai: Senpai, channel_id: int) -> bool:
    return senpai.bot.get_channel(channel_id) is not None


def is_listing(message: Message) -> bool:
    return bool(message.embeds)


# -- escalation -----------------------------------------------------------------------


async def test_an_unanswered_post_is_listed_once_after_the_delay_and_leaves_when_answered(
    community: Community, senpai: Senpai
):
    server = community.server
    mods = await staff_channel(community, senpai)
    earlier, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    await server.send_message(community.chika, post, "Still failing this morning.")  # the asker

    senpai.clock.now += timedelta(hours=5, minutes=50)
    await wait_quiet()
    assert server.bot_messages(mods) == []  # not before the delay

    senpai.clock.now += timedelta(hours=20)
    listing = await server.wait_for_bot_message(mods, is_listing)
    embed = listing.embeds[0]
    assert embed["title"] == SSO_AGAIN[0].replace("_", "\\_")
    assert embed["url"].endswith(f"/{post.id}")
    assert "Asked 25 hours ago" in embed["description"]
    leads = embed["fields"][0]
    assert leads["name"] == "Closest solved threads"
    assert f"/{earlier.id})" in leads["value"]
    assert listing.content == "🔔 Waiting for a first reply"
    assert not listing.pinged_user_ids and not listing.pinged_role_ids

    senpai.clock.now += timedelta(days=2)
    await wait_quiet()
    assert [m.id for m in server.bot_messages(mods)] == [listing.id]  # once only

    await server.send_message(community.ben, post, SSO_ANSWER)
    await server.wait_for(lambda: "Answered" in server.message(listing.id).content or None)
    edited = server.message(listing.id)
    assert edited.content == "✅ Answered — off the list" and edited.embeds == listing.embeds
    assert await eventually(lambda: _state_is(senpai, post.id, "answered"))
    counted = await senpai.services.community.escalations(
        community.guild.id, senpai.clock.now - timedelta(days=5), senpai.clock.now
    )
    assert [e.thread_id for e in counted] == [post.id]  # counted for the report
    server.assert_clean()


async def test_a_listed_post_solved_or_deleted_leaves_the_list_and_a_restart_does_not_repost(
    community: Community, senpai: Senpai
):
    server = community.server
    mods = await staff_channel(community, senpai)
    solved = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    deleted = await server.open_post(community.dan, community.help, CSV_TITLE, CSV_BODY)
    senpai.clock.now += timedelta(hours=7)
    await server.wait_for(lambda: len(server.bot_messages(mods)) == 2 or None)
    for post in (solved, deleted):  # recorded before the restart
        assert await eventually(lambda post=post: _listed(senpai, post.id))
    by_post = {m.embeds[0]["url"].rsplit("/", 1)[1]: m for m in server.bot_messages(mods)}

    await senpai.restart()
    senpai.clock.now += timedelta(hours=1)
    await wait_quiet()
    assert len(server.bot_messages(mods)) == 2  # the listing is kept across the restart

    await senpai.services.community.record_solved(solved.id, senpai.clock.now, via="marked")
    await server.delete_thread(deleted)
    solved_listing, deleted_listing = by_post[str(solved.id)], by_post[str(deleted.id)]
    await server.wait_for(
        lambda: (
            (
                server.message(solved_listing.id).content.startswith("✅")
                and server.message(deleted_listing.id).content.startswith("🗑️")
            )
            or None
        )
    )
    assert server.message(solved_listing.id).content == "✅ Solved — off the list"
    assert server.message(solved_listing.id).embeds  # still says which post
    assert server.message(deleted_listing.id).embeds == []  # nothing of a deleted post stays
    server.assert_clean()


async def test_without_a_usable_staff_channel_nothing_is_posted(
    community: Community, senpai: Senpai
):
    server = community.server
    first = await server.open_post(community.aiko, community.help, SSO_TITLE, SSO_BODY)
    senpai.clock.now += timedelta(hours=25)  # no staff channel set: skipped
    assert await eventually(lambda: _state_is(senpai, first.id, "skipped"))

    mods = await staff_channel(community, senpai)
    server.world.delete_channel(mods)  # the staff channel is deleted
    assert await eventually(lambda: _forgotten(senpai, mods.id))
    second = await server.open_post(community.dan, community.help, *SSO_AGAIN)
    senpai.clock.now += timedelta(hours=7)
    assert await eventually(lambda: _state_is(senpai, second.id, "skipped"))
    assert server.bot_messages(mods) == [] and server.bot_messages(second) == []
    server.assert_clean()


async def _listed(senpai: Senpai, thread_id: int) -> bool:
    escalation = await senpai.services.community.escalation(thread_id)
    return escalation is not None and escalation.message_id is not None


async def _state_is(senpai: Senpai, thread_id: int, state: str) -> bool:
    escalation = await senpai.services.community.escalation(thread_id)
    return escalation is not None and escalation.state.value == state


async def _forgotten(senpai: Senpai, channel_id: int) -> bool:
    return senpai.bot.get_channel(channel_id) is None


# -- me too ---------------------------------------------------------------------------


async def test_me_too_counts_in_place_refuses_twice_and_the_asker_and_hears_back_when_solved(
    community: Community, senpai: Senpai
):
    server = community.server
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    suggestion = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    assert ME_TOO in suggestion.custom_ids()
    assert suggestion.content == ""

    pressed = await server.press_button(community.dan, suggestion, ME_TOO)
    await pressed.wait_for_responses(2)
    assert pressed.callback.type == 7  # Senpai's own message, edited in place
    assert pressed.responses[1].ephemeral and "not alone" in (pressed.responses[1].content or "")
    shown = server.message(suggestion.id)
    assert shown.content == "🙋 1 member has the same problem"
    assert shown.embeds == suggestion.embeds and not shown.pinged_user_ids

    again = await server.press_button(community.dan, suggestion, ME_TOO)
    assert (await again.wait_for_response()).ephemeral
    assert again.callback.content == "You already said so."
    own = await server.press_button(community.chika, suggestion, ME_TOO)  # the asker (ja)
    assert (await own.wait_for_response()).content == "ご自身の投稿です。"

    await senpai.restart()  # the button outlives the process
    other = await server.press_button(community.aiko, suggestion, ME_TOO)
    await other.wait_for_responses(2)
    assert server.message(suggestion.id).content == "🙋 2 members have the same problem"
    assert await senpai.services.community.me_too_count(post.id) == 2

    entry_id = suggestion.custom_ids()[0].rsplit(":", 1)[1]
    solved = await server.press_button(community.chika, suggestion, f"senpai:solved:{entry_id}")
    await solved.wait_for_response()
    notice = await server.wait_for_bot_message(post, lambda m: "had the same problem" in m.content)
    assert notice.content == "✅ Solved. 2 members had the same problem: the answer is above."
    assert not notice.pinged_user_ids and not notice.mention_ids
    late = await server.press_button(community.ben, suggestion, ME_TOO)
    assert "already solved" in ((await late.wait_for_response()).content or "")
    await wait_quiet()
    assert len([m for m in server.bot_messages(post) if "had the same" in m.content]) == 1
    server.assert_clean()


async def test_a_post_without_suggestion_gets_a_me_too_message_only_when_enabled(
    community: Community, senpai: Senpai
):
    server = community.server
    quiet = await server.open_post(community.aiko, community.help, CSV_TITLE, CSV_BODY)
    await wait_quiet()
    assert server.bot_messages(quiet) == []  # default: no message without a suggestion

    content = await configure(community, {"me_too_on_posts": True})
    assert "Me too on posts without suggestions: yes" in content
    post = await server.open_post(community.aiko, community.help, CSV_TITLE, CSV_BODY)
    prompt = await server.wait_for_bot_message(post)
    assert prompt.custom_ids() == [ME_TOO, "senpai:dismiss"]
    assert "同じく困っています" in prompt.content and not prompt.embeds
    assert suggestion_messages(community, post) == []

    pressed = await server.press_button(community.chika, prompt, ME_TOO)
    await pressed.wait_for_responses(2)
    assert server.message(prompt.id).content.startswith("🙋 同じ問題で困っている人: 1人")
    assert pressed.responses[1].content == (
        "記録しました。解決したときに知るには、この投稿をフォローしてください。"
    )

    dismissed = await server.press_button(community.aiko, prompt, "senpai:dismiss")
    await dismissed.wait_for_response()
    await server.wait_for(lambda: server.message(prompt.id).deleted or None)
    server.assert_clean()


async def test_a_lead_that_leaves_the_knowledge_base_is_taken_out_of_the_staff_message(
    community: Community, senpai: Senpai
):
    server = community.server
    mods = await staff_channel(community, senpai)
    earlier, _, _ = await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    senpai.clock.now += timedelta(hours=7)
    listing = await server.wait_for_bot_message(mods, is_listing)
    assert f"/{earlier.id})" in listing.embeds[0]["fields"][0]["value"]
    assert await eventually(lambda: _listed(senpai, post.id))

    await senpai.kb.forget_member(community.aiko.id)  # she asked the earlier thread

    def without_lead() -> bool | None:
        value = server.message(listing.id).embeds[0]["fields"][0]["value"]
        return f"/{earlier.id}" not in value or None

    await server.wait_for(without_lead)
    edited = server.message(listing.id)
    assert edited.embeds[0]["fields"][0]["value"] == "No close solved thread."
    assert SSO_TITLE.split()[0] not in edited.embeds[0]["fields"][0]["value"]
    assert edited.embeds[0]["url"].endswith(f"/{post.id}")  # the waiting post stays listed
    assert await eventually(lambda: _no_retraction_left(senpai))
    server.assert_clean()


async def _no_retraction_left(senpai: Senpai) -> bool:
    return await senpai.kb.due_retractions() == []
