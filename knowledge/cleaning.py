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

* Matching runs on a width-folded copy of the text: full-width ASCII
  (``０９０``, ``＠``, ``ｔａｒｏ``, ``：``) and the ideographic space take their ASCII
  form and a dash or ``ー`` between two digits becomes ``-``. This is the part of
  NFKC that matters for matching, done one character for one character so a span
  found in the copy is the same span in the original; what is kept (labels,
  separators, the rest of the sentence) is what people wrote. Word boundaries are
  ASCII ones, so ``携帯は090-1234-5678です`` has its number found.
* Placeholders are ``[email]``, ``[phone]``, ``[card]``, ``[id-number]``, ``[ip]``
  and ``[secret]``. A key-value secret keeps its key (``password=[secret]``), a
  header keeps its scheme (``Authorization: Bearer [secret]``), a URL keeps
  everything but its password, webhook token or signed-URL parameter
  (``X-Amz-Signature``, ``X-Goog-Signature``, ``Signature``, ``sig``, ``…token``,
  ``…secret``, ``api_key``), and a password in a sentence keeps the sentence
  (``my password is [secret]``, ``パスワードは「[secret]」です``).
* Phone numbers need a phone shape (a ``+`` country code, a Japanese ``0``
  prefix with 10 or 11 digits, or a North American ``(NXX) NXX-XXXX``), so
  versions, dates, snowflake ids, prices, hex error codes and ports survive. A
  Japanese number may follow ``TEL`` or ``FAX`` directly; glued to other letters
  (``v0120-123-456``) it is an identifier.
* A card number is 14 to 16 digits in one run, or grouped 4-4-4-4(-3), 4-6-5 or
  4-6-4 by spaces or hyphens, whose issuer prefix (Visa, Mastercard, Amex,
  Diners, Discover, JCB, UnionPay) fits its length and which passes the Luhn
  check. Runs of 17 digits and more are never cards: they are Discord ids.
* A My Number is 12 digits, in one run or 4-4-4, with the right check digit. No
  label is required, so about one in eleven other 12-digit numbers (an AWS
  account id, a long order number) is masked too: leaking a My Number is the
  worse mistake.
* An IPv4 address is a dotted quad of octets 0..255 standing alone. Kept: the
  addresses everyone has (``127.x``, ``0.0.0.0``, netmasks such as
  ``255.255.255.0``), and a quad written as a version: after a letter
  (``v1.2.3.4``), after ``version``, ``ver`` or ``バージョン``, or after a product
  name and a slash (``Chrome/120.0.0.0``). A bare ``1.2.3.4`` in prose is masked:
  it cannot be told from an address, and three-part versions are never addresses.
* An IPv6 address is valid for ``ipaddress`` and has eight groups, or ``::`` and at
  least three groups (``2001:db8::1``, ``fe80::1ff:fe23:4567:890a``). Kept:
  ``::``, ``::1``, ``1::2`` (a slice), ``std::vector``, times (``12:30:45``), MAC
  addresses and colon-separated fingerprints.
* A generic secret is a run of at least 32 base64url characters (``/``, ``+``
  and ``.`` end a run, so paths and URLs are never one run) that mixes upper
  case, lower case and digits, is not plain hex, and does not read like an
  identifier (less than 60% of it is made of word-like pieces such as ``Name``,
  ``user``, ``HTTP`` or ``2024``). The same test applies to standard base64 runs
  of exactly 40 characters (AWS secret access keys, where ``/`` and ``+`` belong
  to the key) and of 88 ending in ``==`` (Azure account keys). Hex is never
  masked by this rule: commit hashes, checksums, request ids and UUIDs are what
  people paste to get help; a hex API key is masked only when it is labelled
  (``api_key=…``). The rule misses roughly one random 32-character token in a
  hundred; the labelled and vendor-specific rules (AWS ``AKIA…``, Google
  ``AIza…``, ``GOCSPX-…``, ``ya29.…``, Azure ``…Q~…``, JWTs, GitHub, Slack,
  Stripe, …) catch what matters most.
* With a ``:`` separator a value made only of letters is kept, so prose such as
  ``Password: reset link expired`` and annotations such as ``token: str`` survive;
  with ``=`` every value that is not a reference (``$VAR``, ``os.getenv(...)``,
  ``settings.TOKEN``, ``TOKEN``) is masked. In a sentence, a password after
  ``is``/``was`` needs four characters, one of them not a letter, and must not be
  a length (``8 characters``), unless it is quoted; after a Japanese particle
  (``は``, ``が``, ``を``, ``も``) any value that is not a reference is masked.
  Punctuation ending an unquoted value (``.`` ``,`` ``!`` ``?`` …) is left as such.
