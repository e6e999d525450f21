"""Checks Discord applies to what a bot sends, plus Senpai's ping-safety rule.

Every check returns a list of :class:`Problem`. A *hard* problem is one Discord
rejects with ``400``; a soft one (ping safety) Discord accepts, but the server
records it as a violation so the test fails.

Limits are Discord's documented ones (message, embed, component, modal and
application-command limits).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER_TEXT = 2048
MAX_AUTHOR_NAME = 256
MAX_ACTION_ROWS = 5
MAX_ROW_BUTTONS = 5
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_URL = 512
MAX_SELECT_OPTIONS = 25
MAX_SELECT_PLACEHOLDER = 150
MAX_OPTION_TEXT = 100
MAX_V2_COMPONENTS = 40
MAX_MODAL_TITLE = 45
MAX_MODAL_COMPONENTS = 5
MAX_TEXT_INPUT = 4000
MAX_APPLIED_TAGS = 5

LOCALES = frozenset(
    {
        "id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu",
        "nl", "no", "pl", "pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru",
        "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko",
    }
)  # fmt: skip

IS_COMPONENTS_V2 = 1 << 15

# Discord's regex is ^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$; Python's \w covers
# letters, digits and the underscore for every script, which is close enough.
_COMMAND_NAME = re.compile(r"^[-_'\w]{1,32}$")

_BUTTON = 2
_SELECT_TYPES = {3, 5, 6, 7, 8}
_TEXT_INPUT = 4
_ACTION_ROW = 1
_LABEL = 18


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a payload.

    ``rule`` names the violation, ``field`` the dotted path in the payload
    (``embeds.0.title``), ``code`` Discord's error code for the field.
    """

    rule: str
    field: str
    code: str
    message: str
    hard: bool = True

    def as_form_error(self) -> tuple[str, str, str]:
        """``(field, code, message)`` for :func:`localdiscord.errors.invalid_form_body`."""
        return (self.field, self.code, self.message)


def _too_long(rule: str, path: str, value: object, limit: int) -> list[Problem]:
    if isinstance(value, str) and len(value) > limit:
        return [
            Problem(
                rule,
                path,
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {limit} or fewer in length (got {len(value)}).",
            )
        ]
    return []


def _required_text(rule: str, path: str, value: object, limit: int) -> list[Problem]:
    if not isinstance(value, str) or not value.strip():
        return [Problem(rule, path, "BASE_TYPE_REQUIRED", "This field is required")]
    return _too_long(rule, path, value, limit)


