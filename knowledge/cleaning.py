"""Text cleaning for the knowledge base: what we store, what we index, what we show.

Everything here is a pure function of its arguments: no I/O, no clock, no Discord.
Three views of a member's message exist, each derived from the one before:

``clean_for_storage``
    The text we persist and may show back in Discord. Mentions can no longer
    ping, personal data and secrets are masked (inside code blocks too, since
    logs are where tokens get pasted), each fenced code block and the whole text
    are bounded. Otherwise it keeps what people wrote: no NFKC, markdown intact.
``to_index_text``
    Plain text for the encoder and the full-text index: markdown reduced to its
    words, code kept but short, NFKC-normalised so full-width ``ＡＢＣ１２３``
    matches ``ABC123``.
``gist``
    One short paragraph for an embed: plain text without code, cut at a
    sentence end when possible.

``detect_language`` tells Japanese from the rest; ``escape_markdown`` makes member
text render literally when a bot quotes it.

Masking decisions (see the patterns below for the exact shapes):

* Placeholders are ``[email]``, ``[phone]`` and ``[secret]``. A key-value secret
  keeps its key (``password=[secret]``), a header keeps its scheme
  (``Authorization: Bearer [secret]``), a URL keeps everything but its password
  or webhook token.
* Phone numbers need a phone shape (a ``+`` country code, a Japanese ``0``
  prefix with 10 or 11 digits, or a North American ``(NXX) NXX-XXXX``), so
  versions, dates, snowflake ids, prices, hex error codes and ports survive.
* A generic secret is a run of at least 32 base64url characters (``/``, ``+``
  and ``.`` end a run, so paths and URLs are never one run) that mixes upper
  case, lower case and digits, is not plain hex, and does not read like an
  identifier (less than 60% of it is made of word-like pieces such as ``Name``,
  ``user``, ``HTTP`` or ``2024``). Hex is never masked by this rule: commit
  hashes, checksums, request ids and UUIDs are what people paste to get help;
  a hex API key is masked only when it is labelled (``api_key=…``). The rule
  misses roughly one random 32-character token in a hundred; the labelled and
  vendor-specific rules catch what matters most.
* With a ``:`` separator a value made only of letters is kept, so prose such as
  ``Password: reset link expired`` and annotations such as ``token: str`` survive;
  with ``=`` every value that is not a reference (``$VAR``, ``os.getenv(...)``,
  ``settings.TOKEN``, ``TOKEN``) is masked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

__all__ = [
    "CODE_PLACEHOLDER",
    "ELLIPSIS",
    "EMAIL_PLACEHOLDER",
    "MAX_CODE_BLOCK_CHARS",
    "MAX_INDEX_CODE_BLOCK_CHARS",
    "MAX_STORED_CHARS",
    "PHONE_PLACEHOLDER",
    "SECRET_PLACEHOLDER",
    "clean_for_storage",
    "detect_language",
    "escape_markdown",
    "gist",
    "to_index_text",
]

MAX_STORED_CHARS: Final = 4000
"""Default bound of a stored text, ellipsis included."""

MAX_CODE_BLOCK_CHARS: Final = 1500
"""Bound of the content of one fenced code block in stored text."""

MAX_INDEX_CODE_BLOCK_CHARS: Final = 300
"""Bound of the content of one fenced code block in index text: logs otherwise dominate."""

ELLIPSIS: Final = "…"
EMAIL_PLACEHOLDER: Final = "[email]"
PHONE_PLACEHOLDER: Final = "[phone]"
SECRET_PLACEHOLDER: Final = "[secret]"
CODE_PLACEHOLDER: Final = "[code]"

_ZWSP: Final = "\u200b"
_CODE_CUT_MARKER: Final = f"\n{ELLIPSIS}\n"
_FENCE: Final = "```"

# --- Newlines, control characters, whitespace -------------------------------------

_NEWLINES: Final[re.Pattern[str]] = re.compile(r"\r\n?|[\u0085\u2028\u2029]")
# C0/C1 controls except \t and \n, bidi embeddings/overrides/isolates (text spoofing)
# and the byte-order mark. Zero-width joiners stay: emoji sequences need them.
_CONTROL_CHARS: Final[re.Pattern[str]] = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_TRAILING_SPACES: Final[re.Pattern[str]] = re.compile(
    r"(?<![ \t\u3000])[ \t\u3000]+$", re.MULTILINE
)
_EXTRA_BLANK_LINES: Final[re.Pattern[str]] = re.compile(r"\n{4,}")
_WHITESPACE_RUN: Final[re.Pattern[str]] = re.compile(r"\s+")
_ZERO_WIDTH: Final[re.Pattern[str]] = re.compile(r"[\u200b-\u200d\u2060\ufeff]")

# --- Discord tokens ------------------------------------------------------------------

_USER_MENTION: Final[re.Pattern[str]] = re.compile(r"<@!?\d+>")
_ROLE_MENTION: Final[re.Pattern[str]] = re.compile(r"<@&\d+>")
_CHANNEL_MENTION: Final[re.Pattern[str]] = re.compile(r"<#\d+>")
_SLASH_MENTION: Final[re.Pattern[str]] = re.compile(r"</([^\s:<>/][^:<>\n]{0,96}):\d+>")
_CUSTOM_EMOJI: Final[re.Pattern[str]] = re.compile(r"<a?:(\w{1,32}):\d+>")
_TIMESTAMP: Final[re.Pattern[str]] = re.compile(r"<t:(-?\d{1,13})(?::([A-Za-z]))?>")
# No word boundary after the name: Discord's own matching is loose, and a zero-width
# space in "@hereafter" costs nothing.
_MASS_MENTION: Final[re.Pattern[str]] = re.compile(r"@(everyone|here)", re.IGNORECASE)

# --- Secrets -------------------------------------------------------------------------

_PRIVATE_KEY_BLOCK: Final[re.Pattern[str]] = re.compile(
    r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|(?=\s*```)|\Z)",
    re.DOTALL,
)
_URL_PASSWORD: Final[re.Pattern[str]] = re.compile(
    r"(?P<prefix>(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]+:)"
    r"(?P<password>[^\s/@]+)(?=@)"
)
_WEBHOOK_TOKEN: Final[re.Pattern[str]] = re.compile(
    r"(?P<prefix>https?://(?:[\w-]+\.)?discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/)"
    r"[\w-]+"
    r"|(?P<slack>https?://hooks\.slack\.com/(?:services|workflows|triggers)/)[\w/-]+",
    re.IGNORECASE,
)
# Vendor formats, each anchored at the start of a token so a long run is scanned once.
_VENDOR_TOKEN: Final[re.Pattern[str]] = re.compile(
    r"(?<![\w-])(?:"
    r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"  # JWT
    r"|[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}"  # Discord bot token
    r"|sk-[A-Za-z0-9_-]{20,}"  # OpenAI and alike (sk-proj-…, sk-ant-…)
    r"|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"  # GitHub
    r"|xox[abprse]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}"  # Slack
    r"|(?:AKIA|ASIA)[0-9A-Z]{16}"  # AWS access key id
    r"|AIza[0-9A-Za-z_-]{35}"  # Google API key
    r"|(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{10,}|whsec_[0-9A-Za-z]{20,}"  # Stripe
    r"|SG\.[\w-]{16,}\.[\w-]{16,}"  # SendGrid
    r"|(?:npm_|glpat-|shpat_|shpss_|lin_api_|ntn_|hf_)[A-Za-z0-9_-]{20,}"  # other vendors
    r")(?![\w-])"
)
_AUTHORIZATION: Final[re.Pattern[str]] = re.compile(
    r"(?P<prefix>\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?:bearer|basic|token|bot|digest)[ \t]+)?)"
    r"(?P<value>[^\s\"',;]+)",
    re.IGNORECASE,
)
_BEARER: Final[re.Pattern[str]] = re.compile(
    r"(?P<prefix>\bbearer[ \t]+)(?P<value>[A-Za-z0-9._~+/-]{8,}=*)", re.IGNORECASE
)
_CJK_RANGES: Final = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_KEY_VALUE_SECRET: Final[re.Pattern[str]] = re.compile(
    r"(?P<key>(?<![A-Za-z0-9_-])(?:[A-Za-z0-9]+[_-])*[A-Za-z0-9]*?"
    r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key"
    r"|secret[_-]?key|private[_-]?key|credentials?)"
    r"|パスワード|暗証番号|トークン|APIキー|シークレット)"
    r"(?P<sep>[\"']?[ \t]*[:=：＝][ \t]*)(?!=)"
    rf"(?P<value>\"[^\"\n]*\"|'[^'\n]*'|[^\s\"',;&{_CJK_RANGES}]+)",
    re.IGNORECASE,
)
# Values that name a secret instead of holding one: references, calls, placeholders.
_REFERENCE_VALUE: Final[re.Pattern[str]] = re.compile(
    r"[$%{<\[(].*"  # $VAR, %VAR%, {{ var }}, <your token>, [secret], (...)
    r"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*[(\[].*"  # os.getenv(...), env["X"]
    r"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"  # settings.TOKEN
    r"|[A-Z][A-Z0-9_]+"  # TOKEN, DISCORD_TOKEN
    r"|[*xX.…•●]+"  # already hidden by the author
    r"|(?i:null|none|nil|true|false|undefined)"
)
_PLAIN_WORD: Final[re.Pattern[str]] = re.compile(r"[^\W\d_]+")
# Candidates for the generic rule: whole base64url runs only (the lookarounds make
# each run be tried once, so a megabyte of letters stays linear).
_LONG_TOKEN: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z0-9_=-])[A-Za-z0-9_-]{32,}={0,2}(?![A-Za-z0-9_=-])"
)
_HEX_TOKEN: Final[re.Pattern[str]] = re.compile(r"[0-9A-Fa-f_-]+")
_WORDLIKE_PIECE: Final[re.Pattern[str]] = re.compile(r"[A-Z]?[a-z]{3,}|[A-Z]{3,}(?![a-z])|\d{4,}")
_WORDLIKE_SHARE: Final = 0.6

# --- Personal data -------------------------------------------------------------------

_EMAIL: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z0-9._%+-])(?P<local>[A-Za-z0-9._%+-]+)@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,}(?![A-Za-z0-9-])"
)
_NOT_PERSONAL_LOCAL_PARTS: Final = frozenset({"git"})  # git@github.com:org/repo.git

_DIGIT: Final = "[0-9０-９]"
_DASH: Final = "[-‐‑–−－ー]"
_PHONE_INTERNATIONAL: Final[re.Pattern[str]] = re.compile(
    rf"(?<![\w+])[+＋]{_DIGIT}{{1,3}}(?:[ .]?\(0\))?"
    rf"(?:(?:[ .]|{_DASH})?[(（]?{_DIGIT}{{1,4}}[)）]?){{2,5}}"
    rf"(?!{_DIGIT}|{_DASH}{_DIGIT}|\.{_DIGIT})"
)
_PHONE_SEPARATOR: Final = rf"(?:[ ]?{_DASH}[ ]?|[(（]|[)）][ ]?)"
_PHONE_JAPAN: Final[re.Pattern[str]] = re.compile(
    rf"(?<![\w.+/-])(?:"
    rf"[(（]?[0０]{_DIGIT}{{1,4}}{_PHONE_SEPARATOR}{_DIGIT}{{1,4}}{_PHONE_SEPARATOR}{_DIGIT}{{3,4}}"
    rf"|[0０][789７８９][0０]{_DIGIT}{{8}}"
    rf")(?![\w-]|{_DASH}{_DIGIT}|\.{_DIGIT})"
)
_PHONE_NORTH_AMERICA: Final[re.Pattern[str]] = re.compile(
    r"(?<![\w.+/-])(?:1[-. ])?(?:\([2-9]\d{2}\)[ ]?|[2-9]\d{2}[-.])\d{3}[-.]\d{4}"
    r"(?![\w-]|\.\d)",
    re.ASCII,
)

# --- Code and markdown ---------------------------------------------------------------

# A language tag is a single word on the opening line; Discord pairs fences left to right.
_FENCED: Final = r"```(?P<lang>[A-Za-z0-9_+#.-]{0,32}\n)?(?P<code>.*?)```"
_FENCED_BLOCK: Final[re.Pattern[str]] = re.compile(_FENCED, re.DOTALL)
_CODE: Final[re.Pattern[str]] = re.compile(
    _FENCED + r"|(?<![`\\])(?P<ticks>``?)(?!`)(?P<inline>[^\n]+?)(?<!`)(?P=ticks)(?!`)",
    re.DOTALL,
)
_ESCAPED_CHAR: Final[re.Pattern[str]] = re.compile(r"\\([!-/:-@\[-`{-~])")
_ESCAPE_SHIFT: Final = 0xF0000  # escaped ASCII punctuation hides in a private-use plane
_UNESCAPE: Final = {_ESCAPE_SHIFT + code: chr(code) for code in range(0x21, 0x7F)}
_MASKED_LINK: Final[re.Pattern[str]] = re.compile(
    r"\[(?P<text>[^\[\]\n]+)\]\(<?https?://[^\s()<>]+(?:\([^\s()<>]*\)[^\s()<>]*)*>?\)"
)
_URL: Final[re.Pattern[str]] = re.compile(r"<?\bhttps?://[^\s<>]+>?", re.IGNORECASE)
_URL_TRAILING_PUNCTUATION: Final = ".,;:!?'\")]}*_~|。、"
_LINE_MARKERS: Final[re.Pattern[str]] = re.compile(
    r"^[ \t]*(?:(?:>{1,3}|#{1,3}|-#|[-*+•]|\d{1,3}[.)])[ \t]+|・[ \t]*)+", re.MULTILINE
)
# Emphasis content may not contain its own marker: nesting of different markers still
# works, and an opener without a closer fails at the next marker, which keeps the
# patterns linear on adversarial input.
_INLINE_MARKERS: Final[tuple[re.Pattern[str], ...]] = (
    re.compile(r"\|\|((?:[^|]|\|(?!\|))+?)\|\|"),
    re.compile(r"~~(?=\S)((?:[^~]|~(?!~))+?)(?<=\S)~~"),
    re.compile(r"\*\*(?=\S)((?:[^*]|\*(?!\*))+?)(?<=\S)\*\*"),
    re.compile(r"__(?=\S)((?:[^_]|_(?!_))+?)(?<=\S)__"),
    re.compile(r"\*(?=[^\s*])([^*]+?)(?<=[^\s*])\*"),
    re.compile(r"(?<![A-Za-z0-9_])_(?=\S)([^_]+?)(?<=\S)_(?![A-Za-z0-9_])"),
)
_NESTING_PASSES: Final = 3

# --- Display -------------------------------------------------------------------------

_SENTENCE_END: Final[re.Pattern[str]] = re.compile(
    r"[。！？]+[」』）)\"']*|(?<![.!?])[.!?]+[)\"'」』]*(?=\s)"
)
_MARKDOWN_SPECIAL: Final[re.Pattern[str]] = re.compile(
    r"(?P<url>https?://[^\s<>]+)"
    r"|(?P<char>[\\*_~|`\[\]])"
    r"|^(?P<indent>[ \t]*)(?P<block>>|#|-|\+)"
    r"|^(?P<number>[ \t]*\d+)\.(?=[ \t])",
    re.MULTILINE | re.IGNORECASE,
)

# --- Language ------------------------------------------------------------------------

_LANGUAGE_NOISE: Final[re.Pattern[str]] = re.compile(
    r"https?://\S+"
    r"|<a?:\w+:\d+>|<[@#][!&]?\d+>|:[A-Za-z0-9_]{1,32}:"
    r"|@member|@role|#channel|@\u200b?(?:everyone|here)"
    r"|\[(?:email|phone|secret|code)\]",
    re.IGNORECASE,
)
_QUOTED: Final[re.Pattern[str]] = re.compile(
    r"\"[^\"\n]{1,200}\"|“[^”\n]{1,200}”|「[^」]{1,200}」|『[^』]{1,200}』"
)
_JAPANESE_WEIGHT: Final = 2  # one kana or kanji carries about as much as two Latin letters
_JAPANESE_SHARE: Final = 0.45
_JAPANESE_SHARE_WITH_HIRAGANA: Final = 0.25
_LANGUAGE_SAMPLE_CHARS: Final = 20_000  # plenty to tell a language; keeps a pasted log cheap


# ======================================================================================
# Storage
# ======================================================================================


def clean_for_storage(text: str, *, max_chars: int = MAX_STORED_CHARS) -> str:
    """Return ``text`` safe to persist and to show back in Discord.

    Mentions are neutralised, personal data and secrets masked (code blocks
    included), each fenced code block bounded to ``MAX_CODE_BLOCK_CHARS`` (its
    head and tail kept: a traceback ends with the error), whitespace tidied, and
    the whole bounded to ``max_chars`` characters including the closing ``…``.
    The text is not NFKC-normalised and its markdown is kept. Cleaning cleaned
    text changes nothing in practice (the heuristic secret rule could in theory
    judge a cut token differently).
    """
    _require_positive(max_chars)
    text = _normalise_controls(text)
    text = _neutralise_discord_tokens(text)
    text = _mask_secrets(text)
    text = _mask_personal_data(text)
    text = _MASS_MENTION.sub(rf"@{_ZWSP}\1", text)
    text = _bound_code_blocks(text, MAX_CODE_BLOCK_CHARS)
    text = _tidy_whitespace(text)
    return _truncate_stored(text, max_chars)


def _normalise_controls(text: str) -> str:
    """Turn every newline convention into ``\\n`` and drop control characters but ``\\t``."""
    return _CONTROL_CHARS.sub("", _NEWLINES.sub("\n", text))


def _neutralise_discord_tokens(text: str) -> str:
    """Replace mentions, slash-command mentions, custom emoji and timestamps by plain text.

    ``@everyone`` and ``@here`` are handled by ``clean_for_storage`` after e-mail
    masking, so ``someone@here.com`` is still recognised as an address.
    """
    text = _USER_MENTION.sub("@member", text)
    text = _ROLE_MENTION.sub("@role", text)
    text = _CHANNEL_MENTION.sub("#channel", text)
    text = _SLASH_MENTION.sub(r"/\1", text)
    text = _CUSTOM_EMOJI.sub(r":\1:", text)
    return _TIMESTAMP.sub(_render_timestamp, text)


def _render_timestamp(match: re.Match[str]) -> str:
    """``<t:1714521600:R>`` -> ``2024-05-01 00:00 UTC``; date styles (d, D) give the date only."""
    try:
        moment = datetime.fromtimestamp(int(match.group(1)), tz=UTC)
    except (OverflowError, OSError, ValueError):
        return match.group(0)
    if match.group(2) in ("d", "D"):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _mask_secrets(text: str) -> str:
    """Replace credentials by ``[secret]``, keeping the labels around them."""
    text = _PRIVATE_KEY_BLOCK.sub(SECRET_PLACEHOLDER, text)
    text = _URL_PASSWORD.sub(rf"\g<prefix>{SECRET_PLACEHOLDER}", text)
    text = _WEBHOOK_TOKEN.sub(_mask_webhook, text)
    text = _VENDOR_TOKEN.sub(SECRET_PLACEHOLDER, text)
    text = _AUTHORIZATION.sub(_mask_labelled_value, text)
    text = _BEARER.sub(_mask_bearer, text)
    text = _KEY_VALUE_SECRET.sub(_mask_key_value, text)
    return _LONG_TOKEN.sub(_mask_random_token, text)


def _mask_webhook(match: re.Match[str]) -> str:
    return (match.group("prefix") or match.group("slack")) + SECRET_PLACEHOLDER


def _mask_labelled_value(match: re.Match[str]) -> str:
    if match.group("value").startswith("["):
        return match.group(0)
    return match.group("prefix") + SECRET_PLACEHOLDER


def _mask_bearer(match: re.Match[str]) -> str:
    """Mask what follows ``Bearer`` when it looks like a token, not like prose."""
    value = match.group("value")
    if not any(char.isdigit() for char in value) and len(value) < 20:
        return match.group(0)
    return match.group("prefix") + SECRET_PLACEHOLDER


def _mask_key_value(match: re.Match[str]) -> str:
    key, sep, value = match.group("key", "sep", "value")
    quote = value[0] if value[0] in "\"'" else ""
    inner = value[1:-1] if quote else value
    if not inner or _REFERENCE_VALUE.fullmatch(inner):
        return match.group(0)
    labelled_in_prose = key.isascii() and not quote and "=" not in sep and "＝" not in sep
    if labelled_in_prose and _PLAIN_WORD.fullmatch(inner):
        return match.group(0)  # "Password: reset", "token: str"
    return f"{key}{sep}{quote}{SECRET_PLACEHOLDER}{quote}"


def _mask_random_token(match: re.Match[str]) -> str:
    token = match.group(0)
    return SECRET_PLACEHOLDER if _looks_random(token) else token


def _looks_random(token: str) -> bool:
    """Whether a long base64url run is a key rather than a hash, an id or an identifier."""
    if _HEX_TOKEN.fullmatch(token):
        return False
    has_upper = has_lower = has_digit = False
    for char in token:
        has_upper = has_upper or char.isupper()
        has_lower = has_lower or char.islower()
        has_digit = has_digit or char.isdigit()
    if not (has_upper and has_lower and has_digit):
        return False
    wordlike = sum(len(piece) for piece in _WORDLIKE_PIECE.findall(token))
    return wordlike < _WORDLIKE_SHARE * len(token.rstrip("="))


def _mask_personal_data(text: str) -> str:
    """Replace e-mail addresses by ``[email]`` and phone numbers by ``[phone]``."""
    text = _EMAIL.sub(_mask_email, text)
    text = _PHONE_INTERNATIONAL.sub(_mask_phone(8, 15), text)
    text = _PHONE_JAPAN.sub(_mask_phone(10, 11), text)
    return _PHONE_NORTH_AMERICA.sub(PHONE_PLACEHOLDER, text)


def _mask_email(match: re.Match[str]) -> str:
    if match.group("local").lower() in _NOT_PERSONAL_LOCAL_PARTS:
        return match.group(0)
    return EMAIL_PLACEHOLDER


def _mask_phone(min_digits: int, max_digits: int) -> Callable[[re.Match[str]], str]:
    """A replacement that masks a phone-shaped match only when its digit count fits."""

    def replace(match: re.Match[str]) -> str:
        digits = sum(char.isdigit() for char in match.group(0))
        return PHONE_PLACEHOLDER if min_digits <= digits <= max_digits else match.group(0)

    return replace


def _bound_code_blocks(text: str, limit: int) -> str:
    """Bound the content of every closed fenced code block to ``limit`` characters."""

    def bound(match: re.Match[str]) -> str:
        code = match.group("code")
        if len(code) <= limit:
            return match.group(0)
        return f"{_FENCE}{match.group('lang') or ''}{_bound_code(code, limit)}{_FENCE}"

    return _FENCED_BLOCK.sub(bound, text)


def _bound_code(code: str, limit: int) -> str:
    """Keep the head (two thirds) and the tail (one third) of ``code``, whole lines if possible.

    The tail matters: a traceback or a build log ends with the error.
    """
    if len(code) <= limit:
        return code
    budget = max(limit - len(_CODE_CUT_MARKER), 0)
    head_chars = budget * 2 // 3
    tail_chars = budget - head_chars
    head = code[:head_chars]
    line_end = head.rfind("\n")
    if line_end >= head_chars // 2:
        head = head[:line_end]
    tail = code[len(code) - tail_chars :] if tail_chars else ""
    line_start = tail.find("\n")
    if 0 <= line_start < tail_chars // 2:
        tail = tail[line_start + 1 :]
    return f"{head.rstrip()}{_CODE_CUT_MARKER}{tail}"


def _tidy_whitespace(text: str) -> str:
    text = _TRAILING_SPACES.sub("", text)
    text = _EXTRA_BLANK_LINES.sub("\n\n\n", text)  # at most two blank lines in a row
    return text.strip()


def _truncate_stored(text: str, max_chars: int) -> str:
    """Bound ``text`` to ``max_chars`` characters, ``…`` included.

    A cut inside a closed code block closes the fence again, so the rest of a
    message quoting this text does not render as code.
    """
    if len(text) <= max_chars:
        return text
    cut = max_chars - len(ELLIPSIS)
    for block in _FENCED_BLOCK.finditer(text):
        if block.start() >= cut:
            break
        if cut >= block.end():
            continue
        closing = f"\n{ELLIPSIS}\n{_FENCE}"
        inner_cut = max_chars - len(closing)
        if inner_cut > block.start("code"):
            return text[: _safe_cut(text, inner_cut)].rstrip() + closing
        cut = block.start()  # the cut falls in the opening fence: drop the whole block
        break
    return text[: _safe_cut(text, cut)].rstrip() + ELLIPSIS


def _safe_cut(text: str, index: int) -> int:
    """Move a cut left so it does not split a combining sequence or an emoji sequence."""
    index = max(0, min(index, len(text)))
    while 0 < index < len(text) and _joins_previous(text[index - 1], text[index]):
        index -= 1
    return index


def _joins_previous(previous: str, char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char) == "Mn"
        or previous == "\u200d"
        or char in "\u200d\ufe0e\ufe0f"
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences
    )


def _require_positive(max_chars: int) -> None:
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")


# ======================================================================================
# Indexing and display
# ======================================================================================


def to_index_text(text: str, *, max_chars: int = 2000) -> str:
    """Return plain text for the encoder and the full-text index, from cleaned text.

    NFKC is applied first (full-width letters, digits and markdown characters
    become ASCII, half-width katakana becomes full-width), markdown is reduced to
    its words, inline code keeps its content, each fenced block keeps its content
    without fences or language tag bounded to ``MAX_INDEX_CODE_BLOCK_CHARS``, URLs
    become ``host/path``, placeholders such as ``[email]`` stay, zero-width
    characters go, and whitespace collapses to single spaces. The result is cut
    to ``max_chars`` (at a space near the end when there is one), without an ellipsis.
    """
    _require_positive(max_chars)
    text = unicodedata.normalize("NFKC", _normalise_controls(text))
    text = _plain_text(text, keep_code=True)
    text = _WHITESPACE_RUN.sub(" ", _ZERO_WIDTH.sub("", text)).strip()
    if len(text) <= max_chars:
        return text
    cut = _safe_cut(text, max_chars)
    if 0 < cut < len(text) and not (_is_japanese(text[cut - 1]) and _is_japanese(text[cut])):
        space = text.rfind(" ", 0, cut + 1)
        if space >= max_chars * 4 // 5:
            cut = space
    return text[:cut].rstrip()


def gist(text: str, *, max_chars: int = 180) -> str:
    """Return a one-paragraph summary of ``text`` for an embed, at most ``max_chars`` long.

    Markdown is stripped as in ``to_index_text`` (without NFKC: display keeps what
    people wrote), fenced code blocks are dropped (``[code]`` when nothing else is
    left), and the text is cut at the last sentence end that fits, else at a word
    boundary (anywhere in Japanese), ending with ``…``. Blank input gives ``""``;
    any other input gives a non-empty gist. The result is plain text: pass it
    through ``escape_markdown`` before putting it in a markdown field.
    """
    _require_positive(max_chars)
    text = _normalise_controls(text)
    if not text.strip():
        return ""
    plain = _WHITESPACE_RUN.sub(" ", _plain_text(text, keep_code=False)).strip()
    if not plain:
        has_code = _FENCED_BLOCK.search(text) is not None
        plain = CODE_PLACEHOLDER if has_code else _WHITESPACE_RUN.sub(" ", text).strip()
    return _shorten(plain, max_chars)


def _shorten(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` with ``…``: at a sentence end, a word boundary, or anywhere."""
    if len(text) <= max_chars:
        return text
    budget = max_chars - len(ELLIPSIS)
    cut = 0
    for sentence in _SENTENCE_END.finditer(text):
        if sentence.end() > budget:
            break
        cut = sentence.end()
    if cut < budget // 3:
        cut = _safe_cut(text, budget)
        if 0 < cut < len(text) and not (_is_japanese(text[cut - 1]) or _is_japanese(text[cut])):
            space = text.rfind(" ", 0, cut + 1)
            if space >= budget // 2:
                cut = space
    return text[:cut].rstrip() + ELLIPSIS


