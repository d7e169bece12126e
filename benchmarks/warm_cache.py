"""Throughput with a warm cache: the gateway under uvicorn in one process, the simulators in
another, and this process as the load generator (8 concurrent keep-alive clients).

(a) One identical query, a 20- and a 100-meeting page, side by side with a minimal ASGI app
    under the same uvicorn settings answering the very same bytes. Goal: gateway ≥ 0.7 x
    minimal req/s. Each server's CPU-ms per request (its process's own, from
    /proc/<pid>/stat) is reported beside it: stable on a shared machine where req/s is not.
(b) Every request a distinct operation (its own alias), so each one is parsed, validated and
    executed, while its upstream requests are identical and come from the warm upstream
    cache. Goal: ≥ 1,000 req/s for the 20-meeting page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchmarks.common import (
    MEETING_SELECTION,
    MERGED_QUERY,
    LoadResult,
    cpu_seconds,
    gateway_env,
    gateway_server,
    machine,
    minimal_server,
    payload,
    post_graphql,
    print_table,
    run_load,
    simulator_process,
)

CONCURRENCY = 8
WARMUP_S = 1.0
LONG_TTLS = {"cache_ttl": 3600, "stale_ttl": 3600}
RATIO_GOAL = 0.7
VARIED_GOAL_RPS = 1000.0


def aliased(number: int) -> bytes:
    """A 20-meeting page under an alias of its own: a distinct operation every time."""
    query = f"{{ page{number}: meetings(first: 20) {{ {MEETING_SELECTION} }} }}"
    return payload(query)


@dataclass(frozen=True)
class Measured:
    load: LoadResult
    cpu_ms: float  # the server process's CPU per request


def row(case: str, measured: Measured, *extra: str) -> list[str]:
    result = measured.load
    return [
        case, f"{result.rps:,.0f}", f"{result.ms(0.5):.2f}", f"{result.ms(0.99):.2f}",
        f"{measured.cpu_ms:.3f}", f"{result.count:,}", str(result.failures), *extra,
    ]  # fmt: skip


async def measure(
    url: str, pid: int, body: bytes | Callable[[int], bytes], seconds: float
) -> Measured:
    """A warm-up, then the load; CPU is the server process's own over the load."""
    await run_load(url, body, concurrency=CONCURRENCY, seconds=WARMUP_S)
    before = cpu_seconds(pid)
    result = await run_load(url, body, concurrency=CONCURRENCY, seconds=seconds)
    cpu_ms = (cpu_seconds(pid) - before) * 1000 / max(result.count, 1)
    return Measured(result, cpu_ms)


def upstream_of(answer: bytes) -> dict[str, Any]:
    extension: dict[str, Any] = json.loads(answer)["extensions"]["upstream"]
    return extension


async def run(seconds: float) -> None:
    print(machine())
    print(f"{CONCURRENCY} concurrent clients, {seconds:g} s per case, upstream TTLs 3600 s")
    headers = ["case", "req/s", "p50 ms", "p99 ms", "CPU ms/request", "requests", "failures"]
    identical: list[list[str]] = []
    async with simulator_process() as upstreams:
        env = gateway_env(upstreams, per_source=LONG_TTLS)
        async with gateway_server(env) as (url, pid), aiohttp.ClientSession() as http:
            graphql_url = url + "/graphql"
            for first in (20, 100):
                body = payload(MERGED_QUERY, {"first": first})
                gateway = await measure(graphql_url, pid, body, seconds)
                answer = await post_graphql(http, url, body)
                minimal = await _minimal_load(body, answer, seconds)
                ratio = gateway.load.rps / minimal.load.rps
                verdict = "met" if ratio >= RATIO_GOAL else "MISSED"
                upstream = upstream_of(answer)
                identical += [
                    row(f"gateway, first: {first}", gateway, f"{len(answer):,}",
                        f"{ratio:.2f} (goal ≥ {RATIO_GOAL}: {verdict})"),
                    row("  minimal ASGI, same bytes", minimal, f"{len(answer):,}", ""),
                ]  # fmt: skip
                print(f"first: {first}: the response's extensions.upstream = {upstream}")

            varied = await measure(graphql_url, pid, aliased, seconds)
            print(
                "varied: one such response's extensions.upstream = "
                f"{upstream_of(await post_graphql(http, url, aliased(10**9)))}"
            )

    print_table(
        "(a) identical query, gateway vs minimal ASGI app",
        [*headers, "bytes", "gateway / minimal"],
        identical,
    )
    verdict = "met" if varied.load.rps >= VARIED_GOAL_RPS else "MISSED"
    print_table(
        "(b) distinct operations (an alias each), upstream cache warm",
        [*headers, "goal"],
        [row("gateway, first: 20", varied, f"≥ {VARIED_GOAL_RPS:,.0f} req/s: {verdict}")],
    )


async def _minimal_load(body: bytes, answer: bytes, seconds: float) -> Measured:
    """The same load (requests of `body`) against the minimal ASGI app answering `answer`."""
    async with minimal_server(answer) as (url, pid):
        return await measure(url, pid, body, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per case (default 10)")
    args = parser.parse_args()
    asyncio.run(run(args.seconds))


if __name__ == "__main__":
    main()
