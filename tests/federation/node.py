"""The npm project of the supergraph test: Apollo's composition and gateway on Node.js.

`package.json` and `package-lock.json` pin them; `scripts/ensure-npm-packages` installs
them (`make test` runs it, and so does the fixture). Without Node.js 20+ the test skips,
or fails under CI=true.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parent
ENSURE_PACKAGES = PROJECT.parents[1] / "scripts" / "ensure-npm-packages"
MIN_NODE = 20
START_SECONDS = 60  # to load Apollo's packages on a busy machine


def require() -> None:
    """Node.js and the pinned packages, installed if need be; else skip (fail in CI)."""
    problem = _node_problem()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the supergraph test is required in CI: {problem}")
        pytest.skip(problem)
    subprocess.run([ENSURE_PACKAGES], check=True, timeout=600)


def _node_problem() -> str | None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        return f"{' and '.join(missing)} not found (Node.js {MIN_NODE}+ with npm)"
    version = subprocess.run(
        ["node", "--version"], check=False, capture_output=True, text=True
    ).stdout
    found = re.match(r"v(\d+)\.", version)
    if found is None or int(found[1]) < MIN_NODE:
        return f"Node.js {MIN_NODE}+ needed, found {version.strip() or 'none'}"
    return None


async def run_script(script: str, stdin: Any) -> Any:
    """`node <script>` given `stdin` as JSON; its stdout read as JSON."""
    process = await asyncio.create_subprocess_exec(
        "node", str(PROJECT / script), cwd=PROJECT,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(json.dumps(stdin).encode()), 60)
    assert process.returncode == 0, err.decode()
    return json.loads(out)


@asynccontextmanager
async def serving(script: str, *args: str) -> AsyncIterator[str]:
    """`node <script> <args>` while it serves; yields the URL it prints ("listening <url>")."""
    process = await asyncio.create_subprocess_exec(
        "node", str(PROJECT / script), *args, cwd=PROJECT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    assert process.stdout is not None
    output: list[str] = []
    listening: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    async def read() -> None:  # to the end, so the pipe never fills
        assert process.stdout is not None
        async for raw in process.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            output.append(line)
            if line.startswith("listening ") and not listening.done():
                listening.set_result(line.removeprefix("listening ").rstrip("/"))
        if not listening.done():
            listening.set_exception(RuntimeError(f"{script} stopped:\n" + "\n".join(output)))

    reader = asyncio.create_task(read())
    try:
        yield await asyncio.wait_for(listening, START_SECONDS)
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()
        with suppress(asyncio.CancelledError):
            await reader
