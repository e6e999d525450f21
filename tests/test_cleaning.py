"""Unit tests of ``knowledge.cleaning``: storage, index and display views of member text."""

from __future__ import annotations

import ast
import unicodedata
from pathlib import Path

import pytest

from knowledge import cleaning
from knowledge.cleaning import (
    MAX_CODE_BLOCK_CHARS,
    MAX_INDEX_CODE_BLOCK_CHARS,
    MAX_STORED_CHARS,
    clean_for_storage,
    detect_language,
    escape_markdown,
    gist,
    to_index_text,
)

ZWSP = "\u200b"
MEGABYTE = 1_000_000


def fenced(code: str, lang: str = "") -> str:
    return f"```{lang}\n{code}\n```"


def fence_contents(text: str) -> list[str]:
    """The content of each closed fenced block in ``text``, language line excluded."""
    parts = text.split("```")
    return [part.split("\n", 1)[1] if "\n" in part else part for part in parts[1::2]]


# ======================================================================================
# clean_for_storage: Discord tokens
# ======================================================================================


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("thanks <@123456789012345678>!", "thanks @member!"),
        ("thanks <@!123456789012345678>!", "thanks @member!"),
        ("ask <@&987654321098765432>", "ask @role"),
        ("see <#111222333444555666>", "see #channel"),
        ("run </help:123456789012345678>", "run /help"),
        ("run </config set:123456789012345678> first", "run /config set first"),
        ("run </設定:123>", "run /設定"),
        ("nice <:blobthumbsup:123456789012345678>", "nice :blobthumbsup:"),
        ("party <a:party_parrot:123456789012345678>", "party :party_parrot:"),
    ],
)
def test_mentions_slash_commands_and_custom_emoji_become_plain_text(raw: str, expected: str):
    assert clean_for_storage(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("@everyone look", f"@{ZWSP}everyone look"),
        ("hey @here", f"hey @{ZWSP}here"),
        ("@Everyone and @HERE", f"@{ZWSP}Everyone and @{ZWSP}HERE"),
        ("みなさん@everyone確認してください", f"みなさん@{ZWSP}everyone確認してください"),
    ],
)
def test_everyone_and_here_get_a_zero_width_space_so_they_never_ping(raw: str, expected: str):
    assert clean_for_storage(raw) == expected


def test_a_neutralised_mass_mention_is_left_as_it_is():
    once = clean_for_storage("@everyone")
    assert clean_for_storage(once) == once == f"@{ZWSP}everyone"


def test_an_address_at_a_domain_named_here_is_masked_as_an_email_not_as_a_mention():
    assert clean_for_storage("write to someone@here.com") == "write to [email]"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("since <t:1714521600:R>", "since 2024-05-01 00:00 UTC"),
        ("at <t:1714563000>", "at 2024-05-01 11:30 UTC"),
        ("on <t:1714521600:d>", "on 2024-05-01"),
        ("on <t:1714521600:D>", "on 2024-05-01"),
    ],
)
def test_timestamps_become_readable_utc_dates(raw: str, expected: str):
    assert clean_for_storage(raw) == expected


def test_a_timestamp_out_of_range_is_kept_as_written():
    assert clean_for_storage("<t:99999999999999:R>") == "<t:99999999999999:R>"


def test_mentions_inside_code_blocks_and_inline_code_are_neutralised_too():
    raw = "try `<@123>` and\n```\n@everyone <@&5> <#6>\n```"
    cleaned = clean_for_storage(raw)
    assert cleaned == f"try `@member` and\n```\n@{ZWSP}everyone @role #channel\n```"


# ======================================================================================
# clean_for_storage: personal data
# ======================================================================================


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("mail taro.yamada+kb@example.co.jp now", "mail [email] now"),
        ("連絡先はtaro@example.co.jpです", "連絡先は[email]です"),
        ("<support@vendor.io>", "<[email]>"),
        ("Email: First.Last@Sub.Example.COM.", "Email: [email]."),
    ],
)
def test_email_addresses_are_masked(raw: str, expected: str):
    assert clean_for_storage(raw) == expected


def test_a_git_ssh_remote_is_not_taken_for_an_email_address():
    assert clean_for_storage("git@github.com:org/repo.git") == "git@github.com:org/repo.git"


@pytest.mark.parametrize(
    "phone",
    [
        "+81 90-1234-5678",
        "+81-3-1234-5678",
        "+819012345678",
        "+81 (0)90-1234-5678",
        "+1 (555) 123-4567",
        "+44 20 7946 0958",
        "090-1234-5678",
        "09012345678",
        "03-1234-5678",
        "06-6123-4567",
        "0120-123-456",
        "(03)1234-5678",
        "03(1234)5678",
        "03（1234）5678",
        "０９０－１２３４－５６７８",
        "080ー1234ー5678",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-800-555-1234",
    ],
)
def test_phone_numbers_are_masked(phone: str):
    assert clean_for_storage(f"call {phone} today") == "call [phone] today"


@pytest.mark.parametrize(
    "phone_in_context",
    ["電話 03-1234-5678 まで", "TEL:03-1234-5678", "Tel: 090-1234-5678。", "Phone:555-123-4567"],
)
def test_phone_numbers_are_masked_next_to_labels_and_japanese(phone_in_context: str):
    cleaned = clean_for_storage(phone_in_context)
    assert "[phone]" in cleaned
    assert not any(char.isdigit() for char in cleaned)


@pytest.mark.parametrize(
    "ordinary",
    [
        "upgrade to 2.13.0",
        "since 2024-05-01 12:00",
        "2024-05-01T12:00:00+09:00",
        "05-01-2024",
        "guild 123456789012345678",
        "order 01234567890123",
        "price $1,299.00 or ¥12,800",
        "error 0x80070005",
        "localhost:8080 and port 5432",
        "ranges 1.2.3-4.5.6 and 10:30-11:45",
        "ISBN 978-4-123-45678-9",
        "ticket 2024-0501-1234",
        "v0120-123-456",
        "+1234 -567 lines",
        "03-1234-5678-9",
    ],
)
def test_ordinary_numbers_are_not_taken_for_phone_numbers(ordinary: str):
    assert clean_for_storage(ordinary) == ordinary


