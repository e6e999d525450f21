"""Solution inference over plain Thread values: reactions, thank-yous, grouping."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta

import pytest

from knowledge.models import Author, Message, Thread
from knowledge.solution_inference import (
    MAX_ANSWER_PARTS,
    SOLVED_EMOJI,
    Solution,
    infer_solution,
    is_solved_emoji,
    is_thanks,
)

ASKER = Author(1, "Asker")
HELPER = Author(2, "Helper")
OTHER = Author(3, "Other")
BOT = Author(9, "Flowdesk Bot", bot=True)
START = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


def msg(
    message_id: int,
    author: Author,
    content: str = "some text",
    *,
    minute: int | None = None,
    reply_to: int | None = None,
    reactions: tuple[str, ...] = (),
    reacted_by: dict[str, tuple[int, ...]] | None = None,
) -> Message:
    """A message; by default posted ``message_id - 100`` minutes after the start."""
    minutes = message_id - 100 if minute is None else minute
    return Message(
        id=message_id,
        author=author,
        content=content,
        created_at=START + timedelta(minutes=minutes),
        reply_to=reply_to,
        reactions=reactions,
        reacted_by=reacted_by or {},
    )


def thread(*messages: Message) -> Thread:
    """A thread whose id is its first message's, as in a Discord forum."""
    thread_id = messages[0].id if messages else 100
    return Thread(guild_id=7, forum_id=8, thread_id=thread_id, title="t", messages=messages)


def starter() -> Message:
    return msg(100, ASKER, "How do I fix the SAML audience error?")


# --- no solution ---------------------------------------------------------------------


def test_an_empty_thread_is_unsolved() -> None:
    assert infer_solution(thread()) is None


def test_a_thread_with_only_the_starter_is_unsolved() -> None:
    assert infer_solution(thread(starter())) is None


def test_replies_without_reaction_or_thanks_leave_the_thread_unsolved() -> None:
    replies = thread(starter(), msg(101, HELPER, "Try X."), msg(102, ASKER, "Where is X?"))

    assert infer_solution(replies) is None


def test_a_bot_is_never_the_answer_even_when_it_is_the_only_reply() -> None:
    only_bot = thread(
        starter(),
        msg(101, BOT, "Check status.flowdesk.example", reactions=("✅",)),
        msg(102, ASKER, "Thanks, that fixed it"),
    )

    assert infer_solution(only_bot) is None


# --- reactions -----------------------------------------------------------------------


@pytest.mark.parametrize("emoji", sorted(SOLVED_EMOJI))
def test_a_solved_reaction_on_a_reply_marks_it_as_the_answer(emoji: str) -> None:
    marked = thread(starter(), msg(101, HELPER), msg(110, OTHER, reactions=(emoji,)))

    assert infer_solution(marked) == Solution((110,), "reaction")


@pytest.mark.parametrize(
    "emoji", [":white_check_mark:", "<:heavy_check_mark:1234567890>", "✔\ufe0f", " ✅ "]
)
def test_other_spellings_of_the_check_marks_are_solved_emoji(emoji: str) -> None:
    assert is_solved_emoji(emoji)


@pytest.mark.parametrize("emoji", ["👍", "🎉", "❌", "thumbsup", "check", ""])
def test_other_reactions_are_not_solved_emoji(emoji: str) -> None:
    assert not is_solved_emoji(emoji)


def test_other_reactions_do_not_mark_an_answer() -> None:
    liked = thread(starter(), msg(101, HELPER, reactions=("👍", "🎉")))

    assert infer_solution(liked) is None


def test_a_check_mark_on_the_starter_or_the_askers_own_message_is_not_an_answer() -> None:
    self_marked = thread(
        msg(100, ASKER, "question", reactions=("✅",)),
        msg(101, HELPER, "reply"),
        msg(102, ASKER, "more details", reactions=("✅",)),
    )

    assert infer_solution(self_marked) is None


def test_a_reaction_by_the_asker_is_preferred_over_one_by_someone_else() -> None:
    two_marks = thread(
        starter(),
        msg(101, OTHER, "Clear the cache.", reactions=("✅",), reacted_by={"✅": (4,)}),
        msg(102, HELPER, "Enable the role.", reactions=("✅",), reacted_by={"✅": (1, 3)}),
    )

    assert infer_solution(two_marks) == Solution((102,), "reaction")


