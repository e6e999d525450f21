"""Solution inference: was a past forum thread solved, and which messages answer it?

History imports (DiscordChatExporter files, back-fills of old forum posts) carry no
"accepted answer" flag, so it is inferred from what members did in the thread. Pure
functions over :class:`~knowledge.models.Thread`; no Discord, no I/O.

Rules, first match wins:

1. **Reaction** (``reason="reaction"``): a solved emoji (:data:`SOLVED_EMOJI`) on a
   *reply*, i.e. a message that is not the starter, not by the asker and not by a bot.
   When ``reacted_by`` says who reacted, replies marked by the asker win over replies
   whose reactors are unknown, which win over replies marked only by other members.
   A reply marked only by its own author (or by a bot of the thread) is not marked.
2. **Thanks that references the answer** (``reason="thanks-reply"``): a message by the
   asker for which :func:`is_thanks` holds and whose ``reply_to`` is a reply; that
   reply is the answer. A thank-you that replies to a bot thanks the bot, not an
   answerer, and is ignored; one that references anything else (the starter, the
   asker's own message, a message missing from the export) falls through to rule 3.
3. **Thanks after the answer** (``reason="thanks"``): a thank-you by the asker without
   such a reference; the answer is the nearest earlier reply (the asker's own messages
   and bot messages in between are skipped).

"Solved it myself" (「自己解決しました」) credits nobody and is not a thank-you.
When several thank-you messages qualify, an explicit "solved / it works" beats a bare
"thanks", and among equals the earliest wins (a later "thanks!" is usually small talk).

Multi-message answers: an answer often arrives as a few messages in a row ("Go to
Settings > SSO." / "Then re-upload the metadata."). When a rule points at one message,
the messages directly before it by the same author are included too, in order, as long
as nothing else was posted in between and each came within :data:`ANSWER_PART_GAP` of
the next, up to :data:`MAX_ANSWER_PARTS` messages in all. When several replies carry
the winning reactions, exactly those replies are the answer (the last
:data:`MAX_ANSWER_PARTS` of them): they were chosen one by one, so nothing is added.

Phrase matching is deliberately conservative: a thread wrongly taken as solved puts a
non-answer into the knowledge base, while a missed one only loses an entry.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from knowledge.models import Author, Message, Thread

log = logging.getLogger(__name__)

SOLVED_EMOJI: frozenset[str] = frozenset(
    {
        "✅",
        "✔️",
        "✔",
        "☑️",
        "☑",
        "white_check_mark",
        "heavy_check_mark",
        "ballot_box_with_check",
    }
)
"""Reactions that mark an answer: the check marks, as characters and as Discord names."""

MAX_ANSWER_PARTS = 3
"""The most messages one inferred answer is made of."""

ANSWER_PART_GAP = timedelta(minutes=10)
"""The longest pause between two messages of one multi-message answer."""

REASON_REACTION = "reaction"
REASON_THANKS_REPLY = "thanks-reply"
REASON_THANKS = "thanks"


@dataclass(frozen=True)
class Solution:
    """The inferred answer of a thread.

    ``answer_ids`` are message ids in thread order (one, or a few for a multi-message
    answer); ``reason`` is ``"reaction"``, ``"thanks-reply"`` or ``"thanks"``.
    """

    answer_ids: tuple[int, ...]
    reason: str


# --- emoji ---------------------------------------------------------------------------

_CUSTOM_EMOJI = re.compile(r"^<a?:(\w+):\d+>$")


def _emoji_key(emoji: str) -> str:
    """Fold the spellings of one emoji together: ``✔️``/``✔``, ``:white_check_mark:``."""
    key = emoji.strip()
    custom = _CUSTOM_EMOJI.match(key)
    if custom:
        key = custom.group(1)
    return key.strip(":").replace("\ufe0f", "").casefold()


_SOLVED_KEYS = frozenset(_emoji_key(emoji) for emoji in SOLVED_EMOJI)


def is_solved_emoji(emoji: str) -> bool:
    """Whether a reaction (a character, a name, or ``<:name:id>``) marks an answer."""
    return _emoji_key(emoji) in _SOLVED_KEYS


# --- thank-you phrases ---------------------------------------------------------------

# Code, links and quotes say nothing about the asker's verdict, and a pasted error log
# must not read as "it still fails" or "fixed".
_NOISE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`|https?://\S+|^>[^\n]*", re.DOTALL | re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?。\n])")

# Negations and "still broken": the thread is not solved, whatever else is said.
_HARD_NEGATIVE = re.compile(
    "|".join(
        (
            r"\bstill\b(?!\s+works?\b)",
            r"\b(?:doesn'?t|does not|didn'?t|did not|don'?t|do not|isn'?t|is not|wasn'?t|"
            r"was not|won'?t|can'?t|cannot|couldn'?t|not|never|no longer)\s+(?:\w+\s+)?"
            r"(?:work|works|working|worked|help|helped|fix|fixed|fixes|solve|solved|"
            r"resolve|resolved|change|changed)\b",
            r"\bnot (?:yet|really|quite)\b",
            r"\bbut not\b",
            r"\bnothing (?:changed|works|happens|happened)\b",
            r"\b(?:unsolved|unresolved|nope|persists?|persisting)\b",
            r"\bno (?:luck|change|difference|dice)\b",
            r"\bsame (?:error|issue|problem|result|thing|behaviou?r)\b",
            r"(?<![まさ])まだ",
            r"未解決",
            r"(?:解決|改善)(?:しません|していません|してません|しない|しなかった|せず|できません|"
            r"できず|できない|できなかった|されません|されない|されず)",
            r"(?:直|治|なお)(?:りません|らない|らず|らなかった|っていない|ってない)",
            r"相変わらず",
        )
    )
)

# The asker solved it alone: there is no answer to credit.
_SELF_SOLVED = re.compile(
    r"自己解決|自力で解決|\bnever ?mind\b|"
    r"\b(?:fixed|solved|resolved|figured|sorted) (?:it |this |that )?(?:out )?"
    r"(?:myself|on my own|by myself)\b"
)

# An explicit "solved" / "it works now".
_SOLVED = re.compile(
    "|".join(
        (
            r"\b(?:solved|resolved|fixed)\b",
            r"\b(?:that|this|it|which|everything)(?:'s| is)?\s+(?:\w+\s+)?"
            r"(?:works?|worked|working)\b",
            r"\bworks? (?:now|perfectly|great|fine|like a charm)\b",
            r"\bworked (?:for me|perfectly|like a charm)\b",
            r"\b(?:did|does) the trick\b",
            r"\bthat did it\b",
            r"\ball (?:good|set|sorted)\b",
            r"\b(?:got it|it's) (?:working|sorted)\b",
            r"\bsorted (?:it|now)\b",
            r"\b(?:problem|error|issue|warning) (?:is |has )?(?:gone|went away|disappeared)\b",
            r"\bup and running\b",
            r"\bno more (?:errors?|issues?|problems?|duplicates?)\b",
            r"解決(?:しました|しています|してます|です|できました|済|いたしました|した[!！。]|した$)",
            r"(?:直|治|なお)(?:りました|った|ってました)",
            r"(?:でき|出来|いけ)ました",
            r"(?:うまく|上手く|無事)(?:いき|行き|でき|動き)ました",
            r"(?:動き|動作し|表示され|反映され|届き|通り|消え|成功し|改善し|同期され)ました",
            r"(?:動く|使える|見える|表示される|届く|できる|送れる|取り込める|同期される)"
            r"ようになりました",
            r"助かりました",
        )
    )
)

# Gratitude on its own: enough after an answer, unless something below weakens it.
_GRATITUDE = re.compile(
    "|".join(
        (
            r"\bthanks?\b",
            r"\bthank you\b",
            r"\bthankful\b",
            r"\b(?:thx|tysm|tyvm|ty)\b",
            r"\bappreciated?\b",
            r"\bcheers\b",
            r"\blife ?saver\b",
            r"ありがと",
            r"有(?:り)?難う",
            r"助かります",
            r"感謝",
            r"サンキュ",
            r"さんきゅ",
            r"お礼",
        )
    )
)

# "Thanks, I'll try", "thanks, but...", "thanks in advance", an error: not a verdict yet.
_NOT_YET = re.compile(
    "|".join(
        (
            r"\b(?:i'?ll|i will|will|let me|i'm going to|going to|gonna|try to)\s+"
            r"(?:try|test|check|look|give it)\b",
            r"\bin advance\b",
            r"\b(?:but|however|although|though)\b",
            r"\b(?:error|errors|fails?|failed|failing|broken|issue remains)\b",
            r"\b(?:can'?t|cannot|doesn'?t|don'?t|isn'?t|won'?t)\b",
            r"(?:試して|やって|確認して|見て)みます",
            r"(?:試し|確認し|検証し)ます",
            r"お願い(?:します|いたします|致します)",
            r"(?<![つこん何誰])でも|しかし|けど|けれど|ただ、|ただし",
            r"エラー",
            r"失敗",
            r"でき(?:ません|ない|ず)",
            r"(?:うまく|上手く)(?:いかな|いきません|行かな|行きません)",
            r"動(?:かな|きません)",
            r"変わ(?:りません|らない|らず)",
            r"ダメ|だめ|駄目",
        )
    )
)

# Japanese questions often end without a question mark: "どこで設定できますか。"
_JA_QUESTION = re.compile(r"(?:ですか|ますか|でしょうか|ませんか|のか|かな)[。.]?$")

_NONE, _GRATEFUL, _CONFIRMED = 0, 1, 2


def _normalise(text: str) -> str:
    text = _NOISE.sub(" ", text)
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("\u2019", "'").replace("\u2018", "'")


def _is_question(sentence: str) -> bool:
    return sentence.endswith("?") or _JA_QUESTION.search(sentence) is not None


def _thanks_strength(text: str) -> int:
    """0: not a thank-you; 1: plain gratitude; 2: an explicit "solved / it works"."""
    text = _normalise(text)
    if not text.strip() or _HARD_NEGATIVE.search(text) or _SELF_SOLVED.search(text):
        return _NONE
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    statements = [s for s in sentences if not _is_question(s)]
    # "Has anyone solved this?" is a question, not a verdict.
    if any(_SOLVED.search(sentence) for sentence in statements):
        return _CONFIRMED
    asks_more = len(statements) < len(sentences)
    if _GRATITUDE.search(text) and not asks_more and not _NOT_YET.search(text):
        return _GRATEFUL
    return _NONE


def is_thanks(text: str) -> bool:
    """Whether a message reads as the asker's thank-you or "solved" verdict.

    English and Japanese. Negations ("thanks but it still doesn't work",
    "解決しませんでした"), pending tries ("thanks, I'll try", "試してみます"), follow-up
    questions, thanks in advance and "solved it myself" (「自己解決しました」: nobody
    to credit) do not count.
    """
    return _thanks_strength(text) > _NONE


# --- inference -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _View:
    """One thread as the rules see it: who asked, and where each message is."""

    thread: Thread
    asker: Author
    starter_id: int

    @property
    def messages(self) -> tuple[Message, ...]:
        return self.thread.messages

    def is_reply(self, message: Message) -> bool:
        """Whether a message may be an answer: not the starter, the asker's or a bot's."""
        return (
            message.id not in (self.starter_id, self.thread.thread_id)
            and message.author.id != self.asker.id
            and not message.author.bot
        )

    def answer_run(self, index: int) -> tuple[int, ...]:
        """The message at ``index`` with those its author posted right before it."""
        anchor = self.messages[index]
        run = [anchor]
        for previous in reversed(self.messages[:index]):
            if len(run) >= MAX_ANSWER_PARTS:
                break
            if previous.author.id != anchor.author.id or not self.is_reply(previous):
                break
            if run[0].created_at - previous.created_at > ANSWER_PART_GAP:
                break
            run.insert(0, previous)
        return tuple(message.id for message in run)


def _marked_replies(view: _View) -> list[int]:
    """Indexes of the replies marked with a solved reaction, from the best evidence tier."""
    bots = {message.author.id for message in view.messages if message.author.bot}
    by_asker: list[int] = []
    anonymous: list[int] = []
    by_others: list[int] = []
    for index, message in enumerate(view.messages):
        if not view.is_reply(message):
            continue
        emoji = {e for e in (*message.reactions, *message.reacted_by) if is_solved_emoji(e)}
        if not emoji:
            continue
        reactors: set[int] = set()
        unknown = False
        for e in emoji:
            users = message.reacted_by.get(e)
            if users:
                reactors.update(users)
            else:
                unknown = True
        if view.asker.id in reactors:
            by_asker.append(index)
        elif unknown:
            anonymous.append(index)
        elif reactors - bots - {message.author.id}:
            by_others.append(index)
    return by_asker or anonymous or by_others


def _by_reaction(view: _View) -> Solution | None:
    marked = _marked_replies(view)
    if not marked:
        return None
    if len(marked) == 1:
        return Solution(view.answer_run(marked[0]), REASON_REACTION)
    chosen = marked[-MAX_ANSWER_PARTS:]
    return Solution(tuple(view.messages[i].id for i in chosen), REASON_REACTION)


def _thanked(view: _View, index: int) -> tuple[int, str] | None:
    """Where the reply that the asker's thank-you at ``index`` is about is, and why."""
    thanks = view.messages[index]
    if thanks.reply_to is not None:
        for target_index, target in enumerate(view.messages[:index]):
            if target.id != thanks.reply_to:
                continue
            if target.author.bot:
                return None  # thanking a bot, not an answerer
            if view.is_reply(target):
                return target_index, REASON_THANKS_REPLY
    for previous in range(index - 1, -1, -1):
        if view.is_reply(view.messages[previous]):
            return previous, REASON_THANKS
    return None


def _by_thanks(view: _View) -> Solution | None:
    best: tuple[int, int, str] | None = None
    for index, message in enumerate(view.messages):
        if message.author.id != view.asker.id or message.id == view.starter_id:
            continue
        strength = _thanks_strength(message.content)
        if strength == _NONE or (best is not None and strength <= best[0]):
            continue
        found = _thanked(view, index)
        if found is not None:
            best = (strength, *found)
    if best is None:
        return None
    _, anchor, reason = best
    return Solution(view.answer_run(anchor), reason)


def infer_solution(thread: Thread) -> Solution | None:
    """Decide whether a thread was solved and which message(s) answer it.

    Returns ``None`` for an unsolved thread (no reply, no marked reply, no thank-you,
    or only thank-yous that say it still does not work). See the module docstring for
    the rules and how multi-message answers are grouped.
    """
    starter = thread.starter
    if starter is None:
        return None
    view = _View(thread, starter.author, starter.id)
    solution = _by_reaction(view) or _by_thanks(view)
    if solution is None:
        log.debug("thread %d: no solution inferred", thread.thread_id)
    else:
        log.debug(
            "thread %d: solved by %s, answer %s",
            thread.thread_id,
            solution.reason,
            solution.answer_ids,
        )
    return solution
