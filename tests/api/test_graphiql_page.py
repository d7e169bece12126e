"""Unit tests of the self-hosted GraphiQL page (no browser)."""

from __future__ import annotations

import asyncio
import json
import re
from html.parser import HTMLParser

import fastapi
import pytest
from starlette.routing import Mount
from starlette.types import Message, Scope

from gateway.api.graphiql import (
    GRAPHIQL_CSP,
    STATIC_DIR,
    graphiql_html,
    mount_graphiql_assets,
)

QUERY = 'query Example {\n  meetings(first: 3) { id title }\n}\n# "quoted" & <b>tagged</b>\n'


class _Scripts(HTMLParser):
    """Collect every <script> element's attributes and raw text."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.links: list[dict[str, str | None]] = []
        self._current: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._current = dict(attrs)
            self.scripts.append((self._current, ""))
        elif tag == "link":
            self.links.append(dict(attrs))

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._current = None


def _parse(page: str) -> _Scripts:
    parser = _Scripts()
    parser.feed(page)
    parser.close()
    return parser


def _config(page: str) -> object:
    configs = [text for attrs, text in _parse(page).scripts if attrs.get("id") == "graphiql-config"]
    assert len(configs) == 1
    return json.loads(configs[0])


def _page(
    default_query: str = QUERY,
    *,
    endpoint: str = "/graphql",
    assets_url: str = "/graphiql-assets",
) -> str:
    return graphiql_html(endpoint=endpoint, assets_url=assets_url, default_query=default_query)


def test_config_round_trips() -> None:
    page = _page(endpoint="/api/graphql?x=1&y=2")
    assert _config(page) == {"endpoint": "/api/graphql?x=1&y=2", "defaultQuery": QUERY}


@pytest.mark.parametrize(
    "query",
    [
        "# </script><script>alert(1)</script>\n{ __typename }",
        "# </SCRIPT >{ __typename }",
        "# <!-- <script> -->{ __typename }",
        "# \u2028\u2029 ünïcödé 🚀",
    ],
)
def test_hostile_default_query_stays_inside_config(query: str) -> None:
    page = _page(query)
    config_element = re.search(
        r'<script type="application/json" id="graphiql-config">(.*?)</script>', page, re.S
    )
    assert config_element is not None
    body = config_element.group(1)
    assert "<" not in body
    assert ">" not in body
    assert _config(page) == {"endpoint": "/graphql", "defaultQuery": query}
    assert page.lower().count("</script") == len(_parse(page).scripts)


def test_no_inline_executable_script() -> None:
    scripts = _parse(_page()).scripts
    for attrs, text in scripts:
        if attrs.get("type") == "application/json":
            continue
        assert attrs.get("src"), attrs
        assert text.strip() == ""
    assert "javascript:" not in _page()
    assert not re.search(r"\son[a-z]+\s*=", _page())


def test_assets_load_in_order_from_assets_url() -> None:
    parsed = _parse(_page(assets_url="/static/gq/"))
    sources = [src for attrs, _ in parsed.scripts if (src := attrs.get("src"))]
    assert sources == [
        "/static/gq/react.production.min.js",
        "/static/gq/react-dom.production.min.js",
        "/static/gq/graphiql.min.js",
        "/static/gq/plugin-explorer.umd.js",
        "/static/gq/init.js",
    ]
    styles = [href for link in parsed.links if (href := link.get("href"))]
    assert styles == ["/static/gq/graphiql.min.css", "/static/gq/plugin-explorer.css"]
    for source in [*sources, *styles]:
        assert (STATIC_DIR / source.rsplit("/", 1)[1]).is_file()


def test_title_is_escaped() -> None:
    page = graphiql_html(
        endpoint="/graphql", assets_url="/a", default_query="{ x }", title="<meetings> & co"
    )
    assert "<title>&lt;meetings&gt; &amp; co</title>" in page
    assert "<title>meetings-gateway</title>" in _page()


def test_csp_policy() -> None:
    assert GRAPHIQL_CSP == (
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "font-src 'self' data:"
    )
    assert "unsafe-eval" not in GRAPHIQL_CSP
    assert "script-src" not in GRAPHIQL_CSP


def test_vendored_assets_and_licenses_present() -> None:
    for name in (
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
        "plugin-explorer.umd.js",
        "plugin-explorer.css",
        "init.js",
        "LICENSE.graphiql",
        "LICENSE.graphiql-explorer",
        "LICENSE.react",
        "LICENSE.react-dom",
        "README.md",
    ):
        assert (STATIC_DIR / name).is_file(), name
    init = (STATIC_DIR / "init.js").read_text()
    assert "graphiql-config" in init
    assert "defaultQuery" in init


async def _get(app: fastapi.FastAPI, path: str) -> tuple[int, dict[str, str], bytes]:
    """Minimal ASGI GET (the venv has no httpx for TestClient)."""
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    messages: list[Message] = []
    requested = False
    done = asyncio.Event()

    async def receive() -> Message:
        # The request once, then (as a server would) a disconnect after the response ended.
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            done.set()

    async with asyncio.timeout(10):
        await app(scope, receive, send)
    start = messages[0]
    headers = {key.decode(): value.decode() for key, value in start["headers"]}
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return start["status"], headers, body


async def test_mount_graphiql_assets_serves_files() -> None:
    app = fastapi.FastAPI()
    mount_graphiql_assets(app, "/graphiql-assets")
    mounts = [route for route in app.routes if isinstance(route, Mount)]
    assert [mount.path for mount in mounts] == ["/graphiql-assets"]

    status, headers, body = await _get(app, "/graphiql-assets/init.js")
    assert status == 200
    assert "javascript" in headers["content-type"]
    assert body == (STATIC_DIR / "init.js").read_bytes()

    status, headers, _ = await _get(app, "/graphiql-assets/graphiql.min.css")
    assert status == 200
    assert headers["content-type"].startswith("text/css")

    status, _, _ = await _get(app, "/graphiql-assets/missing.js")
    assert status == 404
