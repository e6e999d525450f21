"""Credit for helpers, end to end: the board, the monthly thanks post, the automatic role
and the credit messages, through the real bot on unpatched discord.py against
LocalDiscord. Time moves with the test clock (``senpai.clock.now``); the bot polls every
0.2 s. Each test ends with ``server.assert_clean()``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from localdiscord import Channel, Member, Permissions, Thread
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
    wait_quiet,
)


async def answered(community: Community, helper: Member, title: str, body: str, answer: str):
    """A post by Aiko answered by ``helper`` and marked solved with /solved."""
    server = community.server
    post = await server.open_post(community.aiko, community.help, title, body)
    await server.send_message(helper, post, answer)
    run = await server.run_slash(community.aiko, post, "solved")
    await run.wait_for_response()
    await server.wait_for(lambda: len(run.responses) >= 2 or None)
    return post


async def slash(community: Community, member: Member, where: Channel | Thread, name: str, options):
    """Run a slash command; its ephemeral answer's text."""
    run = await community.server.run_slash(member, where, name, options)
    response = await run.wait_for_response()
    assert response.ephemeral
    return response.content or ""


def next_month(moment: datetime) -> datetime:
    """One hour into the calendar month after ``moment``'s (UTC)."""
    moment = moment.astimezone(UTC)
    first = datetime(moment.year, moment.month, 1, tzinfo=UTC) + timedelta(days=32)
    return first.replace(day=1, hour=1)


