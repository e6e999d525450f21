"""The core's own errors, in domain words; each message is meant for people."""

from __future__ import annotations


class KnowledgeError(Exception):
    """Base of the engine's own errors."""


class CaptureError(KnowledgeError):
    """A thread cannot be captured as asked (no question, no valid answer...).

    ``code`` names the reason for callers that word it themselves (localised):
    no_question, no_answer, is_question, bot_answer, empty_answer, not_in_post,
    conflict (the thread is stored for another server), scope (capturing would
    make a private entry visible more widely), opted_out (the member asked not
    to be captured).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class IndexNotReady(KnowledgeError):
    """The vector index must be rebuilt before suggestions can be made."""


class RebuildInProgress(KnowledgeError):
    """A rebuild is already running."""
