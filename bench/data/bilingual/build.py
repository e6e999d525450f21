"""Build the bilingual evaluation community from its hand-written sources.

The threads and questions are written by hand in ``source/`` (a compact text form,
one block per thread or question); this script only wraps them in the
DiscordChatExporter JSON shape (``threads/*.json``, one file per forum post, as in
``samples/community/``) and writes ``questions.json`` with thread ids and the
tuning/held-out split. It is deterministic: running it again gives the same bytes.

Run from the repository root::

    python bench/data/bilingual/build.py          # rewrite threads/ and questions.json
    python bench/data/bilingual/build.py --check  # exit 1 if they are out of date

Source format (``source/threads-*.txt``)::

    ### slug | forum | lang | 2025-11-04 10:02 | Title of the post
    --- user                      the starter (its id is the thread id)
    text...
    --- user +14m >1 ✅:asker,other 👍:x img:error.png edited
    text...

``+14m``/``+2h``/``+1d`` is the delay after the previous message; ``>N`` replies
to message N (1-based); ``EMOJI:user,user`` is a reaction and who added it;
``img:NAME`` attaches a screenshot; ``edited`` marks the message edited.

Questions (``source/questions.txt``)::

    ### q-id | lang | kind | slug, slug (or -) | Title
    text...
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "source"
THREADS = HERE / "threads"
QUESTIONS = HERE / "questions.json"

JST = timezone(timedelta(hours=9))
DISCORD_EPOCH_MS = 1_420_070_400_000
GUILD = {"id": "1187316092771438602", "name": "Salesloom ユーザー会 / Community"}
FORUMS = {
    "help": "1187322946028363786",
    "質問": "1187323518420832316",
}
STAFF_ROLE = {"id": "1187318725120806922", "name": "Salesloom Staff", "color": "#E4572E"}
LANGUAGES = ("en", "ja")
KINDS = (
    "same-language",
    "cross-language",
    "unanswerable-near-miss",
    "unanswerable-unrelated",
)


@dataclass(frozen=True, slots=True)
class User:
    """A member of the community as the exporter writes them."""

    id: str
    name: str
    nickname: str
    staff: bool = False
    bot: bool = False


# Made-up members; ids are snowflakes of accounts created in 2017-2023.
USERS: dict[str, User] = {
    "ken": User("402331875116990465", "ken.salesloom", "Ken | Salesloom Support", staff=True),
    "sasaki": User("598114204671213568", "sasaki_cs", "佐々木 (Salesloom CS)", staff=True),
    "bot": User("1187330117402918942", "Salesloom Bot", "Salesloom Bot", bot=True),
    "priya": User("719873420651036713", "priya.n", "Priya N (RevOps)"),
    "tomasz": User("451208336021528577", "tomasz_w", "Tomasz"),
    "jen": User("836609245181804564", "jen.ops", "Jen @ Northwind"),
    "marco": User("512274480312385546", "marco.b", "Marco"),
    "olu": User("944120675032965151", "olu_dev", "Olu (integrations)"),
    "hannah": User("689920154002669589", "hannah.k", "Hannah K"),
    "diego": User("760145983123775509", "diego_ramos", "Diego"),
    "sam": User("377094410712481793", "samwise.p", "Sam P"),
    "lin": User("1010224870531829800", "lin.wei", "Lin Wei"),
    "rafael": User("884566721096302592", "rafael.admin", "Rafael (IT)"),
    "anna": User("623877710402060310", "anna_sfdc", "Anna"),
    "mike": User("438712900317282306", "mike.t", "Mike T"),
    "yuki": User("1069512374811639848", "yuki_en", "Yuki (Osaka office)"),
    "tanaka": User("507316652990038016", "tanaka.h", "田中 (営業企画)"),
    "suzuki": User("781200447115468821", "suzuki_m", "鈴木"),
    "ito": User("655902318845100043", "ito.sales", "伊藤@情シス"),
    "watanabe": User("913342006752493578", "watanabe_k", "渡辺"),
    "yamada": User("469117290443964416", "yamada.t", "山田（インサイドセールス）"),
    "nakamura": User("1120445901227630602", "nakamura_r", "中村"),
    "kobayashi": User("582300765120528384", "kobayashi.a", "小林 | 株式会社ミナト"),
    "kato": User("740019327766036530", "kato_y", "加藤"),
    "yoshida": User("865524110098255872", "yoshida.s", "吉田"),
    "matsumoto": User("1043388216190832660", "matsumoto_j", "松本 (Salesloom CS)", staff=True),
    "inoue": User("497781025550483456", "inoue.dev", "井上 (開発)"),
    "kimura": User("1156700338219417650", "kimura_n", "木村"),
    "hayashi": User("612355874903048201", "hayashi.m", "林"),
    "shimizu": User("805560113384292382", "shimizu_t", "清水"),
    "mori": User("978031266459209748", "mori_k", "森"),
    "okada": User("556612987430223883", "okada.r", "岡田"),
}

_DELAY = re.compile(r"^\+(\d+)([mhd])$")
_REACTION = re.compile(r"^(\S+?):([\w,]+)$")


class SourceError(ValueError):
    """A source file does not follow the format; names the file and line."""


@dataclass(slots=True)
class SourceMessage:
    author: str
    delay: timedelta
    reply_to: int | None
    reactions: list[tuple[str, list[str]]]
    images: list[str]
    edited: bool
    lines: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SourceThread:
    slug: str
    forum: str
    lang: str
    start: datetime
    title: str
    messages: list[SourceMessage] = field(default_factory=list)


def _fail(path: Path, number: int, problem: str) -> SourceError:
    return SourceError(f"{path.name}:{number}: {problem}")


def parse_threads(path: Path) -> list[SourceThread]:
    """The threads written in one source file."""
    threads: list[SourceThread] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("### "):
            parts = [p.strip() for p in line[4:].split("|", 4)]
            if len(parts) != 5:
                raise _fail(path, number, "thread header needs 5 fields")
            slug, forum, lang, start, title = parts
            if forum not in FORUMS or lang not in LANGUAGES:
                raise _fail(path, number, f"unknown forum or language in {line!r}")
            moment = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=JST)
            threads.append(SourceThread(slug, forum, lang, moment, title))
        elif line.startswith("--- "):
            if not threads:
                raise _fail(path, number, "message before any thread header")
            threads[-1].messages.append(_parse_message_header(path, number, line[4:].split()))
        elif threads and threads[-1].messages:
            threads[-1].messages[-1].lines.append(line)
        elif line.strip() and not line.startswith("#"):
            raise _fail(path, number, "text outside a message")
    return threads


def _parse_message_header(path: Path, number: int, tokens: list[str]) -> SourceMessage:
    if not tokens or tokens[0] not in USERS:
        raise _fail(path, number, f"unknown author in {tokens!r}")
    message = SourceMessage(tokens[0], timedelta(0), None, [], [], False)
    for token in tokens[1:]:
        delay = _DELAY.match(token)
        reaction = _REACTION.match(token)
        if delay:
            unit = {"m": "minutes", "h": "hours", "d": "days"}[delay.group(2)]
            message.delay = timedelta(**{unit: int(delay.group(1))})
        elif token.startswith(">") and token[1:].isdigit():
            message.reply_to = int(token[1:])
        elif token.startswith("img:"):
            message.images.append(token[4:])
        elif token == "edited":
            message.edited = True
        elif reaction:
            users = reaction.group(2).split(",")
            if any(u not in USERS for u in users):
                raise _fail(path, number, f"unknown reacting user in {token!r}")
            message.reactions.append((reaction.group(1), users))
        else:
            raise _fail(path, number, f"cannot read {token!r}")
    return message


def _digest(*parts: object) -> int:
    text = "\x1f".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def snowflake(moment: datetime, *salt: object) -> str:
    """A Discord snowflake for ``moment``; worker, process and increment bits from ``salt``."""
    ms = int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((ms << 22) | (_digest(*salt) & 0x3FFFFF))


def _author(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "name": user.name,
        "discriminator": "0000",
        "nickname": user.nickname,
        "color": STAFF_ROLE["color"] if user.staff else None,
        "isBot": user.bot,
        "roles": [{**STAFF_ROLE, "position": 4}] if user.staff else [],
        "avatarUrl": f"https://cdn.discordapp.com/embed/avatars/{int(user.id) % 6}.png",
    }


def _reactor(user: User) -> dict[str, object]:
    entry = _author(user)
    del entry["roles"]
    return entry


_EMOJI_CODES = {
    "✅": ("white_check_mark", "2705"),
    "👍": ("thumbsup", "1f44d"),
    "🙏": ("pray", "1f64f"),
    "🎉": ("tada", "1f389"),
    "👀": ("eyes", "1f440"),
    "🙇": ("person_bowing", "1f647"),
    "💯": ("100", "1f4af"),
}


def _reaction(emoji: str, users: list[str]) -> dict[str, object]:
    if emoji not in _EMOJI_CODES:
        raise SourceError(f"no code known for emoji {emoji!r}")
    code, hex_code = _EMOJI_CODES[emoji]
    return {
        "emoji": {
            "id": "",
            "name": emoji,
            "code": code,
            "isAnimated": False,
            "imageUrl": f"https://cdn.jsdelivr.net/gh/twitter/twemoji@latest/assets/svg/{hex_code}.svg",
        },
        "count": len(users),
        "users": [_reactor(USERS[u]) for u in users],
    }


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def export(thread: SourceThread) -> dict[str, object]:
    """The DiscordChatExporter document of one thread."""
    ids: list[str] = []
    messages: list[dict[str, object]] = []
    moment = thread.start
    for index, source in enumerate(thread.messages):
        if index:
            jitter = timedelta(seconds=_digest(thread.slug, index, "s") % 50 + 5)
            moment = moment + source.delay + jitter
        else:
            moment = moment + timedelta(seconds=_digest(thread.slug, "start") % 59)
        moment = moment.replace(microsecond=(_digest(thread.slug, index, "ms") % 1000) * 1000)
        message_id = snowflake(moment, thread.slug, index)
        ids.append(message_id)
        content = "\n".join(source.lines).strip()
        if not content and not source.images:
            raise SourceError(f"{thread.slug}: message {index + 1} is empty")
        edited = moment + timedelta(minutes=2, seconds=17) if source.edited else None
        message: dict[str, object] = {
            "id": message_id,
            "type": "Reply" if source.reply_to else "Default",
            "timestamp": _timestamp(moment),
            "timestampEdited": _timestamp(edited) if edited else None,
            "callEndedTimestamp": None,
            "isPinned": False,
            "content": content,
            "author": _author(USERS[source.author]),
            "attachments": [
                {
                    "id": snowflake(moment, thread.slug, index, name),
                    "url": f"https://cdn.discordapp.com/attachments/{ids[0]}/"
                    f"{snowflake(moment, name)}/{name}",
                    "fileName": name,
                    "fileSizeBytes": 48_000 + _digest(name) % 400_000,
                }
                for name in source.images
            ],
            "components": [],
            "embeds": [],
            "stickers": [],
            "reactions": [_reaction(emoji, users) for emoji, users in source.reactions],
            "mentions": [],
        }
        if source.reply_to:
            if not 1 <= source.reply_to <= index:
                raise SourceError(f"{thread.slug}: message {index + 1} replies to a later one")
            message["reference"] = {
                "type": "Default",
                "messageId": ids[source.reply_to - 1],
                "channelId": ids[0],
                "guildId": GUILD["id"],
            }
        message["inlineEmojis"] = []
        messages.append(message)
    exported = thread.start.replace(year=2026, month=4, day=20, hour=18, minute=30)
    return {
        "guild": {**GUILD, "iconUrl": "https://cdn.discordapp.com/embed/avatars/2.png"},
        "channel": {
            "id": ids[0],
            "type": "GuildPublicThread",
            "categoryId": FORUMS[thread.forum],
            "category": thread.forum,
            "name": thread.title,
            "topic": None,
        },
        "dateRange": {"after": None, "before": None},
        "exportedAt": _timestamp(exported),
        "messages": messages,
        "messageCount": len(messages),
    }


def parse_questions(path: Path, thread_ids: dict[str, str]) -> list[dict[str, object]]:
    """The questions of ``source/questions.txt``, with relevant slugs resolved to thread ids."""
    questions: list[dict[str, object]] = []
    lines: list[str] = []

    def close() -> None:
        if questions:
            text = "\n".join(lines).strip()
            if not text:
                raise SourceError(f"question {questions[-1]['id']} has no text")
            questions[-1]["text"] = text
        lines.clear()

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("### "):
            close()
            parts = [p.strip() for p in line[4:].split("|", 4)]
            if len(parts) != 5:
                raise _fail(path, number, "question header needs 5 fields")
            qid, lang, kind, relevant, title = parts
            if lang not in LANGUAGES or kind not in KINDS:
                raise _fail(path, number, f"unknown language or kind in {line!r}")
            slugs = [] if relevant == "-" else [s.strip() for s in relevant.split(",")]
            if any(s not in thread_ids for s in slugs):
                raise _fail(path, number, f"unknown thread in {relevant!r}")
            if kind.startswith("unanswerable") == bool(slugs):
                raise _fail(path, number, "unanswerable questions, and only they, list no thread")
            questions.append(
                {
                    "id": qid,
                    "title": title,
                    "text": "",
                    "language": lang,
                    "kind": kind,
                    "relevant": [thread_ids[s] for s in slugs],
                    "relevant_files": [f"{s}.json" for s in slugs],
                }
            )
        elif questions:
            lines.append(line)
        elif line.strip() and not line.startswith("#"):
            raise _fail(path, number, "text outside a question")
    close()
    ids = [q["id"] for q in questions]
    if len(set(ids)) != len(ids):
        raise SourceError("question ids must be unique")
    return questions


def assign_splits(questions: list[dict[str, object]]) -> None:
    """Tuning / held-out, stratified by kind and language.

    Within each kind, questions are ordered by language, then id, and alternate
    between the two splits, so both splits get each kind in both languages.
    """
    for kind in KINDS:
        of_kind = sorted(
            (q for q in questions if q["kind"] == kind),
            key=lambda q: (str(q["language"]), str(q["id"])),
        )
        for position, question in enumerate(of_kind):
            question["split"] = "tuning" if position % 2 == 0 else "held-out"


def check_languages(questions: list[dict[str, object]], lang_of: dict[str, str]) -> None:
    """A cross-language question's threads are in the other language; a same-language one's not."""
    for question in questions:
        langs = {lang_of[str(f)[: -len(".json")]] for f in question["relevant_files"]}  # type: ignore[attr-defined]
        if question["kind"] == "cross-language" and question["language"] in langs:
            raise SourceError(
                f"{question['id']}: a cross-language question in its thread's language"
            )
        if question["kind"] == "same-language" and langs != {question["language"]}:
            raise SourceError(f"{question['id']}: a same-language question in another language")


def build() -> dict[Path, str]:
    """Every output file and its text."""
    threads = [t for p in sorted(SOURCE.glob("threads-*.txt")) for t in parse_threads(p)]
    slugs = [t.slug for t in threads]
    if len(set(slugs)) != len(slugs):
        raise SourceError("thread slugs must be unique")
    out: dict[Path, str] = {}
    thread_ids: dict[str, str] = {}
    for thread in threads:
        document = export(thread)
        thread_ids[thread.slug] = str(document["channel"]["id"])  # type: ignore[index]
        out[THREADS / f"{thread.slug}.json"] = (
            json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        )
    questions = parse_questions(SOURCE / "questions.txt", thread_ids)
    check_languages(questions, {t.slug: t.lang for t in threads})
    assign_splits(questions)
    meta = {
        "guild_id": GUILD["id"],
        "threads": {
            t.slug: {"id": thread_ids[t.slug], "language": t.lang, "forum": t.forum}
            for t in threads
        },
        "questions": questions,
    }
    out[QUESTIONS] = json.dumps(meta, ensure_ascii=False, indent=2) + "\n"
    return out


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the generated files."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check they are up to date")
    args = parser.parse_args(argv)
    try:
        files = build()
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text("utf-8") != text]
    extra = [p for p in THREADS.glob("*.json") if p not in files] if THREADS.is_dir() else []
    if args.check:
        for path in (*stale, *extra):
            print(f"out of date: {path.relative_to(HERE)}", file=sys.stderr)
        return 1 if stale or extra else 0
    THREADS.mkdir(exist_ok=True)
    for path in extra:
        path.unlink()
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
    threads = sum(1 for p in files if p.parent == THREADS)
    print(f"{threads} threads, {len(stale)} files written, {len(extra)} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
