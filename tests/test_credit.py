"""Credit for helpers, the pure part: counting, periods, due thanks, role grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from knowledge.credit import (
    CreditError,
    CreditSettings,
    Reuse,
    board_period,
    previous_month,
    role_grants,
    tally,
    thanks_due,
)
from knowledge.models import AcceptedAnswer

NOW = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
BEN, CHIKA, DAI = (10, "Ben"), (11, "Chika"), (12, "Dai")


def accepted(entry_id: int, *authors: tuple[int, str]) -> AcceptedAnswer:
    return AcceptedAnswer(entry_id, NOW, tuple(authors))


def reuse(entry_id: int, thread_id: int, *authors: tuple[int, str]) -> Reuse:
    return Reuse(entry_id, thread_id, NOW, tuple(authors))


def test_a_helper_counts_accepted_answers_and_later_posts_their_answers_solved():
    board = tally(
        [accepted(1, BEN), accepted(2, BEN, CHIKA), accepted(3, DAI)],
        [reuse(3, 100, DAI), reuse(3, 101, DAI), reuse(1, 102, BEN)],
    )
    assert [(h.name, h.accepted, h.reused, h.total) for h in board] == [
        ("Ben", 2, 1, 3),
        ("Dai", 1, 2, 3),  # as many in all: more accepted answers first
        ("Chika", 1, 0, 1),
    ]


def test_members_who_are_not_listed_are_left_out_and_the_board_is_cut():
    answers = [accepted(n, (n, f"m{n}")) for n in range(1, 15)]
    assert len(tally(answers, [])) == 10
    assert [h.user_id for h in tally(answers, [], hidden={1, 2}, limit=3)] == [3, 4, 5]
    assert len(tally(answers, [], limit=None)) == 14


def test_board_periods_end_now_and_month_starts_on_the_first():
    assert board_period("7d", NOW)[0] == NOW - timedelta(days=7)
    assert board_period("30d", NOW)[0] == NOW - timedelta(days=30)
    start, end = board_period("month", NOW)
    assert start == datetime(2026, 5, 1, tzinfo=UTC) and end > NOW
    assert board_period("all", NOW)[0].year < 2020
    with pytest.raises(CreditError, match="7d, 30d, month, all"):
        board_period("year", NOW)


def test_the_previous_month_crosses_a_year():
    start, end, label = previous_month(datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    assert (start, end, label) == (
        datetime(2025, 12, 1, tzinfo=UTC),
        datetime(2026, 1, 1, tzinfo=UTC),
        "2025-12",
    )


def test_thanks_are_due_for_the_month_that_ended_only_if_the_channel_was_chosen_before():
    chosen_in_april = CreditSettings(
        1, thanks_channel=5, thanks_since=datetime(2026, 4, 20, tzinfo=UTC)
    )
    due = thanks_due(chosen_in_april, NOW)
    assert due is not None and due.month == "2026-04" and due.channel_id == 5
    assert due.start == datetime(2026, 4, 1, tzinfo=UTC) and due.end == datetime(
        2026, 5, 1, tzinfo=UTC
    )
    chosen_in_may = CreditSettings(
        1, thanks_channel=5, thanks_since=datetime(2026, 5, 2, tzinfo=UTC)
    )
    assert thanks_due(chosen_in_may, NOW) is None
    assert thanks_due(CreditSettings(1), NOW) is None


def test_a_role_goes_to_listed_members_with_enough_accepted_answers_once():
    settings = CreditSettings(1, role_id=77, role_after=2)
    answers = [accepted(1, BEN), accepted(2, BEN), accepted(3, CHIKA), accepted(4, DAI, BEN)]
    assert [(g.user_id, g.accepted) for g in role_grants(settings, answers, decided=())] == [
        (10, 3)
    ]
    assert role_grants(settings, answers, decided={10}) == []
    assert role_grants(settings, answers, decided=(), hidden={10}) == []
    assert role_grants(CreditSettings(1, role_id=77, role_after=0), answers, ()) == []
    assert role_grants(CreditSettings(1, role_after=1), answers, ()) == []
