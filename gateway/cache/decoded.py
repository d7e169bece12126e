"""Decoded answers kept in process: an upstream cache entry is decoded, validated and
mapped once per version, not once per query that reads it.

The bytes in memory or Redis stay the shared, durable layer; this one holds what a parse
made of them, by the entry's key and `stored_at` (a refreshed entry is another version).
Values are immutable (frozen records, tuples), so queries share them safely. Bounded by
the bytes of the answers they came from (decoded objects take a few times more).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
Version = tuple[str, float, str]  # cache key, stored_at, what parsed it


class DecodedAnswers:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size_bytes = 0
        self._values: OrderedDict[Version, tuple[object, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._values)

    def get_or_decode(self, version: Version, size: int, decode: Callable[[], T]) -> T:
        """The value decoded earlier for this version, or `decode()` kept for the next
        reader (a decode that raises keeps nothing)."""
        found = self._values.get(version)
        if found is not None:
            self._values.move_to_end(version)
            return found[0]  # type: ignore[return-value]  # stored by this same call site
        value = decode()
        if size <= self.max_bytes:
            self._values[version] = (value, size)
            self.size_bytes += size
            while self.size_bytes > self.max_bytes:
                _, (_, dropped) = self._values.popitem(last=False)
                self.size_bytes -= dropped
        return value