def _bad_url(
    rule: str, path: str, value: object, *, allow_attachment: bool = True
) -> list[Problem]:
    if value is None:
        return []
    schemes = {"http", "https", "attachment"} if allow_attachment else {"http", "https"}
    if not isinstance(value, str) or urlparse(value).scheme not in schemes:
        return [Problem(rule, path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")]
    return _too_long(rule, path, value, 2048)


# --------------------------------------------------------------------------- messages


def check_message(
    payload: Mapping[str, Any],
    *,
    creating: bool,
    has_files: bool = False,
    is_reply: bool = False,
    require_safe_mentions: bool = True,
) -> list[Problem]:
    """Check a message payload (create, edit, webhook or interaction message).

    ``creating`` is false for edits, which may leave every field out.
    """
    problems: list[Problem] = []
    content = payload.get("content")
    embeds = payload.get("embeds")
    components = payload.get("components")
    flags = int(payload.get("flags") or 0)
    v2 = bool(flags & IS_COMPONENTS_V2)

    if content is not None and not isinstance(content, str):
        problems.append(Problem("content_type", "content", "BASE_TYPE_STRING", "Must be a string."))
    problems += _too_long("content_length", "content", content, MAX_CONTENT)

    if creating and not (
        content
        or embeds
        or components
        or has_files
        or payload.get("sticker_ids")
        or payload.get("poll")
        or payload.get("attachments")
    ):
        problems.append(Problem("empty_message", "", "50006", "Cannot send an empty message"))

    if v2 and (content or embeds):
        problems.append(
            Problem(
                "components_v2",
                "content" if content else "embeds",
                "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
                "The 'content' and 'embeds' fields cannot be used with IS_COMPONENTS_V2.",
            )
        )
    if embeds is not None:
        problems += check_embeds(embeds)
    if components is not None:
        problems += check_components(components, v2=v2)
    problems += check_allowed_mentions(
        payload.get("allowed_mentions"),
        present="allowed_mentions" in payload,
        is_reply=is_reply,
        require_safe=require_safe_mentions,
    )
    return problems


def embed_length(embed: Mapping[str, Any]) -> int:
    """Characters that count toward the 6000 total, as Discord counts them."""
    total = len(str(embed.get("title") or "")) + len(str(embed.get("description") or ""))
    for item in embed.get("fields") or []:
        total += len(str(item.get("name") or "")) + len(str(item.get("value") or ""))
    total += len(str((embed.get("footer") or {}).get("text") or ""))
    total += len(str((embed.get("author") or {}).get("name") or ""))
    return total


def check_embeds(embeds: object) -> list[Problem]:
    """Check the embeds of a message against Discord's embed limits."""
    rule = "embed_limits"
    if not isinstance(embeds, list):
        return [Problem(rule, "embeds", "BASE_TYPE_ARRAY", "Must be an array.")]
    problems: list[Problem] = []
    if len(embeds) > MAX_EMBEDS:
        problems.append(
            Problem(
                rule,
                "embeds",
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {MAX_EMBEDS} or fewer in length (got {len(embeds)}).",
            )
        )
    total = 0
    for i, embed in enumerate(embeds):
        at = f"embeds.{i}"
        if not isinstance(embed, dict):
            problems.append(Problem(rule, at, "MODEL_TYPE_CONVERT", "Must be an object."))
            continue
        total += embed_length(embed)
        problems += _too_long(rule, f"{at}.title", embed.get("title"), MAX_EMBED_TITLE)
        problems += _too_long(
            rule, f"{at}.description", embed.get("description"), MAX_EMBED_DESCRIPTION
        )
        problems += _bad_url(rule, f"{at}.url", embed.get("url"), allow_attachment=False)
        color = embed.get("color")
        if color is not None and (not isinstance(color, int) or not 0 <= color <= 0xFFFFFF):
            problems.append(
                Problem(rule, f"{at}.color", "NUMBER_TYPE_MAX", "Must be between 0 and 16777215.")
            )
        fields = embed.get("fields") or []
        if len(fields) > MAX_EMBED_FIELDS:
            problems.append(
                Problem(
                    rule,
                    f"{at}.fields",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {MAX_EMBED_FIELDS} or fewer in length (got {len(fields)}).",
                )
            )
        for j, item in enumerate(fields):
            problems += _required_text(
                rule, f"{at}.fields.{j}.name", item.get("name"), MAX_FIELD_NAME
            )
            problems += _required_text(
                rule, f"{at}.fields.{j}.value", item.get("value"), MAX_FIELD_VALUE
            )
        footer = embed.get("footer")
        if footer is not None:
            problems += _too_long(rule, f"{at}.footer.text", footer.get("text"), MAX_FOOTER_TEXT)
            problems += _bad_url(rule, f"{at}.footer.icon_url", footer.get("icon_url"))
        author = embed.get("author")
        if author is not None:
            problems += _too_long(rule, f"{at}.author.name", author.get("name"), MAX_AUTHOR_NAME)
            problems += _bad_url(rule, f"{at}.author.url", author.get("url"))
            problems += _bad_url(rule, f"{at}.author.icon_url", author.get("icon_url"))
        for key in ("image", "thumbnail"):
            media = embed.get(key)
            if media is not None:
                problems += _bad_url(rule, f"{at}.{key}.url", media.get("url"))
    if total > MAX_EMBED_TOTAL:
        problems.append(
            Problem(
                rule,
                "embeds",
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL} (got {total}).",
            )
        )
    return problems


def check_allowed_mentions(
    allowed: object,
    *,
    present: bool,
    is_reply: bool = False,
    require_safe: bool = True,
) -> list[Problem]:
    """Check ``allowed_mentions``: Discord's own rules, then the ping-safety rule.

    Ping safety: every message must carry ``allowed_mentions`` that can ping nobody,
    that is ``{"parse": []}`` with no ``users``/``roles`` and ``replied_user`` false or
    absent (also for replies).
    """
    problems: list[Problem] = []
    if allowed is not None and not isinstance(allowed, dict):
        return [
            Problem(
                "allowed_mentions", "allowed_mentions", "MODEL_TYPE_CONVERT", "Must be an object."
            )
        ]
    if isinstance(allowed, dict):
        parse = allowed.get("parse") or []
        for kind in ("users", "roles"):
            if kind in parse and allowed.get(kind):
                problems.append(
                    Problem(
                        "allowed_mentions",
                        f"allowed_mentions.{kind}",
                        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        f'parse:["{kind}"] and {kind}: [ids...] are mutually exclusive.',
                    )
                )
    if not require_safe:
        return problems
    if not present or allowed is None:
        problems.append(
            Problem(
                "allowed_mentions",
                "allowed_mentions",
                "PING_SAFETY",
                "message sent without allowed_mentions; it may ping whoever its text mentions",
                hard=False,
            )
        )
        return problems
    assert isinstance(allowed, dict)
    unsafe: list[str] = []
    if allowed.get("parse"):
        unsafe.append(f"parse={allowed.get('parse')!r}")
    if allowed.get("users"):
        unsafe.append(f"users={allowed.get('users')!r}")
    if allowed.get("roles"):
        unsafe.append(f"roles={allowed.get('roles')!r}")
    if allowed.get("replied_user"):
        unsafe.append("replied_user=true" + (" (on a reply)" if is_reply else ""))
    if unsafe:
        problems.append(
            Problem(
                "allowed_mentions",
                "allowed_mentions",
                "PING_SAFETY",
                "allowed_mentions can ping: " + ", ".join(unsafe),
                hard=False,
            )
        )
    return problems


# ------------------------------------------------------------------------- components


def _walk_components(items: Sequence[Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for i, item in enumerate(items):
        at = f"{path}.{i}"
        if not isinstance(item, dict):
            continue
        yield at, item
        children = item.get("components")
        if isinstance(children, list):
            yield from _walk_components(children, f"{at}.components")
        for key in ("accessory", "component"):
            child = item.get(key)
            if isinstance(child, dict):
                yield f"{at}.{key}", child
                nested = child.get("components")
                if isinstance(nested, list):
                    yield from _walk_components(nested, f"{at}.{key}.components")


def _check_button(at: str, button: Mapping[str, Any]) -> list[Problem]:
    rule = "component_limits"
    problems: list[Problem] = []
    style = button.get("style")
    if style not in (1, 2, 3, 4, 5, 6):
        problems.append(
            Problem(
                rule, f"{at}.style", "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}."
            )
        )
    problems += _too_long(rule, f"{at}.label", button.get("label"), MAX_BUTTON_LABEL)
    if style == 5:
        if not button.get("url"):
            problems.append(
                Problem(
                    rule, f"{at}.url", "BUTTON_COMPONENT_URL_REQUIRED", "A link button needs a url."
                )
            )
        else:
            problems += _bad_url(rule, f"{at}.url", button.get("url"), allow_attachment=False)
            problems += _too_long(rule, f"{at}.url", button.get("url"), MAX_URL)
        if "custom_id" in button:
            problems.append(
                Problem(
                    rule,
                    f"{at}.custom_id",
                    "BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED",
                    "A link button cannot have a custom_id.",
                )
            )
    elif style == 6:
        if not button.get("sku_id"):
            problems.append(
                Problem(
                    rule, f"{at}.sku_id", "BASE_TYPE_REQUIRED", "A premium button needs a sku_id."
                )
            )
    else:
        if not button.get("custom_id"):
            problems.append(
                Problem(
                    rule,
                    f"{at}.custom_id",
                    "BUTTON_COMPONENT_CUSTOM_ID_REQUIRED",
                    "A non-link button needs a custom_id.",
                )
            )
        if "url" in button:
            problems.append(
                Problem(
                    rule,
                    f"{at}.url",
                    "BUTTON_COMPONENT_URL_NOT_ALLOWED",
                    "Only link buttons can have a url.",
                )
            )
    if style != 6 and not button.get("label") and not button.get("emoji"):
        problems.append(
            Problem(
                rule, f"{at}.label", "BASE_TYPE_REQUIRED", "A button needs a label or an emoji."
            )
        )
    return problems


def _check_select(at: str, select: Mapping[str, Any]) -> list[Problem]:
    rule = "component_limits"
    problems: list[Problem] = []
    if not select.get("custom_id"):
        problems.append(
            Problem(rule, f"{at}.custom_id", "BASE_TYPE_REQUIRED", "This field is required")
        )
    problems += _too_long(
        rule, f"{at}.placeholder", select.get("placeholder"), MAX_SELECT_PLACEHOLDER
    )
    low = select.get("min_values", 1)
    high = select.get("max_values", 1)
    if not isinstance(low, int) or not 0 <= low <= 25:
        problems.append(
            Problem(rule, f"{at}.min_values", "NUMBER_TYPE_MAX", "Must be between 0 and 25.")
        )
    if not isinstance(high, int) or not 1 <= high <= 25:
        problems.append(
            Problem(rule, f"{at}.max_values", "NUMBER_TYPE_MAX", "Must be between 1 and 25.")
        )
    elif isinstance(low, int) and low > high:
        problems.append(
            Problem(
                rule,
                f"{at}.min_values",
                "SELECT_COMPONENT_MIN_VALUES_TOO_HIGH",
                "min_values exceeds max_values.",
            )
        )
    if select.get("type") == 3:
        options = select.get("options") or []
        if not 1 <= len(options) <= MAX_SELECT_OPTIONS:
            problems.append(
                Problem(
                    rule,
                    f"{at}.options",
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {MAX_SELECT_OPTIONS} in length.",
                )
            )
        if isinstance(high, int) and high > len(options):
            problems.append(
                Problem(
                    rule,
                    f"{at}.max_values",
                    "SELECT_COMPONENT_MAX_VALUES_TOO_HIGH",
                    "max_values exceeds the number of options.",
                )
            )
        values: set[str] = set()
        for j, option in enumerate(options):
            opt_at = f"{at}.options.{j}"
            problems += _required_text(
                rule, f"{opt_at}.label", option.get("label"), MAX_OPTION_TEXT
            )
            problems += _required_text(
                rule, f"{opt_at}.value", option.get("value"), MAX_OPTION_TEXT
            )
            problems += _too_long(
                rule, f"{opt_at}.description", option.get("description"), MAX_OPTION_TEXT
            )
            value = str(option.get("value"))
            if value in values:
                problems.append(
                    Problem(
                        rule,
                        f"{opt_at}.value",
                        "SELECT_COMPONENT_OPTION_VALUE_DUPLICATED",
                        "Option values must be unique.",
                    )
                )
            values.add(value)
    return problems


def check_components(components: object, *, v2: bool = False) -> list[Problem]:
    """Check message components: rows, buttons, selects, custom ids."""
    rule = "component_limits"
    if not isinstance(components, list):
        return [Problem(rule, "components", "BASE_TYPE_ARRAY", "Must be an array.")]
    problems: list[Problem] = []
    if not v2:
        if len(components) > MAX_ACTION_ROWS:
            problems.append(
                Problem(
                    rule,
                    "components",
                    "BASE_TYPE_MAX_LENGTH",
                    f"Must be {MAX_ACTION_ROWS} or fewer in length (got {len(components)}).",
                )
            )
        for i, row in enumerate(components):
            at = f"components.{i}"
            if not isinstance(row, dict) or row.get("type") != _ACTION_ROW:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.type",
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED"
                        if isinstance(row, dict)
                        else "MODEL_TYPE_CONVERT",
                        "Top-level components must be action rows (without IS_COMPONENTS_V2).",
                    )
                )
                continue
            children = row.get("components") or []
            if not children:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.components",
                        "BASE_TYPE_BAD_LENGTH",
                        "An action row needs at least one component.",
                    )
                )
            buttons = [c for c in children if isinstance(c, dict) and c.get("type") == _BUTTON]
            selects = [
                c for c in children if isinstance(c, dict) and c.get("type") in _SELECT_TYPES
            ]
            if len(buttons) > MAX_ROW_BUTTONS:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.components",
                        "BASE_TYPE_MAX_LENGTH",
                        f"At most {MAX_ROW_BUTTONS} buttons per row (got {len(buttons)}).",
                    )
                )
            if selects and len(children) > 1:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.components",
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "A select menu must be alone in its action row.",
                    )
                )
            for child in children:
                if isinstance(child, dict) and child.get("type") in (_ACTION_ROW, _TEXT_INPUT):
                    problems.append(
                        Problem(
                            rule,
                            f"{at}.components",
                            "COMPONENT_TYPE_INVALID",
                            f"Component type {child.get('type')} is not allowed in a message row.",
                        )
                    )
    total = 0
    seen: set[str] = set()
    for at, item in _walk_components(components, "components"):
        total += 1
        kind = item.get("type")
        if "custom_id" in item:
            custom_id = item.get("custom_id")
            if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.custom_id",
                        "BASE_TYPE_BAD_LENGTH",
                        f"Must be between 1 and {MAX_CUSTOM_ID} in length.",
                    )
                )
            elif custom_id in seen:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        f"Component custom id {custom_id!r} cannot be duplicated.",
                    )
                )
            if isinstance(custom_id, str):
                seen.add(custom_id)
        if kind == _BUTTON:
            problems += _check_button(at, item)
        elif kind in _SELECT_TYPES:
            problems += _check_select(at, item)
    if v2 and total > MAX_V2_COMPONENTS:
        problems.append(
            Problem(
                rule,
                "components",
                "BASE_TYPE_MAX_LENGTH",
                f"A message holds at most {MAX_V2_COMPONENTS} components (got {total}).",
            )
        )
    return problems


