"""/senpai-admin glossary end to end: the real bot on unpatched discord.py against
LocalDiscord. Admins add, list, remove, import (a TSV attachment) and export a server's
own terms; replies are private, in both languages, ping nobody and escape what the
admin wrote; bad input says why and changes nothing; members without Manage Server
cannot see the commands."""

from __future__ import annotations

import pytest

from knowledge.glossary_store import parse_tsv
from localdiscord import ScenarioError
from tests.e2e.conftest import Community, Senpai
from tests.e2e.test_schedule import admin


async def _terms(senpai: Senpai, community: Community) -> dict[str, tuple[str, ...]]:
    return {t.japanese: t.english for t in await senpai.kb.glossary_terms(community.guild.id)}


async def test_an_admin_adds_lists_and_removes_terms_in_both_languages(
    community: Community, senpai: Senpai
):
    add = "senpai-admin glossary add"
    answer = await admin(community, add, {"japanese": "スマート配信", "english": "Smart Send"})
    assert answer.startswith("Added: 「スマート配信」 → Smart Send.")
    answer = await admin(
        community, add, {"japanese": "承認フロー", "english": "approval flow"}, locale="ja"
    )
    assert answer.startswith("追加しました：「承認フロー」 → approval flow。")
    assert await _terms(senpai, community) == {
        "スマート配信": ("Smart Send",),
        "承認フロー": ("approval flow",),
    }
    (term, _) = await senpai.kb.glossary_terms(community.guild.id)
    assert term.added_by == community.server.owner(community.guild).user.id

    listed = await admin(community, "senpai-admin glossary list", {})
    assert listed.splitlines() == [
        "This server's terms (2):",
        "- 「スマート配信」 → Smart Send",
        "- 「承認フロー」 → approval flow",
    ]
    answer = await admin(community, "senpai-admin glossary remove", {"japanese": "承認フロー"})
    assert answer == "Removed 「承認フロー」 from this server's glossary."
    answer = await admin(
        community, "senpai-admin glossary remove", {"japanese": "承認フロー"}, locale="ja"
    )
    assert answer.startswith("「承認フロー」は用語集にありません")
    assert list(await _terms(senpai, community)) == ["スマート配信"]
    assert await senpai.kb.glossary_terms(community.other_guild.id) == []
    community.server.assert_clean()


async def test_a_bad_term_says_why_in_both_languages_and_escapes_what_was_written(
    community: Community, senpai: Senpai
):
    add = "senpai-admin glossary add"
    answer = await admin(community, add, {"japanese": "Smart Send", "english": "Smart Send"})
    assert answer == "the Japanese term has no Japanese characters"
    answer = await admin(
        community, add, {"japanese": "スマート配信", "english": "スマート"}, locale="ja"
    )
    assert answer == "英語の用語に日本語の文字が含まれています"
    assert await _terms(senpai, community) == {}

    answer = await admin(
        community, add, {"japanese": "配信@everyone", "english": "**send** <@1234>"}
    )
    assert "@everyone" not in answer.replace("@\u200beveryone", "")
    assert "**send**" not in answer and "\\*\\*send\\*\\*" in answer
    community.server.assert_clean()


async def test_an_import_applies_every_line_or_names_each_bad_one(
    community: Community, senpai: Senpai
):
    server = community.server
    bad = server.upload(
        "ours.tsv", "スマート配信\tSmart Send\n承認フロー approval flow\n税\ttax\n".encode()
    )
    answer = await admin(community, "senpai-admin glossary import", {"file": bad})
    assert answer.splitlines() == [
        "Nothing was imported. Fix these lines and import the file again:",
        "- line 2: write one Japanese term, a tab, then its English ('|' between English synonyms)",
        "- line 3: a term is too short for Senpai to find it in questions",
    ]
    answer = await admin(community, "senpai-admin glossary import", {"file": bad}, locale="ja")
    assert answer.splitlines()[0].startswith("何もインポートしていません。")
    assert "- 2行目：" in answer
    assert await _terms(senpai, community) == {}

    shift_jis = server.upload("sjis.tsv", "スマート配信\tSmart Send\n".encode("shift_jis"))
    answer = await admin(community, "senpai-admin glossary import", {"file": shift_jis})
    assert answer.startswith("That file is not UTF-8 text.")

    good = server.upload(
        "ours.tsv",
        "# product words\nスマート配信\tSmart Send|smart sending\n"
        "承認フロー\tapproval flow\n".encode(),
    )
    answer = await admin(community, "senpai-admin glossary import", {"file": good})
    assert answer == "Imported: 2 added, 0 changed, 0 already there."
    assert await _terms(senpai, community) == {
        "スマート配信": ("Smart Send", "smart sending"),
        "承認フロー": ("approval flow",),
    }
    server.assert_clean()


async def test_the_export_is_a_file_the_import_reads_back(community: Community, senpai: Senpai):
    server = community.server
    assert (await admin(community, "senpai-admin glossary export", {})).startswith(
        "This server has no terms of its own yet."
    )
    await senpai.kb.import_glossary(
        community.guild.id, "スマート配信\tSmart Send|smart sending\n", added_by=None
    )
    run = await server.run_slash(
        server.owner(community.guild), community.help, "senpai-admin glossary export", {}
    )
    response = await run.wait_for_response()
    assert response.ephemeral
    assert response.content == "This server's 1 terms, as a file to edit and import again."
    assert run.original_message_id is not None
    (file,) = server.message(run.original_message_id).attachments
    assert file.filename == "senpai-glossary.tsv"
    assert parse_tsv(file.data.decode("utf-8")) == [
        ("スマート配信", ("Smart Send", "smart sending"))
    ]
    server.assert_clean()


async def test_replies_ping_nobody(community: Community, senpai: Senpai):
    server = community.server
    run = await server.run_slash(
        server.owner(community.guild),
        community.help,
        "senpai-admin glossary add",
        {"japanese": "スマート配信", "english": "Smart Send"},
    )
    response = await run.wait_for_response()
    mentions = (response.payload.get("data") or {}).get("allowed_mentions")
    assert mentions is not None and mentions.get("parse") == []
    server.assert_clean()


@pytest.mark.parametrize("sub", ["add", "remove", "list", "import", "export"])
async def test_only_admins_can_use_the_glossary(community: Community, senpai: Senpai, sub: str):
    with pytest.raises(ScenarioError, match="default_member_permissions"):
        await community.server.run_slash(
            community.dan, community.help, f"senpai-admin glossary {sub}", {}
        )
    community.server.assert_clean()
