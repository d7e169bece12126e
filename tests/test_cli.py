"""`python -m gateway simulate` serves the five APIs and prints how to reach them."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys

import aiohttp

from gateway.simulators.cluster import NAMES

LINE = re.compile(r"^\s+(\w+)\s+(http://\S+)\s+key (\S+)$")


async def test_simulate_prints_urls_and_keys_that_work_then_stops_on_ctrl_c() -> None:
    ports = [arg for name in NAMES for arg in (f"--{name}-port", "0")]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "simulate", *ports, "--salesloft-count", "30",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    found: dict[str, tuple[str, str]] = {}
    try:
        while len(found) < len(NAMES):
            line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
            assert line, "simulate exited before printing every simulator"
            if match := LINE.match(line.rstrip("\n")):
                found[match[1]] = (match[2], match[3])
        assert sorted(found) == sorted(NAMES)
        async with aiohttp.ClientSession() as http:
            leezy_url, leezy_key = found["leezy"]
            headers = {"Authorization": f"Bearer {leezy_key}"}
            async with http.get(f"{leezy_url}/meetings", headers=headers) as response:
                assert response.status == 200
                assert len((await response.json())["data"]) == 20
            salesloft_url, salesloft_key = found["salesloft"]
            headers = {"Authorization": f"Bearer {salesloft_key}"}
            params = {"per_page": "100", "show_deleted": "false"}
            async with http.get(f"{salesloft_url}/meetings", headers=headers, params=params) as r:
                active = len((await r.json())["data"])
            async with http.get(
                f"{salesloft_url}/meetings",
                headers=headers,
                params={**params, "show_deleted": "true"},
            ) as r:
                assert active + len((await r.json())["data"]) == 30
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_simulate_rejects_a_bad_port() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "simulate", "--daily-port", "70000",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert b"70000 is not a TCP port" in stderr