def _plain_text(text: str, *, keep_code: bool) -> str:
    """Markdown reduced to plain text; code content kept (bounded) or fenced blocks dropped."""
    pieces: list[str] = []
    position = 0
    for code in _CODE.finditer(text):
        pieces.append(_strip_markdown(text[position : code.start()]))
        if code.group("inline") is not None:
            pieces.append(code.group("inline"))
        elif keep_code:
            pieces.append(f" {_bound_code(code.group('code'), MAX_INDEX_CODE_BLOCK_CHARS)} ")
        else:
            pieces.append(" ")
        position = code.end()
    pieces.append(_strip_markdown(text[position:]))
    return "".join(pieces)


def _strip_markdown(text: str) -> str:
    """Discord markdown outside code reduced to the words it decorates."""
    if not text:
        return text
    text = _ESCAPED_CHAR.sub(lambda m: chr(_ESCAPE_SHIFT + ord(m.group(1))), text)
    text = _MASKED_LINK.sub(r"\g<text>", text)
    text = _URL.sub(_shorten_url, text)
    text = _LINE_MARKERS.sub("", text)
    for _ in range(_NESTING_PASSES):
        before = text
        for pattern in _INLINE_MARKERS:
            text = pattern.sub(r"\1", text)
        if text == before:
            break
    return text.translate(_UNESCAPE)


