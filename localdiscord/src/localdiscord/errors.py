"""Exceptions: scenario mistakes, and Discord-shaped API errors."""

from __future__ import annotations

from typing import Any


class ScenarioError(Exception):
    """The scenario asked for something Discord would not let a user do.

    For example running a slash command that was never synced, or posting in a
    forum the member cannot see. This is a mistake in the test, not in the bot.
    """


class ApiError(Exception):
    """An error the REST API answers with, in Discord's JSON error shape."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.recorded = False

    def body(self) -> dict[str, Any]:
        """The JSON body Discord would send."""
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            body["errors"] = self.errors
        return body


def form_errors(problems: list[tuple[str, str, str]]) -> dict[str, Any]:
    """Nest ``(field_path, code, message)`` triples the way Discord reports 50035.

    ``"embeds.0.title"`` becomes ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``.
    """
    root: dict[str, Any] = {}
    for path, code, message in problems:
        node = root
        for part in [p for p in path.split(".") if p]:
            node = node.setdefault(part, {})
        node.setdefault("_errors", []).append({"code": code, "message": message})
    return root


def invalid_form_body(problems: list[tuple[str, str, str]]) -> ApiError:
    """A ``400 Invalid Form Body`` (code 50035) error with nested field errors."""
    return ApiError(400, 50035, "Invalid Form Body", errors=form_errors(problems))


def unknown(kind: str, code: int) -> ApiError:
    """A ``404 Unknown <kind>`` error (for example ``unknown("Message", 10008)``)."""
    return ApiError(404, code, f"Unknown {kind}")


MISSING_ACCESS = 50001
MISSING_PERMISSIONS = 50013
CANNOT_MESSAGE_USER = 50007
