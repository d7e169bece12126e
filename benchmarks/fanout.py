"""Fan-out latency: every upstream answers after 200 ms and nothing is cached, so a merged
query can take no less than one upstream round trip. Goal: p50 ≤ 1.15 x 200 ms.

The gateway runs under uvicorn in its own process, the simulators in another; queries are
sent one after another, each with a cold cache (TTLs 0, whole-response cache off).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from collections import defaultdict

import aiohttp

from benchmarks.common import (
    MERGED_QUERY,
    RecordedCall,
    gateway_env,
    gateway_process,
    inject_fault,
    machine,
    payload,
    percentile,
    post_graphql,
    print_table,
    recorded_calls,
    reset_calls,
    simulator_process,
)
from gateway.simulators.faults import Fault, FaultKind

LATENCY_MS = 200.0
GOAL = 1.15
WARMUP = 3  # connections, parser and validation caches
NO_CACHE = {"cache_ttl": 0, "stale_ttl": 0}


def rounds(calls: list[RecordedCall]) -> int:
    """Sequential waves of requests: one starting after the previous wave answered is new."""
    starts = sorted(call.started_at for call in calls)
    gaps = sum(b - a > LATENCY_MS / 2000 for a, b in itertools.pairwise(starts))
    return (1 + gaps) if starts else 0


async def run(samples: int, first: int) -> None:
    print(machine())
    print(f"{samples} sequential merged queries (first: {first}), every upstream +200 ms, cold")
    async with simulator_process() as upstreams:
        env = gateway_env(
            upstreams, per_source=NO_CACHE, extra={"GATEWAY_CACHE__RESPONSES": "false"}
        )
        async with gateway_process(env) as url, aiohttp.ClientSession() as http:
            latency = Fault(kind=FaultKind.LATENCY, latency_ms=LATENCY_MS)
            for upstream in upstreams:
                await inject_fault(http, upstream, latency)
            body = payload(MERGED_QUERY, {"first": first})
            for _ in range(WARMUP):
                await post_graphql(http, url, body)

            latencies: list[float] = []
            requests: dict[str, list[int]] = defaultdict(list)
            waves: dict[str, list[int]] = defaultdict(list)
            states: dict[str, str] = {}
            for _ in range(samples):
                for upstream in upstreams:
                    await reset_calls(http, upstream)
                sent = time.perf_counter()
                answer = json.loads(await post_graphql(http, url, body))
                latencies.append(time.perf_counter() - sent)
                if answer.get("errors"):
                    raise RuntimeError(f"errors: {answer['errors']}")
                states = {s["source"]: s["state"] for s in answer["data"]["meetings"]["sources"]}
                for upstream in upstreams:
                    calls = await recorded_calls(http, upstream)
                    requests[upstream.name].append(len(calls))
                    waves[upstream.name].append(rounds(calls))

    p50, p90 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.9) * 1000
    print_table(
        "Merged query latency",
        ["samples", "p50 ms", "p90 ms", "min ms", "max ms", "p50 / 200 ms", "goal"],
        [
            [
                samples, f"{p50:.0f}", f"{p90:.0f}", f"{min(latencies) * 1000:.0f}",
                f"{max(latencies) * 1000:.0f}", f"{p50 / LATENCY_MS:.2f}",
                f"≤ {GOAL} {'met' if p50 / LATENCY_MS <= GOAL else 'MISSED'}",
            ]
        ],
    )  # fmt: skip
    print_table(
        "Upstream traffic per query (simulator logs)",
        ["source", "state", "requests", "sequential rounds"],
        [
            [
                name, states.get(name.upper(), "-"), f"{statistics.mean(requests[name]):.1f}",
                f"{statistics.mean(waves[name]):.1f}",
            ]
            for name in requests
        ],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--first", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.samples, args.first))


if __name__ == "__main__":
    main()
