"""DiscordChatExporter import: the shipped samples, validation errors, file discovery."""

from __future__ import annotations

import copy
import json
import pickle
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge.discord_chat_exporter import (
    ExportFileError,
    ExportFormatError,
    find_export_files,
    load_export,
    parse_export,
)
from knowledge.models import PUBLIC_SCOPE, Thread, private_scope
from knowledge.solution_inference import infer_solution

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
COMMUNITY = SAMPLES / "community"
GUILD_A = 915077679022095685
GUILD_B = 1148165554178931945
FORUM_HELP = 915406848000140263
FORUM_JA = 915408106293862526


def readme_rows() -> list[dict[str, str]]:
    """The post table of samples/community/README.md, one dict per row."""
    text = (COMMUNITY / "README.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| file | thread id"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


ROWS = readme_rows()


def sample(name: str) -> Thread:
    return load_export(COMMUNITY / name)


def export_files(*paths: Path) -> list[Path]:
    """The files find_export_files yields, asserting it reports no problem."""
    found = list(find_export_files(paths))
    assert not [item for item in found if isinstance(item, ExportFileError)]
    return [item for item in found if isinstance(item, Path)]


# --- the shipped sample community ----------------------------------------------------


def test_every_sample_file_is_listed_in_the_readme() -> None:
    files = {path.relative_to(COMMUNITY).as_posix() for path in export_files(COMMUNITY)}

    assert files == {row["file"].strip("`") for row in ROWS}


def test_the_readme_describes_the_promised_mix_of_posts() -> None:
    assert 14 <= len(ROWS) <= 18
    assert sum(row["lang"] == "ja" for row in ROWS) == sum(row["lang"] == "en" for row in ROWS)
    assert sum(row["solved"] == "no" for row in ROWS) == 3
    assert {row["reason"] for row in ROWS} == {"reaction", "thanks-reply", "thanks", "-"}
    assert sum(row["guild"] == "B" for row in ROWS) == 2


@pytest.mark.parametrize("row", ROWS, ids=[row["file"].strip("`") for row in ROWS])
def test_each_sample_parses_and_infers_the_outcome_the_readme_states(row: dict[str, str]) -> None:
    thread = load_export(COMMUNITY / row["file"].strip("`"))
    solution = infer_solution(thread)

    assert thread.thread_id == int(row["thread id"])
    assert thread.guild_id == (GUILD_A if row["guild"] == "A" else GUILD_B)
    assert thread.starter is not None and thread.starter.id == thread.thread_id
    assert thread.messages[0] is thread.starter
    if row["solved"] == "no":
        assert solution is None
    else:
        assert solution is not None
        assert solution.reason == row["reason"]
        assert solution.answer_ids == tuple(int(i) for i in row["answer message ids"].split(","))
        assert all(thread.message(i) is not None for i in solution.answer_ids)


def test_every_thread_named_in_questions_md_is_a_sample_thread() -> None:
    text = (SAMPLES / "questions.md").read_text(encoding="utf-8")
    named = {int(n) for n in re.findall(r"\b1\d{18}\b", text)} - {GUILD_B}
    threads = {int(row["thread id"]) for row in ROWS}

    assert named <= threads
    assert len(named) == 7


def test_a_sample_post_becomes_a_thread_with_its_ids_title_and_jump_url() -> None:
    thread = sample("help-billing-seats.json")

    assert (thread.guild_id, thread.forum_id) == (GUILD_A, FORUM_HELP)
    assert thread.title == "Still billed for 25 seats after removing 5 users"
    assert thread.scope == PUBLIC_SCOPE
    assert thread.tags == ()
    assert thread.jump_url == f"https://discord.com/channels/{GUILD_A}/{thread.thread_id}"
    assert [m.author.name for m in thread.messages] == [
        "Sam",
        "Alex | Flowdesk Support",
        "Tom H.",
        "Sam",
    ]


def test_mentions_and_e_mail_addresses_are_kept_for_the_cleaning_step() -> None:
    answer = sample("help-billing-seats.json").messages[1]

    assert answer.content.startswith("@Sam ")
    assert "billing@flowdesk.example" in answer.content


def test_reply_references_become_reply_to() -> None:
    thread = sample("help-billing-seats.json")

    assert thread.messages[3].reply_to == thread.messages[1].id
    assert thread.messages[1].reply_to is None


def test_japanese_posts_come_from_the_japanese_forum_with_utc_timestamps() -> None:
    thread = sample("help-csv-import-mojibake.json")
    raw = json.loads((COMMUNITY / "help-csv-import-mojibake.json").read_text(encoding="utf-8"))
    written = datetime.fromisoformat(raw["messages"][0]["timestamp"])

    assert thread.forum_id == FORUM_JA
    assert thread.title == "CSVインポートで会社名と担当者名が文字化けする"
    assert written.utcoffset() == timedelta(hours=9)
    assert thread.messages[0].created_at == written
    assert thread.messages[0].created_at.tzinfo is UTC
    assert thread.messages[0].author.name == "田中 | 情シス"


def test_reactions_are_read_with_the_users_who_reacted() -> None:
    answer = sample("help-saml-invalid-audience.json").messages[3]
    maria = sample("help-saml-invalid-audience.json").asker

    assert answer.reactions == ("✅", "🙏")
    assert maria is not None
    assert maria.id in answer.reacted_by["✅"]
    assert len(answer.reacted_by["✅"]) == 2


def test_reactions_without_a_user_list_have_no_reactors() -> None:
    answer = sample("help-full-data-export.json").messages[2]

    assert answer.reactions == ("✅", "🎉")
    assert answer.reacted_by == {}


def test_system_messages_are_skipped() -> None:
    thread = sample("help-saml-invalid-audience.json")

    assert len(thread.messages) == 5
    assert all(m.content != "Pinned a message." for m in thread.messages)


def test_bot_authors_are_flagged() -> None:
    thread = sample("help-slack-private-channel.json")

    assert [m.author.bot for m in thread.messages] == [False, True, False, False]


def test_the_second_guild_is_kept_apart() -> None:
    threads = [load_export(path) for path in export_files(COMMUNITY / "other-guild")]

    assert len(threads) == 2
    assert {t.guild_id for t in threads} == {GUILD_B}
    assert not {t.forum_id for t in threads} & {FORUM_HELP, FORUM_JA}


# --- parse_export --------------------------------------------------------------------


def user(user_id: str = "200000000000000001", **changes: object) -> dict[str, object]:
    author: dict[str, object] = {
        "id": user_id,
        "name": "maria.gonzalez",
        "discriminator": "0000",
        "nickname": "Maria",
        "color": None,
        "isBot": False,
        "roles": [],
        "avatarUrl": "https://cdn.discordapp.com/embed/avatars/1.png",
    }
    author.update(changes)
    return author


def message(message_id: str, content: str = "hello", **changes: object) -> dict[str, object]:
    raw: dict[str, object] = {
        "id": message_id,
        "type": "Default",
        "timestamp": "2026-01-14T10:02:13.481+09:00",
        "timestampEdited": None,
        "callEndedTimestamp": None,
        "isPinned": False,
        "content": content,
        "author": user(),
        "attachments": [],
        "embeds": [],
        "stickers": [],
        "reactions": [],
        "mentions": [],
    }
    raw.update(changes)
    return raw


def document() -> dict[str, object]:
    """A minimal valid export of a forum post: a starter and one reply."""
    return {
        "guild": {"id": "300000000000000001", "name": "G", "iconUrl": None},
        "channel": {
            "id": "400000000000000001",
            "type": "GuildPublicThread",
            "categoryId": "500000000000000001",
            "category": "help",
            "name": " How do I export? ",
            "topic": None,
        },
        "dateRange": {"after": None, "before": None},
        "exportedAt": "2026-04-20T09:30:12+00:00",
        "messages": [
            message("400000000000000001", "How do I export?"),
            message(
                "400000000000000002",
                "Settings > Data",
                type="Reply",
                timestamp="2026-01-14T10:12:00+09:00",
                author=user("200000000000000002", nickname=None, name="alex"),
                reference={
                    "type": "Default",
                    "messageId": "400000000000000001",
                    "channelId": "400000000000000001",
                    "guildId": "300000000000000001",
                },
            ),
        ],
        "messageCount": 2,
    }


def messages_of(data: dict[str, object]) -> list[dict[str, object]]:
    messages = data["messages"]
    assert isinstance(messages, list)
    return messages


def test_a_minimal_export_is_parsed() -> None:
    thread = parse_export(document(), source="post.json")

    assert thread.guild_id == 300000000000000001
    assert thread.forum_id == 500000000000000001
    assert thread.thread_id == 400000000000000001
    assert thread.title == "How do I export?"
    assert [m.id for m in thread.messages] == [400000000000000001, 400000000000000002]
    assert thread.messages[1].author.name == "alex"  # no nickname: the user name
    assert thread.messages[1].reply_to == 400000000000000001
    assert thread.messages[1].created_at == datetime(2026, 1, 14, 1, 12, tzinfo=UTC)


def test_the_scope_is_passed_through() -> None:
    thread = parse_export(document(), source="post.json", scope=private_scope(5))

    assert thread.scope == "forum:5"


def test_a_private_thread_is_never_imported_as_public() -> None:
    data = document()
    data["channel"]["type"] = "GuildPrivateThread"  # type: ignore[index]

    assert parse_export(data, source="p.json").scope == private_scope(500000000000000001)
    assert parse_export(data, source="p.json", scope="forum:9").scope == "forum:9"


@pytest.mark.parametrize(
    "kind", ["GuildTextChat", "GuildForum", "DirectTextChat", "GuildNewsThread"]
)
def test_a_channel_that_is_not_a_thread_is_not_a_forum_post(kind: str) -> None:
    data = document()
    data["channel"]["type"] = kind  # type: ignore[index]

    with pytest.raises(ExportFormatError, match=rf"^general\.json: not a forum post .*{kind}"):
        parse_export(data, source="general.json")


def _drop(data: dict[str, object], *path: str | int) -> None:
    target: object = data
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    del target[path[-1]]  # type: ignore[attr-defined]


def _set(data: dict[str, object], value: object, *path: str | int) -> None:
    target: object = data
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    target[path[-1]] = value  # type: ignore[index]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (("guild",), "guild is missing"),
        (("guild", "id"), "guild.id is missing"),
        (("channel",), "channel is missing"),
        (("channel", "type"), "channel.type is missing"),
        (("channel", "categoryId"), "channel.categoryId is missing"),
        (("channel", "name"), "channel.name is missing"),
        (("messages",), "messages is missing"),
        (("messages", 1, "id"), "messages[1].id is missing"),
        (("messages", 1, "type"), "messages[1].type is missing"),
        (("messages", 1, "timestamp"), "messages[1].timestamp is missing"),
        (("messages", 1, "content"), "messages[1].content is missing"),
        (("messages", 1, "author"), "messages[1].author is missing"),
        (("messages", 1, "author", "id"), "messages[1].author.id is missing"),
        (("messages", 0, "author", "name"), "messages[0].author.name is missing"),
    ],
)
def test_a_missing_field_is_named(path: tuple[str | int, ...], problem: str) -> None:
    data = document()
    _drop(data, *path)

    with pytest.raises(ExportFormatError) as caught:
        parse_export(data, source="exports/post.json")

    assert str(caught.value) == f"exports/post.json: {problem}"
    assert caught.value.source == "exports/post.json"
    assert caught.value.problem == problem


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (("guild",), "G", "guild must be an object, got a string"),
        (("messages",), {}, "messages must be a list, got an object"),
        (("messages", 1), "hi", "messages[1] must be an object, got a string"),
        (("messages", 1, "content"), 42, "messages[1].content must be a string, got a number"),
        (
            ("messages", 1, "id"),
            "12ab",
            "messages[1].id must be an id (a string of digits, from 1 to 2^63 - 1)",
        ),
        (("messages", 1, "id"), True, "messages[1].id must be an id"),
        (("channel", "id"), "-5", "channel.id must be an id"),
        (
            ("messages", 1, "author", "isBot"),
            "no",
            "messages[1].author.isBot must be true or false",
        ),
        (("messages", 1, "timestamp"), "yesterday", "messages[1].timestamp must be an ISO 8601"),
        (("messages", 1, "reactions"), {"✅": 1}, "messages[1].reactions must be a list"),
        (("messages", 1, "reactions"), [{"count": 1}], "messages[1].reactions[0].emoji is missing"),
        (
            ("messages", 1, "reactions"),
            [{"emoji": {"id": "", "name": ""}, "count": 1}],
            "messages[1].reactions[0].emoji.name is missing",
        ),
        (
            ("messages", 1, "reactions"),
            [{"emoji": {"name": "✅"}, "count": "1"}],
            "messages[1].reactions[0].count must be a number",
        ),
        (
            ("messages", 1, "reactions"),
            [{"emoji": {"name": "✅"}, "count": 1, "users": [{"name": "x"}]}],
            "messages[1].reactions[0].users[0].id is missing",
        ),
        (("messages", 1, "reference"), "400", "messages[1].reference must be an object"),
        (
            ("messages", 1, "reference", "messageId"),
            "abc",
            "messages[1].reference.messageId must be an id",
        ),
    ],
)
def test_a_mistyped_field_is_named(
    path: tuple[str | int, ...], value: object, problem: str
) -> None:
    data = document()
    _set(data, value, *path)

    with pytest.raises(ExportFormatError, match=rf"^post\.json: {re.escape(problem)}"):
        parse_export(data, source="post.json")


