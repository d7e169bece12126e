"""What the benchmarks share: the simulators and uvicorn servers, each in a process of its own,
their admin API, a concurrent load generator, and the tables the benchmarks print.

`python -m benchmarks.common [--salesloft N | --scale N] [--rate-limits]` is the simulator
process (`--scale`: a real-sized account, `meetings-gateway simulate --scale`): it
prints one JSON line (each simulator's origin, base URL and key) once all five listen, then
serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import json
import math
import os
import platform
import signal
import socket
import sys
import tempfile
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Mapping,
    MutableMapping,
    Sequence,
)
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from gateway.simulators.cluster import running_simulators
from gateway.simulators.dataset import DatasetSizes, build_dataset
from gateway.simulators.faults import Fault

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MINIMAL_BODY_ENV = "BENCH_MINIMAL_BODY"  # the file the minimal ASGI app answers with
READY_TIMEOUT_S = 60.0
JSON_HEADERS = {"Content-Type": "application/json"}

MEETING_SELECTION = (
    "edges{ node{ id source title status startTime attendees{ name email } } } "
    "pageInfo{ hasNextPage endCursor } sources{ source state cached stale }"
)
MERGED_QUERY = "query($first:Int!){ meetings(first:$first){ " + MEETING_SELECTION + " } }"


# --- simulators -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Upstream:
    """One simulator as the benchmark sees it from outside its process."""

    name: str
    origin: str  # http://127.0.0.1:<port>, where /__admin/ lives
    base_url: str  # origin + the vendor's path prefix
    api_key: str


@dataclass(frozen=True)
class RecordedCall:
    """One request a simulator received (from GET /__admin/requests)."""

    path: str
    query: tuple[tuple[str, str], ...]
    status: int | None
    started_at: float  # wall-clock seconds

    @property
    def distinct_key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.path, tuple(sorted(self.query))


@asynccontextmanager
async def simulator_process(
    *, salesloft: int | None = None, scale: int | None = None, rate_limits: bool = False
) -> AsyncIterator[tuple[Upstream, ...]]:
    """The five simulators (seeded data set) on free loopback ports, in a child process."""
    args = ["-m", "benchmarks.common"]
    if salesloft is not None:
        args += ["--salesloft", str(salesloft)]
    if scale is not None:
        args += ["--scale", str(scale)]
    if rate_limits:
        args.append("--rate-limits")
    async with _child(args, stdout=asyncio.subprocess.PIPE) as process:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT_S)
        if not line:
            raise RuntimeError(f"the simulator process exited ({await process.wait()})")
        yield tuple(Upstream(**item) for item in json.loads(line))


def gateway_env(
    upstreams: Iterable[Upstream],
    *,
    per_source: Mapping[str, object] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """GATEWAY_* variables pointing every source at its simulator; `per_source` settings
    (e.g. {"cache_ttl": 0}) apply to all five, `extra` are further variables."""
    env: dict[str, str] = {}
    for upstream in upstreams:
        prefix = f"GATEWAY_{upstream.name.upper()}__"
        env[prefix + "BASE_URL"] = upstream.base_url
        env[prefix + "API_KEY"] = upstream.api_key
        for name, value in (per_source or {}).items():
            env[prefix + name.upper()] = str(value)
    env.update(extra or {})
    return env


async def inject_fault(http: aiohttp.ClientSession, upstream: Upstream, fault: Fault) -> None:
    url = upstream.origin + "/__admin/faults"
    async with http.post(url, json=fault.model_dump(mode="json")) as response:
        response.raise_for_status()


async def recorded_calls(http: aiohttp.ClientSession, upstream: Upstream) -> list[RecordedCall]:
    async with http.get(upstream.origin + "/__admin/requests") as response:
        response.raise_for_status()
        log = await response.json()
    return [
        RecordedCall(r["path"], tuple((k, v) for k, v in r["query"]), r["status"], r["started_at"])
        for r in log["requests"]
    ]


async def reset_calls(http: aiohttp.ClientSession, upstream: Upstream) -> None:
    async with http.delete(upstream.origin + "/__admin/requests") as response:
        response.raise_for_status()


# --- servers --------------------------------------------------------------------------------


@asynccontextmanager
async def gateway_process(env: Mapping[str, str]) -> AsyncIterator[str]:
    """The real gateway app (`create_app()` from GATEWAY_* variables) under uvicorn, in a
    child process; yields its base URL."""
    async with gateway_server(env) as (url, _):
        yield url


@asynccontextmanager
async def gateway_server(env: Mapping[str, str]) -> AsyncIterator[tuple[str, int]]:
    """As `gateway_process`, yielding the base URL and the server's process id."""
    async with _uvicorn("gateway.app:create_app", env) as served:
        yield served


@asynccontextmanager
async def minimal_process(body: bytes) -> AsyncIterator[str]:
    """`minimal_app` under the same uvicorn settings as the gateway, answering `body`."""
    async with minimal_server(body) as (url, _):
        yield url


@asynccontextmanager
async def minimal_server(body: bytes) -> AsyncIterator[tuple[str, int]]:
    """As `minimal_process`, yielding the base URL and the server's process id."""
    with tempfile.TemporaryDirectory() as directory:
        body_file = Path(directory, "body.json")
        await asyncio.to_thread(body_file.write_bytes, body)
        async with _uvicorn(
            "benchmarks.common:minimal_app", {MINIMAL_BODY_ENV: str(body_file)}
        ) as served:
            yield served


Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Message, Receive, Send], Awaitable[None]]


