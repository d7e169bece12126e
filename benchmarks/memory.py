"""Memory of the upstream response cache: 100,000 distinct keys stored through
`UpstreamCache` over `BoundedMemoryCache` with the default bound (`cache.max_entries`), the
entries being real Salesloft pages of 1, 25 and 100 meetings (about 3 KB, 55 KB, 220 KB).
Each body is measured in a fresh process: its RSS (VmRSS) before and after, and the entries
held, which must equal the bound.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from benchmarks.common import ROOT, machine, print_table
from gateway.cache.backends import BoundedMemoryCache, ByteStore
from gateway.cache.entries import Entry, Freshness, fingerprint, request_key
from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.simulators.cluster import running_simulators

KEYS = 100_000
PAGE_SIZES = (1, 25, 100)


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


def measure_in_child(body_file: Path, keys: int) -> dict[str, float]:
    command = [sys.executable, "-m", "benchmarks.memory", "--body", str(body_file)]
    command += ["--keys", str(keys)]
    done = subprocess.run(command, cwd=ROOT, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the measuring process failed:\n{done.stderr}")
    result: dict[str, float] = json.loads(done.stdout)
    return result


def run(keys: int) -> None:
    print(machine())
    print(f"{keys:,} distinct keys into UpstreamCache(BoundedMemoryCache(max_entries, max_bytes))")
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as directory:
        for size, body in asyncio.run(salesloft_pages()).items():
            body_file = Path(directory, f"salesloft-{size}.json")
            body_file.write_bytes(body)
            result = measure_in_child(body_file, keys)
            growth = result["after"] - result["before"]
            held = int(result["held"])
            within = held <= result["bound"] and result["bytes"] <= result["byte_bound"]
            verdict = "within bounds" if within else "OVER A BOUND"
            rows.append([
                f"{size} meeting{'s' if size > 1 else ''}", f"{len(body):,}",
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=KEYS)
    parser.add_argument("--body", type=Path, help="(internal) measure one body file, print JSON")
    args = parser.parse_args()
    if args.body is None:
        run(args.keys)
    else:
        print(json.dumps(asyncio.run(fill(args.body.read_bytes(), args.keys))))


if __name__ == "__main__":
    main()
