"""GraphiQL renders in a real browser from the gateway's own assets, with the example query."""

from __future__ import annotations

import pytest

from tests.browser import browser_page, render


@pytest.mark.usefixtures("chromium")
async def test_graphiql_renders_with_the_example_query(gateway_url: str) -> None:
    dom = await render(gateway_url + "/graphql")
    assert "graphiql-container" in dom
    assert "graphiql-query-editor" in dom
    # The example query fills the first tab, highlighted by the editor (not just the config).
    assert '<span class="cm-def">UpcomingMeetings</span>' in dom
    assert "unpkg.com" not in dom


@pytest.mark.usefixtures("chromium")
async def test_the_explorer_opens_and_lists_the_root_fields(gateway_url: str) -> None:
    async with browser_page() as page:
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "console",
            lambda message: problems.append(message.text) if "Security" in message.text else None,
        )
        await page.goto(gateway_url + "/graphql")
        await page.click("button[aria-label='Show GraphiQL Explorer']")
        explorer = page.locator(".graphiql-explorer-root")
        await explorer.locator("[data-field-name='meetings']").wait_for()
        fields = await explorer.locator(".graphiql-explorer-node > [data-field-name]").all()
        names = {await field.get_attribute("data-field-name") for field in fields}
        # It shows the example query: `meetings(first: 10, ...)`, its argument filled in.
        first = explorer.locator(".graphiql-explorer-meetings [data-arg-name='first'] input")
        first_value = await first.first.input_value()
    assert {"meetings", "meeting", "scheduledBots", "lead", "sources"} <= names
    assert first_value == "10"
    assert problems == []  # no script error, nothing the Content-Security-Policy refused