async def test_the_board_and_the_monthly_thanks_post_once_without_pings_or_unlisted_members(
    community: Community, senpai: Senpai
):
    server = community.server
    thanks = server.add_text_channel(community.guild, "thanks")
    assert await eventually(lambda: _known(senpai, thanks.id))
    owner = server.owner(community.guild)
    content = await slash(
        community, owner, community.help, "senpai-admin credit", {"thanks_channel": thanks}
    )
    assert content.startswith("Saved.") and f"<#{thanks.id}>" in content

    await answered(community, community.ben, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    await answered(community, community.ben, CSV_TITLE, CSV_BODY, CSV_ANSWER)
    await answered(
        community,
        community.dan,
        "Webhook deliveries are retried?",
        "Our endpoint was down for an hour. Will the webhook deliveries be sent again?",
        "Yes: failed deliveries are retried three times with backoff, then listed under "
        "Settings > Webhooks > Failed, where you can resend them.",
    )
    off = await slash(community, community.dan, community.help, "senpai credit", {"listed": "off"})
    assert "Listed on helper boards and thanks posts: **off**" in off

    board = await slash(community, community.chika, community.help, "senpai helpers", {})
    assert board.startswith(
        "**回答が最も役に立ったメンバー（直近30日間）**"
    )  # Chika reads Japanese
    assert f"1. <@{community.ben.id}>：解決策に選ばれた回答 2件" in board
    assert f"<@{community.dan.id}>" not in board

    senpai.clock.now = next_month(senpai.clock.now)
    posted = await server.wait_for_bot_message(thanks)
    assert posted.content.startswith("🙏 **Thank you, helpers of ")
    assert f"1. <@{community.ben.id}>: answers chosen as the solution: 2" in posted.content
    assert f"<@{community.dan.id}>" not in posted.content  # not listed
    assert community.ben.id in posted.mention_ids and not posted.pinged_user_ids

    await senpai.restart()
    senpai.clock.now += timedelta(days=3)
    await wait_quiet()
    assert [m.id for m in server.bot_messages(thanks)] == [posted.id]  # once a month
    server.assert_clean()


async def test_a_role_is_granted_after_n_answers_once_and_never_taken_back(
    community: Community, senpai: Senpai
):
    server = community.server
    guru = server.add_role(community.guild, "Guru")
    await server.update_member(community.dan, roles=[guru])  # holds it already
    owner = server.owner(community.guild)
    content = await slash(
        community, owner, community.help, "senpai-admin credit", {"role": guru, "role_after": 1}
    )
    assert f"<@&{guru.id}> after 1 accepted answers" in content
    assert "Senpai cannot give" in content  # no Manage Roles, and the role is above Senpai's

    await answered(community, community.ben, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    await wait_quiet()
    assert guru.id not in community.ben.role_ids  # logged, nothing granted, nothing broken

    bot_role = server.bot_role(community.guild)
    bot_role.permissions |= Permissions.MANAGE_ROLES
    bot_role.position = guru.position + 1
    await senpai.restart()  # Discord would send the role update; the bot reconnects
    assert await eventually(lambda: _granted(community, guru.id))
    # The grant is recorded right after Discord confirms it: wait for the record too.
    assert await eventually(
        lambda: _role_state(senpai, community, community.ben, guru.id, "granted")
    )

    await answered(community, community.dan, CSV_TITLE, CSV_BODY, CSV_ANSWER)
    assert await eventually(lambda: _role_state(senpai, community, community.dan, guru.id, "had"))

    await server.update_member(community.ben, roles=[])  # a moderator takes it away
    await wait_quiet()
    assert guru.id not in community.ben.role_ids  # Senpai does not give it again
    assert guru.id in community.dan.role_ids
    server.assert_clean()


async def _known(senpai: Senpai, channel_id: int) -> bool:
    return senpai.bot.get_channel(channel_id) is not None


async def _granted(community: Community, role_id: int) -> bool:
    return role_id in community.ben.role_ids


async def _role_state(
    senpai: Senpai, community: Community, member: Member, role_id: int, state: str
) -> bool:
    return await senpai.kb.role_state(community.guild.id, member.id, role_id) == state


# -- credit messages ------------------------------------------------------------------

CREDIT_OFF = "senpai:credit:off"


async def solve_with_suggestion(community: Community, asker: Member, title: str, body: str):
    """A new post whose asker presses "#1 solved it" on Senpai's suggestion."""
    server = community.server
    post = await server.open_post(asker, community.help, title, body)
    suggestion = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    entry_id = suggestion.custom_ids()[0].rsplit(":", 1)[1]
    pressed = await server.press_button(asker, suggestion, f"senpai:solved:{entry_id}")
    await pressed.wait_for_response()
    return post


async def test_the_author_hears_by_direct_message_once_a_day_and_can_turn_it_off(
    community: Community, senpai: Senpai
):
    server = community.server
    ben = community.ben
    post = await answered(community, ben, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    first = await server.wait_for_direct_message(ben)
    assert first.guild_id is None and not first.pinged_user_ids and not first.pinged_role_ids
    assert first.content.startswith("🎉 Your answers in **Flowdesk** helped:")
    assert "was chosen as the solution" in first.content and f"/{post.id})" in first.content
    assert first.custom_ids() == [CREDIT_OFF]

    await solve_with_suggestion(community, community.chika, *SSO_AGAIN)
    await solve_with_suggestion(community, community.dan, SSO_AGAIN[0], SSO_AGAIN[1] + " Again.")
    await wait_quiet()
    assert len(server.direct_messages(ben)) == 1  # told less than a day ago: gathered

    await senpai.restart()
    senpai.clock.now += timedelta(days=1, minutes=1)
    second = await server.wait_for_direct_message(ben, lambda m: m.id != first.id)
    assert "helped 2 more members in the last 30 days." in second.content
    await wait_quiet()
    assert len(server.direct_messages(ben)) == 2  # nothing repeated after the restart

    pressed = await server.press_button(ben, second, CREDIT_OFF)
    await pressed.wait_for_responses(2)
    assert pressed.responses[1].ephemeral
    assert (pressed.responses[1].content or "").startswith("Done: no more of these messages.")
    assert server.message(second.id).custom_ids() == []  # the button is gone
    assert not (await senpai.kb.credit_prefs(ben.id)).notices

    await solve_with_suggestion(community, community.maya, SSO_AGAIN[0], "Same for me: " + SSO_BODY)
    senpai.clock.now += timedelta(days=2)
    assert await eventually(lambda: _has_state(senpai, ben, "off"))
    assert len(server.direct_messages(ben)) == 2  # turned off: nothing more
    server.assert_clean()


async def test_closed_direct_messages_are_logged_and_dropped(
    community: Community, senpai: Senpai, caplog
):
    caplog.set_level(logging.INFO, logger="cogs.credit")
    server = community.server
    server.set_accepts_dms(community.dan, False)
    await answered(community, community.dan, CSV_TITLE, CSV_BODY, CSV_ANSWER)
    assert await eventually(lambda: _has_state(senpai, community.dan, "failed"))
    assert f"credit message to user {community.dan.id} not delivered" in caplog.text
    assert CSV_TITLE not in caplog.text  # ids, never content
    senpai.clock.now += timedelta(days=2)
    await wait_quiet()
    assert server.direct_messages(community.dan) == []
    assert [s for _, _, s in await senpai.kb.credit_notices(community.dan.id)] == ["failed"]

    content = await slash(community, community.dan, community.help, "senpai credit", {})
    assert "Messages when your answers help: **on**" in content
    # The one refusal is the closed DM itself (Discord answers 50007), tried once.
    (refused,) = server.violations
    assert refused.rule == "missing_permissions" and "50007" in refused.message
    server.assert_clean(ignore={"missing_permissions"})


async def _has_state(senpai: Senpai, member: Member, state: str) -> bool:
    return state in {s for _, _, s in await senpai.kb.credit_notices(member.id)}
