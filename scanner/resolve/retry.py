"""Retries with exponential backoff that honour ``Retry-After``, capped so a server cannot stall us.

huggingface_hub's ``http_backoff`` is not used: it waits ``Retry-After + 1`` seconds with no upper
bound (a server answering ``Retry-After: 3600`` would hold a scan for an hour), ignores the
HTTP-date form, and cannot stop reading a body at a byte cap. This module only decides *whether*
and *how long* to wait; the caller performs the attempts.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final, Generic, TypeVar

#: Longest wait a ``Retry-After`` header can impose, in seconds; beyond it we wait this long.
MAX_RETRY_AFTER_S: Final = 30.0
#: Longest wait between two attempts when backing off exponentially, in seconds.
MAX_BACKOFF_S: Final = 8.0
#: Most retries a policy may ask for; more only multiplies the time a dead server costs.
MAX_RETRIES: Final = 10
#: Longest ``Retry-After`` value examined (a number or an HTTP-date fits well within it).
_MAX_RETRY_AFTER_CHARS: Final = 64

#: Answers worth asking again: timeouts, rate limits and server-side failures. 501 (not
#: implemented) and 505 (HTTP version) will not change on retry.
_RETRYABLE_STATUS: Final = frozenset({408, 429, 500, 502, 503, 504, *range(506, 600)})

T = TypeVar("T")
F = TypeVar("F", covariant=True)


def is_retryable_status(status: int) -> bool:
    """True for HTTP statuses that a later attempt may turn into success."""
    return status in _RETRYABLE_STATUS


def parse_retry_after(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the ``Retry-After`` header asks us to wait (delay-seconds or HTTP-date), or None.

    A malformed, negative or non-finite value is ignored (None); a date in the past gives 0.
    """
    raw = headers.get("retry-after")
    if raw is None:
        return None
    value = raw.strip()
    if not value or len(value) > _MAX_RETRY_AFTER_CHARS:
        return None
    if value.isascii() and value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means it said so implicitly
        when = when.replace(tzinfo=UTC)
    delta = (when - (now or datetime.now(tz=UTC))).total_seconds()
    return max(delta, 0.0) if math.isfinite(delta) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """How many times to retry and how long to wait in between."""

    max_retries: int = 4
    """Retries after the first attempt (0 disables retrying)."""
    backoff_s: float = 0.5
    """Wait before the first retry; doubled on each further retry up to ``MAX_BACKOFF_S``."""
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    """Cap on a server's ``Retry-After``."""

    def __post_init__(self) -> None:
        if not 0 <= self.max_retries <= MAX_RETRIES:
            raise ValueError(f"max_retries must be within 0..{MAX_RETRIES}, not {self.max_retries}")
        for name in ("backoff_s", "max_retry_after_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, not {value!r}")

    def delay(self, retry_index: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number ``retry_index`` (0-based).

        The server's ``Retry-After`` wins when given (capped); otherwise exponential backoff.
        """
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        return min(self.backoff_s * 2.0**retry_index, max(MAX_BACKOFF_S, self.backoff_s))


@dataclass(frozen=True, slots=True, kw_only=True)
class AttemptFailed(Generic[F]):
    """An attempt that failed; ``failure`` is what the caller gets if no retry does better."""

    failure: F
    retryable: bool
    """Whether a later attempt may succeed (a timeout, a 429 or a 5xx)."""
    retry_after: float | None = None
    """What the server asked for, in seconds, if anything."""


def with_retries(
    attempt: Callable[[], T | AttemptFailed[F]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], None] = time.sleep,
    on_retry: Callable[[int, float, F], None] | None = None,
) -> T | F:
    """Call ``attempt`` until it succeeds, fails for good, or ``policy.max_retries`` run out.

    Returns the success, or the ``failure`` of the last attempt. ``on_retry(retry_number, delay,
    failure)`` is called before each wait.
    """
    retry_index = 0
    while True:
        outcome = attempt()
        if not isinstance(outcome, AttemptFailed):
            return outcome
        if not outcome.retryable or retry_index >= policy.max_retries:
            return outcome.failure
        delay = policy.delay(retry_index, outcome.retry_after)
        if on_retry is not None:
            on_retry(retry_index + 1, delay, outcome.failure)
        sleep(delay)
        retry_index += 1
