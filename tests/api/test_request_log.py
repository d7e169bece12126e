"""`X-Request-ID` and the log lines of a request: its own line (client, operation, outcome,
status, duration, upstream counts) and one per upstream failure, all with its request id;
from the app in process, and from a real `meetings-gateway serve` on stdout."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest

from gateway.app import create_app
from gateway.config import AuthSettings, Settings
from gateway.logs import JsonFormatter
from gateway.simulators.cluster import Simulators
from gateway.simulators.faults import Fault, FaultKind
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

DAILY = "query Daily { meetings(first: 5, filter: {sources: [DAILY]}) { totalCount } }"
GENERATED = re.compile(r"[0-9a-f]{32}")


@contextmanager
def logged(name: str, stream: io.StringIO) -> Iterator[None]:
    """The lines of logger `name` (and below) written into `stream` as JSON."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The gateway's log lines as JSON, as `serve` writes them."""
    stream = io.StringIO()
    with logged("gateway", stream):
        yield stream


def parsed(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def post(
    http: aiohttp.ClientSession, url: str, query: str, headers: dict[str, str] | None = None
) -> str:
    """The request id the answer carries."""
    async with http.post(url + "/graphql", json={"query": query}, headers=headers) as response:
        assert response.status == 200
        return response.headers["X-Request-ID"]


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[str]:
    async with serving(create_app(settings, clock=lambda: REFERENCE_NOW)) as url:
        yield url


@pytest.mark.parametrize("given", ["abc-123", "0f8e-4c2a.9:x_Y", "a" * 128])
async def test_a_safe_request_id_is_echoed(
    given: str, gateway: str, http: aiohttp.ClientSession
) -> None:
    assert await post(http, gateway, "{ sources { source } }", {"X-Request-ID": given}) == given


@pytest.mark.parametrize("given", ["", "a" * 129, "two words", "new\\nline", "é", "<script>"])
async def test_an_unsafe_request_id_is_replaced(
    given: str, gateway: str, http: aiohttp.ClientSession
) -> None:
    answered = await post(http, gateway, "{ sources { source } }", {"X-Request-ID": given})
    assert GENERATED.fullmatch(answered)


async def test_without_one_each_request_gets_its_own_id_on_every_answer(
    gateway: str, http: aiohttp.ClientSession
) -> None:
    first = await post(http, gateway, "{ sources { source } }")
    second = await post(http, gateway, "{ sources { source } }")
    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second
    for path in ("/healthz", "/metrics", "/graphql?query={sources{source}}"):
        async with http.get(gateway + path) as response:
            assert GENERATED.fullmatch(response.headers["X-Request-ID"]), path
    async with http.post(gateway + "/graphql", data=b"{not json") as response:
        assert response.status == 400
        assert GENERATED.fullmatch(response.headers["X-Request-ID"])


async def test_the_lines_of_a_request_carry_its_id_and_say_what_happened(
    settings: Settings,
    simulators: Simulators,
    gateway: str,
    http: aiohttp.ClientSession,
    log_lines: io.StringIO,
) -> None:
    simulators.daily.inject(Fault(kind=FaultKind.ERROR, status=503, times=1))
    await post(http, gateway, DAILY, {"X-Request-ID": "failing-daily"})
    await post(http, gateway, "{ meetings(first: 0) { totalCount } }", {"X-Request-ID": "bad-in"})
    lines = parsed(log_lines)
    failed, request = [line for line in lines if line.get("request_id") == "failing-daily"]
    assert failed["message"] == "upstream failed"
    assert failed["level"] == "WARNING"
    assert (failed["source"], failed["kind"], failed["status"]) == ("daily", "unavailable", 503)
    assert "traceback" not in failed  # expected: no traceback
    assert request["message"] == "request"
    assert request["client"] == "ip:127.0.0.1"  # the gate's identity when auth is off
    assert (request["method"], request["path"], request["status"]) == ("POST", "/graphql", 200)
    assert (request["operation"], request["outcome"]) == ("Daily", "partial")
    assert request["duration_ms"] > 0
    assert request["upstream"] == {
        "requests": len(simulators.daily.requests),
        "cacheHits": 0,
        "staleHits": 0,
        "sharedRequests": 0,
    }
    client_error, bad_input = [line for line in lines if line.get("request_id") == "bad-in"]
    assert (client_error["message"], client_error["code"]) == ("client error", "BAD_USER_INPUT")
    assert "traceback" not in client_error
    assert (bad_input["operation"], bad_input["outcome"]) == (None, "error")
    for secret in [simulator.api_key for simulator in simulators]:
        assert secret not in log_lines.getvalue()


async def test_the_client_is_the_identity_the_authentication_gives(
    settings: Settings, http: aiohttp.ClientSession, log_lines: io.StringIO
) -> None:
    key = "k3y-of-one-client"
    digest = hashlib.sha256(key.encode()).hexdigest()
    auth = AuthSettings(api_keys=[digest])
    app = create_app(settings.model_copy(update={"auth": auth}), clock=lambda: REFERENCE_NOW)
    async with serving(app) as url:
        headers = {"X-Request-ID": "identified", "Authorization": f"Bearer {key}"}
        await post(http, url, "{ sources { source } }", headers)
    (line,) = [line for line in parsed(log_lines) if line.get("request_id") == "identified"]
    assert line["client"] == f"key:{digest[:12]}"
    assert key not in log_lines.getvalue()


async def test_an_unexpected_exception_is_logged_with_its_traceback_and_request_id(
    settings: Settings, http: aiohttp.ClientSession, log_lines: io.StringIO
) -> None:
    app = create_app(settings, clock=lambda: REFERENCE_NOW)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    async with serving(app) as url:  # uvicorn configures its loggers as it starts
        with logged("uvicorn.error", log_lines):
            async with http.get(url + "/boom", headers={"X-Request-ID": "bug"}) as response:
                assert response.status == 500
    request, exception = [line for line in parsed(log_lines) if line.get("request_id") == "bug"]
    assert (request["message"], request["status"]) == ("request", 500)
    assert exception["message"].startswith("Exception in ASGI application")
    assert "RuntimeError: a bug" in exception["traceback"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_serve_writes_json_lines_with_the_request_id_on_stdout(
    simulators: Simulators, http: aiohttp.ClientSession
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_", "OTEL_"))}
    for simulator in simulators:
        env[f"GATEWAY_{simulator.name.upper()}__BASE_URL"] = simulator.base_url
        env[f"GATEWAY_{simulator.name.upper()}__API_KEY"] = simulator.api_key
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "serve", "--port", str(port),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    assert process.stdout is not None
    url = f"http://127.0.0.1:{port}"
    output: list[str] = []
    try:
        while not any("Uvicorn running on" in line for line in output):
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line, "serve exited before it started"
            output.append(line)
        await post(http, url, DAILY, {"X-Request-ID": "from-the-client"})
        while not any("from-the-client" in line for line in output):
            output.append((await asyncio.wait_for(process.stdout.readline(), 10)).decode())
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(process.communicate(), 20)
    output += rest.decode().splitlines()
    lines = [json.loads(line) for line in output if line.strip()]  # every line is JSON
    (request,) = [line for line in lines if line.get("request_id") == "from-the-client"]
    assert request["logger"] == "gateway.requests"
    assert (request["operation"], request["outcome"], request["status"]) == ("Daily", "ok", 200)
    assert request["upstream"]["requests"] == len(simulators.daily.requests) > 0
    everything = "".join(output)
    for secret in [simulator.api_key for simulator in simulators]:
        assert secret not in everything