def minimal_app() -> AsgiApp:
    """A pure ASGI app that reads the request and answers fixed JSON bytes: the floor of what
    uvicorn can serve here, to compare the gateway with."""
    body = Path(os.environ[MINIMAL_BODY_ENV]).read_bytes()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        more_body = True
        while more_body:
            more_body = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


@asynccontextmanager
async def _uvicorn(app: str, env: Mapping[str, str]) -> AsyncIterator[tuple[str, int]]:
    port = free_port()
    args = [
        "-m", "uvicorn", app, "--factory", "--host", HOST, "--port", str(port),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    url = f"http://{HOST}:{port}"
    async with _child(args, env=env) as process:
        await _wait_ready(process, url + "/healthz")
        yield url, process.pid


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (from /proc/<pid>/stat): stable on a shared
    machine where wall-clock throughput is not."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_ready(process: asyncio.subprocess.Process, url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError(f"the server process exited ({process.returncode})")
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {READY_TIMEOUT_S:.0f} s")


@asynccontextmanager
async def _child(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, stdout: int | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python <args>` from the repository root, with no GATEWAY_* variables but `env`'s."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, *args, cwd=ROOT, env={**clean, **(env or {})}, stdout=stdout
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


# --- requests and load ----------------------------------------------------------------------


def payload(query: str, variables: Mapping[str, object] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": dict(variables or {})}).encode()


async def post_graphql(http: aiohttp.ClientSession, url: str, body: bytes) -> bytes:
    """One POST /graphql; the response bytes (an HTTP error status raises)."""
    async with http.post(url + "/graphql", data=body, headers=JSON_HEADERS) as response:
        data = await response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status}: {data[:300]!r}")
        return data


async def graphql(
    http: aiohttp.ClientSession, url: str, query: str, variables: Mapping[str, object] | None
) -> dict[str, Any]:
    """One query; the decoded response, which must carry no errors."""
    body = json.loads(await post_graphql(http, url, payload(query, variables)))
    if not isinstance(body, dict) or body.get("errors"):
        raise RuntimeError(f"the gateway answered with errors: {str(body)[:500]}")
    return body


@dataclass
class LoadResult:
    latencies_s: list[float]
    elapsed_s: float
    failures: int  # not HTTP 200, or a body with "errors"

    @property
    def count(self) -> int:
        return len(self.latencies_s)

    @property
    def rps(self) -> float:
        return self.count / self.elapsed_s

    def ms(self, quantile: float) -> float:
        return percentile(self.latencies_s, quantile) * 1000


def percentile(values: Sequence[float], quantile: float) -> float:
    """Nearest-rank percentile (`quantile` between 0 and 1)."""
    ordered = sorted(values)
    rank = min(max(math.ceil(quantile * len(ordered)) - 1, 0), len(ordered) - 1)
    return ordered[rank]


async def run_load(
    url: str, body: bytes | Callable[[int], bytes], *, concurrency: int, seconds: float
) -> LoadResult:
    """`concurrency` clients, each posting to `url` back to back for `seconds`; every request
    sends `body`, or request n `body(n)`. Each client holds one keep-alive connection."""
    numbers = itertools.count()
    body_of = body if callable(body) else lambda _: body
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        started = time.perf_counter()
        deadline = started + seconds

        async def client() -> None:
            nonlocal failures
            while time.perf_counter() < deadline:
                data = body_of(next(numbers))
                sent = time.perf_counter()
                async with http.post(url, data=data, headers=JSON_HEADERS) as response:
                    answer = await response.read()
                latencies.append(time.perf_counter() - sent)
                if response.status != 200 or b'"errors"' in answer:
                    failures += 1

        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(latencies, elapsed, failures)


# --- output ---------------------------------------------------------------------------------


def print_table(title: str, headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A plain-text table: the first column left-aligned, the others right-aligned."""
    cells = [[str(value) for value in row] for row in rows]
    widths = [max([len(h)] + [len(row[i]) for row in cells]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w)
            for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ).rstrip()

    print(f"\n{title}")
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))
    sys.stdout.flush()


def machine() -> str:
    """nproc, CPU model, RAM, Python, what uvicorn runs on, and how busy the machine is."""
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for entry in cpuinfo:
            if entry.startswith("model name"):
                model = entry.split(":", 1)[1].strip()
                break
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs ({model}), {ram_gb:.1f} GiB RAM, "
        f"Python {platform.python_version()}, uvicorn loop={loop} http={http}; "
        f"load average {load:.2f}"
    )


# --- the simulator process ------------------------------------------------------------------


async def _serve_simulators(
    sizes: DatasetSizes | None, scale: int | None, *, rate_limits: bool
) -> None:
    dataset = build_dataset(sizes=sizes, scale=scale)
    async with running_simulators(dataset, host=HOST, rate_limits=rate_limits) as simulators:
        described = [
            {"name": s.name, "origin": s.origin, "base_url": s.base_url, "api_key": s.api_key}
            for s in simulators
        ]
        print(json.dumps(described), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="the five simulators for the benchmarks")
    parser.add_argument("--salesloft", type=int, help="Salesloft meetings (default data set)")
    parser.add_argument("--scale", type=int, help="a real-sized account (1-200)")
    parser.add_argument("--rate-limits", action="store_true", help="enforce the rate limits")
    args = parser.parse_args(argv)
    sizes = None if args.salesloft is None else DatasetSizes(salesloft=args.salesloft)
    asyncio.run(_serve_simulators(sizes, args.scale, rate_limits=args.rate_limits))


if __name__ == "__main__":
    main()
