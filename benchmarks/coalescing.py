"""Coalescing: 100 identical queries at once against a fresh gateway (empty cache), every
upstream answering after 200 ms so that all of them overlap. Counted from the simulators'
request logs: requests each upstream received against distinct requests (path + sorted
query). Goal: one request per distinct upstream page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter
from typing import Any

import aiohttp

from benchmarks.common import (
    MERGED_QUERY,
    gateway_env,
    gateway_process,
    inject_fault,
    machine,
    payload,
    percentile,
    post_graphql,
    print_table,
    recorded_calls,
    simulator_process,
)
from gateway.simulators.faults import Fault, FaultKind

LATENCY_MS = 200.0


async def run(clients: int, first: int) -> None:
    print(machine())
    print(f"{clients} concurrent identical merged queries (first: {first}), fresh gateway, "
          f"every upstream +{LATENCY_MS:.0f} ms")  # fmt: skip
    body = payload(MERGED_QUERY, {"first": first})
    async with (
        simulator_process() as upstreams,
        gateway_process(gateway_env(upstreams)) as url,
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http,
    ):
        latency = Fault(kind=FaultKind.LATENCY, latency_ms=LATENCY_MS)
        for upstream in upstreams:
            await inject_fault(http, upstream, latency)

        async def query() -> tuple[float, bytes]:
            sent = time.perf_counter()
            answer = await post_graphql(http, url, body)
            return time.perf_counter() - sent, answer

        results = await asyncio.gather(*(query() for _ in range(clients)))
        calls = {upstream.name: await recorded_calls(http, upstream) for upstream in upstreams}

    answers: list[dict[str, Any]] = [json.loads(answer) for _, answer in results]
    errors = sum(bool(a.get("errors")) for a in answers)
    distinct_data = len({json.dumps(a.get("data"), sort_keys=True) for a in answers})
    usage: Counter[str] = Counter()
    for answer in answers:
        usage.update(answer.get("extensions", {}).get("upstream", {}))
    latencies = [latency for latency, _ in results]

    rows: list[list[object]] = []
    total = distinct_total = 0
    for name, received in calls.items():
        distinct = len({call.distinct_key for call in received})
        total, distinct_total = total + len(received), distinct_total + distinct
        ratio = f"{len(received) / distinct:.2f}" if distinct else "-"
        rows.append([name, len(received), distinct, ratio])
    verdict = "met" if total == distinct_total else "MISSED"
    rows.append(["all", total, distinct_total, f"{total / max(distinct_total, 1):.2f} ({verdict})"])
    print_table(
        "Upstream requests (simulator logs)",
        ["source", "requests", "distinct", "requests per distinct (goal 1)"],
        rows,
    )
    print_table(
        f"The {clients} responses",
        ["responses", "p50 ms", "max ms", "with errors", "distinct data", "Σ requests", "Σ shared",
         "Σ cacheHits"],
        [[
            len(answers), f"{percentile(latencies, 0.5) * 1000:.0f}",
            f"{max(latencies) * 1000:.0f}", errors, distinct_data, usage["requests"],
            usage["sharedRequests"], usage["cacheHits"],
        ]],
    )  # fmt: skip
    print("(Σ: extensions.upstream summed over the responses)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--first", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.clients, args.first))


if __name__ == "__main__":
    main()
