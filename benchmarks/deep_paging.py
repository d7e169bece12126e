"""Deep paging: a Salesloft data set of 10,000 meetings, walked 20 at a time through the
`meetings` connection (Salesloft only, start time ascending) with `after` cursors.

For every GraphQL page: the upstream requests it caused (`extensions.upstream.requests`, and
the Salesloft simulator's request log) and the Salesloft cost units those requests spent
(Salesloft's own cost function: deep `page` numbers are dearer; the budget is 600 units a
minute). Goal: ≤ 1 upstream request per GraphQL page. Default gateway settings; the
simulator's rate limit is off so that the walk measures cost instead of stopping at 429.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

import aiohttp

from benchmarks.common import (
    MEETING_SELECTION,
    RecordedCall,
    gateway_env,
    gateway_process,
    graphql,
    machine,
    percentile,
    print_table,
    recorded_calls,
    reset_calls,
    simulator_process,
)
from gateway.simulators.salesloft import page_cost

MEETINGS = 10_000
PAGE_SIZE = 20
QUERY = (
    "query($first: Int!, $after: String){ meetings(first: $first, after: $after, "
    "filter: {sources: [SALESLOFT]}, orderBy: {direction: ASC}){ " + MEETING_SELECTION + " } }"
)


@dataclass(frozen=True)
class Page:
    seconds: float
    reported: int  # extensions.upstream.requests
    received: int  # requests in the Salesloft simulator's log
    cost: int  # Salesloft cost units of those
    meetings: int


def cost_of(call: RecordedCall) -> int:
    """What Salesloft charges for one request: by its (last) `page` parameter."""
    pages = [value for name, value in call.query if name == "page"]
    number = int(pages[-1]) if pages and pages[-1].lstrip("-").isdigit() else 1
    return page_cost(max(number, 1))


async def walk(pages: int, budget_s: float) -> tuple[list[Page], set[str]]:
    """Up to `pages` GraphQL pages (0: to the end), stopping when `budget_s` is spent."""
    deadline = time.perf_counter() + budget_s
    walked: list[Page] = []
    seen: set[str] = set()
    async with simulator_process(salesloft=MEETINGS) as upstreams:
        salesloft = next(u for u in upstreams if u.name == "salesloft")
        async with gateway_process(gateway_env(upstreams)) as url, aiohttp.ClientSession() as http:
            after: str | None = None
            while pages == 0 or len(walked) < pages:
                await reset_calls(http, salesloft)
                sent = time.perf_counter()
                answer = await graphql(http, url, QUERY, {"first": PAGE_SIZE, "after": after})
                seconds = time.perf_counter() - sent
                calls = await recorded_calls(http, salesloft)
                connection = answer["data"]["meetings"]
                ids = [edge["node"]["id"] for edge in connection["edges"]]
                seen.update(ids)
                walked.append(
                    Page(
                        seconds=seconds,
                        reported=answer["extensions"]["upstream"]["requests"],
                        received=len(calls),
                        cost=sum(cost_of(call) for call in calls),
                        meetings=len(ids),
                    )
                )
                if not connection["pageInfo"]["hasNextPage"]:
                    break
                if time.perf_counter() > deadline:
                    print(f"stopped after {len(walked)} pages: the {budget_s:g} s budget is spent")
                    break
                after = connection["pageInfo"]["endCursor"]
    return walked, seen


def summary(label: str, pages: list[Page]) -> list[str]:
    if not pages:
        return [label, "0", *["-"] * 7]
    reported = [p.reported for p in pages]
    received = [p.received for p in pages]
    costs = [p.cost for p in pages]
    latencies = [p.seconds for p in pages]
    return [
        label, str(len(pages)), f"{statistics.mean(reported):.2f}", str(max(reported)),
        f"{statistics.mean(received):.2f}", str(max(received)), str(sum(costs)),
        f"{statistics.mean(costs):.2f}", f"{percentile(latencies, 0.5) * 1000:.0f}",
    ]  # fmt: skip


async def run(pages: int, budget_s: float) -> None:
    print(machine())
    target = "every page" if pages == 0 else f"{pages} pages"
    print(f"Salesloft: {MEETINGS:,} meetings; walking {target} of {PAGE_SIZE}, default settings")
    started = time.perf_counter()
    walked, seen = await walk(pages, budget_s)
    elapsed = time.perf_counter() - started
    served = sum(p.meetings for p in walked)
    print_table(
        "Upstream requests and Salesloft cost per GraphQL page",
        ["GraphQL pages", "count", "reported/page", "max", "logged/page", "max", "cost units",
         "cost/page", "p50 ms"],
        [summary("first page", walked[:1]), summary("the others", walked[1:]),
         summary("all", walked)],
    )  # fmt: skip
    per_page = sum(p.received for p in walked) / len(walked)
    verdict = "met" if per_page <= 1 else "MISSED"
    print(
        f"\n{served:,} meetings served ({len(seen):,} distinct) in {elapsed:.1f} s; "
        f"{per_page:.2f} upstream requests per GraphQL page (goal ≤ 1: {verdict})"
    )
    print("reported: extensions.upstream.requests; logged: the Salesloft simulator's request log")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=0, help="GraphQL pages to walk (0: all)")
    parser.add_argument("--budget", type=float, default=90.0, help="seconds (default 90)")
    args = parser.parse_args()
    asyncio.run(run(args.pages, args.budget))


if __name__ == "__main__":
    main()
