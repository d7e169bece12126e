"""A token issuer for the tests: keys made with `cryptography`, tokens signed with PyJWT,
and its JWKS served over real HTTP on loopback (a tiny aiohttp app that counts fetches)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "https://issuer.test/"
AUDIENCE = "meetings-gateway"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str  # RS256 or ES256
    private: PrivateKey

    @staticmethod
    def rsa(kid: str) -> SigningKey:
        return SigningKey(kid, "RS256", rsa.generate_private_key(65537, 2048))

    @staticmethod
    def ec(kid: str) -> SigningKey:
        return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            found: dict[str, Any] = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            found = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**found, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def token(self, subject: str | None = "user-1", **claims: Any) -> str:
        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 300,
            **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}  # None: leave it out
        return jwt.encode(
            payload, self.private, algorithm=self.algorithm, headers={"kid": self.kid}
        )

    def bearer(self, subject: str | None = "user-1", **claims: Any) -> str:
        return f"Bearer {self.token(subject, **claims)}"


def unsigned(header: dict[str, Any], payload: dict[str, Any]) -> str:
    """`<header>.<payload>.` (an `alg: none` token has no signature)."""
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(payload).encode())}."


def claims(subject: str = "user-1") -> dict[str, Any]:
    now = int(time.time())
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "exp": now + 300}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class Issuer:
    """The JWKS it publishes (`keys`, changed by tests to rotate) and how often it was read."""

    keys: list[SigningKey]
    url: str = ""
    fetches: int = 0
    status: int = 200
    extra: list[dict[str, Any]] = field(default_factory=list)  # JWKs published as they are

    async def jwks(self, request: web.Request) -> web.Response:
        self.fetches += 1
        if self.status != 200:
            return web.Response(status=self.status)
        return web.json_response({"keys": [k.jwk() for k in self.keys] + self.extra})


@asynccontextmanager
async def serving_issuer(*keys: SigningKey) -> AsyncIterator[Issuer]:
    issuer = Issuer(list(keys))
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", issuer.jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    issuer.url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    try:
        yield issuer
    finally:
        await runner.cleanup()