def _shorten_url(match: re.Match[str]) -> str:
    """``https://www.example.com/docs/setup/?utm=x#y`` -> ``example.com/docs/setup``."""
    url = match.group(0).removeprefix("<")
    url = url.removesuffix(">")
    core = url.rstrip(_URL_TRAILING_PUNCTUATION)
    if "(" in core and url[len(core) :].startswith(")"):
        core += ")"  # the closing parenthesis of a Wikipedia-style path
    trailing = url[len(core) :]
    rest = core.split("://", 1)[1]
    for separator in "?#":
        rest = rest.split(separator, 1)[0]
    host, slash, path = rest.partition("/")
    host = host.rsplit("@", 1)[-1]
    host = host[4:] if host.lower().startswith("www.") else host
    return f"{host}{slash}{path}".rstrip("/") + trailing


# ======================================================================================
# Language and escaping
# ======================================================================================


def detect_language(text: str) -> str:
    """Return ``"ja"`` when Japanese carries the text, else ``"en"``.

    Code, URLs, mentions, emoji and placeholders are ignored, and so are quoted
    spans ("…", “…”, 「…」, 『…』) unless nothing else is left: quoting is how an
    error message is cited in either language. Each Japanese character (kana,
    half-width kana, kanji) weighs as much as two other letters, since it carries
    about as much. The text is Japanese when Japanese weighs at least 45% of its
    letters, or at least 25% when hiragana appears: hiragana is the grammar of a
    Japanese sentence (``Salesforceの設定``), while English text that cites a
    Japanese term cites a noun in kanji or katakana. So ``解決しました`` and
    ``エラー`` are ``ja``, ``SalesforceのOAuth連携でエラーが出ます`` is ``ja``, and
    ``I get 接続エラー when I log in`` stays ``en``. Text without letters is ``en``.
    """
    text = text[:_LANGUAGE_SAMPLE_CHARS]
    frame = _LANGUAGE_NOISE.sub(" ", _CODE.sub(" ", text))
    for candidate in (_QUOTED.sub(" ", frame), frame, text):
        japanese, hiragana, other = _count_letters(candidate)
        if not (japanese or other):
            continue
        share = _JAPANESE_WEIGHT * japanese / (_JAPANESE_WEIGHT * japanese + other)
        threshold = _JAPANESE_SHARE_WITH_HIRAGANA if hiragana else _JAPANESE_SHARE
        return "ja" if share >= threshold else "en"
    return "en"


