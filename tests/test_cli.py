"""`python -m gateway simulate` serves the five APIs and prints how to reach them."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from dataclasses import replace

import aiohttp
import pytest

from gateway.cli import build_parser, dataset_sizes
from gateway.simulators.cluster import NAMES
from gateway.simulators.dataset import DatasetSizes

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


@pytest.mark.parametrize("command", ["simulate", "demo"])
@pytest.mark.parametrize("value", ["0", "201", "-3", "abc", "2.5", ""])
def test_scale_must_be_an_integer_from_1_to_200(
    command: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args([command, "--scale", value])
    assert exited.value.code == 2
    assert "argument --scale" in capsys.readouterr().err


def test_scale_sets_the_sizes_and_a_count_given_overrides_its_own() -> None:
    args = build_parser().parse_args(["simulate", "--scale", "3", "--salesloft-count", "10"])
    assert (args.scale, dataset_sizes(args)) == (3, replace(DatasetSizes.scaled(3), salesloft=10))
    args = build_parser().parse_args(["demo", "--daily-count", "5"])
    assert (args.scale, dataset_sizes(args)) == (None, DatasetSizes(daily=5))


async def test_simulate_at_scale_prints_the_record_counts() -> None:
    ports = [arg for name in NAMES for arg in (f"--{name}-port", "0")]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "simulate", *ports, "--scale", "2",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        line = ""
        while not line.startswith("Records at scale 2:"):
            line = (await asyncio.wait_for(process.stdout.readline(), 20)).decode()
            assert line, "simulate exited before printing the record counts"
        for count in ("leezy 240 meetings", "of 50 leads", "meetstream 80 bots", "salesloft 300"):
            assert count in line
        assert re.search(r"nexor \d+ meetings.*daily \d+ sessions", line)
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0
