"""CORS over plain HTTP: preflights answered for the listed origins only, and answers that
say which origin may read them (the browser test shows what a page can then do)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from gateway.app import create_app
from gateway.config import AuthSettings, CorsSettings, Settings
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

APP = "https://app.example.com"
OTHER = "https://evil.example.net"
QUERY = {"query": "{ __typename }"}


def preflight(origin: str, headers: str = "authorization,content-type") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }


@pytest.fixture
async def cors_url(settings: Settings) -> AsyncIterator[str]:
    allowed = settings.model_copy(update={"cors": CorsSettings(allow_origins=[APP])})
    async with serving(create_app(allowed, clock=lambda: REFERENCE_NOW)) as url:
        yield url + "/graphql"


async def test_a_listed_origin_is_answered_its_preflight(
    http: aiohttp.ClientSession, cors_url: str
) -> None:
    async with http.options(cors_url, headers=preflight(APP)) as response:
        assert response.status == 200
        headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert set(headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}
    allowed = {h.strip().lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "apollo-require-preflight"} <= allowed
    assert "Origin" in headers["Vary"]


@pytest.mark.parametrize(
    ("origin", "asked"),
    [
        (OTHER, "authorization,content-type"),  # an origin not listed
        ("https://app.example.com.evil.example.net", "content-type"),  # not a prefix match
        ("http://app.example.com", "content-type"),  # another scheme is another origin
        (APP, "authorization,x-debug"),  # a header not allowed
    ],
)
async def test_other_preflights_are_refused(
    http: aiohttp.ClientSession, cors_url: str, origin: str, asked: str
) -> None:
    async with http.options(cors_url, headers=preflight(origin, asked)) as response:
        assert response.status == 400
        if origin != APP:
            assert "Access-Control-Allow-Origin" not in response.headers


async def test_answers_name_the_origin_that_may_read_them(
    http: aiohttp.ClientSession, cors_url: str
) -> None:
    for _ in range(2):  # the second is a whole-response cache hit: it carries them too
        async with http.post(cors_url, json=QUERY, headers={"Origin": APP}) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == APP
            assert response.headers["Access-Control-Allow-Credentials"] == "true"
            assert "Origin" in response.headers["Vary"]
    async with http.post(cors_url, json=QUERY, headers={"Origin": OTHER}) as response:
        assert response.status == 200  # answered, but the browser will not let the page read it
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Origin" in response.headers["Vary"]  # so no shared cache mixes origins up


async def test_by_default_no_other_origin_may_read(
    http: aiohttp.ClientSession, gateway_url: str
) -> None:
    url = gateway_url + "/graphql"
    async with http.options(url, headers=preflight(APP)) as response:
        assert response.status == 405
        assert "Access-Control-Allow-Origin" not in response.headers
    async with http.post(url, json=QUERY, headers={"Origin": APP}) as response:
        assert response.status == 200
        assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    "origins",
    [["*"], ["app.example.com"], ["https://app.example.com/path"], ["ftp://app.example.com"]],
)
def test_an_origin_list_is_checked(origins: list[str]) -> None:
    with pytest.raises(ValueError, match="origin"):
        Settings.model_validate({"cors": {"allow_origins": origins}})


def test_origins_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    listed = '["https://App.example.com/", "http://127.0.0.1:3000"]'
    monkeypatch.setenv("GATEWAY_CORS__ALLOW_ORIGINS", listed)
    assert Settings().cors.allow_origins == ["https://app.example.com", "http://127.0.0.1:3000"]


async def test_with_client_authentication_preflights_pass_and_refusals_are_readable(
    settings: Settings, http: aiohttp.ClientSession
) -> None:
    """A preflight carries no credential: CORS answers it before the gate; the gate's 401
    then names the origin, so the page can read why it was refused."""
    locked = settings.model_copy(
        update={
            "cors": CorsSettings(allow_origins=[APP]),
            "auth": AuthSettings(api_keys=[hashlib.sha256(b"mg_test_cors").hexdigest()]),
        }
    )
    async with serving(create_app(locked, clock=lambda: REFERENCE_NOW)) as url:
        async with http.options(url + "/graphql", headers=preflight(APP)) as response:
            assert response.status == 200
            assert response.headers["Access-Control-Allow-Origin"] == APP
        async with http.post(url + "/graphql", json=QUERY, headers={"Origin": APP}) as response:
            assert response.status == 401
            assert response.headers["Access-Control-Allow-Origin"] == APP
            assert response.headers["Cache-Control"] == "no-store"
        headers = {"Origin": APP, "Authorization": "Bearer mg_test_cors"}
        async with http.post(url + "/graphql", json=QUERY, headers=headers) as response:
            assert response.status == 200
            assert (await response.json())["data"] == {"__typename": "Query"}
