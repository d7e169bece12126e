"""A real-sized account (`simulate --scale 20`: ~3,000 Salesloft meetings, ~1,200 Daily
sessions, 2,400 Leezy meetings, a third of them on shared instants), every upstream 300 ms
away, a cold gateway for each query: how many upstream requests each query makes, in how
many rounds, and how long it takes against one upstream round trip.

Then a full walk of `sources: [SALESLOFT]` in pages of 20 (no injected latency): upstream
requests and Salesloft cost units per GraphQL page. Targets (issue "Real accounts"): one
round (≤ 1.2 x 300 ms) for queries whose sources can be asked with a bound; ≤ 1 upstream
request per page on deep walks; `totalCount` over the whole account ≤ 10 Salesloft requests.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from benchmarks.common import (
    MEETING_SELECTION,
    RecordedCall,
    Upstream,
    gateway_env,
    gateway_process,
    graphql,
    inject_fault,
    machine,
    print_table,
    recorded_calls,
    reset_calls,
    simulator_process,
)
from gateway.app import EXAMPLE_QUERY
from gateway.simulators.faults import Fault, FaultKind
from gateway.simulators.salesloft import page_cost

SCALE = 20
LATENCY_MS = 300.0
ROUND_GAP_S = LATENCY_MS / 1000 * 0.8  # a request starting this long after a round's first
PAGE = "meetings(first: 20) { " + MEETING_SELECTION + " }"
QUERIES = {
    "README first query": EXAMPLE_QUERY,
    "meetings(first: 20)": "{ " + PAGE + " }",
    "meetings(first: 20) + totalCount": "{ " + PAGE.replace("{ ", "{ totalCount ", 1) + " }",
    # Sources asked with a bound only (Leezy has no documented order: it is read whole).
    "Salesloft + Daily, upcoming: false, + totalCount": "{ "
    + PAGE.replace(
        "(first: 20)", "(first: 20, filter: {sources: [SALESLOFT, DAILY], upcoming: false})"
    ).replace("{ ", "{ totalCount ", 1)
    + " }",
}
WALK = (
    "query($after: String){ meetings(first: 20, after: $after, filter: {sources: [SALESLOFT]})"
    "{ " + MEETING_SELECTION + " } }"
)


@dataclass(frozen=True)
class Measured:
    name: str
    seconds: float
    requests: dict[str, int]
    rounds: dict[str, int]
    errors: int


def rounds(calls: Sequence[RecordedCall]) -> int:
    """Sequential rounds: a request that starts well after the current round's first one
    (most of a round trip later) waited for an answer, so it begins the next round."""
    count, first = 0, None
    for call in sorted(calls, key=lambda c: c.started_at):
        if first is None or call.started_at - first >= ROUND_GAP_S:
            count, first = count + 1, call.started_at
    return count


async def cold_query(
    http: aiohttp.ClientSession, upstreams: Sequence[Upstream], name: str, query: str
) -> Measured:
    for upstream in upstreams:
        await reset_calls(http, upstream)
    env = gateway_env(upstreams, extra={"GATEWAY_CACHE__RESPONSES": "false"})
    async with gateway_process(env) as url:
        sent = time.perf_counter()
        answer = await graphql(http, url, query, {})
        seconds = time.perf_counter() - sent
    calls = {u.name: await recorded_calls(http, u) for u in upstreams}
    return Measured(
        name,
        seconds,
        {source: len(made) for source, made in calls.items()},
        {source: rounds(made) for source, made in calls.items()},
        len(answer.get("errors", [])),
    )


async def walk(http: aiohttp.ClientSession, upstreams: Sequence[Upstream]) -> tuple[int, int, int]:
    """(GraphQL pages, Salesloft requests, Salesloft cost units) of a full walk."""
    salesloft = next(u for u in upstreams if u.name == "salesloft")
    await reset_calls(http, salesloft)
    pages, after = 0, None
    async with gateway_process(gateway_env(upstreams)) as url:
        while True:
            answer = await graphql(http, url, WALK, {"after": after})
            pages += 1
            connection = answer["data"]["meetings"]
            if not connection["pageInfo"]["hasNextPage"]:
                break
            after = connection["pageInfo"]["endCursor"]
    calls = await recorded_calls(http, salesloft)
    cost = sum(page_cost(int(dict(c.query).get("page", "1"))) for c in calls)
    return pages, len(calls), cost


async def run(scale: int) -> None:
    print(machine())
    print(f"scale {scale}; every upstream +{LATENCY_MS:.0f} ms; a cold gateway per query")
    async with simulator_process(scale=scale) as upstreams, aiohttp.ClientSession() as http:
        pages, requests, cost = await walk(http, upstreams)
        for upstream in upstreams:
            await inject_fault(http, upstream, Fault(kind=FaultKind.LATENCY, latency_ms=LATENCY_MS))
        measured = [await cold_query(http, upstreams, n, q) for n, q in QUERIES.items()]
    names = [u.name for u in upstreams]
    print_table(
        "Upstream requests (rounds) per source, latency ÷ one round trip",
        ["query", *names, "ms", "÷ 300 ms", "errors"],
        [
            [m.name, *(f"{m.requests[s]} ({m.rounds[s]})" for s in names),
             f"{m.seconds * 1000:.0f}", f"{m.seconds * 1000 / LATENCY_MS:.2f}", str(m.errors)]
            for m in measured
        ],
    )  # fmt: skip
    print_table(
        "Full walk of sources: [SALESLOFT], 20 a page (no injected latency)",
        ["GraphQL pages", "Salesloft requests", "per page", "cost units", "cost per page"],
        [[str(pages), str(requests), f"{requests / pages:.2f}", str(cost), f"{cost / pages:.2f}"]],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=SCALE, help=f"account size (default {SCALE})")
    asyncio.run(run(parser.parse_args().scale))


if __name__ == "__main__":
    main()
