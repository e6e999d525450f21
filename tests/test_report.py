"""The community manager's report, against a real SQLite file and a hand-computed fixture.

The fixture (times in Tokyo, UTC+9; 2026-05-04 is a Monday):

current period [05-04, 05-18) JST; previous [04-20, 05-04) JST. Staff role S.

| q   | asked (JST)  | first reply             | solved                         | note          |
| --- | ------------ | ----------------------- | ------------------------------ | ------------- |
| Q1  | 05-04 10:00  | +30 min, staff          | +2 h, marked                   |               |
| Q2  | 05-05 09:00  | +1 h, member            | +4 h, suggestion of E1         |               |
| Q3  | 05-06 08:00  | +10 min, roles unknown  | -                              |               |
| Q4  | 05-11 20:00  | -                       | -                              | unanswered    |
| Q5  | 05-12 09:00  | -                       | -                              | deleted       |
| Q6  | 05-13 09:00  | 05-18 01:00 (after end) | -                              | unanswered    |
| Q7  | 05-14 09:00  | +1 h                    | -                              | forgotten     |
| Q8  | 05-04 00:30  | +1 h, staff             | +2 h, suggestion of E1         | 05-03 in UTC  |
| Q9  | 05-03 23:30  | -                       | 05-04 01:00, suggestion of E1  | previous      |
| Q10 | 04-22 10:00  | +20 min, member         | 04-22 11:40, marked            | previous      |
| Q11 | 04-25 10:00  | +1 h, staff             | +1 day, suggestion of E2       | previous      |

Current: 7 questions (Q7 forgotten), answered 4 (Q1 Q2 Q3 Q8), solved 3, 2 of them by a
suggestion; first reply 600 1800 3600 3600 s: median 2700, p90 (nearest rank 4 of 4)
3600; solve 7200 14400 7200 s: median 7200, p90 14400; unanswered Q4 Q6 (Q5 deleted);
staff 2 (Q1 Q8), members 1 (Q2), unknown 1 (Q3).
Previous: 3 questions, answered 2, solved 2 (Q9 solved after the period's end), 1 by a
suggestion; first reply 1200 3600: median 2400, p90 3600; solve 6000 86400: median
46200, p90 86400; unanswered Q9; staff 1, members 1.
Recurring: E1 2 now (Q2 Q8), 0 before (Q9 solved too late): grows; E2 0 now, 1 before.
Helpers (entries solved in the period): Ben 3 (one of them with the asker's own part,
not credited to the asker), Chika 2; Dai's entry goes when Dai is forgotten.
Previous helpers: Chika 1.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from index.encoder import HashingEncoder
from knowledge.engine import KnowledgeBase, ReportError
from knowledge.models import Author, GuildSettings, Message, Thread
from knowledge.report import percentile, periods_for
from tests.builders import FORUM, GUILD, Clock, next_id

TOKYO = ZoneInfo("Asia/Tokyo")
STAFF = 7_000_000_000_000_000_001
MEMBER_ROLE = 7_000_000_000_000_000_002
ASKER_A = Author(5_000_000_000_000_000_001, "Aiko")
ASKER_B = Author(5_000_000_000_000_000_002, "Bunta")
BEN = Author(5_000_000_000_000_000_003, "Ben")
CHIKA = Author(5_000_000_000_000_000_004, "Chika")
DAI = Author(5_000_000_000_000_000_005, "Dai")  # forgotten
SINCE, UNTIL = date(2026, 5, 4), date(2026, 5, 18)


def jst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO)


@pytest.fixture
async def kb(tmp_path: Path, database_url: str | None):
    base = await KnowledgeBase.open(
        tmp_path / "data", HashingEncoder(), clock=Clock(jst(5, 20, 9)), database_url=database_url
    )
    yield base
    await base.close()


async def ask(
    kb: KnowledgeBase,
    thread_id: int,
    asked: datetime,
    *,
    asker: Author = ASKER_A,
    reply: datetime | None = None,
    roles: tuple[int, ...] | None = None,
    solved: datetime | None = None,
    via: str = "marked",
    duplicate_of: int | None = None,
) -> None:
    community = kb.community
    await community.record_question(
        thread_id=thread_id,
        guild_id=GUILD,
        forum_id=FORUM,
        asker_id=asker.id,
        asked_at=asked,
        title=f"Question {thread_id}",
    )
    if reply is not None:
        await community.record_reply(thread_id, reply, roles=roles)
    if solved is not None:
        await community.record_solved(thread_id, solved, via=via, duplicate_of=duplicate_of)


async def entry(
    kb: KnowledgeBase, title: str, solved: datetime, *answerers: Author, asker: Author = ASKER_B
) -> int:
    """Capture a solved post whose answer is one message by each of ``answerers``."""
    thread_id = next_id()
    messages = [Message(thread_id, asker, f"{title}: how do I fix this?", solved - timedelta(1))]
    for n, author in enumerate(answerers, start=1):
        text = f"Answer part {n} for {title}: change the setting."
        messages.append(Message(next_id(), author, text, solved - timedelta(minutes=10 - n)))
    post = Thread(GUILD, FORUM, thread_id, title, tuple(messages))
    result = await kb.capture(post, [m.id for m in messages[1:]], solved_at=solved)
    return result.entry_id


@pytest.fixture
async def fixture(kb: KnowledgeBase) -> dict[str, int]:
    """The table above; returns the ids the tests name."""
    e1 = await entry(kb, "SSO loop", jst(3, 1, 9), BEN)
    e2 = await entry(kb, "CSV mojibake", jst(3, 2, 9), CHIKA)
    await entry(kb, "Q1 entry", jst(5, 4, 12), BEN)
    await entry(kb, "Billing seats", jst(5, 10, 9), CHIKA)
    await entry(kb, "Webhook retries", jst(5, 12, 9), BEN, CHIKA)
    await entry(kb, "Self plus Ben", jst(5, 15, 9), ASKER_B, BEN)
    await entry(kb, "Dai's answer", jst(5, 13, 9), DAI)
    await entry(kb, "Previous one", jst(4, 22, 12), CHIKA)
    q = {f"Q{n}": 9_000_000_000_000_000_000 + n for n in range(1, 12)}
    await ask(
        kb, q["Q1"], jst(5, 4, 10), reply=jst(5, 4, 10, 30), roles=(STAFF,), solved=jst(5, 4, 12)
    )
    await ask(
        kb,
        q["Q2"],
        jst(5, 5, 9),
        asker=ASKER_B,
        reply=jst(5, 5, 10),
        roles=(MEMBER_ROLE,),
        solved=jst(5, 5, 13),
        via="suggestion",
        duplicate_of=e1,
    )
    await ask(kb, q["Q3"], jst(5, 6, 8), reply=jst(5, 6, 8, 10))
    await ask(kb, q["Q4"], jst(5, 11, 20), asker=ASKER_B)
    await ask(kb, q["Q5"], jst(5, 12, 9))
    await kb.post_deleted(q["Q5"])
    await ask(kb, q["Q6"], jst(5, 13, 9), reply=jst(5, 18, 1), roles=())
    await ask(kb, q["Q7"], jst(5, 14, 9), asker=DAI, reply=jst(5, 14, 10), roles=())
    await ask(
        kb,
        q["Q8"],
        jst(5, 4, 0, 30),
        reply=jst(5, 4, 1, 30),
        roles=(MEMBER_ROLE, STAFF),
        solved=jst(5, 4, 2, 30),
        via="suggestion",
        duplicate_of=e1,
    )
    await ask(
        kb, q["Q9"], jst(5, 3, 23, 30), solved=jst(5, 4, 1), via="suggestion", duplicate_of=e1
    )
    await ask(
        kb,
        q["Q10"],
        jst(4, 22, 10),
        reply=jst(4, 22, 10, 20),
        roles=(),
        solved=jst(4, 22, 11, 40),
    )
    await ask(
        kb,
        q["Q11"],
        jst(4, 25, 10),
        reply=jst(4, 25, 11),
        roles=(STAFF,),
        solved=jst(4, 26, 10),
        via="suggestion",
        duplicate_of=e2,
    )
    await kb.forget_member(DAI.id)
    await kb.community.save_settings(GuildSettings(GUILD, staff_roles=(STAFF,)))
    return {**q, "E1": e1, "E2": e2}


async def test_every_figure_of_the_period_matches_the_hand_count(kb, fixture):
    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    now = report.current
    assert (now.questions, now.answered, now.solved, now.solved_by_suggestion) == (7, 4, 3, 2)
    assert now.solved_rate == pytest.approx(3 / 7)
    assert (now.first_reply_median_seconds, now.first_reply_p90_seconds) == (2700, 3600)
    assert (now.solve_median_seconds, now.solve_p90_seconds) == (7200, 14400)
    assert [q.thread_id for q in now.unanswered] == [fixture["Q4"], fixture["Q6"]]
    assert now.unanswered[0].title == f"Question {fixture['Q4']}"
    assert now.unanswered[0].jump_url == f"https://discord.com/channels/{GUILD}/{fixture['Q4']}"
    assert (now.answered_by_staff, now.answered_by_members, now.answered_by_unknown) == (2, 1, 1)
    assert now.staff_share == pytest.approx(2 / 3)
    assert [(h.user_id, h.name, h.answers) for h in now.top_helpers] == [
        (BEN.id, "Ben", 3),
        (CHIKA.id, "Chika", 2),
    ]
    assert report.staff_roles == (STAFF,)
    assert report.zone == "Asia/Tokyo"


async def test_the_previous_period_has_the_same_figures_up_to_its_own_end(kb, fixture):
    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    assert report.previous_period.since == date(2026, 4, 20)
    assert report.previous_period.end == report.period.start
    before = report.previous
    assert (before.questions, before.answered, before.solved) == (3, 2, 2)
    assert before.solved_by_suggestion == 1
    assert (before.first_reply_median_seconds, before.first_reply_p90_seconds) == (2400, 3600)
    assert (before.solve_median_seconds, before.solve_p90_seconds) == (46200, 86400)
    assert [q.thread_id for q in before.unanswered] == [fixture["Q9"]]
    assert (before.answered_by_staff, before.answered_by_members) == (1, 1)
    assert [(h.name, h.answers) for h in before.top_helpers] == [("Chika", 1)]


async def test_recurring_problems_are_counted_per_period_and_say_whether_they_grow(kb, fixture):
    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    groups = [(g.entry.id, g.entry.title, g.count, g.previous, g.grows) for g in report.recurring]
    assert groups == [
        (fixture["E1"], "SSO loop", 2, 0, True),
        (fixture["E2"], "CSV mojibake", 0, 1, False),
    ]


async def test_weeks_start_on_monday_in_the_reports_time_zone(kb, fixture):
    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    weeks = [(w.monday, w.questions, w.solved, w.first_reply_median_seconds) for w in report.weeks]
    assert weeks == [(date(2026, 5, 4), 4, 3, 2700), (date(2026, 5, 11), 3, 0, None)]


async def test_the_same_dates_in_utc_move_posts_across_the_periods_edge(kb, fixture):
    report = await kb.report(GUILD, SINCE, UNTIL)  # UTC: Q8 and Q9 were asked on 05-03
    assert report.current.questions == 6
    assert report.previous.questions == 4
    assert report.zone == "UTC"


async def test_staff_roles_given_explicitly_replace_the_servers_and_none_means_no_split(
    kb, fixture
):
    members = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO, staff_roles=(MEMBER_ROLE,))
    assert (members.current.answered_by_staff, members.current.answered_by_members) == (2, 1)
    none = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO, staff_roles=())
    assert none.current.answered_by_staff is None and none.current.staff_share is None
    assert none.current.answered_by_unknown == 1


async def test_a_forgotten_member_stops_counting_and_their_entries_credit_nobody(kb, fixture):
    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    assert "Dai" not in [h.name for h in report.current.top_helpers]
    assert await kb.community.question(fixture["Q7"]) is None


async def test_a_deleted_post_still_counts_as_asked_but_is_not_listed(kb, fixture):
    record = await kb.community.question(fixture["Q5"])
    assert record is not None and record.deleted
    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    assert fixture["Q5"] not in [q.thread_id for q in report.current.unanswered]


async def test_another_server_and_an_empty_period_have_nothing(kb, fixture):
    other = await kb.report(GUILD + 1, SINCE, UNTIL)
    assert other.current.questions == 0 and other.current.solved_rate is None
    assert other.current.first_reply_median_seconds is None and other.recurring == ()
    with pytest.raises(ReportError, match="empty"):
        await kb.report(GUILD, UNTIL, SINCE)
    with pytest.raises(ReportError):
        await kb.report(GUILD, SINCE, SINCE)


def test_periods_keep_calendar_days_across_a_daylight_saving_change():
    paris = ZoneInfo("Europe/Paris")  # clocks go forward on 2026-03-29
    current, previous = periods_for(date(2026, 3, 29), date(2026, 4, 5), paris)
    assert current.start == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    assert current.end == datetime(2026, 4, 4, 22, 0, tzinfo=UTC)
    assert previous.since == date(2026, 3, 22) and previous.end == current.start


def test_the_90th_percentile_is_the_nearest_rank():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert percentile([float(n) for n in range(1, 12)], 0.9) == 10.0


async def test_the_text_passes_every_member_written_title_and_name_through_the_escaper(kb, fixture):
    from knowledge.report_format import render_text

    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    text = render_text(report, "en", member_text=lambda s: f"«{s}»")
    assert f"«Question {fixture['Q4']}»" in text
    assert "«Ben»: 3" in text
    assert f"- Question {fixture['Q4']}" in render_text(report, "en")


async def test_invitation_lines_appear_only_where_invitations_were_sent(kb, fixture):
    from knowledge.report_format import render_csv, render_text

    report = await kb.report(GUILD, SINCE, UNTIL, zone=TOKYO)
    assert report.current.invitations_sent == 0
    assert "Invitations" not in render_text(report, "en")  # nobody opted in: no noise
    assert "invitations_sent,0,0" in render_csv(report)  # the figure is still exported