def _count_letters(text: str) -> tuple[int, int, int]:
    """Japanese characters, hiragana among them, and other letters in ``text``."""
    japanese = hiragana = other = 0
    for char in text:
        if _is_japanese(char):
            japanese += 1
            hiragana += _is_hiragana(char)
        elif char.isalpha():
            other += 1
    return japanese, hiragana, other


def _is_hiragana(char: str) -> bool:
    return "\u3041" <= char <= "\u309f"


def _is_japanese(char: str) -> bool:
    """Kana (full- and half-width), CJK ideographs and the iteration marks 々 〆."""
    code = ord(char)
    return (
        0x3041 <= code <= 0x30FF  # hiragana, katakana, ー
        or 0x31F0 <= code <= 0x31FF  # katakana phonetic extensions
        or 0xFF66 <= code <= 0xFF9F  # half-width katakana
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= code <= 0x3FFFF  # extensions B and later
        or code in (0x3005, 0x3006)
    )


def escape_markdown(text: str) -> str:
    """Escape ``text`` so Discord renders it literally in a message or an embed.

    The escaping set is the minimal one that is correct:

    * anywhere: ``\\`` ``*`` ``_`` ``~`` ``|`` and backticks (emphasis, strike,
      spoiler, code) and ``[`` ``]`` (masked links; parentheses alone do nothing);
    * at the start of a line: ``>`` (quote), ``#`` (header), ``-`` (list item and
      ``-#`` subtext), ``+``, and the dot of ``1.`` (ordered list).

    URLs are left alone, because a backslash would break the link. Escaping is not
    idempotent: escape once, right before rendering.
    """

    def escape(match: re.Match[str]) -> str:
        if match.group("url") is not None:
            return match.group("url")
        if match.group("char") is not None:
            return "\\" + match.group("char")
        if match.group("block") is not None:
            return f"{match.group('indent')}\\{match.group('block')}"
        return f"{match.group('number')}\\."

    return _MARKDOWN_SPECIAL.sub(escape, text)
