"""/senpai-admin report and the staff roles it counts, end to end.

The real bot against LocalDiscord: a question is asked, answered and solved, another
stays open, and an admin asks for the report in English and in Japanese. The reply is
private, carries the figures and (matplotlib being installed here) the chart as a PNG.
"""

from __future__ import annotations

from datetime import date

import pytest

from cogs.admin import report_period, toggled
from cogs.render import CONTENT_CHARS, DESCRIPTION_CHARS, report_reply
from cogs.reporting import CHART_FILE, REPORT_FILE
from knowledge import report_format
from knowledge.report_format import ChartUnavailable
from localdiscord import InteractionRecord, Message, ScenarioError
from tests.e2e.conftest import Community, Senpai
from tests.e2e.test_flows import UNRELATED
from tests.e2e.test_scenarios import SSO_ANSWER, SSO_BODY, SSO_TITLE, solved_post

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


async def report_message(community: Community, options: dict, locale: str | None) -> Message:
    """Run the report as the owner and return the message it finally shows."""
    server = community.server
    asked: InteractionRecord = await server.run_slash(
        server.owner(community.guild),
        community.help,
        "senpai-admin report",
        options,
        locale=locale,
    )
    deferred = await asked.wait_for_response()
    assert deferred.ephemeral  # the "thinking" answer, private
    await asked.wait_for_responses(2, timeout=30)
    assert asked.original_message_id is not None
    return server.message(asked.original_message_id)


def shown_text(message: Message) -> str:
    return "\n".join([message.content, *(e.get("description", "") for e in message.embeds)])


async def test_the_report_shows_the_figures_in_english_and_japanese_with_a_chart(
    community: Community, senpai: Senpai
):
    server = community.server
    await solved_post(community, SSO_TITLE, SSO_BODY, SSO_ANSWER)
    await server.open_post(community.dan, community.help, *UNRELATED)
    staff = await server.run_slash(
        server.owner(community.guild),
        community.help,
        "senpai-admin setup",
        {"staff_role": community.helper_role},
    )
    await staff.wait_for_response()

    english = await report_message(community, {"period": "7d"}, None)
    assert english.ephemeral
    text = shown_text(english)
    assert "Questions asked: 2  (previous: 0)" in text
    assert "Solved: 1  (previous: 0)" in text
    assert "Solved rate: 50%" in text
    assert "Unanswered: 1" in text
    assert UNRELATED[0] in text
    assert "Ben: 1" in text
    assert "First reply by staff: 1" in text  # Ben has the role named staff
    (chart,) = [a for a in english.attachments if a.filename == CHART_FILE]
    assert chart.data.startswith(PNG_MAGIC)

    japanese = await report_message(community, {"period": "30d"}, "ja")
    text = shown_text(japanese)
    assert "質問数: 2" in text and "解決: 1" in text and "解決率: 50%" in text
    assert "未回答: 1" in text
    assert "最初の返信がスタッフ: 1" in text
    assert any(a.filename == CHART_FILE for a in japanese.attachments)
    server.assert_clean()


async def test_without_matplotlib_the_report_says_so_and_still_sends_the_text(
    community: Community, senpai: Senpai, monkeypatch: pytest.MonkeyPatch
):
    def no_chart(report: object) -> bytes:
        raise ChartUnavailable("matplotlib is not installed")

    monkeypatch.setattr(report_format, "chart_png", no_chart)
    await community.server.open_post(community.dan, community.help, *UNRELATED)
    shown = await report_message(community, {"period": "month"}, None)
    text = shown_text(shown)
    assert "The chart is not available: matplotlib is not installed" in text
    assert "Community report" in text
    assert shown.attachments == []
    community.server.assert_clean()


async def test_only_admins_can_ask_for_the_report(community: Community, senpai: Senpai):
    with pytest.raises(ScenarioError, match="default_member_permissions"):
        await community.server.run_slash(community.dan, community.help, "senpai-admin report")
    community.server.assert_clean()


async def test_staff_role_toggles_and_shows_in_the_settings(community: Community, senpai: Senpai):
    server = community.server
    owner = server.owner(community.guild)
    options = {"staff_role": community.mod_role}
    added = await server.run_slash(owner, community.help, "senpai-admin setup", options)
    content = (await added.wait_for_response()).content or ""
    assert "Settings saved" in content and "Staff roles (report): @\u200bModerator" in content
    settings = await senpai.services.community.settings(community.guild.id)
    assert settings.staff_roles == (community.mod_role.id,)

    removed = await server.run_slash(owner, community.help, "senpai-admin setup", options)
    content = (await removed.wait_for_response()).content or ""
    assert "Staff roles (report): none" in content
    assert (await senpai.services.community.settings(community.guild.id)).staff_roles == ()
    server.assert_clean()


def test_a_role_is_added_then_removed_by_the_same_toggle():
    assert toggled((1, 2), 3) == (1, 2, 3)
    assert toggled((1, 2, 3), 2) == (1, 3)


@pytest.mark.parametrize(
    ("period", "today", "expected"),
    [
        ("7d", date(2026, 3, 10), (date(2026, 3, 4), date(2026, 3, 11))),
        ("30d", date(2026, 3, 10), (date(2026, 2, 9), date(2026, 3, 11))),
        ("month", date(2026, 3, 10), (date(2026, 2, 1), date(2026, 3, 1))),
        ("month", date(2026, 1, 1), (date(2025, 12, 1), date(2026, 1, 1))),
    ],
)
def test_report_periods_are_calendar_days_ending_today_or_the_last_month(
    period: str, today: date, expected: tuple[date, date]
):
    assert report_period(period, today) == expected


def test_a_short_report_is_the_message_text():
    reply = report_reply("Questions asked: 2\n", chart=True, lang="en")
    assert reply.content == "Questions asked: 2" and reply.embed is None
    assert not reply.attach_text


def test_a_longer_report_goes_into_an_embed_and_a_very_long_one_also_into_a_file():
    longer = "x" * (CONTENT_CHARS + 10)
    reply = report_reply(longer, chart=True, lang="en")
    assert reply.content is None and reply.embed is not None
    assert reply.embed.description == longer and not reply.attach_text

    huge = "y" * (DESCRIPTION_CHARS + 10)
    reply = report_reply(huge, chart=False, lang="ja")
    assert reply.attach_text and reply.embed is not None
    assert len(reply.embed.description or "") == DESCRIPTION_CHARS
    assert "添付" in (reply.content or "") and "matplotlib" in (reply.content or "")
    assert REPORT_FILE.endswith(".txt")
