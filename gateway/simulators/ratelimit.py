"""Sliding-window rate limits, as the upstream APIs document them."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    allowed: bool
    remaining: int  # units left in the window after this request (0 when refused)


class SlidingWindow:
    """At most `limit` cost units per `window_s` seconds, per key (a credential or team).

    A refused request spends nothing, as with the real APIs: retrying later is possible.
    """

    def __init__(
        self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._spent: defaultdict[str, deque[tuple[float, int]]] = defaultdict(deque)

    def spend(self, key: str, cost: int = 1) -> Decision:
        now = self._clock()
        spent = self._spent[key]
        while spent and spent[0][0] <= now - self.window_s:
            spent.popleft()
        used = sum(units for _, units in spent)
        if used + cost > self.limit:
            return Decision(allowed=False, remaining=max(self.limit - used, 0))
        spent.append((now, cost))
        return Decision(allowed=True, remaining=self.limit - used - cost)

    def reset(self) -> None:
        self._spent.clear()
