"""Memory of the upstream response cache and of its decoded layer, for real Salesloft pages
of 1, 25 and 100 meetings (about 3 KB, 55 KB, 220 KB), each case in a fresh process: its RSS
(VmRSS) before and after.

1. 100,000 distinct keys stored through `UpstreamCache` over `BoundedMemoryCache` with the
   default bounds (`cache.max_entries`, `cache.max_bytes`): the entries held stay within them.
2. At least 5,000 distinct cached pages (and at least 3 times the bound's worth) read
   through the Salesloft source's `UpstreamClient` and its own page parser, so each is
   decoded into `DecodedAnswers` (bound `cache.decoded_max_bytes`, counted in bytes of the
   answers), as parsed and as a query leaves them (its meetings mapped too): the counted
   bytes never exceed the bound, and RSS growth ÷ counted bytes is what decoded records
   weigh per byte of their answers.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from benchmarks.common import ROOT, machine, print_table
from gateway.cache.backends import BoundedMemoryCache, ByteStore
from gateway.cache.entries import Entry, Freshness, fingerprint, request_key
from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.simulators.cluster import running_simulators
from gateway.sources.salesloft import SalesloftSource, listing_page

KEYS = 100_000
PAGE_SIZES = (1, 25, 100)
DECODED_PAGES = 5_000  # distinct pages decoded per case, at least
DECODED_PASSES = 3  # and at least enough to fill the decoded bound this many times over
LISTING = [("show_deleted", "false"), ("sort_by", "start_time"), ("sort_direction", "ASC")]


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


async def fill(body: bytes, keys: int) -> dict[str, float]:
    """Store `keys` distinct upstream answers of `body`; what the process holds after."""
    settings = Settings()
    backend = BoundedMemoryCache(settings.cache.max_entries, settings.cache.max_bytes)
    cache = UpstreamCache(ByteStore(backend))
    source = settings.salesloft
    freshness = Freshness(fresh_s=source.cache_ttl, stale_s=source.stale_ttl)
    scope = "salesloft:" + fingerprint("salesloft", "benchmark-credential")

    async def load() -> tuple[int, bytes]:
        return 200, body

    def accept(entry: Entry) -> int:
        return len(entry.body)

    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    for number in range(keys):
        params = [("per_page", "100"), ("page", str(number)), ("show_deleted", "false")]
        await cache.get(request_key(scope, "/v2/meetings", params), freshness, load, accept)
    seconds = time.perf_counter() - started
    gc.collect()
    after = rss_mb()
    held, held_bytes = len(backend), backend.size_bytes
    await cache.close()
    return {
        "bound": settings.cache.max_entries, "held": held, "before": before, "after": after,
        "seconds": seconds, "bytes": held_bytes, "byte_bound": settings.cache.max_bytes,
    }  # fmt: skip


async def decode(body: bytes, pages: int, *, mapped: bool) -> dict[str, float]:
    """Read `pages` distinct cached answers of `body` through the Salesloft source's client,
    which decodes each with the source's page parser into the decoded layer (`mapped`: and
    maps its meetings, as a query's walk does); what that layer and the process hold after."""
    settings = Settings()
    # The byte store keeps one answer at a time, so only the decoded layer grows.
    cache = UpstreamCache(
        ByteStore(BoundedMemoryCache(max_entries=1)),
        decoded_max_bytes=settings.cache.decoded_max_bytes,
    )
    decoded = cache.decoded
    keep_s = Freshness(settings.salesloft.cache_ttl, settings.salesloft.stale_ttl).keep_s
    now = datetime.now(UTC)
    async with aiohttp.ClientSession() as session:  # never used: every read is a cache hit
        client = SalesloftSource.create(settings.salesloft, session, cache).client
        gc.collect()
        before = rss_mb()
        started = time.perf_counter()
        for number in range(1, pages + 1):
            params = [*LISTING, ("per_page", "100"), ("page", str(number))]
            # The key the client reads: its scope is the source and its credential.
            key = request_key(client._cache_scope, "/meetings", params)
            await cache.store.write(key, Entry(200, body, time.time()).encode(), keep_s)
            listing = await client.get("/meetings", params, listing_page)
            if mapped:
                listing.meetings(now)
            if decoded.size_bytes > decoded.max_bytes:
                raise AssertionError(f"{decoded.size_bytes} bytes counted, over the bound")
        seconds = time.perf_counter() - started
        gc.collect()
        after = rss_mb()
    if len(decoded) == 0:
        raise AssertionError("nothing was decoded into the decoded layer")
    held, held_bytes = len(decoded), decoded.size_bytes
    await cache.close()
    return {
        "held": held, "bytes": held_bytes, "byte_bound": decoded.max_bytes,
        "before": before, "after": after, "seconds": seconds,
    }  # fmt: skip


