"""`concurrently`: gather's results, without a task for a lone awaitable."""

from __future__ import annotations

import asyncio

from gateway.concurrency import concurrently


async def test_results_come_in_order_and_branches_run_together() -> None:
    first_started, second_started = asyncio.Event(), asyncio.Event()

    async def branch(mine: asyncio.Event, other: asyncio.Event, value: int) -> int:
        mine.set()
        await asyncio.wait_for(other.wait(), 1)  # one after the other would time out
        return value

    results = await concurrently(
        [branch(first_started, second_started, 1), branch(second_started, first_started, 2)]
    )
    assert results == [1, 2]


async def test_a_lone_awaitable_runs_in_the_callers_task() -> None:
    caller = asyncio.current_task()

    async def which_task() -> asyncio.Task[object] | None:
        return asyncio.current_task()

    assert await concurrently([which_task()]) == [caller]
    assert await concurrently(which_task() for _ in range(0)) == []
    tasks = await concurrently(which_task() for _ in range(2))
    assert caller not in tasks
