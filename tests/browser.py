"""Headless Chromium for browser tests: render a URL and return its DOM, or drive a page
with Playwright (clicks, what a script fetched), always in Debian's Chromium."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from playwright.async_api import Page, async_playwright

CHROMIUM_NAMES = ("chromium", "chromium-browser")

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
"""Flags for an offline, root-run, throwaway headless Chromium."""


def chromium_path() -> str | None:
    """Return the Chromium executable found on PATH, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    return None


async def render(url: str, *, budget_ms: int = 10_000, time_limit: float = 60.0) -> str:
    """Load ``url`` in headless Chromium and return the DOM after scripts ran.

    ``budget_ms`` is Chromium's virtual-time budget; ``time_limit`` (seconds) bounds the whole
    subprocess. Raises RuntimeError if Chromium is missing, fails or times out.
    """
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("chromium not found on PATH")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        process = await asyncio.create_subprocess_exec(
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget_ms}",
            "--dump-dom",
            url,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            async with asyncio.timeout(time_limit):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            # Chromium forks helpers (zygote, renderer): kill its whole process group.
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
            raise RuntimeError(f"chromium timed out after {time_limit}s on {url}") from None
    if process.returncode != 0:
        tail = stderr.decode(errors="replace")[-2000:]
        raise RuntimeError(f"chromium exited with {process.returncode}: {tail}")
    return stdout.decode(errors="replace")


@asynccontextmanager
async def browser_page() -> AsyncIterator[Page]:
    """A fresh page of Debian's headless Chromium, driven by Playwright (no browser download)."""
    executable = chromium_path()
    if executable is None:
        raise RuntimeError("chromium not found on PATH")
    flags = [flag for flag in CHROMIUM_FLAGS if flag != "--headless"]  # Playwright adds it
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=flags)
        try:
            page = await browser.new_page()
            page.set_default_timeout(20_000)
            yield page
        finally:
            await browser.close()