def check_modal(data: object) -> list[Problem]:
    """Check a modal (interaction callback type 9)."""
    rule = "modal_limits"
    if not isinstance(data, dict):
        return [Problem(rule, "data", "MODEL_TYPE_CONVERT", "Must be an object.")]
    problems: list[Problem] = []
    problems += _required_text(rule, "data.title", data.get("title"), MAX_MODAL_TITLE)
    custom_id = data.get("custom_id")
    if not isinstance(custom_id, str) or not 1 <= len(custom_id) <= MAX_CUSTOM_ID:
        problems.append(
            Problem(
                rule,
                "data.custom_id",
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MAX_CUSTOM_ID} in length.",
            )
        )
    components = data.get("components") or []
    if not 1 <= len(components) <= MAX_MODAL_COMPONENTS:
        problems.append(
            Problem(
                rule,
                "data.components",
                "BASE_TYPE_BAD_LENGTH",
                f"Must be between 1 and {MAX_MODAL_COMPONENTS} in length.",
            )
        )
    seen: set[str] = set()
    for at, item in _walk_components(components, "data.components"):
        kind = item.get("type")
        if kind == _LABEL:
            problems += _required_text(rule, f"{at}.label", item.get("label"), MAX_MODAL_TITLE)
        if kind == _TEXT_INPUT:
            problems += _too_long(rule, f"{at}.label", item.get("label"), MAX_MODAL_TITLE)
            problems += _too_long(rule, f"{at}.value", item.get("value"), MAX_TEXT_INPUT)
            problems += _too_long(
                rule, f"{at}.placeholder", item.get("placeholder"), MAX_OPTION_TEXT
            )
            if item.get("style") not in (1, 2):
                problems.append(
                    Problem(
                        rule, f"{at}.style", "BASE_TYPE_CHOICES", "Value must be one of {1, 2}."
                    )
                )
            low = item.get("min_length")
            high = item.get("max_length")
            if low is not None and not 0 <= int(low) <= MAX_TEXT_INPUT:
                problems.append(
                    Problem(
                        rule, f"{at}.min_length", "NUMBER_TYPE_MAX", "Must be between 0 and 4000."
                    )
                )
            if high is not None and not 1 <= int(high) <= MAX_TEXT_INPUT:
                problems.append(
                    Problem(
                        rule, f"{at}.max_length", "NUMBER_TYPE_MAX", "Must be between 1 and 4000."
                    )
                )
        if "custom_id" in item:
            cid = item.get("custom_id")
            if not isinstance(cid, str) or not 1 <= len(cid) <= MAX_CUSTOM_ID:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.custom_id",
                        "BASE_TYPE_BAD_LENGTH",
                        f"Must be between 1 and {MAX_CUSTOM_ID} in length.",
                    )
                )
            elif cid in seen:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.custom_id",
                        "COMPONENT_CUSTOM_ID_DUPLICATED",
                        f"Component custom id {cid!r} cannot be duplicated.",
                    )
                )
            if isinstance(cid, str):
                seen.add(cid)
        if kind == _BUTTON:
            problems.append(
                Problem(
                    rule,
                    f"{at}.type",
                    "COMPONENT_TYPE_INVALID",
                    "Buttons are not allowed in modals.",
                )
            )
    return problems


