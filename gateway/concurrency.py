"""Running awaitables together."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Iterable
from typing import TypeVar

T = TypeVar("T")


async def concurrently(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Their results in order, as `asyncio.gather`'s; a lone awaitable is awaited where it
    stands. Most fan-outs of a warm request have one branch or none (one lead, one source),
    and a task with its gathering future costs more than the cached read it would run."""
    pending = list(awaitables)
    if len(pending) <= 1:
        return [await awaitable for awaitable in pending]
    return list(await asyncio.gather(*pending))