def test_an_anonymous_reaction_is_preferred_over_one_known_to_be_by_someone_else() -> None:
    marks = thread(
        starter(),
        msg(101, OTHER, "Clear the cache.", reactions=("✅",), reacted_by={"✅": (4,)}),
        msg(102, HELPER, "Enable the role.", reactions=("✅",)),
    )

    assert infer_solution(marks) == Solution((102,), "reaction")


def test_a_reaction_by_someone_other_than_the_asker_still_marks_an_answer() -> None:
    moderator_marked = thread(
        starter(), msg(101, HELPER, "Enable the role.", reactions=("✅",), reacted_by={"✅": (4,)})
    )

    assert infer_solution(moderator_marked) == Solution((101,), "reaction")


def test_a_reply_marked_only_by_its_own_author_is_not_marked() -> None:
    self_marked = thread(
        starter(), msg(101, HELPER, "Do X.", reactions=("✅",), reacted_by={"✅": (2,)})
    )

    assert infer_solution(self_marked) is None


def test_a_check_mark_added_by_a_bot_of_the_thread_does_not_mark() -> None:
    bot_marked = thread(
        starter(),
        msg(101, BOT, "Welcome!"),
        msg(102, HELPER, "Do X.", reactions=("✅",), reacted_by={"✅": (9,)}),
    )

    assert infer_solution(bot_marked) is None


def test_reactors_under_another_spelling_of_the_emoji_count() -> None:
    named = thread(
        starter(),
        msg(101, HELPER, reactions=("white_check_mark",), reacted_by={"white_check_mark": (1,)}),
    )

    assert infer_solution(named) == Solution((101,), "reaction")


def test_the_reaction_rule_wins_over_a_thanks_for_another_reply() -> None:
    both = thread(
        starter(),
        msg(101, HELPER, "Do X.", reactions=("✅",), reacted_by={"✅": (1,)}),
        msg(102, OTHER, "Or do Y."),
        msg(103, ASKER, "Thanks!", reply_to=102),
    )

    assert infer_solution(both) == Solution((101,), "reaction")


def test_several_replies_marked_by_the_asker_are_all_the_answer() -> None:
    by_asker: dict[str, tuple[int, ...]] = {"✅": (1,)}
    several = thread(
        starter(),
        msg(101, HELPER, "Part A", reactions=("✅",), reacted_by=by_asker),
        msg(102, ASKER, "ok, and B?"),
        msg(103, OTHER, "Part B", reactions=("✅",), reacted_by=by_asker),
    )

    assert infer_solution(several) == Solution((101, 103), "reaction")


def test_at_most_the_last_three_marked_replies_are_kept() -> None:
    replies = [
        msg(101 + n, HELPER if n % 2 else OTHER, f"part {n}", reactions=("✅",)) for n in range(5)
    ]

    solution = infer_solution(thread(starter(), *replies))

    assert solution == Solution((103, 104, 105), "reaction")
    assert len(solution.answer_ids) == MAX_ANSWER_PARTS


def test_a_marked_reply_is_grouped_with_its_authors_messages_just_before_it() -> None:
    grouped = thread(
        starter(),
        msg(101, HELPER, "Go to Settings > SSO."),
        msg(102, HELPER, "Then re-upload the metadata.", reactions=("✅",)),
    )

    assert infer_solution(grouped) == Solution((101, 102), "reaction")


# --- thank-you messages --------------------------------------------------------------


def test_a_thanks_that_replies_to_a_message_makes_that_message_the_answer() -> None:
    replied = thread(
        starter(),
        msg(101, HELPER, "Save the CSV as UTF-8."),
        msg(102, OTHER, "FYI Google Sheets exports UTF-8 already."),
        msg(103, ASKER, "解決しました、ありがとうございます。", reply_to=101),
    )

    assert infer_solution(replied) == Solution((101,), "thanks-reply")


def test_a_thanks_directly_after_a_reply_makes_that_reply_the_answer() -> None:
    after = thread(
        starter(),
        msg(101, OTHER, "Maybe the cert?"),
        msg(102, HELPER, "Invite the app to the private channel."),
        msg(103, ASKER, "That did it, thanks!"),
    )

    assert infer_solution(after) == Solution((102,), "thanks")


def test_the_askers_own_messages_between_answer_and_thanks_are_skipped() -> None:
    after_trying = thread(
        starter(),
        msg(101, HELPER, "Set the time zone to Asia/Tokyo."),
        msg(102, ASKER, "Let me check with our admin."),
        msg(103, ASKER, "直りました！ありがとうございます。"),
    )

    assert infer_solution(after_trying) == Solution((101,), "thanks")


