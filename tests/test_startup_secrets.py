"""Start-up never prints a secret: a bad `GATEWAY_CACHE__URL` (or a key where its digest
belongs) is refused naming the setting, not its value; a Redis that cannot be reached is a
503 from /readyz, without its password. `rediss://` (TLS) is accepted."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from pydantic import ValidationError
from redis.asyncio import SSLConnection

from gateway.cache.backends import create_backend, redis_client
from gateway.config import Settings

PASSWORD = "pw-s3cret-9f2c"
CLI = str(Path(sys.executable).parent / "meetings-gateway")  # the console script
RUNNING = re.compile(r"Uvicorn running on (http://\S+)")


def environment(**variables: str) -> dict[str, str]:
    """This environment without GATEWAY_* (a developer's .env or shell), plus `variables`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return {**kept, **variables}


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"ftp://user:{PASSWORD}@cache.internal/0", "must be memory:// or redis[s]://"),
        (f"redis://:{PASSWORD}@cache.internal:port/0", "port is not a number"),
        (f"redis://:{PASSWORD}@cache.internal:99999/0", "port is not a number"),
        (f"redis://:{PASSWORD}@cache.internal/zero", "database (the URL's path) must be a number"),
        (f"rediss://:{PASSWORD}@/0", "names no host"),
    ],
)
async def test_serve_refuses_a_bad_cache_url_without_printing_its_password(
    url: str, says: str, tmp_path: Path
) -> None:
    process = await asyncio.create_subprocess_exec(
        CLI, "serve", "--port", "0", env=environment(GATEWAY_CACHE__URL=url), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().splitlines()
    assert lines[0] == "meetings-gateway: invalid configuration"
    assert lines[1].startswith("  GATEWAY_CACHE__URL: Value error, ")
    assert says in lines[1]
    assert PASSWORD.encode() not in stdout + stderr
    assert b"Traceback" not in stderr


def test_a_key_given_where_its_digest_belongs_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings.model_validate({"auth": {"api_keys": [PASSWORD]}})
    assert "not a SHA-256 hex digest" in str(refused.value)
    assert PASSWORD not in str(refused.value)
    assert PASSWORD not in repr(refused.value)


async def test_an_unreachable_redis_is_not_ready_and_its_password_is_never_printed(
    tmp_path: Path,
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{closed_port()}/0"
    process = await asyncio.create_subprocess_exec(
        CLI, "serve", "--port", "0", env=environment(GATEWAY_CACHE__URL=url), cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    printed = b""  # serve logs JSON lines on stdout
    try:
        while not (found := RUNNING.search(printed.decode())):
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            assert line, f"serve stopped: {printed.decode()}"
            printed += line
        async with aiohttp.ClientSession() as http:
            async with http.get(found[1] + "/readyz") as response:
                assert response.status == 503
                body = await response.json()
                raw = await response.read()
            async with http.get(found[1] + "/healthz") as response:
                assert response.status == 200  # alive, just not ready
            # A query with the cache down: answered without it, a warning logged.
            async with http.post(found[1] + "/graphql", json={"query": "{ sources { source } }"}):
                pass
    finally:
        process.terminate()
        rest, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert body["status"] == "unready"
    assert body["cache"] == {"backend": "redis", "reachable": False, "error": "ConnectionError"}
    assert PASSWORD.encode() not in raw
    assert PASSWORD.encode() not in printed + rest + stderr


def test_rediss_is_accepted_and_speaks_tls() -> None:
    url = f"rediss://gateway:{PASSWORD}@cache.example:6380/2"
    assert Settings.model_validate({"cache": {"url": url}}).cache.url == url
    client = redis_client(url)
    assert client is not None
    pool = client.connection_pool
    assert pool.connection_class is SSLConnection
    assert pool.connection_kwargs["username"] == "gateway"
    assert pool.connection_kwargs["db"] == 2
    backend = create_backend(url, max_entries=10, max_bytes=1024)
    cache_pool = backend.client.connection_pool
    assert cache_pool.connection_class is SSLConnection
    assert cache_pool.connection_kwargs["username"] == "gateway"
    assert (cache_pool.connection_kwargs["host"], cache_pool.connection_kwargs["port"]) == (
        "cache.example",
        6380,
    )
