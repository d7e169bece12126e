"""When not to call an upstream: a circuit open after failures, a `Retry-After` that has not
passed, credentials it refused a moment ago. Per process; the clock is injectable for tests.

Which outcomes count: a 5xx, a timeout, a lost connection and a body that does not validate
are failures (they open the circuit); a validated answer is a success (it closes it); a 429
and a refusal of the credentials say nothing of the upstream's health, and only pause it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from gateway.errors import CircuitOpen, UpstreamRateLimited, UpstreamUnauthorized
from gateway.model import Source

MAX_RETRY_AFTER_S = 3600  # a wilder Retry-After is read as an hour, not as "never again"


class CircuitBreaker:
    """Opens after `threshold` failures in a row; after `cooldown_s` lets one trial through."""

    def __init__(
        self, threshold: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.threshold = threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    def allow(self) -> bool:
        if self._opened_at is None:
            return True
        if self._clock() - self._opened_at >= self.cooldown_s:
            self._opened_at = self._clock()  # half-open: this caller is the trial
            return True
        return False

    @property
    def state(self) -> str:
        """Closed, open, or half_open (its cool-down is over: the next call is a trial)."""
        if self._opened_at is None:
            return "closed"
        return "half_open" if self._clock() - self._opened_at >= self.cooldown_s else "open"

    def retry_after(self) -> int:
        if self._opened_at is None:
            return 0
        return max(1, round(self.cooldown_s - (self._clock() - self._opened_at)))

    def record(self, ok: bool) -> None:
        if ok:
            self._failures, self._opened_at = 0, None
            return
        self._failures += 1
        if self._failures >= self.threshold:
            self._opened_at = self._clock()


class UpstreamGuard:
    """The circuit breaker plus the pauses a 429 and a refused credential ask for."""

    def __init__(
        self,
        source: Source,
        breaker: CircuitBreaker,
        auth_cooldown_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.breaker = breaker
        self._auth_cooldown_s = auth_cooldown_s
        self._clock = clock
        self._rate_limited_until = 0.0
        self._refused_until = 0.0

    def check(self) -> None:
        """Raise the reason not to call the upstream now, if there is one."""
        now = self._clock()
        if now < self._refused_until:
            raise UpstreamUnauthorized(
                self.source,
                "refused the credentials a moment ago: not asked again yet",
                retry_after_seconds=_seconds(self._refused_until - now),
            )
        if now < self._rate_limited_until:
            raise UpstreamRateLimited(
                self.source,
                "rate limited: waiting as the upstream asked (Retry-After)",
                retry_after_seconds=_seconds(self._rate_limited_until - now),
            )
        if not self.breaker.allow():
            raise CircuitOpen(
                self.source,
                "circuit open after repeated failures",
                retry_after_seconds=self.breaker.retry_after(),
            )

    def succeeded(self) -> None:
        self.breaker.record(ok=True)

    def failed(self) -> None:
        self.breaker.record(ok=False)

    def rate_limited(self, retry_after_seconds: int) -> None:
        self._rate_limited_until = max(
            self._rate_limited_until, self._clock() + retry_after_seconds
        )

    def refused(self) -> None:
        self._refused_until = self._clock() + self._auth_cooldown_s


def retry_after_seconds(header: str | None, now: datetime | None = None) -> int | None:
    """A `Retry-After` header in whole seconds: delta-seconds or an HTTP-date; None when it
    is absent or unreadable (the caller falls back to the vendor's documented window)."""
    if header is None:
        return None
    text = header.strip()
    if text.isdigit():
        return min(int(text), MAX_RETRY_AFTER_S)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    delta = (moment - (now or datetime.now(UTC))).total_seconds()
    return min(max(0, round(delta)), MAX_RETRY_AFTER_S)


def _seconds(remaining: float) -> int:
    return max(1, round(remaining))
