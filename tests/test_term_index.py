"""The derived term index (index/term_index.py): per-server BM25 top-k over given terms."""

from __future__ import annotations

from pathlib import Path

from index.term_index import TermDocument, TermIndex

SMALL = 11
BIG = 22


def doc(entry_id: int, guild: int, title: str, body: str, scope: str = "public") -> TermDocument:
    return TermDocument(
        entry_id, guild, scope, 10_000 + entry_id, tuple(title.split()), tuple(body.split())
    )


SMALL_DOCS = [
    doc(1, SMALL, "saml login fail", "invalid audience certif"),
    doc(2, SMALL, "csv import", "garbl charact utf"),
    doc(3, SMALL, "webhook retri", "respond within five second"),
    doc(4, SMALL, "saml certif", "upload sign certif", scope="private:7"),
]


def small_search(index: TermIndex, terms: list[str], **kw) -> list[int]:
    return [i for i, _ in index.search(terms, guild_id=SMALL, scopes={"public"}, **kw)]


def test_a_search_finds_the_servers_matching_entries_best_first(tmp_path: Path):
    index = TermIndex.create(tmp_path / "terms", "store:0")
    index.apply(SMALL_DOCS, (), "store:4")
    assert small_search(index, ["saml", "audience"]) == [1]
    assert set(small_search(index, ["certif", "csv"])) == {1, 2}
    both = index.search(["certif"], guild_id=SMALL, scopes={"public", "private:7"})
    assert [i for i, _ in both] == [4, 1]  # in the title (and twice in the body) first
    found = index.search(["saml"], guild_id=SMALL, scopes={"public", "private:7"})
    assert {i for i, _ in found} == {1, 4}
    assert small_search(index, ["saml"], exclude_thread_id=10_001) == []
    assert small_search(index, ["nothing"]) == [] and small_search(index, []) == []
    assert index.search(["saml"], guild_id=SMALL, scopes=set()) == []
    assert index.meta.fingerprint == "store:4"


def test_a_big_other_server_changes_neither_results_nor_postings_visited(tmp_path: Path):
    alone = TermIndex.create(tmp_path / "alone", "s:0")
    alone.apply(SMALL_DOCS, (), "s:1")
    crowded = TermIndex.create(tmp_path / "crowded", "s:0")
    crowded.apply(SMALL_DOCS, (), "s:1")
    # The same words, thousands of times, in another server.
    crowded.apply(
        [doc(100 + n, BIG, "saml login csv", f"certif audience webhook n{n}") for n in range(5000)],
        (),
        "s:2",
    )
    terms = ["saml", "certif", "csv", "webhook", "audience"]
    assert small_search(crowded, terms) == small_search(alone, terms)
    assert crowded.frequencies(SMALL, terms) == alone.frequencies(SMALL, terms)
    assert crowded.frequencies(SMALL, terms)[1] == 4
    for index in (alone, crowded):
        assert index.count_matches(terms, guild_id=SMALL, scopes={"public"}) == 3
    assert crowded.count_matches(terms, guild_id=BIG, scopes={"public"}) == 5000


def test_updates_replace_removals_remove_and_a_reopened_index_keeps_them(tmp_path: Path):
    index = TermIndex.create(tmp_path / "terms", "s:0")
    index.apply(SMALL_DOCS, (), "s:1")
    index.apply([doc(2, SMALL, "saml import", "nothing else")], [1], "s:2")
    assert small_search(index, ["saml"]) == [2]
    assert small_search(index, ["garbl"]) == []
    reopened = TermIndex.open(tmp_path / "terms")
    assert reopened is not None and reopened.meta.fingerprint == "s:2"
    assert small_search(reopened, ["saml"]) == [2]
    assert len(reopened) == 3


def test_a_directory_without_a_readable_index_opens_as_none(tmp_path: Path):
    assert TermIndex.open(tmp_path / "missing") is None
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "terms.json").write_text("{not json")
    assert TermIndex.open(tmp_path / "broken") is None


def test_codes_match_whole_tokens_of_the_server_and_scopes_are_counted(tmp_path: Path):
    index = TermIndex.create(tmp_path / "terms", "s:0")
    coded = [
        TermDocument(1, SMALL, "public", 1, ("login",), (), ("e401", "0x80070005")),
        TermDocument(2, SMALL, "public", 2, ("login",), (), ("e4011",)),
        TermDocument(3, BIG, "public", 3, ("login",), (), ("e401",)),
        TermDocument(4, SMALL, "private:7", 4, ("login",), (), ("e401",)),
    ]
    index.apply(coded, (), "s:1")
    found = index.search_codes(["e401"], guild_id=SMALL, scopes={"public"})
    assert [i for i, _ in found] == [1]
    assert index.search_codes([], guild_id=SMALL, scopes={"public"}) == []
    assert index.scope_count(SMALL, {"public"}) == 2
    assert index.scope_count(SMALL, {"public", "private:7"}) == 3
    assert index.scope_count(BIG, {"private:7"}) == 0