# ======================================================================================
# clean_for_storage: secrets
# ======================================================================================


@pytest.mark.parametrize(
    "token",
    [
        "sk-abcdefghijklmnopqrstuvwxyz123456",
        "sk-proj-Ab3dEfGh1jKlMn0pQrStUvWxYz_123456",
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "gho_abcdefghijklmnopqrstuvwxyz0123456789",
        "ghs_abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        "xoxb-1234567890-0987654321-abcdefghijklmnop",
        "xoxp-1234567890-abcdefghij",
        "AKIAIOSFODNN7EXAMPLE",
        "AIzaSyA1234567890abcdefghijklmnopqrstuv",
        "sk_live_abcdefghijklmnop1234",
        "rk_live_abcdefghijklmnop1234",
        "pk_live_abcdefghijklmnop1234",
        "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "npm_abcdefghijklmnopqrstuvwxyz0123456789",
        "glpat-abcdefghij0123456789",
        "Zk3L9qPx2Vb7Nw4Ty8Rm1Hc6Jd5Fg0Qa",
    ],
)
def test_tokens_are_masked(token: str):
    assert clean_for_storage(f"my key is {token} ok") == "my key is [secret] ok"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Authorization: Bearer abc.def.ghi123456", "Authorization: Bearer [secret]"),
        ("-H 'Authorization: Basic dXNlcjpwYXNz'", "-H 'Authorization: Basic [secret]'"),
        ('"authorization": "Bot abcdef123456"', '"authorization": "Bot [secret]"'),
        ("curl -H 'Bearer xyz12345678'", "curl -H 'Bearer [secret]'"),
        ("password=hunter2", "password=[secret]"),
        ("password = hunter", "password = [secret]"),
        ("PASSWORD: Hunter2!", "PASSWORD: [secret]"),
        ("api_key: 'abc123'", "api_key: '[secret]'"),
        ('"api_key": "abc123"', '"api_key": "[secret]"'),
        ('token="zzz"', 'token="[secret]"'),
        ("secret=s3cr3t", "secret=[secret]"),
        ("client_secret=abc123", "client_secret=[secret]"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
            "aws_secret_access_key = [secret]",
        ),
        ("accessToken=abcd1234", "accessToken=[secret]"),
        ("apiKey: x9y8z7", "apiKey: [secret]"),
        (
            "https://api.example.com/v1?token=abc123&x=1",
            "https://api.example.com/v1?token=[secret]&x=1",
        ),
        ("パスワード：abc123です", "パスワード：[secret]です"),
        ("新しいパスワード: hunter", "新しいパスワード: [secret]"),
        ("APIキー＝abcdef", "APIキー＝[secret]"),
    ],
)
def test_labelled_secrets_keep_their_label_and_lose_their_value(raw: str, expected: str):
    assert clean_for_storage(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "postgres://admin:pa55word@db.example.com:5432/app",
            "postgres://admin:[secret]@db.example.com:5432/app",
        ),
        (
            "https://discord.com/api/webhooks/123456/abcDEF-ghi_jkl",
            "https://discord.com/api/webhooks/123456/[secret]",
        ),
        (
            "https://hooks.slack.com/services/T000/B000/XXXXyyyy",
            "https://hooks.slack.com/services/[secret]",
        ),
    ],
)
def test_urls_lose_their_password_or_webhook_token(raw: str, expected: str):
    assert clean_for_storage(raw) == expected


def test_a_private_key_block_is_masked_whole():
    raw = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter"
    assert clean_for_storage(raw) == "key:\n[secret]\nafter"


def test_a_private_key_cut_short_in_a_code_block_is_masked_up_to_the_fence():
    raw = fenced("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE") + " done"
    assert clean_for_storage(raw) == "```\n[secret]\n``` done"


def test_secrets_inside_code_blocks_are_masked():
    raw = fenced('TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"')
    assert clean_for_storage(raw) == fenced('TOKEN = "[secret]"')


def test_personal_data_inside_code_blocks_is_masked():
    raw = fenced("user=taro@example.com tel=090-1234-5678", "log")
    assert clean_for_storage(raw) == fenced("user=[email] tel=[phone]", "log")


@pytest.mark.parametrize(
    "kept",
    [
        "Password: reset link expired",
        "Forgot password: what now?",
        "def login(password: str, token: str | None = None):",
        "token: Optional[str] = None",
        "if token == None: pass",
        "max_tokens=512",
        "token_count=5",
        "DB_PASSWORD=${DB_PASSWORD}",
        "password=%DB_PASSWORD%",
        'TOKEN = os.getenv("DISCORD_TOKEN")',
        'token = env["TOKEN"]',
        "api_key = settings.API_KEY",
        "token = DISCORD_TOKEN",
        "password=***",
        "password = <your password>",
        "password=null",
        "パスワード：忘れた場合",
        "Use a bearer token for this.",
        "Bearer authentication is required",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b",
        "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "request 550e8400-e29b-41d4-a716-446655440000",
        "REQUEST 550E8400-E29B-41D4-A716-446655440000",
        "AbstractSingletonProxyFactoryBean2Impl",
        "test_should_return_the_expected_value_2X",
        "/home/user/.cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/x",
        "https://docs.example.com/guides/Integrations/SalesforceConnector2024/setup",
    ],
)
def test_prose_code_references_hashes_and_identifiers_are_not_taken_for_secrets(kept: str):
    assert clean_for_storage(kept) == kept


def test_a_masked_placeholder_is_never_masked_again():
    once = clean_for_storage("password=hunter2 Authorization: Bearer abc123456789 x@y.io")
    assert once == "password=[secret] Authorization: Bearer [secret] [email]"
    assert clean_for_storage(once) == once