@pytest.mark.parametrize("data", [[], "text", None, 3])
def test_a_document_that_is_not_an_object_is_rejected(data: object) -> None:
    with pytest.raises(ExportFormatError, match=r"^x\.json: the document must be a JSON object"):
        parse_export(data, source="x.json")


def test_a_post_without_messages_is_rejected() -> None:
    data = document()
    data["messages"] = []

    with pytest.raises(ExportFormatError, match="no messages"):
        parse_export(data, source="x.json")


def test_the_format_error_is_a_value_error_that_survives_pickling() -> None:
    error = ExportFormatError("a.json", "guild is missing")

    assert isinstance(error, ValueError)
    assert str(pickle.loads(pickle.dumps(error))) == "a.json: guild is missing"


def test_ids_written_as_json_numbers_are_accepted() -> None:
    data = document()
    data["guild"]["id"] = 300000000000000001  # type: ignore[index]
    messages_of(data)[0]["id"] = 400000000000000001

    assert parse_export(data, source="x.json").guild_id == 300000000000000001


def test_system_messages_are_skipped_but_the_starter_is_kept_whatever_its_type() -> None:
    data = document()
    messages = messages_of(data)
    messages[0]["type"] = "ThreadStarterMessage"
    messages.append(message("400000000000000003", "Pinned a message.", type="ChannelPinnedMessage"))
    messages.append(message("400000000000000004", "", type="ThreadCreated"))
    messages.append(message("400000000000000005", "thanks", type="21"))

    thread = parse_export(data, source="x.json")

    assert [m.id for m in thread.messages] == [
        400000000000000001,
        400000000000000002,
        400000000000000005,
    ]