def test_bot_messages_between_answer_and_thanks_are_skipped() -> None:
    nudged = thread(
        starter(),
        msg(101, HELPER, "Set the time zone to Asia/Tokyo."),
        msg(102, BOT, "No activity for 24 hours: react ✅ to the answer if solved."),
        msg(103, ASKER, "うまくいきました。"),
    )

    assert infer_solution(nudged) == Solution((101,), "thanks")


def test_a_thanks_replying_to_a_bot_thanks_the_bot_not_an_answerer() -> None:
    thanks_bot = thread(
        starter(),
        msg(101, HELPER, "Is this on iOS or Android?"),
        msg(102, BOT, "Status: no incidents."),
        msg(103, ASKER, "Thanks!", reply_to=102),
    )

    assert infer_solution(thanks_bot) is None


def test_a_thanks_referencing_the_askers_own_message_falls_back_to_the_previous_reply() -> None:
    self_reference = thread(
        starter(),
        msg(101, HELPER, "Use the batch endpoint."),
        msg(102, ASKER, "solved", reply_to=100),
    )

    assert infer_solution(self_reference) == Solution((101,), "thanks")


def test_a_thanks_referencing_a_message_missing_from_the_thread_falls_back() -> None:
    dangling = thread(
        starter(),
        msg(101, HELPER, "Use the batch endpoint."),
        msg(102, ASKER, "That worked", reply_to=5),
    )

    assert infer_solution(dangling) == Solution((101,), "thanks")


def test_a_thanks_before_any_reply_is_not_a_solution() -> None:
    early = thread(starter(), msg(101, ASKER, "Thank you!"), msg(102, HELPER, "Try X."))

    assert infer_solution(early) is None


def test_a_thanks_from_someone_other_than_the_asker_does_not_count() -> None:
    bystander = thread(
        starter(), msg(101, HELPER, "Try X."), msg(102, OTHER, "Thanks, that fixed it for me too")
    )

    assert infer_solution(bystander) is None


def test_an_explicit_solved_beats_an_earlier_plain_thanks() -> None:
    two_thanks = thread(
        starter(),
        msg(101, OTHER, "Maybe clear the cache."),
        msg(102, ASKER, "Thanks!"),
        msg(103, HELPER, "Enable the export permission on the role."),
        msg(104, ASKER, "That worked, thank you!", reply_to=103),
    )

    assert infer_solution(two_thanks) == Solution((103,), "thanks-reply")


def test_the_earliest_of_equally_strong_thanks_wins() -> None:
    small_talk = thread(
        starter(),
        msg(101, HELPER, "Enable the role."),
        msg(102, ASKER, "Solved, thanks!"),
        msg(103, OTHER, "Glad it worked!"),
        msg(104, ASKER, "It works now :)"),
    )

    assert infer_solution(small_talk) == Solution((101,), "thanks")


@pytest.mark.parametrize(
    "verdict",
    [
        "thanks but it still doesn't work",
        "ありがとうございます。でもまだエラーが出ます",
        "解決しませんでした",
        "not solved",
    ],
)
def test_a_negated_thanks_leaves_the_thread_unsolved(verdict: str) -> None:
    negated = thread(
        starter(), msg(101, HELPER, "Clear the cookies."), msg(102, ASKER, verdict, reply_to=101)
    )

    assert infer_solution(negated) is None


@pytest.mark.parametrize(
    "verdict", ["自己解決しました。キャッシュが原因でした。", "Never mind, I fixed it myself."]
)
def test_a_thread_the_asker_solved_alone_credits_nobody(verdict: str) -> None:
    self_solved = thread(
        starter(), msg(101, HELPER, "Clear the cookies."), msg(102, ASKER, verdict)
    )

    assert infer_solution(self_solved) is None


def test_a_real_thanks_after_a_negated_one_solves_with_the_later_reply() -> None:
    second_try = thread(
        starter(),
        msg(101, OTHER, "Clear the cookies."),
        msg(102, ASKER, "Thanks, but still the same loop."),
        msg(103, HELPER, "Disable the Okta browser plugin."),
        msg(104, ASKER, "That fixed it!"),
    )

    assert infer_solution(second_try) == Solution((103,), "thanks")


# --- multi-message answers -----------------------------------------------------------