# ======================================================================================
# clean_for_storage: what members paste (issue 10), every kind of personal data and secret
# ======================================================================================

# Each case is (raw, expected): the expected text also checks that a match found on the
# width-folded copy is mapped back onto the original characters.
PASTED_PERSONAL_DATA_AND_SECRETS = [
    # Phone numbers inside Japanese sentences, with and without hyphens, in full width.
    ("携帯は090-1234-5678です", "携帯は[phone]です"),
    ("携帯は09012345678です", "携帯は[phone]です"),
    ("電話番号は０９０－１２３４－５６７８です", "電話番号は[phone]です"),
    ("携帯：０９０１２３４５６７８まで", "携帯：[phone]まで"),
    ("自宅は03-1234-5678にお願いします", "自宅は[phone]にお願いします"),
    ("TEL０３－１２３４－５６７８（平日のみ）", "TEL[phone]（平日のみ）"),
    ("番号は090ー1234ー5678でした", "番号は[phone]でした"),
    ("携帯 090 1234 5678 まで", "携帯 [phone] まで"),
    ("海外からは+81 90-1234-5678へ", "海外からは[phone]へ"),
    ("電話は＋８１ ９０－１２３４－５６７８です", "電話は[phone]です"),
    # E-mail with a full-width at sign or full-width letters.
    ("メールはtaro＠example.co.jpです", "メールは[email]です"),
    ("ｔａｒｏ．ｙａｍａｄａ＠ｅｘａｍｐｌｅ．ｃｏｍ に送って", "[email] に送って"),
    ("send it to hanako＠example.com please", "send it to [email] please"),
    # Card numbers passing the Luhn check, bare, spaced or hyphenated.
    ("カード番号は4111 1111 1111 1111です", "カード番号は[card]です"),
    ("card: 5555-5555-5555-4444", "card: [card]"),
    ("my card 4242424242424242 was declined", "my card [card] was declined"),
    ("Amex 3782 822463 10005 fails", "Amex [card] fails"),
    ("JCBは３５３０１１１３３３３０００００で決済", "JCBは[card]で決済"),
    ("charged to 2223003122003222.", "charged to [card]."),
    # My Number (12 digits with a valid check digit).
    ("マイナンバーは123456789018です", "マイナンバーは[id-number]です"),
    ("個人番号：9876 5432 1093", "個人番号：[id-number]"),
    ("my number 2024-0501-1230 ok", "my number [id-number] ok"),
    ("番号１２３４５６７８９０１８を入力", "番号[id-number]を入力"),
    # IPv4 and IPv6 addresses.
    ("接続先は192.168.0.1です", "接続先は[ip]です"),
    ("server at 203.0.113.45:8080 is down", "server at [ip]:8080 is down"),
    ("http://10.0.0.12/admin が開けません", "http://[ip]/admin が開けません"),
    ("allow 172.16.254.1/24 and 198.51.100.7-198.51.100.9", "allow [ip]/24 and [ip]-[ip]"),
    ("ＩＰは１９２．１６８．１．２０です", "ＩＰは[ip]です"),
    ("host 2001:0db8:85a3:0000:0000:8a2e:0370:7334 fails", "host [ip] fails"),
    ("IPv6は2001:db8::1です", "IPv6は[ip]です"),
    ("link fe80::1ff:fe23:4567:890a%eth0 up", "link [ip]%eth0 up"),
    ("open http://[2001:db8::8a2e:370:7334]:443/", "open http://[[ip]]:443/"),
    ("mapped ::ffff:192.0.2.128 here", "mapped [ip] here"),
    # Unlabelled cloud keys and tokens.
    ("キーは 4XqO4hE1ay87uN3a2/noh0r6BGF8Uu8E6s6OhTvO です", "キーは [secret] です"),
    ("secret QPYSUvFKPN/i1G5hqMPvyWE5J0ppZtHJ/AS7bT6/ ok", "secret [secret] ok"),
    ("aws kLKVQX1CMqXEHr9zKGn4Q6bq+NclckphGhBR2gyN", "aws [secret]"),
    ("IDはAKIAIOSFODNN7EXAMPLEです", "IDは[secret]です"),
    ("client 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 fails", "client [secret] fails"),
    ("token ya29.a0AfH6SMBx7c9Qz2LkP0wR5tYv8uN3mJ4hG6fD1sA ok", "token [secret] ok"),
    ("Azure secret abc8Q~Zk3L9qPx2Vb7Nw4Ty8Rm1Hc6Jd5Fg0Qa1b ok", "Azure secret [secret] ok"),
    (
        "AccountKey 9pPLwvGG77mG45op7vZl0I246pED6dmkCfJEzNGNVg4u0tJssInzymW6JRmo7Sb"
        "JtAwDtcBsKtyMdLwfUp34xc== end",
        "AccountKey [secret] end",
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=abc123XYZ==;"
        "EndpointSuffix=core.windows.net",
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=[secret];"
        "EndpointSuffix=core.windows.net",
    ),
    (
        "JWTはeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0nです",
        "JWTは[secret]です",
    ),
    # Passwords in prose.
    ("パスワードは abc123!x です", "パスワードは [secret] です"),
    ("パスワードは「hunter2」です", "パスワードは「[secret]」です"),
    ("パスワード：hunter2", "パスワード：[secret]"),
    ("PWはpass1234です", "PWは[secret]です"),
    ("ＰＷ：ｐａｓｓ１２３４", "ＰＷ：[secret]"),
    ("暗証番号は0000です", "暗証番号は[secret]です"),
    ("my password is hunter2", "my password is [secret]"),
    ('the password was "S3cr3t!" yesterday', 'the password was "[secret]" yesterday'),
    ("Password is now Tr0ub4dor&3.", "Password is now [secret]."),
    ("pw: letmein42", "pw: [secret]"),
    # Signed-URL signatures and tokens in query strings.
    (
        "https://bucket.s3.amazonaws.com/a.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Signature=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "https://bucket.s3.amazonaws.com/a.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Signature=[secret]",
    ),
    (
        "https://storage.googleapis.com/b/o?X-Goog-Signature=1a2b3c4d5e6f&X-Goog-Expires=900",
        "https://storage.googleapis.com/b/o?X-Goog-Signature=[secret]&X-Goog-Expires=900",
    ),
    (
        "https://d111.cloudfront.net/v.mp4?Expires=1714521600&Signature=Ab~Cd-Ef__&Key-Pair-Id=K2J",
        "https://d111.cloudfront.net/v.mp4?Expires=1714521600&Signature=[secret]&Key-Pair-Id=K2J",
    ),
    (
        "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&se=2024-05-01&sig=AbC%2Bd%3D",
        "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&se=2024-05-01&sig=[secret]",
    ),
    ("https://x.example.com/dl?file=a&token=zz9", "https://x.example.com/dl?file=a&token=[secret]"),
    (
        "https://s3.amazonaws.com/b/k?X-Amz-Security-Token=FwoGZXIvYXdzEJr%2F&X-Amz-Date=20240501",
        "https://s3.amazonaws.com/b/k?X-Amz-Security-Token=[secret]&X-Amz-Date=20240501",
    ),
]