def test_a_starter_of_a_system_type_is_still_kept() -> None:
    data = document()
    messages_of(data)[0]["type"] = "ChannelPinnedMessage"

    assert parse_export(data, source="x.json").starter is not None


def test_messages_are_ordered_by_id_so_a_reversed_export_reads_the_same() -> None:
    data = document()
    messages_of(data).reverse()

    thread = parse_export(data, source="x.json")

    assert [m.id for m in thread.messages] == [400000000000000001, 400000000000000002]
    assert thread.messages[0] is thread.starter


def test_a_repeated_message_is_kept_once() -> None:
    data = document()
    messages_of(data).append(copy.deepcopy(messages_of(data)[1]))

    assert len(parse_export(data, source="x.json").messages) == 2


@pytest.mark.parametrize(
    "reference",
    [
        {"type": "Forward", "messageId": "400000000000000001", "channelId": "400000000000000001"},
        {"type": "Default", "messageId": "700000000000000001", "channelId": "500000000000000001"},
        {"type": "Default", "messageId": None, "channelId": None, "guildId": None},
        None,
    ],
)
def test_references_that_are_not_replies_in_this_thread_give_no_reply_to(
    reference: dict[str, object] | None,
) -> None:
    data = document()
    messages_of(data)[1]["reference"] = reference

    assert parse_export(data, source="x.json").messages[1].reply_to is None


