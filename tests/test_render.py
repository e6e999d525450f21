"""What members read: member text is shown as text, within Discord's limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from unittest import mock

import discord
import pytest

from cogs import render
from cogs.render import member_text
from knowledge.models import (
    AnswerPart,
    CommunityFigures,
    Entry,
    GuildSettings,
    Stats,
    Suggestion,
)

JUMP = "https://discord.com/channels/1/2"
EVIL_TITLE = "[Free Nitro](https://evil.example)"
NOW = datetime(2024, 5, 1, tzinfo=UTC)
_LIVE_MASKED_LINK = re.compile(r"(?<!\\)\[(?:\\.|[^\]\\])*\]\(\s*<?([^)\s>]+)")


def live_link_targets(text: str) -> list[str]:
    return _LIVE_MASKED_LINK.findall(text)


def entry(title: str = EVIL_TITLE, answerer: str = "Ben", answer: str = "Resume it.") -> Entry:
    return Entry(
        id=7,
        guild_id=1,
        forum_id=3,
        thread_id=2,
        title=title,
        question="q",
        answer_parts=(AnswerPart(10, 20, answerer, answer),),
        asker_id=30,
        asker_name="Aiko",
        tags=(),
        asked_at=NOW,
        solved_at=NOW,
        jump_url=JUMP,
        language="en",
        scope="public",
    )


# -- member_text ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("# big", r"\# big"),
        ("-# small", r"\-# small"),
        ("- item", r"\- item"),
        ("> quote", r"\> quote"),
        ("||spoiler||", r"\|\|spoiler\|\|"),
        ("`code`", r"\`code\`"),
        ("**bold** _it_ ~~s~~", r"\*\*bold\*\* \_it\_ \~\~s\~\~"),
        ("<t:1700000000:R>", r"\<t:1700000000:R>"),
        ("<@123> <@!123> <@&456> <#789>", r"\<@123> \<@!123> \<@&456> \<#789>"),
        ("</senpai search:1>", r"\</senpai search:1>"),
        ("@everyone and @here", "@\u200beveryone and @\u200bhere"),
        ("two\n# lines", "two # lines"),  # one line: no heading can start
        ("a < b", "a < b"),
    ],
)
def test_markdown_mentions_and_timestamps_are_shown_as_text(raw: str, shown: str):
    assert member_text(raw) == shown


def test_a_masked_link_is_neither_a_link_nor_a_bare_url():
    shown = member_text(EVIL_TITLE)
    assert live_link_targets(shown) == []
    assert "https://" not in shown
    assert shown == "\\[Free Nitro\\](https:\u200b//evil.example)"


def test_an_answer_keeps_its_bare_urls_clickable_but_not_its_masked_links():
    shown = member_text("see [docs](https://x.example/a_b)", links=True)
    assert live_link_targets(shown) == []
    assert "https://x.example/a_b" in shown


def test_member_text_is_bounded_and_never_ends_in_half_an_escape():
    shown = member_text("*" * 500, limit=100)
    assert len(shown) <= 100
    assert shown.endswith("…") and not shown.endswith("\\…")


def test_labels_are_bounded_to_eighty_characters():
    assert len(render.label("x" * 200)) == 80
    assert render.label("a\nb") == "a b"


# -- messages and embeds ------------------------------------------------------------------


def test_the_solved_by_an_earlier_thread_note_links_only_to_the_thread():
    private, public = render.solved_by_earlier_thread(EVIL_TITLE, JUMP, "en")
    assert live_link_targets(public) == [JUMP]
    assert live_link_targets(private) == []


def test_a_suggestion_quotes_titles_names_and_gists_as_text():
    suggestion = Suggestion(
        entry(answerer="@everyone [N](https://e.vl)", answer="# Resume\n<@1> it"),
        score=0.8,
        dense=0.8,
        lexical=0.5,
        signals=(),
    )
    embed = render.suggestion_embed([suggestion], "en")
    field = embed.fields[0]
    assert field.name is not None and field.value is not None
    assert field.name.startswith("#1 ") and "Free Nitro" in field.name
    assert live_link_targets(field.name) == []
    assert live_link_targets(field.value) == [JUMP]
    assert "@everyone" not in field.value and "\\<@1>" in field.value
    assert "\n# " not in field.value


def test_stats_quote_answerer_names_and_recurring_titles_as_text():
    stats = Stats(1, 1, {}, {}, 1, 0, {}, ((20, "**Ben** @here", 3),))
    figures = CommunityFigures(4, 2, 1, 0, None, None, ((2, EVIL_TITLE, 2),))
    embed = render.stats_embed(stats, figures, "en")
    values = [f.value or "" for f in embed.fields]
    assert values == ["\\*\\*Ben\\*\\* @\u200bhere — 3", member_text(EVIL_TITLE) + " — 2"]


def test_settings_show_channel_role_and_tag_names_as_text():
    forum = mock.Mock(spec_set=discord.ForumChannel)
    forum.name = "[help](https://evil.example)"
    role = mock.Mock(spec_set=discord.Role)
    role.name = "@everyone"
    guild = mock.Mock(spec_set=discord.Guild)
    guild.get_channel.return_value = forum
    guild.get_role.return_value = role
    settings = GuildSettings(1, watched_forums=(3,), helper_roles=(4,), solved_tag="# Done")
    text = render.settings_text(settings, guild, 0.55, "en")
    assert live_link_targets(text) == []
    assert "@everyone" not in text
    assert "Solved tag: \\# Done" in text
    guild.get_channel.assert_called_once_with(3)


def test_a_nudge_names_the_asker_as_text_or_not_at_all():
    assert render.addressed("nudge.ask", "en", "# Aiko").startswith("\\# Aiko, did this")
    assert render.addressed("nudge.ask", "en", None).startswith("Did this reply")


def test_the_forget_confirmation_quotes_the_name_as_text():
    text = render.forget_confirmation("||Ben||", "en")
    assert "\\|\\|Ben\\|\\|" in text


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_the_calibration_line_says_where_the_threshold_comes_from(lang):
    from knowledge.learning import Calibration

    pending = render.calibration_line(Calibration(0.6, 0.6, 3, 1.0), None, lang)
    learned = render.calibration_line(Calibration(0.7, 0.6, 25, 0.5), None, lang)
    setting = render.calibration_line(Calibration(0.7, 0.6, 25, 0.5), 0.8, lang)
    assert "0.60" in pending and "3" in pending
    assert "0.70" in learned and "25" in learned and "50%" in learned
    assert "0.80" in setting and "/senpai-admin" in setting


def test_ages_read_as_plain_words_in_both_languages():
    from cogs.render import age

    assert [age(h, "en") for h in (0.2, 1.5, 25.9, 47.5, 49, 24 * 9)] == [
        "1 hour",
        "1 hour",
        "25 hours",
        "47 hours",
        "2 days",
        "9 days",
    ]
    assert age(30, "ja") == "30時間" and age(72, "ja") == "3日"


def test_every_escalation_and_me_too_string_exists_in_both_languages():
    from cogs.i18n import MESSAGES

    keys = [k for k in MESSAGES if k.startswith(("escalation.", "me_too.", "age."))]
    assert len(keys) >= 15
    assert all(MESSAGES[k].get("en") and MESSAGES[k].get("ja") for k in keys)
