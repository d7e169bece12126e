"""When an upstream is not called: open circuit, Retry-After, refused credentials."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.errors import CircuitOpen, UpstreamRateLimited, UpstreamUnauthorized
from gateway.model import Source
from gateway.sources.guard import CircuitBreaker, UpstreamGuard, retry_after_seconds


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock) -> UpstreamGuard:
    return UpstreamGuard(Source.DAILY, CircuitBreaker(2, 30, clock), 60, clock)


def test_the_circuit_opens_after_failures_in_a_row_and_lets_one_trial_through() -> None:
    clock = Clock()
    daily = guard(clock)
    daily.failed()
    daily.succeeded()  # a success in between: the count starts again
    daily.failed()
    daily.check()
    daily.failed()
    with pytest.raises(CircuitOpen) as raised:
        daily.check()
    assert raised.value.retry_after_seconds == 30
    clock.now += 30
    daily.check()  # the trial
    with pytest.raises(CircuitOpen):
        daily.check()  # only one
    daily.succeeded()
    daily.check()


def test_a_rate_limit_pauses_the_upstream_for_as_long_as_it_asked() -> None:
    clock = Clock()
    daily = guard(clock)
    daily.rate_limited(5)
    daily.rate_limited(2)  # a shorter wait does not shorten the longer one
    clock.now += 4
    with pytest.raises(UpstreamRateLimited) as raised:
        daily.check()
    assert raised.value.retry_after_seconds == 1
    clock.now += 1
    daily.check()
    for _ in range(5):
        daily.check()  # a 429 is no failure: the circuit stays closed


def test_refused_credentials_are_not_offered_again_for_a_while() -> None:
    clock = Clock()
    daily = guard(clock)
    daily.refused()
    with pytest.raises(UpstreamUnauthorized) as raised:
        daily.check()
    assert raised.value.retry_after_seconds == 60
    clock.now += 60
    daily.check()


NOW = datetime(2026, 3, 10, 14, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7),
        (" 120 ", 120),
        ("999999999", 3600),  # capped: never "never again"
        ("Tue, 10 Mar 2026 14:00:30 GMT", 30),
        ("Tue, 10 Mar 2026 13:59:00 GMT", 0),  # already passed
        ("Tue, 10 Mar 2026 14:00:30", None),  # an HTTP-date has a zone
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str | None, seconds: int | None
) -> None:
    assert retry_after_seconds(header, NOW) == seconds