def test_a_reference_without_a_channel_is_taken_as_a_reply_here() -> None:
    data = document()
    messages_of(data)[1]["reference"] = {"messageId": "400000000000000001"}

    assert parse_export(data, source="x.json").messages[1].reply_to == 400000000000000001


def test_reactions_use_the_emoji_character_or_custom_name_and_collect_reactors() -> None:
    data = document()
    check = {"id": "", "name": "✅", "code": "white_check_mark", "isAnimated": False}
    custom = {"id": "800000000000000001", "name": "solved", "code": "solved", "isAnimated": False}
    messages_of(data)[1]["reactions"] = [
        {"emoji": check, "count": 2, "users": [user("1"), user("2")]},
        {"emoji": custom, "count": 1},
        {"emoji": {"id": "", "name": None, "code": "tada"}, "count": 1, "users": []},
        {"emoji": {"id": "", "name": "👀"}, "count": 0, "users": []},
    ]

    reply = parse_export(data, source="x.json").messages[1]

    assert reply.reactions == ("✅", "solved", "tada")
    assert reply.reacted_by == {"✅": (1, 2)}


def test_an_offset_less_timestamp_is_taken_as_utc() -> None:
    data = document()
    messages_of(data)[1]["timestamp"] = "2026-01-14T01:12:00.1234567"

    created = parse_export(data, source="x.json").messages[1].created_at

    assert created.tzinfo is not None
    assert created.replace(microsecond=0) == datetime(2026, 1, 14, 1, 12, tzinfo=UTC)