def test_consecutive_messages_by_the_answerer_form_one_answer() -> None:
    three_parts = thread(
        starter(),
        msg(101, OTHER, "+1"),
        msg(110, HELPER, "The limit is 600 requests a minute.", minute=20),
        msg(111, HELPER, "```python\ntime.sleep(retry_after)\n```", minute=21),
        msg(112, HELPER, "Also use the batch endpoint.", minute=23),
        msg(113, ASKER, "助かりました！", minute=90),
    )

    assert infer_solution(three_parts) == Solution((110, 111, 112), "thanks")


def test_a_multi_message_answer_has_at_most_three_parts() -> None:
    many = thread(
        starter(),
        *(msg(101 + n, HELPER, f"part {n}") for n in range(5)),
        msg(106, ASKER, "solved!"),
    )

    solution = infer_solution(many)

    assert solution == Solution((103, 104, 105), "thanks")


def test_a_long_pause_separates_an_earlier_message_from_the_answer() -> None:
    paused = thread(
        starter(),
        msg(101, HELPER, "Let me ask the team.", minute=1),
        msg(102, HELPER, "The team says: enable SCIM.", minute=60),
        msg(103, ASKER, "It works now, thanks", minute=70),
    )

    assert infer_solution(paused) == Solution((102,), "thanks")


def test_a_message_by_someone_else_in_between_stops_the_grouping() -> None:
    interrupted = thread(
        starter(),
        msg(101, HELPER, "Try the cache."),
        msg(102, OTHER, "Did not help me."),
        msg(103, HELPER, "Then enable the role."),
        msg(104, ASKER, "Thank you, that fixed it!", reply_to=103),
    )

    assert infer_solution(interrupted) == Solution((103,), "thanks-reply")


def test_grouping_ends_at_the_referenced_message() -> None:
    referenced_first = thread(
        starter(),
        msg(101, HELPER, "Step one."),
        msg(102, HELPER, "Step two, unrelated."),
        msg(103, ASKER, "Step one solved it, thanks", reply_to=101),
    )

    assert infer_solution(referenced_first) == Solution((101,), "thanks-reply")


def test_the_answer_ids_are_in_thread_order_and_the_solution_is_frozen() -> None:
    solution = infer_solution(
        thread(starter(), msg(101, HELPER, "a"), msg(102, HELPER, "b"), msg(103, ASKER, "thx"))
    )

    assert solution == Solution((101, 102), "thanks")
    with pytest.raises(FrozenInstanceError):
        solution.reason = "reaction"  # type: ignore[misc]


# --- is_thanks -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "thanks, that fixed it",
        "That worked!",
        "solved",
        "It works now.",
        "Thank you so much, that did the trick.",
        "Thanks! The error is gone now.",
        "Resolved, cheers @Alex",
        "thx",
        "Perfect, that worked and the report averages look right now. Thank you!",
        "Thanks!",
        "解決しました",
        "解決です！",
        "ありがとうございます",
        "ありがとうございました！無事にできました。",
        "助かりました",
        "できました！",
        "直りました",
        "うまくいきました",
        "ログインできない件、解決しました！",
        "ＣＳＶも取り込めるようになりました。ありがとうございます！",  # full-width letters
        "Fixed it, thanks.\n```\n$ curl -I ... still 200\n```",  # code is not the verdict
        "> Did it still fail after that?\nNo, that worked, thank you!",  # nor is a quote
    ],
)
def test_thank_you_and_solved_messages_are_thanks(text: str) -> None:
    assert is_thanks(text)


@pytest.mark.parametrize(
    "text",
    [
        "thanks but it still doesn't work",
        "Thanks, but it didn't work for me.",
        "ありがとうございます。でもまだエラーが出ます",
        "ありがとうございます。でもエラーが出ます",
        "解決しませんでした",
        "まだ解決していません",
        "未解決です",
        "直りませんでした",
        "not solved",
        "Still broken, same error.",
        "it works on staging but not in production",
        "Thanks, I'll try that tomorrow",
        "ありがとうございます、試してみます",
        "ありがとうございます、よろしくお願いします",
        "Thanks in advance!",
        "Thanks! Where is that setting?",
        "ありがとうございます。どこで設定できますか",
        "Has anyone solved this?",
        "Here is the log: ```fixed```",
        "I get a 403 now.",
        "自己解決しました",
        "Sorted it out on my own, thanks anyway",
        "",
        "   ",
    ],
)
def test_negations_pending_tries_and_questions_are_not_thanks(text: str) -> None:
    assert not is_thanks(text)
