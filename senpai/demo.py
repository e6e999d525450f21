"""``senpai demo``: a short scripted community, offline, with the real bot.

It starts LocalDiscord (a local stand-in for Discord's API), the real Senpai
bot through unpatched discord.py, and plays a story: a member asks, a peer
answers, the asker says thanks and confirms the solution with one tap; later
another member asks the same thing in other words, and Senpai answers
"someone already faced this" with the right thread; at the end the server's
admin opens the community report of the story. It prints the conversation as it
happens and exits 0 only if the story really happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from cogs.bot import SenpaiBot
from cogs.services import Services
from index.encoder import Encoder
from knowledge.engine import KnowledgeBase
from knowledge.models import Entry
from senpai.app import Settings, close_services, open_services
from senpai.cli import CliError

try:
    from localdiscord import LocalDiscord, Message, Thread, point_discord_py_at
except ImportError as missing:  # a package of its own, for the demo and the tests
    if missing.name != "localdiscord":
        raise
    raise CliError(
        "the demo needs the local Discord, which is not installed: "
        "pip install -e ./localdiscord (bash scripts/setup.sh does it)"
    ) from None

log = logging.getLogger(__name__)

STEP_TIMEOUT = 20.0
SUGGESTION_TIMEOUT = 20.0
"""How long the story waits for the suggestion that should come (and may not)."""
T = TypeVar("T")


class DemoFailed(Exception):
    """The story did not happen as scripted; the message says where it broke."""


@dataclass(frozen=True)
class Story:
    guild: str
    forum: str
    solved_tag: str
    asker: str
    helper: str
    second: str
    title: str
    body: str
    answer: str
    thanks: str
    second_title: str
    second_body: str
    lines: dict[str, str]
    report_line: str
    """A line the community report of the story must show (both questions counted)."""


STORIES: dict[str, Story] = {
    "en": Story(
        guild="Flowdesk Users",
        forum="help",
        solved_tag="Solved",
        asker="Aiko",
        helper="Ben",
        second="Chika",
        title="SAML login fails with 'invalid audience' after moving to Okta",
        body="We switched our identity provider to Okta. Since then every sign-in fails with an "
        "'invalid audience' error. Has anyone seen this?",
        answer="I hit this last month: the Audience URI in Okta must be the exact SP Entity ID "
        "shown in Admin > Security > SSO, not the app's short name. Fix it there and "
        "sign-in works again.",
        thanks="Thanks Ben, that fixed it!",
        second_title="Okta sign-in broken: audience error",
        second_body="We moved to Okta yesterday and now our users get an error saying the "
        "audience does not match. Any idea?",
        lines={
            "start": "Starting a local Discord and the Senpai bot (offline)…",
            "ready": "Senpai is online in “{guild}”.",
            "post": "{who} opens a post in #{forum}: “{title}”",
            "reply": "{who} replies: {text}",
            "tap": "{who} taps “{label}”.",
            "later": "A week later…",
            "ok": "The story happened: Senpai pointed {who} to the thread {helper} solved "
            "({seconds:.2f} s after the post).",
            "report": "The admin opens the community report (/senpai-admin report):",
        },
        report_line="Questions asked: 2",
    ),
    "ja": Story(
        guild="Flowdesk ユーザー会",
        forum="質問",
        solved_tag="解決済み",
        asker="愛子",
        helper="健",
        second="千佳",
        title="CSVインポートで会社名が文字化けする",
        body="顧客リストのCSVをインポートすると、日本語の会社名が文字化けしてしまいます。"
        "同じ経験をした方はいますか？",
        answer="先月同じ問題に当たりました。ExcelがShift_JISで保存しているのが原因です。"
        "「CSV UTF-8（コンマ区切り）」で保存し直してからインポートすると直りました。",
        thanks="ありがとうございます、解決しました！",
        second_title="CSVの文字化け",
        second_body="Excelで作った顧客一覧をインポートしたら、会社名が文字化けしました。",
        lines={
            "start": "ローカルの Discord と Senpai ボットを起動しています（オフライン）…",
            "ready": "Senpai が「{guild}」にログインしました。",
            "post": "{who}さんが #{forum} に投稿：「{title}」",
            "reply": "{who}さんの返信：{text}",
            "tap": "{who}さんが「{label}」をタップ。",
            "later": "1週間後…",
            "ok": "ストーリー成功：Senpai は{who}さんに、{helper}さんが解決したスレッドを"
            "案内しました（投稿から {seconds:.2f} 秒）。",
            "report": "管理者がコミュニティレポートを開きます（/senpai-admin report）：",
        },
        report_line="質問数: 2",
    ),
}


_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)]+)\)")
_ESCAPED = re.compile(r"\\([\\*_~|`\[\]>#+.-])")


def describe(message: Message) -> str:
    """A bot message as plain text lines for the terminal (links as "text <url>")."""
    lines: list[str] = []
    if message.content:
        lines.append(message.content)
    for embed in message.embeds:
        if embed.get("title"):
            lines.append(f"【{embed['title']}】")
        for embed_field in embed.get("fields", []):
            lines.append(f"  {embed_field['name']}")
            for value_line in str(embed_field.get("value", "")).splitlines():
                lines.append(f"    {value_line}")
    labels = [c.get("label", "") for row in message.components for c in row.get("components", [])]
    if labels:
        lines.append("  " + " ".join(f"[{label}]" for label in labels if label))
    return _ESCAPED.sub(r"\1", _LINK.sub(r"\1 <\2>", "\n".join(lines)))


def _find_button(message: Message, prefix: str) -> dict[str, Any] | None:
    for row in message.components:
        for component in row.get("components", []):
            if str(component.get("custom_id", "")).startswith(prefix):
                return component
    return None


def _button(message: Message, prefix: str) -> dict[str, Any]:
    button = _find_button(message, prefix)
    if button is None:
        raise DemoFailed(f"no button {prefix}… on Senpai's message")
    return button


async def _step(what: str, waiting: Awaitable[T]) -> T:
    """Wait for a step of the story (LocalDiscord's waits time out on their own)."""
    try:
        return await waiting
    except TimeoutError as error:
        raise DemoFailed(f"timed out waiting for {what}") from error


@dataclass
class _Scene:
    """The story's stage: the local Discord, its members, and the transcript."""

    story: Story
    server: LocalDiscord
    out: TextIO
    forum: Any = None
    guild: Any = None
    members: dict[str, Any] = field(default_factory=dict)

    def cast(self) -> None:
        """The server, its forum and the three members of the story."""
        story, server = self.story, self.server
        guild = server.add_guild(
            story.guild, locale="ja" if story.solved_tag == "解決済み" else "en-US"
        )
        self.guild = guild
        self.forum = server.add_forum(guild, story.forum, tags=[story.solved_tag])
        self.members = {
            "asker": server.add_member(guild, story.asker.lower(), nick=story.asker),
            "helper": server.add_member(guild, "helper", nick=story.helper),
            "second": server.add_member(guild, "second", nick=story.second),
        }

    def say(self, key: str, **values: object) -> None:
        print(self.story.lines[key].format(**values), file=self.out, flush=True)

    async def bot_reply(
        self,
        what: str,
        channel: Thread,
        match: Callable[[Message], bool],
        timeout: float = STEP_TIMEOUT,
    ) -> Message:
        """Wait for Senpai's message in ``channel`` and print it."""
        waiting = self.server.wait_for_bot_message(channel, match, timeout=timeout)
        message = await _step(what, waiting)
        text = describe(message).replace("\n", "\n        ")
        print(f"  Senpai: {text}", file=self.out, flush=True)
        return message

    async def first_question_solved(self, kb: KnowledgeBase) -> tuple[Thread, Entry]:
        """A member asks, a peer answers, the asker thanks and taps the nudge: captured."""
        story, server, asker = self.story, self.server, self.members["asker"]
        self.say("post", who=story.asker, forum=story.forum, title=story.title)
        first = await server.open_post(asker, self.forum, story.title, story.body)
        answer = await server.send_message(self.members["helper"], first, story.answer)
        self.say("reply", who=story.helper, text=story.answer)
        await server.send_message(asker, first, story.thanks, reply_to=answer)
        self.say("reply", who=story.asker, text=story.thanks)
        nudge = await self.bot_reply(
            "Senpai to ask whether the reply solved it",
            first,
            lambda m: _find_button(m, "senpai:accept:") is not None,
        )
        accept = _button(nudge, "senpai:accept:")
        self.say("tap", who=story.asker, label=accept.get("label", ""))
        await server.press_button(asker, nudge, accept["custom_id"])
        solved = "the solution to be saved"
        await self.bot_reply(solved, first, lambda m: m.content.startswith("✅"))
        entry = await kb.entry_for_thread(first.id)
        if entry is None:
            raise DemoFailed("the solved thread did not reach the knowledge base")
        return first, entry

    async def second_question_answered(self, first: Thread, entry: Entry) -> float:
        """Another member asks in other words: Senpai points at the solved thread, the
        member taps "solved it". Returns the seconds from the post to the suggestion."""
        story, server, second = self.story, self.server, self.members["second"]
        self.say("later")
        self.say("post", who=story.second, forum=story.forum, title=story.second_title)
        asked_at = time.monotonic()
        post = await server.open_post(second, self.forum, story.second_title, story.second_body)
        suggestion = await self.bot_reply(
            "Senpai's suggestion on the new post",
            post,
            lambda m: bool(m.embeds),
            SUGGESTION_TIMEOUT,
        )
        seconds = time.monotonic() - asked_at
        fields = suggestion.embeds[0].get("fields", [])
        if not fields or f"/{first.id})" not in str(fields[0].get("value", "")):
            raise DemoFailed("Senpai's first suggestion does not point at the solved thread")
        solved_button = _button(suggestion, f"senpai:solved:{entry.id}")
        self.say("tap", who=story.second, label=solved_button.get("label", ""))
        await server.press_button(second, suggestion, solved_button["custom_id"])
        marked = "the new post to be marked solved"
        await self.bot_reply(marked, post, lambda m: m.content.startswith("✅"))
        tagged = server.wait_for(
            lambda: story.solved_tag in server.thread_tags(post), timeout=STEP_TIMEOUT
        )
        await _step("the new post to be tagged solved", tagged)
        return seconds

    async def community_report(self) -> None:
        """The server's owner opens the community report of the story, as an admin sees it
        (/senpai-admin report: the text and the chart, private to them)."""
        server = self.server
        self.say("report")
        asked = await server.run_slash(
            server.owner(self.guild), self.forum, "senpai-admin report", {"period": "7d"}
        )
        await _step("the community report", asked.wait_for_responses(2, timeout=STEP_TIMEOUT))
        if asked.original_message_id is None:
            raise DemoFailed("the community report was not shown")
        message = server.message(asked.original_message_id)
        text = "\n".join([message.content, *(e.get("description", "") for e in message.embeds)])
        if self.story.report_line not in text:
            raise DemoFailed(f"the community report does not show {self.story.report_line!r}")
        shown = _ESCAPED.sub(r"\1", text).splitlines()
        shown += [f"[{a.filename}]" for a in message.attachments]
        body = "\n".join(f"        {line}" if line else "" for line in shown[1:])
        print(f"  Senpai: {shown[0]}\n{body}", file=self.out, flush=True)


async def play(story: Story, services: Services, out: TextIO) -> None:
    """Run the story against a fresh LocalDiscord; raise DemoFailed if it goes wrong."""
    server = LocalDiscord(heartbeat_interval=5.0)
    scene = _Scene(story, server, out)
    scene.cast()
    scene.say("start")
    await server.start()
    restore = point_discord_py_at(server.api_url, server.gateway_url)
    bot = SenpaiBot(services, guild_ready_timeout=0.05)
    connection: asyncio.Task[None] | None = None
    try:
        await bot.login(server.bot_user.token)
        connection = asyncio.create_task(bot.connect())
        await _step("the bot to connect", asyncio.wait_for(bot.wait_until_ready(), STEP_TIMEOUT))
        scene.say("ready", guild=story.guild)
        first, entry = await scene.first_question_solved(services.kb)
        seconds = await scene.second_question_answered(first, entry)
        await scene.community_report()
        problems = list(server.violations)
        if problems:
            raise DemoFailed(f"Discord would have rejected or flagged: {problems[0]}")
        scene.say("ok", who=story.second, helper=story.helper, seconds=seconds)
    finally:
        await bot.close()
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection, 5)
        restore()
        await server.stop()


async def run_demo(lang: str, encoder: Encoder, data_dir: Path | None, out: TextIO) -> None:
    """Play the story in ``lang`` with a fresh knowledge base (a temporary one by default)."""
    for noisy in ("discord", "localdiscord", "aiohttp"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    await asyncio.to_thread(lambda: encoder.dim)  # load the model before the clock starts
    with tempfile.TemporaryDirectory(prefix="senpai-demo-") as scratch:
        settings = Settings(
            data_dir=data_dir or Path(scratch), model=encoder.name, nudge_poll_seconds=0.2
        )
        services = await open_services(settings, encoder=encoder)
        try:
            await play(STORIES[lang], services, out)
        finally:
            await close_services(services)