async def salesloft_pages() -> dict[int, bytes]:
    """Real answers of the Salesloft simulator (seeded data set), by meetings per page."""
    pages: dict[int, bytes] = {}
    async with running_simulators(rate_limits=False) as simulators, aiohttp.ClientSession() as http:
        salesloft = simulators.salesloft
        headers = {"Authorization": f"Bearer {salesloft.api_key}"}
        for size in PAGE_SIZES:
            params = {"per_page": str(size), "page": "1"}
            url = salesloft.base_url + "/meetings"
            async with http.get(url, params=params, headers=headers) as response:
                response.raise_for_status()
                pages[size] = await response.read()
    return pages


def measure_in_child(body_file: Path, *options: str) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.memory", "--body", str(body_file), *options]
    done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def meetings_label(size: int) -> str:
    return f"{size} meeting{'s' if size > 1 else ''}"


def run(keys: int, pages: int) -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as directory:
        body_files: dict[int, Path] = {}
        for size, body in asyncio.run(salesloft_pages()).items():
            body_files[size] = Path(directory, f"salesloft-{size}.json")
            body_files[size].write_bytes(body)
        store_table(body_files, keys)
        decoded_table(body_files, pages)


def store_table(body_files: Mapping[int, Path], keys: int) -> None:
    print(f"{keys:,} distinct keys into UpstreamCache(BoundedMemoryCache(max_entries, max_bytes))")
    rows: list[list[object]] = []
    for size, body_file in body_files.items():
        body = body_file.read_bytes()
        result = measure_in_child(body_file, "--keys", str(keys))
        growth = result["after"] - result["before"]
        held = int(result["held"])
        within = held <= result["bound"] and result["bytes"] <= result["byte_bound"]
        verdict = "within bounds" if within else "OVER A BOUND"
        rows.append([
            meetings_label(size), f"{len(body):,}",
            f"{held:,} ({verdict})", f"{result['before']:,.0f}", f"{result['after']:,.0f}",
            f"{growth:,.0f}", f"{held * len(body) / 2**20:,.0f}", f"{result['seconds']:.1f}",
        ])  # fmt: skip
    print_table(
        "RSS of one process before and after (MB = MiB)",
        ["Salesloft page", "body bytes", "entries held", "RSS before", "RSS after",
         "growth MB", "bodies MB", "fill s"],
        rows,
    )  # fmt: skip
    print("bodies MB: entries held × body size, what the held answers themselves weigh")


def decoded_table(body_files: Mapping[int, Path], pages: int) -> None:
    print(
        f"\nat least {pages:,} distinct cached pages (and {DECODED_PASSES}× the bound) read "
        "through the Salesloft client into DecodedAnswers(cache.decoded_max_bytes)"
    )
    rows: list[list[object]] = []
    for size, body_file in body_files.items():
        body_size = body_file.stat().st_size
        bound = Settings().cache.decoded_max_bytes
        distinct = max(pages, math.ceil(DECODED_PASSES * bound / body_size))
        for read_as in ("parsed", "mapped"):
            result = measure_in_child(body_file, "--decode", read_as, "--pages", str(distinct))
            growth = result["after"] - result["before"]
            counted = result["bytes"] / 2**20
            within = result["bytes"] <= result["byte_bound"]
            rows.append([
                meetings_label(size), f"{body_size:,}", read_as, f"{distinct:,}",
                f"{int(result['held']):,}", f"{counted:,.1f}",
                f"{result['byte_bound'] / 2**20:,.0f} ({'within' if within else 'OVER'})",
                f"{result['before']:,.0f}", f"{result['after']:,.0f}", f"{growth:,.0f}",
                f"{growth / counted:.1f}", f"{result['seconds']:.1f}",
            ])  # fmt: skip
    print_table(
        "RSS of one process before and after (MB = MiB)",
        ["Salesloft page", "body bytes", "read as", "pages read", "entries held",
         "counted MB", "bound MB", "RSS before", "RSS after", "growth MB",
         "growth ÷ counted", "read s"],
        rows,
    )  # fmt: skip
    print(
        "counted MB: bytes of the answers whose decoded records are held (what the bound "
        "counts); parsed: the page parser's records; mapped: their meetings mapped too"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=KEYS)
    parser.add_argument(
        "--pages", type=int, default=DECODED_PAGES, help="least distinct pages decoded per case"
    )
    parser.add_argument("--body", type=Path, help="(internal) measure one body file, print JSON")
    parser.add_argument(
        "--decode", choices=("parsed", "mapped"), help="(internal) with --body: decoded layer"
    )
    args = parser.parse_args()
    if args.body is None:
        run(args.keys, args.pages)
    elif args.decode is None:
        print(json.dumps(asyncio.run(fill(args.body.read_bytes(), args.keys))))
    else:
        body, mapped = args.body.read_bytes(), args.decode == "mapped"
        print(json.dumps(asyncio.run(decode(body, args.pages, mapped=mapped))))


if __name__ == "__main__":
    main()