* Display names go through ``clean_display_name``: the same masking, one line,
  at most ``MAX_DISPLAY_NAME_CHARS`` characters.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from knowledge.scripts import is_hiragana, is_japanese

__all__ = [
    "CARD_PLACEHOLDER",
    "CODE_PLACEHOLDER",
    "ELLIPSIS",
    "EMAIL_PLACEHOLDER",
    "ID_NUMBER_PLACEHOLDER",
    "IP_PLACEHOLDER",
    "MAX_CODE_BLOCK_CHARS",
    "MAX_DISPLAY_NAME_CHARS",
    "MAX_INDEX_CODE_BLOCK_CHARS",
    "MAX_STORED_CHARS",
    "PHONE_PLACEHOLDER",
    "SECRET_PLACEHOLDER",
    "clean_display_name",
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

MAX_DISPLAY_NAME_CHARS: Final = 32
"""Bound of a stored display name, ellipsis included (Discord's own limit is 32)."""

ELLIPSIS: Final = "…"
EMAIL_PLACEHOLDER: Final = "[email]"
PHONE_PLACEHOLDER: Final = "[phone]"
CARD_PLACEHOLDER: Final = "[card]"
ID_NUMBER_PLACEHOLDER: Final = "[id-number]"
IP_PLACEHOLDER: Final = "[ip]"
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

# --- Width folding -------------------------------------------------------------------

# Matching runs on a copy of the text in which full-width ASCII (ＡＢＣ１２３＠：＝) and
# the ideographic space have their ASCII form, and dashes between two digits
# (０９０ー１２３４, 090–1234) are "-". Every character maps to exactly one character,
# so a span found in the copy is the same span in the original text.
_WIDTH_FOLD: Final = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_DASH_BETWEEN_DIGITS: Final[re.Pattern[str]] = re.compile(
    r"(?<=[0-9])[\u2010-\u2015\u2212\u30fc\uff70](?=[0-9])"
)

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
    r"|GOCSPX-[A-Za-z0-9_-]{24,}"  # Google OAuth client secret
    r"|ya29\.[A-Za-z0-9_-]{20,}"  # Google OAuth access token
    r"|[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}"  # Azure AD client secret
    r")(?![\w~-])",
    re.ASCII,
)
# Standard-alphabet base64 keys: AWS secret access keys (40) and Azure account keys (88).
# ``/`` and ``+`` belong to them, so they are never one run of the generic rule.
_BASE64_KEY: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z0-9+/=_.~-])(?:[A-Za-z0-9+/]{40}|[A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=_.~-])"
)
# Query parameters that carry a signature or a credential in a signed or tokenised URL.
_URL_SECRET_PARAMETER: Final[re.Pattern[str]] = re.compile(
    r"(?<=[?&;])(?:x-(?:amz|goog)-(?:signature|credential|security-token)|signature|sig"
    r"|[a-z_]*token|[a-z_]*secret|api_?key|password|passwd|pwd)"
    r"=(?P<value>[^&#\s\"'<>]+)",
    re.IGNORECASE | re.ASCII,
)
_AUTHORIZATION: Final[re.Pattern[str]] = re.compile(
    r"(?P<prefix>\b(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?:bearer|basic|token|bot|digest)[ \t]+)?)"
    r"(?P<value>[^\s\"',;]+)",
    re.IGNORECASE | re.ASCII,
)
_BEARER: Final[re.Pattern[str]] = re.compile(
    r"(?P<prefix>\bbearer[ \t]+)(?P<value>[A-Za-z0-9._~+/-]{8,}=*)", re.IGNORECASE | re.ASCII
)
_CJK_RANGES: Final = "\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
_KEY_VALUE_SECRET: Final[re.Pattern[str]] = re.compile(
    r"(?P<key>(?<![A-Za-z0-9_-])(?:[A-Za-z0-9]+[_-])*[A-Za-z0-9]*?"
    r"(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|access[_-]?key"
    r"|secret[_-]?key|private[_-]?key|account[_-]?key|credentials?|pw)"
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
# A password given in a sentence: "my password is hunter2", "パスワードは abc123 です".
_PROSE_PASSWORD: Final[re.Pattern[str]] = re.compile(
    r"(?:(?<![A-Za-z0-9_])(?:password|passphrase|passcode|pwd|pw)(?![A-Za-z0-9_])"
    r"|パスワード|暗証番号)"
    r"(?:(?P<english>[ \t]+(?:is|was)(?:[ \t]+(?:now|still|set[ \t]+to|changed[ \t]+to))?[ \t]+)"
    r"|[ \t]*[はがをも][ \t]*)"
    rf"(?P<value>\"[^\"\n]{{1,100}}\"|'[^'\n]{{1,100}}'|「[^」\n]{{1,100}}」|[^\s\"'「」{_CJK_RANGES}]+)",
    re.IGNORECASE,
)
_PROSE_VALUE_TRAILER: Final = ".,;:!?)"
# "the password is 12 characters": a length, not a password.
_LENGTH_UNIT: Final[re.Pattern[str]] = re.compile(
    r"[ \t]*(?:characters?|chars?|digits?|letters?|long|文字|桁)", re.IGNORECASE
)
_MIN_PROSE_PASSWORD_CHARS: Final = 4
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

# Matching runs on the width-folded copy: digits and punctuation are ASCII there, and
# a word boundary is an ASCII one, so "携帯は090-1234-5678です" has its number found.
_DIGIT: Final = "[0-9]"
_DASH: Final = "[-‐‑–−ー]"
_PHONE_INTERNATIONAL: Final[re.Pattern[str]] = re.compile(
    rf"(?<![A-Za-z0-9_+])[+]{_DIGIT}{{1,3}}(?:[ .]?\(0\))?"
    rf"(?:(?:[ .]|{_DASH})?[(（]?{_DIGIT}{{1,4}}[)）]?){{2,5}}"
    rf"(?!{_DIGIT}|{_DASH}{_DIGIT}|\.{_DIGIT})"
)
_PHONE_SEPARATOR: Final = rf"(?:[ ]?{_DASH}[ ]?|[(（]|[)）][ ]?|[ ])"
_PHONE_JAPAN: Final[re.Pattern[str]] = re.compile(
    rf"(?:(?<=[Tt][Ee][Ll])|(?<=[Ff][Aa][Xx])|(?<![A-Za-z0-9_.+/-]))(?:"
    rf"[(（]?0{_DIGIT}{{1,4}}{_PHONE_SEPARATOR}{_DIGIT}{{1,4}}{_PHONE_SEPARATOR}{_DIGIT}{{3,4}}"
    rf"|0[789]0{_DIGIT}{{8}}"
    rf")(?![A-Za-z0-9_-]|{_DASH}{_DIGIT}|\.{_DIGIT})"
)
_PHONE_NORTH_AMERICA: Final[re.Pattern[str]] = re.compile(
    r"(?<![\w.+/-])(?:1[-. ])?(?:\([2-9]\d{2}\)[ ]?|[2-9]\d{2}[-.])\d{3}[-.]\d{4}"
    r"(?![\w-]|\.\d)",
    re.ASCII,
)
# A number standing alone: not glued to a word, a decimal, a path or a longer group.
_NUMBER_START: Final = r"(?<![A-Za-z0-9_.,/-])(?<![0-9][ -])"
_NUMBER_END: Final = r"(?![A-Za-z0-9_]|[ .,/-][0-9])"
# Card numbers: 14 to 16 digits in one run, or grouped 4-4-4-4(-3), 4-6-5, 4-6-4. Longer
# runs are Discord ids. A candidate is masked when its issuer prefix fits its length and
# it passes the Luhn check.
_CARD: Final[re.Pattern[str]] = re.compile(
    _NUMBER_START + r"(?:[0-9]{14,16}"
    r"|[0-9]{4}(?P<sep>[ -])[0-9]{4}(?P=sep)[0-9]{4}(?P=sep)[0-9]{4}(?:(?P=sep)[0-9]{3})?"
    r"|[0-9]{4}(?P<sep2>[ -])[0-9]{6}(?P=sep2)[0-9]{4,5})" + _NUMBER_END
)
# My Number (個人番号): 12 digits, in one run or 4-4-4, masked when its check digit is right.
_MY_NUMBER: Final[re.Pattern[str]] = re.compile(
    _NUMBER_START + r"(?:[0-9]{12}|[0-9]{4}(?P<sep>[ -])[0-9]{4}(?P=sep)[0-9]{4})" + _NUMBER_END
)
_IPV4: Final[re.Pattern[str]] = re.compile(
    r"(?<![A-Za-z0-9_.])[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?![A-Za-z0-9_]|\.[0-9])"
)
# A dotted quad written as a version: "v1.2.3.4", "version 1.2.3.4", "Chrome/120.0.0.0".
_VERSION_BEFORE: Final[re.Pattern[str]] = re.compile(
    r"(?:\b(?:version|ver)\.?|バージョン|(?<![/:])\b[A-Za-z][A-Za-z0-9_-]*/)[ \t:=]*\Z",
    re.IGNORECASE | re.ASCII,
)
_VERSION_CONTEXT_CHARS: Final = 24
_HEX_GROUP: Final = "[0-9A-Fa-f]{1,4}"
_IPV4_TAIL: Final = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
_IPV6: Final[re.Pattern[str]] = re.compile(
    rf"(?<![A-Za-z0-9_:.])(?:{_HEX_GROUP}(?::{_HEX_GROUP}){{7}}"
    rf"|(?:{_HEX_GROUP}(?::{_HEX_GROUP}){{0,6}})?::(?:{_HEX_GROUP}(?::{_HEX_GROUP}){{0,6}})?)"
    rf"(?:(?<=:){_IPV4_TAIL}|:{_IPV4_TAIL})?"
    r"(?![A-Za-z0-9_:]|\.[0-9])"
)
_MIN_IPV6_GROUPS: Final = 3  # "1::2" is a Python slice; "2001:db8::1" is an address

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
    r"|\[(?:email|phone|card|id-number|ip|secret|code)\]",
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
    text = _mask_sensitive(text)
    text = _MASS_MENTION.sub(rf"@{_ZWSP}\1", text)
    text = _bound_code_blocks(text, MAX_CODE_BLOCK_CHARS)
    text = _tidy_whitespace(text)
    return _truncate_stored(text, max_chars)


def clean_display_name(name: str, *, max_chars: int = MAX_DISPLAY_NAME_CHARS) -> str:
    """Return a member's display name safe to persist and to show as credit.

    Nicknames are member text too (``taro@example.com``, ``山田 090-1234-5678``):
    they are masked and neutralised like ``clean_for_storage`` does, put on one
    line (whitespace runs become one space, zero-width characters go), and bounded
    to ``max_chars`` characters including ``…``. A blank name gives ``""``: the
    caller shows its own stand-in.
    """
    _require_positive(max_chars)
    name = _neutralise_discord_tokens(_normalise_controls(name))
    name = _WHITESPACE_RUN.sub(" ", _ZERO_WIDTH.sub("", _mask_sensitive(name))).strip()
    name = _MASS_MENTION.sub(rf"@{_ZWSP}\1", name)
    if len(name) <= max_chars:
        return name
    return name[: _safe_cut(name, max_chars - len(ELLIPSIS))].rstrip() + ELLIPSIS


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


_Mask = tuple[int, int, str]
"""A span of the text (the same in the original and its width-folded copy) and its placeholder."""
_Masker = Callable[[re.Match[str]], _Mask | None]


def _fold_width(text: str) -> str:
    """A copy of ``text`` with the same length, full-width ASCII folded for matching."""
    return _DASH_BETWEEN_DIGITS.sub("-", text.translate(_WIDTH_FOLD))


def _mask_sensitive(text: str) -> str:
    """Mask secrets, then personal data, matching on a width-folded copy of ``text``.

    Each rule finds its matches in the folded copy, and the masked spans are
    replaced in both the original and the copy, so the two stay aligned (a
    placeholder is ASCII and folds to itself) and the characters that are kept,
    labels and separators included, are the ones people wrote.
    """
    folded = _fold_width(text)
    for pattern, masker in _MASKING_RULES:
        text, folded = _apply_masks(text, folded, pattern, masker)
    return text


def _apply_masks(
    text: str, folded: str, pattern: re.Pattern[str], masker: _Masker
) -> tuple[str, str]:
    text_pieces: list[str] = []
    folded_pieces: list[str] = []
    position = 0
    for match in pattern.finditer(folded):
        mask = masker(match)
        if mask is None:
            continue
        start, end, placeholder = mask
        text_pieces += (text[position:start], placeholder)
        folded_pieces += (folded[position:start], placeholder)
        position = end
    if not text_pieces:
        return text, folded
    text_pieces.append(text[position:])
    folded_pieces.append(folded[position:])
    return "".join(text_pieces), "".join(folded_pieces)


def _whole(placeholder: str) -> _Masker:
    def mask(match: re.Match[str]) -> _Mask:
        return match.start(), match.end(), placeholder

    return mask


def _mask_url_password(match: re.Match[str]) -> _Mask:
    return match.start("password"), match.end("password"), SECRET_PLACEHOLDER


def _mask_webhook(match: re.Match[str]) -> _Mask:
    prefix = "prefix" if match.group("prefix") is not None else "slack"
    return match.end(prefix), match.end(), SECRET_PLACEHOLDER


def _mask_parameter_value(match: re.Match[str]) -> _Mask | None:
    if match.group("value").startswith("["):
        return None
    return match.start("value"), match.end("value"), SECRET_PLACEHOLDER


def _mask_bearer(match: re.Match[str]) -> _Mask | None:
    """Mask what follows ``Bearer`` when it looks like a token, not like prose."""
    value = match.group("value")
    if not any(char.isdigit() for char in value) and len(value) < 20:
        return None
    return match.start("value"), match.end("value"), SECRET_PLACEHOLDER


def _mask_key_value(match: re.Match[str]) -> _Mask | None:
    key, sep, value = match.group("key", "sep", "value")
    quoted = value[0] in "\"'"
    inner = value[1:-1] if quoted else value
    if not inner or _REFERENCE_VALUE.fullmatch(inner):
        return None
    labelled_in_prose = key.isascii() and not quoted and "=" not in sep
    if labelled_in_prose and _PLAIN_WORD.fullmatch(inner):
        return None  # "Password: reset", "token: str"
    start, end = match.span("value")
    return (start + 1, end - 1, SECRET_PLACEHOLDER) if quoted else (start, end, SECRET_PLACEHOLDER)


def _mask_prose_password(match: re.Match[str]) -> _Mask | None:
    """Mask the password in "my password is …" or "パスワードは…です", not talk about one.

    A quoted value is masked. After an English "is"/"was", an unquoted value is
    masked only when it has at least four characters with one that is not a letter
    and is not a length ("12 characters"); after a Japanese particle, any value
    that is not a reference (``SSO``, ``$PW``) is masked.
    """
    value = match.group("value")
    start, end = match.span("value")
    if value[0] in "\"'「":
        inner = value[1:-1]
        start, end = start + 1, end - 1
    else:
        inner = value.rstrip(_PROSE_VALUE_TRAILER)
        end = start + len(inner)
        if match.group("english") is not None and (
            len(inner) < _MIN_PROSE_PASSWORD_CHARS
            or _PLAIN_WORD.fullmatch(inner)
            or _LENGTH_UNIT.match(match.string, end)
        ):
            return None
    if not inner or _REFERENCE_VALUE.fullmatch(inner):
        return None
    return start, end, SECRET_PLACEHOLDER


def _mask_random_token(match: re.Match[str]) -> _Mask | None:
    return (match.start(), match.end(), SECRET_PLACEHOLDER) if _looks_random(match[0]) else None


def _looks_random(token: str) -> bool:
    """Whether a long base64 run is a key rather than a hash, an id, an identifier or a path."""
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


def _mask_email(match: re.Match[str]) -> _Mask | None:
    if match.group("local").lower() in _NOT_PERSONAL_LOCAL_PARTS:
        return None
    return match.start(), match.end(), EMAIL_PLACEHOLDER


def _mask_phone(min_digits: int, max_digits: int) -> _Masker:
    """A masker that masks a phone-shaped match only when its digit count fits."""

    def mask(match: re.Match[str]) -> _Mask | None:
        digits = sum(char.isdigit() for char in match.group(0))
        if not min_digits <= digits <= max_digits:
            return None
        return match.start(), match.end(), PHONE_PLACEHOLDER

    return mask


def _mask_card(match: re.Match[str]) -> _Mask | None:
    digits = "".join(char for char in match.group(0) if char.isdigit())
    if not (_card_issuer_fits(digits) and _passes_luhn(digits)):
        return None
    return match.start(), match.end(), CARD_PLACEHOLDER


def _card_issuer_fits(digits: str) -> bool:
    """Whether the issuer prefix of ``digits`` (Visa, Mastercard, Amex, JCB, …) fits its length."""
    length = len(digits)
    two, three, four = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":  # Visa
        return length in (16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:  # Mastercard
        return length == 16
    if two in (34, 37):  # American Express
        return length == 15
    if two in (36, 38, 39) or 300 <= three <= 305:  # Diners Club
        return length in (14, 16)
    if four == 6011 or two in (62, 65) or 644 <= three <= 649 or 3528 <= four <= 3589:
        return 16 <= length <= 19  # Discover, UnionPay, JCB
    return False


def _passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _mask_my_number(match: re.Match[str]) -> _Mask | None:
    digits = "".join(char for char in match.group(0) if char.isdigit())
    if int(digits[-1]) != _my_number_check_digit(digits[:-1]):
        return None
    return match.start(), match.end(), ID_NUMBER_PLACEHOLDER


def _my_number_check_digit(first_eleven: str) -> int:
    """The check digit of a My Number (個人番号) from its first 11 ASCII digits.

    The official rule: with Pn the n-th digit counted from the right and
    Qn = n + 1 for n <= 6, n - 5 above, the remainder r of sum(Pn * Qn) by 11
    gives 0 when r <= 1, else 11 - r.
    """
    total = sum(
        int(char) * (n + 1 if n <= 6 else n - 5)
        for n, char in enumerate(reversed(first_eleven), start=1)
    )
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def _mask_ipv4(match: re.Match[str]) -> _Mask | None:
    """Mask an IPv4 address unless it is everyone's (loopback, 0.0.0.0, a netmask) or a version."""
    try:
        address = ipaddress.IPv4Address(match.group(0))
    except ipaddress.AddressValueError:
        return None
    if address.is_loopback or address.is_unspecified or _is_netmask(int(address)):
        return None
    before = match.string[max(0, match.start() - _VERSION_CONTEXT_CHARS) : match.start()]
    if _VERSION_BEFORE.search(before):
        return None
    return match.start(), match.end(), IP_PLACEHOLDER


def _is_netmask(value: int) -> bool:
    """255.255.255.0, 255.255.0.0, …: ones followed by zeros, at least the first octet set."""
    inverted = ~value & 0xFFFFFFFF
    return value >= 0xFF000000 and inverted & (inverted + 1) == 0


def _mask_ipv6(match: re.Match[str]) -> _Mask | None:
    """Mask an IPv6 address: eight groups, or a ``::`` form with at least three groups.

    ``::``, ``::1`` and short ``::`` forms such as ``1::2`` (a Python slice) are kept.
    """
    candidate = match.group(0)
    try:
        address = ipaddress.IPv6Address(candidate)
    except ipaddress.AddressValueError:
        return None
    if address.is_loopback or address.is_unspecified:
        return None
    groups = sum(2 if "." in group else 1 for group in candidate.split(":") if group)
    if "::" in candidate and groups < _MIN_IPV6_GROUPS:
        return None
    return match.start(), match.end(), IP_PLACEHOLDER


# Order matters: whole blocks and URLs first, so their parts are not judged alone; card
# numbers and My Numbers before phone numbers; IPv6 before IPv4 (its IPv4 tail).
_MASKING_RULES: Final[tuple[tuple[re.Pattern[str], _Masker], ...]] = (
    (_PRIVATE_KEY_BLOCK, _whole(SECRET_PLACEHOLDER)),
    (_URL_PASSWORD, _mask_url_password),
    (_WEBHOOK_TOKEN, _mask_webhook),
    (_URL_SECRET_PARAMETER, _mask_parameter_value),
    (_VENDOR_TOKEN, _whole(SECRET_PLACEHOLDER)),
    (_AUTHORIZATION, _mask_parameter_value),
    (_BEARER, _mask_bearer),
    (_KEY_VALUE_SECRET, _mask_key_value),
    (_PROSE_PASSWORD, _mask_prose_password),
    (_BASE64_KEY, _mask_random_token),
    (_LONG_TOKEN, _mask_random_token),
    (_EMAIL, _mask_email),
    (_IPV6, _mask_ipv6),
    (_IPV4, _mask_ipv4),
    (_CARD, _mask_card),
    (_MY_NUMBER, _mask_my_number),
    (_PHONE_INTERNATIONAL, _mask_phone(8, 15)),
    (_PHONE_JAPAN, _mask_phone(10, 11)),
    (_PHONE_NORTH_AMERICA, _whole(PHONE_PLACEHOLDER)),
)


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
    if 0 < cut < len(text) and not (is_japanese(text[cut - 1]) and is_japanese(text[cut])):
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
        if 0 < cut < len(text) and not (is_japanese(text[cut - 1]) or is_japanese(text[cut])):
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
        if is_japanese(char):
            japanese += 1
            hiragana += is_hiragana(char)
        elif char.isalpha():
            other += 1
    return japanese, hiragana, other


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