ORDINARY_TEXT_KEPT = [
    # Versions.
    "upgrade to 1.2.3",
    "2.10.0-rc1 broke it",
    "v1.2.3.4 is out",
    "version 1.2.3.4 fixes it",
    "バージョン 10.0.0.1 で直りました",
    "Windows 10.0.19041.1 (build)",
    "Chrome/120.0.0.0 Safari/537.36",
    "python 3.11.4 and numpy 1.26.0 on 10.0.1-beta",
    "OID 1.3.6.1.4.1.311",
    "semantic version 4.2.0 in prose",
    # Dates and times.
    "2024-05-01 のリリース",
    "2024/05/01 12:30:45",
    "令和6年5月1日",
    "10:30-11:45 JST",
    "2024-05-01T12:00:00+09:00",
    # Order, invoice and ticket numbers.
    "INV-2024-000123",
    "注文番号 123456789",
    "order #1234567890",
    "伝票番号 528473619046",
    # Error codes and status.
    "E1001 が出ます",
    "error 0x80070005",
    "HTTP 404 Not Found",
    "exit code 137",
    # Hashes and ids.
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "uuid 550e8400-e29b-41d4-a716-446655440000",
    "guild 353011133330000018",
    "user 4182736450918273640",
    "channel 123456789012345678",
    "fingerprint 16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48",
    "MAC 00:1A:2B:3C:4D:5E",
    # Prices, percentages, postal codes, ports.
    "¥12,800（税込）",
    "$1,299.00 per seat",
    "〒100-0001 東京都千代田区",
    "100-0001",
    "ZIP 94103-1234",
    "localhost:8080 and port 5432",
    "CPU 99.5% / メモリ 80%",
    # Numbers that are not cards or My Numbers.
    "test card 4111 1111 1111 1112 is rejected",
    "番号 123456789019 は違います",
    "1234 5678 9012 3456 7890",
    "SKU ABC-12345-XL",
    "line 1234 of main.py",
    "see lines 10-20",
    # Addresses everyone uses, and code that looks like IPv6.
    "listening on 0.0.0.0:8000",
    "curl 127.0.0.1:5000",
    "netmask 255.255.255.0",
    "ping ::1",
    "address ::",
    "std::vector<int> v;",
    "a::b and Foo::Bar::baz",
    "arr[1::2] and x[::3]",
    # Passwords talked about, not given.
    "the password is incorrect",
    "my password is too long",
    "the password is 8 characters",
    "パスワードは変更できますか",
    "パスワードが違いますと出ます",
    "PWはSSOで管理しています",
    "password was reset yesterday",
    "https://example.com/search?q=signature&page=2",
]


@pytest.mark.parametrize(("raw", "expected"), PASTED_PERSONAL_DATA_AND_SECRETS)
def test_pasted_personal_data_and_secrets_are_masked(raw: str, expected: str):
    assert clean_for_storage(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), PASTED_PERSONAL_DATA_AND_SECRETS)
def test_masked_text_is_left_as_it_is_when_cleaned_again(raw: str, expected: str):
    assert clean_for_storage(expected) == expected


@pytest.mark.parametrize("ordinary", ORDINARY_TEXT_KEPT)
def test_ordinary_text_survives_masking_unchanged(ordinary: str):
    assert clean_for_storage(ordinary) == ordinary


@pytest.mark.parametrize(("raw", "expected"), PASTED_PERSONAL_DATA_AND_SECRETS)
def test_index_text_and_gist_of_stored_text_leave_nothing_to_mask(raw: str, expected: str):
    stored = clean_for_storage(raw)
    for derived in (to_index_text(stored), gist(stored)):
        assert clean_for_storage(derived) == derived


def test_a_card_number_failing_the_luhn_check_is_kept():
    assert clean_for_storage("card 4111111111111112") == "card 4111111111111112"


def test_a_twelve_digit_number_with_a_wrong_check_digit_is_kept():
    assert clean_for_storage("マイナンバー 123456789019") == "マイナンバー 123456789019"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("taro@example.com", "[email]"),
        ("山田 090-1234-5678", "山田 [phone]"),
        ("<@123> ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏｍ", "@member [email]"),
        ("たろう\n@everyone", f"たろう @{ZWSP}everyone"),
        ("", ""),
        ("  \u200b ", ""),
        ("Taro Yamada", "Taro Yamada"),
        ("x" * 40, "x" * 31 + "…"),
    ],
)
def test_display_names_are_cleaned_like_text(raw: str, expected: str):
    assert cleaning.clean_display_name(raw) == expected


# ======================================================================================
# clean_for_storage: shape and bounds
# ======================================================================================


