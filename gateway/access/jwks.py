"""The issuer's signing keys, fetched from its JWKS URL and kept by key id.

Fetched with the app's aiohttp session (PyJWKClient would block the event loop on urllib);
PyJWT builds the keys. Only RS256 and ES256 signing keys are kept. The keys are refreshed in
the background once `ttl_s` old, and at once for a token naming a key id not known, since
the issuer may have rotated its keys; both at most every `min_refresh_s`, so tokens with
made-up key ids never flood the issuer. A failed fetch keeps the keys known.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
from jwt import PyJWK, PyJWTError

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")  # never `none`, never HS* (a public key is no shared secret)
FETCH_TIMEOUT_S = 5.0
MAX_JWKS_BYTES = 1024 * 1024


class JwksKeys:
    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        *,
        ttl_s: float,
        min_refresh_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._session = session
        self._ttl_s = ttl_s
        self._min_refresh_s = min_refresh_s
        self._clock = clock
        self._keys: dict[str | None, PyJWK] = {}
        self._fetched_at = -math.inf  # the last fetch that succeeded
        self._attempted_at = -math.inf  # the last fetch started
        self._fetch: asyncio.Task[None] | None = None

    async def find(self, kid: str | None) -> PyJWK | None:
        """The signing key of that id (of a token without `kid`: the only key, if one)."""
        key = _lookup(self._keys, kid)
        now = self._clock()
        if key is None:
            fetch = self._running() or self._start(now)
            if fetch is not None:
                await asyncio.shield(fetch)  # a client that goes away cancels no shared fetch
                key = _lookup(self._keys, kid)
        elif now - self._fetched_at >= self._ttl_s and self._running() is None:
            self._start(now)  # in the background: this token's key is known
        return key

    @property
    def known(self) -> int:
        """How many signing keys are known (0: none could be fetched yet)."""
        return len(self._keys)

    async def close(self) -> None:
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()
            await asyncio.gather(self._fetch, return_exceptions=True)

    def _running(self) -> asyncio.Task[None] | None:
        return self._fetch if self._fetch is not None and not self._fetch.done() else None

    def _start(self, now: float) -> asyncio.Task[None] | None:
        if now - self._attempted_at < self._min_refresh_s:
            return None
        self._attempted_at = now
        self._fetch = asyncio.create_task(self._refresh())
        return self._fetch

    async def _refresh(self) -> None:
        try:
            keys = signing_keys(await self._download())
        except Exception as error:  # unreachable, refused, not a JWKS: keep what is known
            reason = str(error) if isinstance(error, JwksError) else type(error).__name__
            log.warning(
                "could not fetch the JWT signing keys (%s): keeping the %d known",
                reason,
                len(self._keys),
            )
            return
        self._keys = keys
        self._fetched_at = self._clock()

    async def _download(self) -> Any:
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
        headers = {"Accept": "application/json"}
        async with self._session.get(self.url, timeout=timeout, headers=headers) as response:
            if response.status != 200:
                raise JwksError(f"the JWKS URL answered HTTP {response.status}")
            body = await response.content.read(MAX_JWKS_BYTES + 1)
        if len(body) > MAX_JWKS_BYTES:
            raise JwksError("the JWKS is larger than 1 MiB")
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise JwksError("the JWKS is not JSON") from None


class JwksError(ValueError):
    """A JWKS that cannot be used; the message says why."""


def signing_keys(document: Any) -> dict[str | None, PyJWK]:
    """The RS256 and ES256 signing keys of a JWKS by key id; the others are skipped (an
    issuer may publish keys for other uses and algorithms)."""
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JwksError("the JWKS has no `keys` list")
    keys: dict[str | None, PyJWK] = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        try:
            key = PyJWK(entry)
        except PyJWTError:
            continue  # a key type or curve PyJWT does not know
        if key.algorithm_name in ALGORITHMS:
            keys[key.key_id] = key
    if not keys:
        raise JwksError("the JWKS has no RS256 or ES256 signing key")
    return keys


def _lookup(keys: dict[str | None, PyJWK], kid: str | None) -> PyJWK | None:
    if kid is None and len(keys) == 1:
        return next(iter(keys.values()))
    return keys.get(kid) if kid is not None else None