# ----------------------------------------------------------------- application commands


def _check_localizations(rule: str, at: str, value: object) -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [Problem(rule, at, "MODEL_TYPE_CONVERT", "Must be an object.")]
    return [
        Problem(rule, f"{at}.{key}", "LOCALE_INVALID", f"Invalid locale {key!r}.")
        for key in value
        if key not in LOCALES
    ]


def _check_chat_name(rule: str, at: str, name: object, what: str) -> list[Problem]:
    """A slash command or option name: Discord's pattern, lower case."""
    if isinstance(name, str) and _COMMAND_NAME.match(name) and name == name.lower():
        return []
    return [
        Problem(
            rule, f"{at}.name", "APPLICATION_COMMAND_INVALID_NAME", f"Invalid {what} name {name!r}."
        )
    ]


def _check_option(rule: str, at: str, option: Mapping[str, Any], depth: int) -> list[Problem]:
    problems: list[Problem] = []
    problems += _check_chat_name(rule, at, option.get("name"), "option")
    problems += _required_text(rule, f"{at}.description", option.get("description"), 100)
    problems += _check_localizations(
        rule, f"{at}.name_localizations", option.get("name_localizations")
    )
    problems += _check_localizations(
        rule, f"{at}.description_localizations", option.get("description_localizations")
    )
    kind = option.get("type")
    children = option.get("options") or []
    if kind in (1, 2):
        allowed_child = (1,) if kind == 2 else tuple(range(3, 12))
        if kind == 1 and depth > 2:
            problems.append(
                Problem(
                    rule,
                    at,
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Subcommands nest at most two levels.",
                )
            )
        if kind == 2 and depth > 1:
            problems.append(
                Problem(
                    rule,
                    at,
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    "Subcommand groups must be top-level.",
                )
            )
        problems += _check_options(rule, f"{at}.options", children, depth + 1, allowed_child)
    elif children:
        problems.append(
            Problem(
                rule,
                f"{at}.options",
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Only subcommands and groups have options.",
            )
        )
    choices = option.get("choices") or []
    if len(choices) > 25:
        problems.append(
            Problem(rule, f"{at}.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        )
    if choices and option.get("autocomplete"):
        problems.append(
            Problem(
                rule,
                f"{at}.autocomplete",
                "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES",
                "Autocomplete cannot be used with choices.",
            )
        )
    for j, choice in enumerate(choices):
        problems += _required_text(rule, f"{at}.choices.{j}.name", choice.get("name"), 100)
        problems += _too_long(rule, f"{at}.choices.{j}.value", choice.get("value"), 100)
    for key, low, high in (("min_length", 0, 6000), ("max_length", 1, 6000)):
        value = option.get(key)
        if value is not None and not low <= int(value) <= high:
            problems.append(
                Problem(
                    rule, f"{at}.{key}", "NUMBER_TYPE_MAX", f"Must be between {low} and {high}."
                )
            )
    return problems


def _check_options(
    rule: str, at: str, options: Sequence[Mapping[str, Any]], depth: int, allowed: tuple[int, ...]
) -> list[Problem]:
    problems: list[Problem] = []
    if len(options) > 25:
        problems.append(Problem(rule, at, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
    kinds = {o.get("type") for o in options}
    if kinds & {1, 2} and kinds - {1, 2}:
        problems.append(
            Problem(
                rule,
                at,
                "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                "Subcommands cannot be mixed with other options.",
            )
        )
    names: set[str] = set()
    seen_optional = False
    for i, option in enumerate(options):
        opt_at = f"{at}.{i}"
        if option.get("type") not in allowed:
            problems.append(
                Problem(
                    rule,
                    f"{opt_at}.type",
                    "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID",
                    f"Option type {option.get('type')} is not allowed here.",
                )
            )
        name = str(option.get("name"))
        if name in names:
            problems.append(
                Problem(
                    rule,
                    f"{opt_at}.name",
                    "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS",
                    f"Duplicate option name {name!r}.",
                )
            )
        names.add(name)
        if option.get("type") not in (1, 2):
            if option.get("required"):
                if seen_optional:
                    problems.append(
                        Problem(
                            rule,
                            f"{opt_at}.required",
                            "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                            "Required options must be placed before non-required options.",
                        )
                    )
            else:
                seen_optional = True
        problems += _check_option(rule, opt_at, option, depth)
    return problems


def check_commands(commands: object) -> list[Problem]:
    """Check a bulk-overwrite payload of application commands."""
    rule = "command_invalid"
    if not isinstance(commands, list):
        return [Problem(rule, "", "BASE_TYPE_ARRAY", "Must be an array.")]
    problems: list[Problem] = []
    seen: set[tuple[int, str]] = set()
    counts = {1: 0, 2: 0, 3: 0}
    for i, command in enumerate(commands):
        at = str(i)
        if not isinstance(command, dict):
            problems.append(Problem(rule, at, "MODEL_TYPE_CONVERT", "Must be an object."))
            continue
        kind = int(command.get("type", 1))
        counts[kind] = counts.get(kind, 0) + 1
        name = command.get("name")
        if kind == 1:
            problems += _check_chat_name(rule, at, name, "command")
            problems += _required_text(rule, f"{at}.description", command.get("description"), 100)
            problems += _check_options(
                rule, f"{at}.options", command.get("options") or [], 1, tuple(range(1, 12))
            )
        else:
            if not isinstance(name, str) or not 1 <= len(name) <= 32:
                problems.append(
                    Problem(
                        rule,
                        f"{at}.name",
                        "BASE_TYPE_BAD_LENGTH",
                        "Must be between 1 and 32 in length.",
                    )
                )
            if command.get("description"):
                problems.append(
                    Problem(
                        rule,
                        f"{at}.description",
                        "APPLICATION_COMMAND_DESCRIPTION_NOT_EMPTY",
                        "Context menu commands cannot have a description.",
                    )
                )
            if command.get("options"):
                problems.append(
                    Problem(
                        rule,
                        f"{at}.options",
                        "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED",
                        "Context menu commands cannot have options.",
                    )
                )
        problems += _check_localizations(
            rule, f"{at}.name_localizations", command.get("name_localizations")
        )
        problems += _check_localizations(
            rule, f"{at}.description_localizations", command.get("description_localizations")
        )
        key = (kind, str(name))
        if key in seen:
            problems.append(
                Problem(
                    rule,
                    f"{at}.name",
                    "APPLICATION_COMMAND_ALREADY_EXISTS",
                    f"Application command names must be unique ({name!r}).",
                )
            )
        seen.add(key)
    for kind, limit in ((1, 100), (2, 15), (3, 15)):
        if counts.get(kind, 0) > limit:
            problems.append(
                Problem(
                    rule,
                    "",
                    "APPLICATION_COMMANDS_TOO_MANY",
                    f"At most {limit} commands of type {kind}.",
                )
            )
    return problems
