"""Rate-limit headers, per-bucket accounting, and injected 429s."""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass, field


def bucket_hash(method: str, route: str) -> str:
    """A stable opaque bucket id for a route template (like Discord's X-RateLimit-Bucket)."""
    return hashlib.sha1(f"{method} {route}".encode()).hexdigest()[:16]


@dataclass
class RateLimitInjection:
    """A scripted 429: the next ``count`` requests matching it are rate limited.

    ``hits`` counts how many requests it answered with 429 so far.
    """

    method: str | None
    pattern: re.Pattern[str]
    retry_after: float
    count: int
    global_: bool = False
    scope: str = "user"
    hits: int = 0

    @property
    def exhausted(self) -> bool:
        """Whether every scripted 429 was served."""
        return self.hits >= self.count

    def matches(self, method: str, path: str) -> bool:
        """Whether a request (path without the /api/v10 prefix) is one to rate limit."""
        if self.exhausted:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.pattern.search(path) is not None


@dataclass
class _Window:
    started: float
    used: int = 0


@dataclass
class BucketTracker:
    """Counts requests per bucket and window, like Discord's per-route limits."""

    limit: int
    window: float
    _windows: dict[str, _Window] = field(default_factory=dict)

    def take(self, key: str) -> tuple[int, float, bool]:
        """Count one request; return ``(remaining, reset_after, exceeded)``."""
        now = time.monotonic()
        current = self._windows.get(key)
        if current is None or now - current.started >= self.window:
            current = _Window(started=now)
            self._windows[key] = current
        reset_after = max(self.window - (now - current.started), 0.001)
        if current.used >= self.limit:
            return 0, reset_after, True
        current.used += 1
        return self.limit - current.used, reset_after, False


def limit_headers(limit: int, remaining: int, reset_after: float, bucket: str) -> dict[str, str]:
    """The X-RateLimit-* headers of a normal response."""
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
        "X-RateLimit-Reset-After": f"{reset_after:.3f}",
        "X-RateLimit-Bucket": bucket,
    }


def too_many_requests(
    retry_after: float,
    *,
    global_: bool,
    scope: str,
    limit: int,
    bucket: str,
) -> tuple[dict[str, str], dict[str, object]]:
    """Headers and body of a 429, as Discord sends them.

    The ``Via`` header matters: discord.py treats a 429 without it as a Cloudflare
    ban and raises instead of retrying.
    """
    headers = {
        "Retry-After": str(max(1, math.ceil(retry_after))),
        "X-RateLimit-Scope": scope,
        "Via": "1.1 google",
    }
    if global_:
        headers["X-RateLimit-Global"] = "true"
    else:
        headers.update(limit_headers(limit, 0, retry_after, bucket))
    body: dict[str, object] = {
        "message": "You are being rate limited.",
        "retry_after": retry_after,
        "global": global_,
    }
    return headers, body
