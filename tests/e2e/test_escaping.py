"""What members write never turns into links, headings or pings in what Senpai sends.

A post titled as a masked link and an answerer whose nickname carries markdown and
``@everyone`` go through every message and embed Senpai builds from them; the
texts Discord would render are checked for live links and unescaped markup.
"""

from __future__ import annotations

import re

from localdiscord import InteractionResponse, Message
from tests.e2e.conftest import Community, Senpai
from tests.e2e.test_scenarios import SSO_AGAIN, SSO_ANSWER, SSO_BODY, SSO_TITLE

EVIL_TITLE = f"[Free Nitro](https://evil.example) {SSO_TITLE}"
EVIL_NICK = "-# @everyone [N](https://e.vl)"

# A masked link whose opening bracket is not escaped, and the target it points to.
_LIVE_MASKED_LINK = re.compile(r"(?<!\\)\[(?:\\.|[^\]\\])*\]\(\s*<?([^)\s>]+)")
_BARE_URL = re.compile(r"https?://\S+")
_JUMP_URL = re.compile(r"https://discord\.com/channels/\d+/\d+")
_BLOCK_MARKUP = re.compile(r"(?m)^\s*(?:-#|#{1,3}\s)")  # Senpai quotes gists with "> "


def rendered(sent: Message | InteractionResponse) -> list[str]:
    """Every text of a message (or an interaction's answer) Discord renders as markdown."""
    texts = [sent.content or ""]
    for embed in sent.embeds:
        texts += [embed.get("title") or "", embed.get("description") or ""]
        texts.append((embed.get("footer") or {}).get("text") or "")
        for field in embed.get("fields", []):
            texts += [field["name"], field["value"]]
    return texts


def assert_inert(texts: list[str]) -> None:
    """No link but Senpai's own jump links, no mass mention, no member-made block markup."""
    for text in texts:
        for target in _LIVE_MASKED_LINK.findall(text):
            assert _JUMP_URL.fullmatch(target), (target, text)
        for url in _BARE_URL.findall(text):
            assert _JUMP_URL.match(url), (url, text)
        assert "@everyone" not in text, text
        assert not _BLOCK_MARKUP.search(text), text


async def test_a_masked_link_title_and_a_markdown_nickname_stay_text_everywhere(
    community: Community, senpai: Senpai
):
    server = community.server
    mallory = server.add_member(community.guild, "mallory", nick=EVIL_NICK)
    solved = await server.open_post(community.aiko, community.help, EVIL_TITLE, SSO_BODY)
    await server.send_message(mallory, solved, SSO_ANSWER)
    marked = await server.run_slash(community.aiko, solved, "solved")
    await server.wait_for(lambda: len(marked.responses) >= 2 or None)
    public = await server.wait_for_bot_message(solved, lambda m: "Solved" in m.content)
    assert "e.vl" in public.content  # the name is shown, as text
    assert_inert(rendered(public))
    for response in marked.responses:
        assert_inert(rendered(response))

    post = await server.open_post(community.chika, community.help, *SSO_AGAIN)
    suggestion = await server.wait_for_bot_message(post, lambda m: bool(m.embeds))
    field = suggestion.embeds[0]["fields"][0]
    assert "Free Nitro" in field["name"] and "evil.example" in field["name"]
    assert_inert(rendered(suggestion))

    entry = await senpai.kb.entry_for_thread(solved.id)
    pressed = await server.press_button(community.chika, suggestion, f"senpai:solved:{entry.id}")
    # Chika's post is in Japanese: "✅ 過去のスレッドで解決: [title](jump URL)".
    note = await server.wait_for_bot_message(post, lambda m: f"/{solved.id})" in m.content)
    assert "Free Nitro" in note.content
    assert_inert(rendered(note))
    for response in pressed.responses:
        assert_inert(rendered(response))

    stats = await server.run_slash(
        server.owner(community.guild), community.help, "senpai-admin stats"
    )
    shown = await stats.wait_for_response()
    assert_inert(rendered(shown))

    for message in [public, suggestion, note]:
        assert not message.pinged_user_ids and not message.pinged_role_ids
        assert not message.mention_everyone
    server.assert_clean()
