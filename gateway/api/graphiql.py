"""Self-hosted GraphiQL page: vendored assets, no CDN, no inline script.

The page loads React, ReactDOM and GraphiQL from ``static/graphiql`` (see the
README there) and boots through ``init.js``, which reads its configuration from
a ``<script type="application/json">`` element. It therefore works offline and
under :data:`GRAPHIQL_CSP`.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import fastapi
from fastapi.staticfiles import StaticFiles

__all__ = ["GRAPHIQL_CSP", "STATIC_DIR", "graphiql_html", "mount_graphiql_assets"]

STATIC_DIR = Path(__file__).parent / "static" / "graphiql"
"""Directory holding the vendored GraphiQL (with its explorer plugin), React and ReactDOM
bundles plus ``init.js``."""

GRAPHIQL_CSP = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:"
)
"""Content-Security-Policy the page is served with: no inline or foreign script.

GraphiQL's CSS embeds its fonts as ``data:`` URLs, hence ``font-src data:``.
"""

_SCRIPTS = (
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "plugin-explorer.umd.js",
    "init.js",
)
_STYLES = ("graphiql.min.css", "plugin-explorer.css")

# Inside <script> the HTML parser does not decode entities, so characters that could
# end the element or open a comment are written as JSON escapes; JSON.parse undoes them.
_JSON_ESCAPES = str.maketrans(
    {
        "<": "\\u003c",
        ">": "\\u003e",
        "&": "\\u0026",
        "\u2028": "\\u2028",
        "\u2029": "\\u2029",
    }
)


def _script_json(value: object) -> str:
    """Serialize ``value`` as JSON that is safe as the body of a ``<script>`` element."""
    return json.dumps(value, ensure_ascii=False).translate(_JSON_ESCAPES)


def graphiql_html(
    *,
    endpoint: str,
    assets_url: str,
    default_query: str,
    title: str = "meetings-gateway",
) -> str:
    """Return a complete GraphiQL page.

    ``endpoint`` is the GraphQL URL the fetcher POSTs JSON to, ``assets_url`` the
    URL prefix where :func:`mount_graphiql_assets` mounted the static files, and
    ``default_query`` the text of the first editor tab.
    """
    base = assets_url.rstrip("/")

    def asset(name: str) -> str:
        return html.escape(f"{base}/{name}", quote=True)

    config = _script_json({"endpoint": endpoint, "defaultQuery": default_query})
    scripts = "\n".join(f'    <script defer src="{asset(name)}"></script>' for name in _SCRIPTS)
    styles = "\n".join(f'    <link rel="stylesheet" href="{asset(name)}">' for name in _STYLES)
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>{html.escape(title)}</title>
{styles}
    <style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
    <script type="application/json" id="graphiql-config">{config}</script>
{scripts}
  </head>
  <body>
    <div id="graphiql">Loading GraphiQL…</div>
    <noscript>GraphiQL needs JavaScript.</noscript>
  </body>
</html>
"""


def mount_graphiql_assets(app: fastapi.FastAPI, path: str) -> None:
    """Serve the vendored GraphiQL assets (and ``init.js``) under ``path``."""
    app.mount(path, StaticFiles(directory=STATIC_DIR), name="graphiql-assets")
