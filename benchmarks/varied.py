"""Long-tail traffic: one UI document with ever-changing variables, and distinct documents,
with every upstream answer already in the gateway's cache (TTLs 3600 s) and the
whole-response cache off, so every request is executed.

The document: a merged page of 10-50 meetings with attendees, 5-20 scheduled bots with their
meetings, and two Nexor leads with their meetings, cycled over 160 variable sets (page
sizes, orders, filters). (a) the one document; (b) the same with an alias of its own per
request (every request a new document to parse and validate). A warm-up pass asks every
variable set once; then 8 keep-alive clients for 10 s. Reported: req/s, p50/p99, and the
gateway process's CPU-ms per request from /proc/<pid>/stat. Goals (issue "Fast on
long-tail traffic"): (a) <= 5 ms of CPU a request and >= 400 req/s; (b) <= 8 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
from collections.abc import Callable

import aiohttp

from benchmarks.common import (
    LoadResult,
    cpu_seconds,
    gateway_env,
    gateway_server,
    machine,
    payload,
    post_graphql,
    print_table,
    run_load,
    simulator_process,
)
from gateway.simulators.dataset import DEFAULT_SEED, build_dataset

CONCURRENCY = 8
UI = """
query Ui($first: Int!, $filter: MeetingFilter, $order: MeetingOrder, $bots: Int!,
         $leads: [ID!]!) {
  PAGE: meetings(first: $first, filter: $filter, orderBy: $order) {
    totalCount
    edges { cursor node { id source title status startTime endTime platform
                          attendees { name email isOrganizer } } }
    pageInfo { hasNextPage endCursor }
    sources { source state }
  }
  scheduledBots(first: $bots) {
    edges { node { botId status scheduledJoinTime meeting { id title } } }
  }
  leads(ids: $leads) { id name meetings(first: 5) { edges { node { id title startTime } } } }
}
"""
FIRSTS = (10, 20, 30, 50)
ORDERS = (
    {"field": "START_TIME", "direction": "DESC"},
    {"field": "START_TIME", "direction": "ASC"},
    {"field": "CREATED_AT", "direction": "DESC"},
    {"field": "UPDATED_AT", "direction": "ASC"},
)
FILTERS: tuple[dict[str, object] | None, ...] = (
    None,
    {"upcoming": True},
    {"upcoming": False},
    {"status": ["CONFIRMED", "SCHEDULED"]},
    {"status": ["CANCELLED"]},
    {"search": "call"},
    {"sources": ["SALESLOFT", "DAILY"]},
    {"sources": ["LEEZY"]},
    {"attendeeEmail": "nobody@example.com"},
    {"upcoming": True, "sources": ["SALESLOFT"]},
)


def nexor_lead(uuid: str) -> str:
    """A Nexor lead's global id (README: base64 of "Lead:nexor:<uuid>")."""
    return base64.b64encode(f"Lead:nexor:{uuid}".encode()).decode()


def variable_sets() -> list[dict[str, object]]:
    """160 sets: every page size, order and filter, with bots and lead pairs cycled."""
    dataset = build_dataset(seed=DEFAULT_SEED)
    leads = sorted(dataset.nexor_meetings, key=lambda lead: -len(dataset.nexor_meetings[lead]))
    pairs = [[nexor_lead(a), nexor_lead(b)] for a, b in itertools.pairwise(leads)][:8]
    combos = itertools.product(FIRSTS, ORDERS, FILTERS)
    return [
        {"first": first, "order": order, "filter": flt, "bots": (5, 10, 20)[n % 3],
         "leads": pairs[n % len(pairs)]}
        for n, (first, order, flt) in enumerate(combos)
    ]  # fmt: skip


def bodies(sets: list[dict[str, object]], *, distinct: bool) -> Callable[[int], bytes]:
    def body(n: int) -> bytes:
        alias = f"page{n}" if distinct else "page"
        return payload(UI.replace("PAGE", alias), sets[n % len(sets)])

    return body


async def measure(
    url: str, pid: int, body: Callable[[int], bytes], seconds: float
) -> tuple[LoadResult, float]:
    before = cpu_seconds(pid)
    result = await run_load(url, body, concurrency=CONCURRENCY, seconds=seconds)
    return result, (cpu_seconds(pid) - before) * 1000 / max(result.count, 1)


async def run(seconds: float) -> None:
    print(machine())
    sets = variable_sets()
    print(f"{len(sets)} variable sets; {CONCURRENCY} clients, {seconds:g} s per case")
    async with simulator_process() as upstreams:
        env = gateway_env(
            upstreams,
            per_source={"cache_ttl": 3600, "stale_ttl": 3600},
            extra={"GATEWAY_CACHE__RESPONSES": "false"},
        )
        async with gateway_server(env) as (url, pid), aiohttp.ClientSession() as http:
            warm = bodies(sets, distinct=False)
            for n in range(len(sets)):  # warm-up: every upstream answer into the cache
                answer = json.loads(await post_graphql(http, url, warm(n)))
                if "errors" in answer:
                    raise RuntimeError(f"variable set {n}: {answer['errors'][0]['message']}")
            graphql_url = url + "/graphql"
            one = await measure(graphql_url, pid, warm, seconds)
            distinct = await measure(graphql_url, pid, bodies(sets, distinct=True), seconds)
    rows = []
    for case, (result, cpu_ms) in (("(a) one document", one), ("(b) distinct documents", distinct)):
        rows.append([
            case, f"{result.rps:,.0f}", f"{result.ms(0.5):.1f}", f"{result.ms(0.99):.1f}",
            f"{cpu_ms:.1f}", f"{result.count:,}", str(result.failures),
        ])  # fmt: skip
    print_table(
        "Executed queries, warm upstream cache",
        ["case", "req/s", "p50 ms", "p99 ms", "CPU ms/request", "requests", "failures"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per case (default 10)")
    asyncio.run(run(parser.parse_args().seconds))


if __name__ == "__main__":
    main()