@pytest.mark.parametrize("blank", ["", " ", "\n\n", " \t\r\n\u3000 ", "\x00\x1b"])
def test_blank_input_gives_an_empty_string(blank: str):
    assert clean_for_storage(blank) == ""


def test_newlines_are_normalised():
    assert clean_for_storage("a\r\nb\rc\u2028d\u2029e\x85f") == "a\nb\nc\nd\ne\nf"


def test_control_characters_are_removed_but_tabs_and_newlines_stay():
    raw = "a\x00b\x07c\x1b[31md\x7fe\x9ff\u202eg\ufeffh\tj\nk"
    assert clean_for_storage(raw) == "abc[31mdefgh\tj\nk"


def test_trailing_spaces_are_stripped_on_every_line():
    assert (
        clean_for_storage("a  \nb\t\nc\u3000\n" + fenced("x = 1   ")) == "a\nb\nc\n```\nx = 1\n```"
    )


def test_more_than_two_blank_lines_collapse_to_two():
    assert clean_for_storage("a\n\n\n\n\n\nb") == "a\n\n\nb"
    assert clean_for_storage("a\n\n\nb") == "a\n\n\nb"
    assert clean_for_storage("a\n \n\t\n \n\nb") == "a\n\n\nb"


def test_surrounding_whitespace_is_stripped():
    assert clean_for_storage("\n\n  hello  \n\n") == "hello"


def test_stored_text_keeps_what_people_wrote_without_nfkc():
    raw = "ＡＢＣ１２３ ﾃｽﾄ ① **bold** _it_ ㈱ ｶﾞ"
    assert clean_for_storage(raw) == raw


def test_markdown_is_kept_in_stored_text():
    raw = "# Fix\n> quote\n- **step** with `code` and [docs](https://example.com)"
    assert clean_for_storage(raw) == raw


def test_a_short_code_block_is_kept_exactly():
    raw = "Run:\n" + fenced("pip install senpai\nsenpai run", "sh")
    assert clean_for_storage(raw) == raw


def test_a_long_code_block_is_bounded_inside_its_fence_keeping_head_and_tail():
    log = "\n".join(f"line {i:04d} something happened" for i in range(400))
    raw = "Intro.\n" + fenced(log, "py") + "\nOutro."
    cleaned = clean_for_storage(raw)
    (content,) = fence_contents(cleaned)
    assert len(content) <= MAX_CODE_BLOCK_CHARS
    assert "\n…\n" in content
    assert content.startswith("line 0000 something happened\n")
    assert content.rstrip("\n").endswith("line 0399 something happened")
    assert cleaned.startswith("Intro.\n```py\n")
    assert cleaned.endswith("```\nOutro.")


def test_each_code_block_is_bounded_separately():
    block = fenced("x" * 5000)
    cleaned = clean_for_storage(f"{block}\nbetween\n{block}", max_chars=100_000)
    contents = fence_contents(cleaned)
    assert len(contents) == 2
    assert all(len(content) <= MAX_CODE_BLOCK_CHARS for content in contents)
    assert "between" in cleaned


def test_a_code_block_exactly_at_its_bound_is_kept_whole():
    code = "y" * MAX_CODE_BLOCK_CHARS
    assert clean_for_storage(f"```{code}```") == f"```{code}```"


def test_text_exactly_at_the_bound_is_kept_whole():
    raw = "a" * MAX_STORED_CHARS
    assert clean_for_storage(raw) == raw


def test_text_one_character_over_the_bound_is_cut_with_an_ellipsis():
    cleaned = clean_for_storage("a" * (MAX_STORED_CHARS + 1))
    assert len(cleaned) == MAX_STORED_CHARS
    assert cleaned == "a" * (MAX_STORED_CHARS - 1) + "…"


def test_the_bound_can_be_chosen_per_call():
    assert clean_for_storage("hello world", max_chars=6) == "hello…"
    assert clean_for_storage("hello world", max_chars=1) == "…"


def test_japanese_text_is_cut_on_a_character_boundary():
    cleaned = clean_for_storage("設定を確認してください。" * 10, max_chars=10)
    assert cleaned == "設定を確認してくだ…"


def test_a_cut_never_splits_an_emoji_sequence():
    family = "👨\u200d👩\u200d👧"
    cleaned = clean_for_storage("ok👍🏽" + family * 3, max_chars=6)
    assert cleaned == "ok👍🏽…"


def test_a_cut_inside_a_code_block_closes_the_fence():
    raw = "x" * 50 + "\n" + fenced("y" * 100) + "\nafter"
    cleaned = clean_for_storage(raw, max_chars=80)
    assert len(cleaned) == 80
    assert cleaned.endswith("y\n…\n```")
    assert cleaned.count("```") == 2


def test_a_cut_in_the_opening_fence_drops_the_block():
    raw = "x" * 50 + "\n" + fenced("y" * 100)
    assert clean_for_storage(raw, max_chars=54) == "x" * 50 + "…"


@pytest.mark.parametrize("max_chars", [0, -1])
def test_a_bound_below_one_is_refused(max_chars: int):
    with pytest.raises(ValueError, match="max_chars"):
        clean_for_storage("text", max_chars=max_chars)


