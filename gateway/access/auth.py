"""Who is asking: a bearer credential checked against the accepted API keys and JWTs.

API keys are configured as their SHA-256 digests (the gateway never holds a key) and compared
in constant time against every digest. JWTs must be signed RS256 or ES256 by a key of the
issuer's JWKS, carry its `iss`, our `aud`, an `exp` (and any `nbf`) that hold within a
small leeway, and a `sub`. The identity a client gets, for rate limits, the whole-response
cache and logs: `key:<first 12 hex digits of its key's digest>` or `jwt:<sub>`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from types import TracebackType
from typing import Any

import aiohttp
import jwt

from gateway.access.jwks import ALGORITHMS, JwksKeys
from gateway.config import AuthSettings
from gateway.errors import Unauthenticated

LEEWAY_S = 30  # clocks of the issuer and the gateway may disagree this much
KEY_ID_DIGITS = 12

_CLAIM_ERRORS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet (nbf)."),
    (jwt.InvalidAudienceError, "The token is meant for another audience."),
    (jwt.InvalidIssuerError, "The token is from another issuer."),
    (jwt.InvalidSignatureError, "The token's signature does not verify."),
    (jwt.InvalidAlgorithmError, "The token's algorithm is not accepted (RS256 or ES256 only)."),
)


class Authenticator:
    """Checks credentials; an async context manager, as it may hold a JWKS fetch."""

    def __init__(self, settings: AuthSettings, session: aiohttp.ClientSession) -> None:
        self._digests = [bytes.fromhex(digest) for digest in settings.api_keys]
        self.keys = (
            None
            if settings.jwks_url is None
            else JwksKeys(
                settings.jwks_url,
                session,
                ttl_s=settings.jwks_cache_ttl,
                min_refresh_s=settings.jwks_min_refresh,
            )
        )
        self._issuer = settings.issuer
        self._audience = settings.audience

    async def __aenter__(self) -> Authenticator:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.keys is not None:
            await self.keys.close()

    async def identify(self, credential: str) -> str:
        """The identity of a bearer credential; `Unauthenticated` says why it is refused."""
        if self._digests:
            digest = hashlib.sha256(credential.encode()).digest()
            found = None
            for known in self._digests:  # all of them: the time taken tells nothing
                if hmac.compare_digest(digest, known):
                    found = known
            if found is not None:
                return "key:" + found.hex()[:KEY_ID_DIGITS]
        if self.keys is not None and credential.count(".") == 2:
            return "jwt:" + await self._subject(credential, self.keys)
        if self._digests:
            raise Unauthenticated("The API key is not accepted.")
        raise Unauthenticated("The token is not a JWT.")

    async def _subject(self, token: str, keys: JwksKeys) -> str:
        header = _header(token)
        if header.get("alg") not in ALGORITHMS:
            raise Unauthenticated("The token's algorithm is not accepted (RS256 or ES256 only).")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("The token is malformed.")
        key = await keys.find(kid)
        if key is None and not keys.known:
            raise Unauthenticated("The issuer's signing keys could not be fetched: try later.")
        if key is None:
            raise Unauthenticated("The token is signed with a key the issuer does not publish.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.MissingRequiredClaimError as error:
            raise Unauthenticated(f"The token has no `{error.claim}` claim.") from None
        except jwt.PyJWTError as error:
            raise Unauthenticated(_claim_error(error)) from None
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("The token's subject (sub) is empty.")
        return subject


def _header(token: str) -> dict[str, Any]:
    """The token's header, read only to choose its key: PyJWT checks all of it again.
    (Its own reader validates every segment character by character, in Python; twice per
    token would double the cost of a request.)"""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, RecursionError):
        raise Unauthenticated("The token is malformed.") from None
    if not isinstance(header, dict):
        raise Unauthenticated("The token is malformed.")
    return header


def _claim_error(error: jwt.PyJWTError) -> str:
    for kind, message in _CLAIM_ERRORS:
        if isinstance(error, kind):
            return message
    return "The token is malformed."
