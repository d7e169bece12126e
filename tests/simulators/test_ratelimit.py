"""The sliding window counts cost units per key and forgets them after the window."""

from __future__ import annotations

from gateway.simulators.ratelimit import Decision, SlidingWindow


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_window_spends_refuses_and_recovers() -> None:
    clock = FakeClock()
    window = SlidingWindow(limit=10, window_s=60, clock=clock)
    assert window.spend("team", 8) == Decision(allowed=True, remaining=2)
    assert window.spend("team", 3) == Decision(allowed=False, remaining=2)  # spends nothing
    assert window.spend("team", 2) == Decision(allowed=True, remaining=0)
    assert window.spend("other", 10).allowed  # keys do not share a budget
    clock.now += 59.9
    assert not window.spend("team").allowed
    clock.now += 0.1
    assert window.spend("team", 10) == Decision(allowed=True, remaining=0)


def test_reset_forgets_everything() -> None:
    window = SlidingWindow(limit=1, window_s=60)
    assert window.spend("k").allowed
    window.reset()
    assert window.spend("k").allowed