def test_a_megabyte_message_is_masked_and_bounded():
    line = "ERROR user=taro@example.com token=abc123 tel 090-1234-5678 <@1> @everyone\n"
    raw = line * (MEGABYTE // len(line))
    cleaned = clean_for_storage(raw)
    assert len(cleaned) <= MAX_STORED_CHARS
    assert cleaned.endswith("…")
    for leaked in ("taro@example.com", "abc123", "090-1234-5678", "<@1>", "@everyone"):
        assert leaked not in cleaned


def test_a_megabyte_log_in_one_code_block_is_bounded():
    raw = "help\n" + fenced("Traceback line\n" * (MEGABYTE // 15) + "ValueError: boom")
    cleaned = clean_for_storage(raw)
    assert len(cleaned) <= MAX_CODE_BLOCK_CHARS + 20
    assert "ValueError: boom" in cleaned


PATHOLOGICAL_SIZE = 100_000  # enough for a quadratic pattern to hang the suite


@pytest.mark.parametrize(
    "pathological",
    [
        "a" * PATHOLOGICAL_SIZE,
        " " * PATHOLOGICAL_SIZE + "x",
        "." * PATHOLOGICAL_SIZE + "x",
        "a@" * (PATHOLOGICAL_SIZE // 2),
        "a.b-c" * (PATHOLOGICAL_SIZE // 5) + "@",
        "0-" * (PATHOLOGICAL_SIZE // 2),
        "+1 " * (PATHOLOGICAL_SIZE // 3),
        "`" * PATHOLOGICAL_SIZE,
        "x `" * (PATHOLOGICAL_SIZE // 3),
        "```a" * (PATHOLOGICAL_SIZE // 4),
        "a_" * (PATHOLOGICAL_SIZE // 2) + "password",
        "eyJ" * (PATHOLOGICAL_SIZE // 3),
        "[a](" * (PATHOLOGICAL_SIZE // 4),
        "x *b" * (PATHOLOGICAL_SIZE // 4),
        "x **b" * (PATHOLOGICAL_SIZE // 5),
        "x _b" * (PATHOLOGICAL_SIZE // 4),
        "x ~~b" * (PATHOLOGICAL_SIZE // 5),
        "||b" * (PATHOLOGICAL_SIZE // 3),
        "1." * (PATHOLOGICAL_SIZE // 2),
        "1:" * (PATHOLOGICAL_SIZE // 2),
        "a::" * (PATHOLOGICAL_SIZE // 3),
        "1 " * (PATHOLOGICAL_SIZE // 2),
        "4111-" * (PATHOLOGICAL_SIZE // 5),
        "１" * PATHOLOGICAL_SIZE,
        "aB1/" * (PATHOLOGICAL_SIZE // 4),
        "password is " * (PATHOLOGICAL_SIZE // 12),
        "パスワードは" * (PATHOLOGICAL_SIZE // 6),
        "?sig=&token=" * (PATHOLOGICAL_SIZE // 12),
        "0ー" * (PATHOLOGICAL_SIZE // 2),
    ],
    ids=[
        "letters",
        "spaces",
        "dots",
        "at-signs",
        "scheme-like",
        "dashes",
        "plus-signs",
        "backticks",
        "open-inline-code",
        "open-fences",
        "key",
        "jwt",
        "links",
        "open-italics",
        "open-bold",
        "open-underscores",
        "open-strikes",
        "open-spoilers",
        "dotted-digits",
        "colon-digits",
        "double-colons",
        "spaced-digits",
        "card-groups",
        "full-width-digits",
        "base64-slashes",
        "prose-password",
        "japanese-password",
        "query-params",
        "prolonged-marks",
    ],
)
def test_pathological_inputs_are_handled_in_linear_time(pathological: str):
    for function in (clean_for_storage, to_index_text, gist, detect_language):
        assert isinstance(function(pathological), str)


@pytest.mark.parametrize(
    "raw",
    [
        "Hi <@1>, @everyone: mail x@y.io or call +81 90-1234-5678.\n\n\n\n\nBye  ",
        "password=hunter2\n" + fenced("\n".join(f"log {i}" for i in range(1000)), "txt"),
        "設定画面で「連携」を押してください。\r\nAuthorization: Bearer abc123456789",
        "x" * 5000,
        "x" * 3990 + "\n" + fenced("y" * 100),
    ],
)
def test_cleaning_cleaned_text_changes_nothing(raw: str):
    once = clean_for_storage(raw)
    assert clean_for_storage(once) == once


def test_a_typical_japanese_support_message_is_cleaned_end_to_end():
    raw = (
        "<@123> さん、ありがとうございます！\r\n"
        "管理者（taro@example.co.jp / 03-1234-5678）に確認したところ、\r\n"
        "```\nAPI_KEY=abcDEF123456\n```\n"
        "で直りました <:ok:42>   \n\n\n\n\n@here"
    )
    assert clean_for_storage(raw) == (
        "@member さん、ありがとうございます！\n"
        "管理者（[email] / [phone]）に確認したところ、\n"
        "```\nAPI_KEY=[secret]\n```\n"
        f"で直りました :ok:\n\n\n@{ZWSP}here"
    )


# ======================================================================================
# to_index_text
# ======================================================================================


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("# Title", "Title"),
        ("## Sub\n### Subsub", "Sub Subsub"),
        ("-# small print", "small print"),
        ("> quoted\n>>> all the rest", "quoted all the rest"),
        ("**bold** *italic* __under__ _it_ ~~gone~~", "bold italic under it gone"),
        ("||spoiler|| here", "spoiler here"),
        ("- one\n* two\n+ three\n• four\n1. five\n2) six\n・七", "one two three four five six 七"),
        ("see [the docs](https://docs.example.com/setup?x=1)", "see the docs"),
        ("see [docs](<https://docs.example.com/setup>)", "see docs"),
        ("go https://www.example.com/a/b/?utm=1#frag.", "go example.com/a/b."),
        ("go <https://example.com/path>", "go example.com/path"),
        (
            "wiki https://en.wikipedia.org/wiki/Foo_(bar) ok",
            "wiki en.wikipedia.org/wiki/Foo_(bar) ok",
        ),
        ("login at http://user@intranet:8080/login", "login at intranet:8080/login"),
        ("run `pip install senpai`", "run pip install senpai"),
        ("run ``a `b` c``", "run a `b` c"),
    ],
)
def test_markdown_is_reduced_to_plain_text(raw: str, expected: str):
    assert to_index_text(raw) == expected


def test_nested_markdown_is_reduced_to_its_words():
    raw = "> ***bold italic*** and **__under bold__** and ||**secret _plan_**||"
    assert to_index_text(raw) == "bold italic and under bold and secret plan"


def test_snake_case_and_arithmetic_are_not_taken_for_markdown():
    assert to_index_text("my_var_name and 2 * 3 * 4") == "my_var_name and 2 * 3 * 4"


def test_escaped_markdown_characters_stay_literal():
    assert (
        to_index_text(r"\*not italic\* and \_x\_ and 1\. item")
        == "*not italic* and _x_ and 1. item"
    )


def test_markdown_inside_code_is_kept_as_code():
    raw = "call `__init__` with\n" + fenced("def f(*args, **kwargs):\n    return __init__", "py")
    assert to_index_text(raw) == "call __init__ with def f(*args, **kwargs): return __init__"


def test_fenced_code_loses_fences_and_language_tag():
    assert to_index_text("Run:\n" + fenced("npm ci", "bash")) == "Run: npm ci"


def test_a_long_code_block_is_bounded_in_index_text():
    log = "\n".join(f"frame{i}" for i in range(1000))
    indexed = to_index_text("before " + fenced(log) + " after", max_chars=10_000)
    assert indexed.startswith("before frame0 frame1")
    assert indexed.endswith("frame999 after")
    code_part = indexed.removeprefix("before ").removesuffix(" after")
    assert len(code_part) <= MAX_INDEX_CODE_BLOCK_CHARS


def test_nfkc_makes_full_width_text_match_ascii():
    assert to_index_text("ＡＢＣ１２３ ＡＰＩキー") == "ABC123 APIキー"


def test_nfkc_makes_half_width_katakana_full_width():
    assert to_index_text("ﾛｸﾞｲﾝできません") == "ログインできません"


def test_full_width_markdown_is_reduced_after_nfkc():
    assert to_index_text("＊＊重要＊＊") == "重要"


def test_masked_placeholders_stay_in_index_text():
    raw = "mail [email], call [phone], key [secret], @member in #channel"
    assert to_index_text(raw) == raw


def test_zero_width_characters_are_removed_from_index_text():
    assert to_index_text(f"@{ZWSP}everyone a{ZWSP}b") == "@everyone ab"


def test_whitespace_is_collapsed_in_index_text():
    assert to_index_text("a \n\n\t b\u3000c  ") == "a b c"


def test_index_text_is_cut_at_a_space_near_the_bound():
    indexed = to_index_text("word " * 100, max_chars=52)
    assert indexed == ("word " * 10).strip()


def test_japanese_index_text_is_cut_at_the_bound():
    assert to_index_text("設定を確認してください。" * 10, max_chars=7) == "設定を確認して"


@pytest.mark.parametrize("blank", ["", "  \n ", "\u200b"])
def test_blank_text_gives_empty_index_text(blank: str):
    assert to_index_text(blank) == ""


def test_index_text_of_cleaned_text_is_plain():
    cleaned = clean_for_storage("**Fix**: set <@1> as owner, see https://example.com/docs/sso?x=1")
    assert to_index_text(cleaned) == "Fix: set @member as owner, see example.com/docs/sso"


def test_japanese_markdown_is_reduced_to_plain_text():
    raw = "## 解決方法\n- **設定**を確認\n> 「保存」を押す\n・再起動する"
    assert to_index_text(raw) == "解決方法 設定を確認 「保存」を押す 再起動する"


# ======================================================================================
# gist
# ======================================================================================


def test_a_short_text_is_its_own_gist_without_markdown():
    assert gist("**Fixed**: restart the _bot_.") == "Fixed: restart the bot."


def test_a_gist_is_a_single_paragraph():
    assert gist("# Title\n\nFirst line.\nSecond line.") == "Title First line. Second line."


def test_code_blocks_are_dropped_from_a_gist():
    assert gist("Run this:\n" + fenced("rm -rf build", "sh") + "\nthen retry.") == (
        "Run this: then retry."
    )


def test_inline_code_keeps_its_content_in_a_gist():
    assert gist("Set `timeout` to 30.") == "Set timeout to 30."


def test_a_gist_of_only_code_says_code():
    assert gist(fenced("print('hi')", "py")) == "[code]"


def test_a_long_gist_is_cut_at_the_last_sentence_end_that_fits():
    text = "This is the first sentence. " * 3 + "And then a very long tail " * 20
    result = gist(text)
    assert result == ("This is the first sentence. " * 3).strip() + "…"


def test_a_japanese_gist_is_cut_at_a_japanese_sentence_end():
    text = "設定画面から連携を解除して、もう一度認証し直したら直りました。" * 10
    result = gist(text, max_chars=80)
    assert result == "設定画面から連携を解除して、もう一度認証し直したら直りました。" * 2 + "…"


def test_a_japanese_gist_drops_markdown_and_code():
    raw = "**結論**：キャッシュを削除してください。\n" + fenced("rm -rf ~/.cache/senpai", "sh")
    assert gist(raw) == "結論：キャッシュを削除してください。"


@pytest.mark.parametrize("end", ["！", "？", "!", "?"])
def test_exclamation_and_question_marks_end_sentences(end: str):
    first = "Did you try restarting the integration first" + end
    text = f"{first} {'then more words follow here ' * 20}"
    assert gist(text, max_chars=80) == first + "…"


def test_a_dot_inside_a_version_does_not_end_a_sentence():
    text = "Upgrade to v2.13.0 and everything works again for everyone involved " * 4
    result = gist(text, max_chars=60)
    assert result.endswith("…")
    assert "v2.…" not in result
    assert result == "Upgrade to v2.13.0 and everything works again for everyone…"


def test_a_gist_without_sentence_ends_is_cut_at_a_word_boundary():
    assert gist("word " * 100, max_chars=23) == "word word word word…"


def test_a_japanese_gist_without_sentence_ends_is_cut_anywhere():
    assert gist("設定を確認してください" * 10, max_chars=8) == "設定を確認して…"


def test_a_single_long_word_is_cut_hard():
    assert gist("a" * 500, max_chars=10) == "a" * 9 + "…"


def test_a_gist_never_exceeds_its_bound():
    texts = ["word " * 100, "設定。" * 100, "a" * 1000, "Hi. " * 100, "x" + " y" * 300]
    for text in texts:
        for bound in (1, 2, 5, 17, 180):
            assert len(gist(text, max_chars=bound)) <= bound


@pytest.mark.parametrize(
    "odd", ["**", "> ", "#", "||||", "``````", "-", "\u200b", "・", fenced("")]
)
def test_a_gist_of_non_blank_text_is_never_empty(odd: str):
    assert gist(odd) != ""


@pytest.mark.parametrize("blank", ["", "   ", "\n\t\n", "\x00"])
def test_a_gist_of_blank_text_is_empty(blank: str):
    assert gist(blank) == ""


def test_a_gist_keeps_full_width_text_as_written():
    assert gist("ＡＰＩキーを再発行しました。") == "ＡＰＩキーを再発行しました。"


@pytest.mark.parametrize("max_chars", [0, -5])
def test_a_gist_bound_below_one_is_refused(max_chars: int):
    with pytest.raises(ValueError, match="max_chars"):
        gist("text", max_chars=max_chars)


# ======================================================================================
# detect_language
# ======================================================================================


@pytest.mark.parametrize(
    "japanese",
    [
        "解決しました",
        "エラー",
        "ありがとうございます！",
        "ﾛｸﾞｲﾝできません",
        "Salesforceの設定",
        "SalesforceのOAuth連携でエラーが出ます",
        "SSO設定 (SAML) でIdPのmetadata URLを入れてもInvalid Responseになります",
        "Webhook URLを設定してもeventが飛んできません。",
        "Zapier経由でHubSpotにdealを作成するとtimeoutになる",
        "「Save」を押しても反応がない",
        "ＡＰＩの設定がわかりません",
        "エラー 404",
    ],
)
def test_japanese_text_is_detected_as_japanese(japanese: str):
    assert detect_language(japanese) == "ja"


@pytest.mark.parametrize(
    "english",
    [
        "How do I reset my password?",
        'When I click Save I get "保存に失敗しました" and nothing happens.',
        "When I click Save I get 「保存に失敗しました」 and nothing happens.",
        "I get 接続エラー when I log in.",
        "The button label says 保存 but nothing is saved.",
        "Our Tokyo office (東京) cannot log in since the update.",
        "The menu item おすすめ is missing from the dashboard after the update",
    ],
)
def test_english_text_quoting_japanese_stays_english(english: str):
    assert detect_language(english) == "en"


def test_a_japanese_question_with_an_english_log_is_japanese():
    log = 'Traceback (most recent call last):\n  File "app.py", line 1\nValueError: invalid literal'
    assert detect_language("ログインできません\n" + fenced(log * 20)) == "ja"


def test_an_english_question_with_a_japanese_log_is_english():
    log = "エラー：認証に失敗しました。管理者に連絡してください。\n"
    assert detect_language("Login fails with this output:\n" + fenced(log * 20)) == "en"


def test_urls_mentions_and_placeholders_do_not_count_as_english():
    text = "https://example.com/some/long/english/path @member [email] :thumbsup: 直りました"
    assert detect_language(text) == "ja"


def test_text_made_only_of_code_is_judged_on_the_code():
    assert detect_language(fenced("print('こんにちは')")) == "ja"
    assert detect_language(fenced("print('hello world')")) == "en"


@pytest.mark.parametrize("no_letters", ["", "   ", "12345", "!!!", "👍"])
def test_text_without_letters_is_english(no_letters: str):
    assert detect_language(no_letters) == "en"


# ======================================================================================
# escape_markdown
# ======================================================================================


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("*bold*", r"\*bold\*"),
        ("_it_", r"\_it\_"),
        ("~~gone~~", r"\~\~gone\~\~"),
        ("||spoiler||", r"\|\|spoiler\|\|"),
        ("`code`", r"\`code\`"),
        ("[text](https://example.com)", r"\[text\](https://example.com)"),
        ("back\\slash", "back\\\\slash"),
        ("# header", r"\# header"),
        ("-# subtext", r"\-# subtext"),
        ("> quote", r"\> quote"),
        (">>> quote", r"\>>> quote"),
        ("- item", r"\- item"),
        ("+ item", r"\+ item"),
        ("  - nested", r"  \- nested"),
        ("1. first", r"1\. first"),
        ("a\n# b\n> c", "a\n\\# b\n\\> c"),
    ],
)
def test_markdown_characters_are_escaped(raw: str, expected: str):
    assert escape_markdown(raw) == expected


@pytest.mark.parametrize(
    "literal",
    [
        "a > b and c # d - e + f",
        "2024-05-01 (Wed) 1.5 times",
        "設定を確認してください。「保存」を押します。",
        "plain words only",
    ],
)
def test_characters_that_only_matter_at_a_line_start_are_left_elsewhere(literal: str):
    assert escape_markdown(literal) == literal


def test_urls_are_not_escaped_so_links_keep_working():
    text = "see https://example.com/my_page?a=*b* now _x_"
    assert escape_markdown(text) == r"see https://example.com/my_page?a=*b* now \_x\_"


def test_escaping_undoes_to_plain_text_in_index_text():
    raw = "**not bold** and _x_ ~~y~~ ||z|| `c` [a](b)"
    assert to_index_text(escape_markdown(raw)) == unicodedata.normalize("NFKC", raw)


# ======================================================================================
# Module hygiene
# ======================================================================================


def test_the_cleaning_module_does_not_import_discord():
    tree = ast.parse(Path(cleaning.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "discord" not in imported


def test_regular_expressions_are_compiled_once_at_module_level():
    tree = ast.parse(Path(cleaning.__file__).read_text(encoding="utf-8"))
    calls_in_functions = [
        call.func.attr
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef)
        for call in ast.walk(function)
        if isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "re"
    ]
    assert calls_in_functions == []
