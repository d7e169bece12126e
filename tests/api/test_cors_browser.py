"""CORS in a real browser: a page of a listed origin reads the gateway's answer to a
preflighted request (it sends `Authorization`, with credentials); a page of an origin not
listed cannot, and its query never runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.config import CorsSettings, Settings
from tests.browser import browser_page
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

QUERY = "{ meetings(first: 3, orderBy: {direction: ASC}) { edges { node { title source } } } }"

# The app's page: POSTs the query to the gateway named in its URL, with credentials and an
# Authorization header (so the browser preflights it), then writes what it read, or that
# it could not, into the page.
PAGE = """<!doctype html>
<html><body><pre id="result"></pre><script>
var gateway = new URLSearchParams(location.search).get("gateway");
fetch(gateway + "/graphql", {
  method: "POST",
  credentials: "include",
  headers: {"Content-Type": "application/json", "Authorization": "Bearer app-user"},
  body: JSON.stringify({query: QUERY_JSON})
}).then(function (response) { return response.json(); })
  .then(function (body) { done(JSON.stringify(body.data)); },
        function (error) { done("failed: " + error); });
function done(text) {
  var result = document.getElementById("result");
  result.textContent = text;
  result.dataset.done = "yes";
}
</script></body></html>
""".replace("QUERY_JSON", json.dumps(QUERY))


@asynccontextmanager
async def app_origin() -> AsyncIterator[str]:
    """Another origin (another port): a tiny HTTP server with the app's page at `/`."""

    async def index(_: web.Request) -> web.Response:
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class Recorder:
    """What reached the gateway's `/graphql`: method, origin, headers a preflight asked."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            headers = dict(scope["headers"])
            asked = headers.get(b"access-control-request-headers", b"").decode()
            self.seen.append((scope["method"], headers.get(b"origin", b"").decode(), asked))
        await self.app(scope, receive, send)

    def methods(self, origin: str) -> list[str]:
        return [method for method, seen_origin, _ in self.seen if seen_origin == origin]


async def read_in_browser(page_url: str, gateway: str) -> str:
    async with browser_page() as page:
        await page.goto(f"{page_url}/?{urlencode({'gateway': gateway})}")
        await page.wait_for_selector("#result[data-done]")
        return await page.inner_text("#result")


@pytest.mark.usefixtures("chromium")
async def test_a_listed_origin_reads_and_another_cannot(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    async with app_origin() as allowed, app_origin() as other:
        cors = CorsSettings(allow_origins=[allowed])
        recorder = Recorder(
            create_app(settings.model_copy(update={"cors": cors}), clock=lambda: REFERENCE_NOW)
        )
        async with serving(recorder) as gateway:
            async with http.post(gateway + "/graphql", json={"query": QUERY}) as response:
                direct = (await response.json())["data"]
            read = await read_in_browser(allowed, gateway)
            refused = await read_in_browser(other, gateway)

    assert len(direct["meetings"]["edges"]) == 3
    assert json.loads(read) == direct
    assert refused == "failed: TypeError: Failed to fetch"
    # The listed page was preflighted (asking to send Authorization), then its query ran.
    assert recorder.methods(allowed) == ["OPTIONS", "POST"]
    asked = [headers for method, origin, headers in recorder.seen if origin == allowed]
    assert "authorization" in asked[0].split(",")
    # The other page's preflight was refused: its query never reached the gateway.
    assert recorder.methods(other) == ["OPTIONS"]
