"""GraphiQL renders in a real browser from the gateway's own assets, with the example query."""

from __future__ import annotations

import pytest

from tests.browser import render


@pytest.mark.usefixtures("chromium")
async def test_graphiql_renders_with_the_example_query(gateway_url: str) -> None:
    dom = await render(gateway_url + "/graphql")
    assert "graphiql-container" in dom
    assert "graphiql-query-editor" in dom
    # The example query fills the first tab, highlighted by the editor (not just the config).
    assert '<span class="cm-def">UpcomingMeetings</span>' in dom
    assert "unpkg.com" not in dom