def test_timestamps_are_normalised_to_utc() -> None:
    created = parse_export(document(), source="x.json").messages[0].created_at

    assert created.utcoffset() == timedelta(0)
    assert created == datetime(2026, 1, 14, 1, 2, 13, 481000, tzinfo=UTC)


def test_bot_flag_and_missing_nickname() -> None:
    data = document()
    messages_of(data)[1]["author"] = user(
        "200000000000000009", name="Flowdesk Bot", isBot=True, nickname=""
    )

    author = parse_export(data, source="x.json").messages[1].author

    assert (author.id, author.name, author.bot) == (200000000000000009, "Flowdesk Bot", True)


# --- files ---------------------------------------------------------------------------


def write(path: Path, data: object, *, prefix: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(prefix + json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))
    return path


def test_load_export_reads_the_file_it_is_given(tmp_path: Path) -> None:
    path = write(tmp_path / "post.json", document())

    assert load_export(path, scope="forum:1") == parse_export(
        document(), source="x", scope="forum:1"
    )


def test_a_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = write(tmp_path / "bom.json", document(), prefix=b"\xef\xbb\xbf")

    assert load_export(path).thread_id == 400000000000000001


def test_bad_json_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "guild": {"id": "1"},\n  "channel": ,\n}', encoding="utf-8")

    with pytest.raises(ExportFormatError) as caught:
        load_export(path)

    assert str(caught.value).startswith(f"{path}: invalid JSON at line 3, column")


def test_a_truncated_file_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(json.dumps(document())[:200], encoding="utf-8")

    with pytest.raises(ExportFormatError, match="invalid JSON"):
        load_export(path)


def test_text_that_is_not_utf8_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "sjis.json"
    path.write_bytes(json.dumps({"content": "文字化け"}, ensure_ascii=False).encode("shift_jis"))

    with pytest.raises(ExportFormatError, match=r"sjis\.json: not UTF-8 text"):
        load_export(path)


def test_a_shape_error_in_a_file_names_the_file(tmp_path: Path) -> None:
    data = document()
    del messages_of(data)[1]["author"]["id"]  # type: ignore[attr-defined]
    path = write(tmp_path / "post.json", data)

    with pytest.raises(
        ExportFormatError, match=re.escape(f"{path}: messages[1].author.id is missing")
    ):
        load_export(path)


def test_a_missing_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(ExportFileError, match=r"nope\.json: not found"):
        load_export(tmp_path / "nope.json")


def test_directories_are_walked_recursively_in_sorted_order(tmp_path: Path) -> None:
    for name in ["b.json", "a.json", "sub/c.json", "sub/deeper/d.json", "notes.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")

    found = [p.relative_to(tmp_path).as_posix() for p in export_files(tmp_path)]

    assert found == ["a.json", "b.json", "sub/c.json", "sub/deeper/d.json"]


def test_hidden_files_and_directories_are_skipped(tmp_path: Path) -> None:
    for name in ["._a.json", ".cache/b.json", "c.json"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}", encoding="utf-8")

    assert [p.name for p in export_files(tmp_path)] == ["c.json"]


def test_files_are_taken_as_given_in_order_and_each_only_once(tmp_path: Path) -> None:
    given = tmp_path / "export.txt"
    given.write_text("{}", encoding="utf-8")
    other = tmp_path / "dir" / "a.json"
    other.parent.mkdir()
    other.write_text("{}", encoding="utf-8")

    found = export_files(given, tmp_path / "dir", other)

    assert found == [given, other]


def test_a_missing_path_is_reported_in_its_place(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("{}", encoding="utf-8")
    missing = tmp_path / "gone"

    found = list(find_export_files([missing, tmp_path]))

    assert found[1] == tmp_path / "a.json"
    assert isinstance(found[0], ExportFileError)
    assert (found[0].source, found[0].problem) == (
        str(missing),
        "not found: no such file or directory",
    )


def test_the_sample_directory_yields_every_sample_file() -> None:
    found = export_files(COMMUNITY)

    assert len(found) == len(ROWS)
    assert found == sorted(found)
    assert all(path.suffix == ".json" for path in found)
