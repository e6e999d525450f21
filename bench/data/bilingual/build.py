"""Build the bilingual evaluation communities from their hand-written sources.

Each community is a directory ``bench/data/bilingual*/`` with a small config
(``community.toml``: guild, forums, staff role, members) and its threads and
questions written by hand in ``source/`` (a compact text form, one block per thread
or question). This script only wraps them in the DiscordChatExporter JSON shape
(``threads/*.json``, one file per forum post, as in ``samples/community/``) and
writes ``questions.json`` with thread ids and the tuning/held-out split. It is
deterministic: running it again gives the same bytes.

Run from the repository root::

    python bench/data/bilingual/build.py                 # rebuild every community
    python bench/data/bilingual/build.py --check         # exit 1 if any is out of date
    python bench/data/bilingual/build.py bench/data/bilingual-tsumiki   # one community

Config (``community.toml``)::

    name = "salesloom"                       # the community's short name
    exported_at = 2026-04-20T18:30:00+09:00  # when the export was made (the time is kept)
    held_out_only = true                     # optional: every question held out, none tuned on
    [guild]        id, name, icon
    [forums]       forum name = channel id (the forums a thread header may name)
    [staff_role]   id, name, color
    [users]        key = { id, name, nickname, staff = true | bot = true }

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
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent
CONFIG = "community.toml"

JST = timezone(timedelta(hours=9))
DISCORD_EPOCH_MS = 1_420_070_400_000
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


class SourceError(ValueError):
    """A source or config file does not follow the format; names the file and line."""


@dataclass(frozen=True, slots=True)
class Community:
    """One community directory and its config (``community.toml``)."""

    directory: Path
    name: str
    guild: dict[str, str]
    icon: str
    forums: dict[str, str]
    staff_role: dict[str, str]
    users: dict[str, User]
    exported_at: datetime
    held_out_only: bool = False
    """Every question in the held-out split: a community kept for evaluation only."""

    @property
    def source(self) -> Path:
        """The hand-written threads and questions."""
        return self.directory / "source"

    @property
    def threads(self) -> Path:
        """The generated DiscordChatExporter files."""
        return self.directory / "threads"

    @property
    def questions(self) -> Path:
        """The generated questions file."""
        return self.directory / "questions.json"


def _snowflake_text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.isdigit() or not 17 <= len(value) <= 20:
        raise SourceError(f"{where}: {value!r} is not a snowflake (17-20 digits, as a string)")
    return value


def load_community(directory: Path) -> Community:
    """The community of ``directory``, from its ``community.toml``."""
    path = directory / CONFIG
    where = f"{directory.name}/{CONFIG}"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        guild = raw["guild"]
        role = raw["staff_role"]
        users = {
            str(key): User(
                _snowflake_text(u["id"], f"{where}: users.{key}"),
                str(u["name"]),
                str(u["nickname"]),
                staff=bool(u.get("staff", False)),
                bot=bool(u.get("bot", False)),
            )
            for key, u in raw["users"].items()
        }
        community = Community(
            directory=directory,
            name=str(raw["name"]),
            guild={
                "id": _snowflake_text(guild["id"], f"{where}: guild.id"),
                "name": str(guild["name"]),
            },
            icon=str(guild["icon"]),
            forums={
                str(name): _snowflake_text(channel, f"{where}: forums.{name}")
                for name, channel in raw["forums"].items()
            },
            staff_role={
                "id": _snowflake_text(role["id"], f"{where}: staff_role.id"),
                "name": str(role["name"]),
                "color": str(role["color"]),
            },
            users=users,
            exported_at=raw["exported_at"],
            held_out_only=raw.get("held_out_only", False),
        )
    except OSError as error:
        raise SourceError(f"{where}: cannot read it ({error})") from error
    except tomllib.TOMLDecodeError as error:
        raise SourceError(f"{where}: {error}") from error
    except (KeyError, TypeError, AttributeError) as error:
        problem = f"a field is missing or of the wrong type ({error!r})"
        raise SourceError(f"{where}: {problem}") from error
    if not isinstance(community.held_out_only, bool):
        raise SourceError(f"{where}: held_out_only must be true or false")
    if not isinstance(community.exported_at, datetime) or community.exported_at.tzinfo is None:
        raise SourceError(f"{where}: exported_at must be a date and time with its offset")
    ids = [u.id for u in users.values()]
    if len(set(ids)) != len(ids):
        raise SourceError(f"{where}: two users share an id")
    return community


def community_dirs(root: Path = DATA) -> list[Path]:
    """Every community directory under ``root``: ``bilingual*/`` with a config."""
    return sorted(p.parent for p in root.glob(f"bilingual*/{CONFIG}"))


_DELAY = re.compile(r"^\+(\d+)([mhd])$")
_REACTION = re.compile(r"^(\S+?):([\w,]+)$")


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


def parse_threads(community: Community, path: Path) -> list[SourceThread]:
    """The threads written in one source file."""
    threads: list[SourceThread] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("### "):
            parts = [p.strip() for p in line[4:].split("|", 4)]
            if len(parts) != 5:
                raise _fail(path, number, "thread header needs 5 fields")
            slug, forum, lang, start, title = parts
            if forum not in community.forums or lang not in LANGUAGES:
                raise _fail(path, number, f"unknown forum or language in {line!r}")
            moment = datetime.strptime(start, "%Y-%m-%d %H:%M").replace(tzinfo=JST)
            threads.append(SourceThread(slug, forum, lang, moment, title))
        elif line.startswith("--- "):
            if not threads:
                raise _fail(path, number, "message before any thread header")
            header = _parse_message_header(community, path, number, line[4:].split())
            threads[-1].messages.append(header)
        elif threads and threads[-1].messages:
            threads[-1].messages[-1].lines.append(line)
        elif line.strip() and not line.startswith("#"):
            raise _fail(path, number, "text outside a message")
    return threads


def _parse_message_header(
    community: Community, path: Path, number: int, tokens: list[str]
) -> SourceMessage:
    if not tokens or tokens[0] not in community.users:
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
            if any(u not in community.users for u in users):
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


def _author(community: Community, user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "name": user.name,
        "discriminator": "0000",
        "nickname": user.nickname,
        "color": community.staff_role["color"] if user.staff else None,
        "isBot": user.bot,
        "roles": [{**community.staff_role, "position": 4}] if user.staff else [],
        "avatarUrl": f"https://cdn.discordapp.com/embed/avatars/{int(user.id) % 6}.png",
    }


def _reactor(community: Community, user: User) -> dict[str, object]:
    entry = _author(community, user)
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


def _reaction(community: Community, emoji: str, users: list[str]) -> dict[str, object]:
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
        "users": [_reactor(community, community.users[u]) for u in users],
    }


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def export(community: Community, thread: SourceThread) -> dict[str, object]:
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
            "author": _author(community, community.users[source.author]),
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
            "reactions": [_reaction(community, emoji, users) for emoji, users in source.reactions],
            "mentions": [],
        }
        if source.reply_to:
            if not 1 <= source.reply_to <= index:
                raise SourceError(f"{thread.slug}: message {index + 1} replies to a later one")
            message["reference"] = {
                "type": "Default",
                "messageId": ids[source.reply_to - 1],
                "channelId": ids[0],
                "guildId": community.guild["id"],
            }
        message["inlineEmojis"] = []
        messages.append(message)
    exported = thread.start.replace(
        year=community.exported_at.year,
        month=community.exported_at.month,
        day=community.exported_at.day,
        hour=community.exported_at.hour,
        minute=community.exported_at.minute,
    )
    return {
        "guild": {**community.guild, "iconUrl": community.icon},
        "channel": {
            "id": ids[0],
            "type": "GuildPublicThread",
            "categoryId": community.forums[thread.forum],
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


def assign_splits(questions: list[dict[str, object]], *, held_out_only: bool = False) -> None:
    """Tuning / held-out, stratified by kind and language.

    Within each kind, questions are ordered by language, then id, and alternate
    between the two splits, so both splits get each kind in both languages. With
    ``held_out_only`` every question is held out (nothing is ever fitted on them).
    """
    if held_out_only:
        for question in questions:
            question["split"] = "held-out"
        return
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


def build(community: Community) -> dict[Path, str]:
    """Every output file of ``community`` and its text."""
    sources = sorted(community.source.glob("threads-*.txt"))
    threads = [t for p in sources for t in parse_threads(community, p)]
    slugs = [t.slug for t in threads]
    if len(set(slugs)) != len(slugs):
        raise SourceError("thread slugs must be unique")
    out: dict[Path, str] = {}
    thread_ids: dict[str, str] = {}
    for thread in threads:
        document = export(community, thread)
        thread_ids[thread.slug] = str(document["channel"]["id"])  # type: ignore[index]
        out[community.threads / f"{thread.slug}.json"] = (
            json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        )
    questions = parse_questions(community.source / "questions.txt", thread_ids)
    check_languages(questions, {t.slug: t.lang for t in threads})
    assign_splits(questions, held_out_only=community.held_out_only)
    meta = {
        "community": community.name,
        "guild_id": community.guild["id"],
        "threads": {
            t.slug: {"id": thread_ids[t.slug], "language": t.lang, "forum": t.forum}
            for t in threads
        },
        "questions": questions,
    }
    out[community.questions] = json.dumps(meta, ensure_ascii=False, indent=2) + "\n"
    return out


def check_distinct(communities: list[Community]) -> None:
    """No two communities share a name, a guild or a forum id."""
    names = [c.name for c in communities]
    if len(set(names)) != len(names):
        raise SourceError(f"two communities share a name: {names}")
    channels = [c.guild["id"] for c in communities] + [
        f for c in communities for f in c.forums.values()
    ]
    if len(set(channels)) != len(channels):
        raise SourceError("two communities share a guild or forum id")


def _sync(community: Community, files: dict[Path, str], check: bool) -> bool:
    """Write (or with ``check``, report) the stale files; whether all were up to date."""
    here = community.directory
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text("utf-8") != text]
    threads_dir = community.threads
    existing = sorted(threads_dir.glob("*.json")) if threads_dir.is_dir() else []
    extra = [p for p in existing if p not in files]
    if check:
        for path in (*stale, *extra):
            print(f"out of date: {here.name}/{path.relative_to(here)}", file=sys.stderr)
        return not (stale or extra)
    threads_dir.mkdir(exist_ok=True)
    for path in extra:
        path.unlink()
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
    threads = sum(1 for p in files if p.parent == threads_dir)
    print(
        f"{community.name} ({here.name}): {threads} threads, "
        f"{len(stale)} files written, {len(extra)} removed"
    )
    return True


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check``, compare) the generated files of every community."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "communities",
        nargs="*",
        type=Path,
        help="community directories (default: every bench/data/bilingual*/ with a config)",
    )
    parser.add_argument("--check", action="store_true", help="only check they are up to date")
    args = parser.parse_args(argv)
    directories = args.communities or community_dirs()
    if not directories:
        print(f"error: no community directory (bilingual*/{CONFIG}) in {DATA}", file=sys.stderr)
        return 2
    try:
        communities = [load_community(d.resolve()) for d in directories]
        check_distinct(communities)
        built = [(c, build(c)) for c in communities]
    except SourceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    fresh = [_sync(community, files, args.check) for community, files in built]
    return 0 if all(fresh) else 1


if __name__ == "__main__":
    sys.exit(main())
