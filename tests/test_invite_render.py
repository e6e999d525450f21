"""What an invited member reads, in English and Japanese: escaped titles, links, no pings."""

from __future__ import annotations

import pytest

from cogs import invite_render
from cogs.render import CONTENT_CHARS
from knowledge.invitations import InviteChoice

URL = "https://discord.com/channels/1/2"
EARLIER_URL = "https://discord.com/channels/1/3"


def message(lang: str, title: str = "Okta *audience* error", guild: str = "Flowdesk") -> str:
    return invite_render.invitation(
        guild=guild,
        title=title,
        url=URL,
        earlier_title="SAML login fails",
        earlier_url=EARLIER_URL,
        per_day=3,
        lang=lang,
    )


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_an_invitation_links_the_post_and_the_member_s_earlier_thread(lang):
    text = message(lang)
    assert f"[Okta \\*audience\\* error]({URL})" in text
    assert f"[SAML login fails]({EARLIER_URL})" in text
    assert "**Flowdesk**" in text and "3" in text
    assert ("/senpai invites off" if lang == "en" else "/senpai 招待 オフ") in text


def test_member_written_text_cannot_ping_break_the_link_or_overflow():
    text = message("en", title="@everyone <@123> ](https://evil.example) " + "x" * 3000)
    assert "@everyone" not in text and "@\u200beveryone" in text
    assert "\\<@123>" in text  # shown as text, not a mention
    assert "](https://evil.example)" not in text
    assert len(text) <= CONTENT_CHARS
    assert "**@\u200beveryone**" in message("en", guild="@everyone")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_choice_and_status_has_its_own_reply_in_both_languages(lang):
    replies = {invite_render.invites_choice(choice, False, lang) for choice in InviteChoice}
    replies |= {invite_render.invites_choice(None, enabled, lang) for enabled in (True, False)}
    assert len(replies) == len(InviteChoice) + 2
    english = {invite_render.invites_choice(c, False, "en") for c in InviteChoice}
    if lang == "ja":
        assert not replies & english
