"""Decoded answers: an entry is parsed once per version, kept within its byte bound."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.cache.decoded import DecodedAnswers
from gateway.cache.upstream import UpstreamCache
from gateway.config import Settings
from gateway.sources.leezy import LeezySource
from tests.sources.helpers import request


def test_a_version_is_decoded_once_and_errors_are_not_kept() -> None:
    decoded = DecodedAnswers(max_bytes=100)
    calls: list[str] = []

    def decode(value: str) -> str:
        calls.append(value)
        return value.upper()

    assert decoded.get_or_decode(("k", 1.0, "p"), 10, lambda: decode("a")) == "A"
    assert decoded.get_or_decode(("k", 1.0, "p"), 10, lambda: decode("b")) == "A"
    assert decoded.get_or_decode(("k", 2.0, "p"), 10, lambda: decode("c")) == "C"  # refreshed

    def fails() -> str:
        raise ValueError("bad answer")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad answer"):
            decoded.get_or_decode(("bad", 1.0, "p"), 10, fails)
    assert calls == ["a", "c"]
    assert len(decoded) == 2


def test_the_layer_keeps_within_its_bytes_least_recently_used_out() -> None:
    decoded = DecodedAnswers(max_bytes=25)
    for n in range(4):
        decoded.get_or_decode((f"k{n}", 1.0, "p"), 10, lambda n=n: n)  # type: ignore[misc]
        decoded.get_or_decode(("k0", 1.0, "p"), 10, lambda: -1)  # k0 stays recent
    assert (len(decoded), decoded.size_bytes) == (2, 20)
    assert decoded.get_or_decode(("k0", 1.0, "p"), 10, lambda: -1) == 0
    assert decoded.get_or_decode(("too big", 1.0, "p"), 26, lambda: 7) == 7
    assert len(decoded) == 2


async def test_queries_share_one_decoded_page(
    settings: Settings, upstream_session: aiohttp.ClientSession, upstream_cache: UpstreamCache
) -> None:
    leezy = LeezySource.create(settings.leezy, upstream_session, upstream_cache)
    first = await leezy.meetings(request())
    again = await leezy.meetings(request())
    assert first.meetings == again.meetings
    # The very same immutable records: the cached pages were not decoded again.
    assert all(a is b for a, b in zip(first.meetings, again.meetings, strict=True))
    assert len(upstream_cache.decoded) == 2  # Leezy's two pages
