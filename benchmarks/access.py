"""What the client gate costs a request, in process: the gate with nothing configured (the
identity is the client's IP), an API key among 1 and 20 digests, a JWT signed RS256 and
ES256 (its key known, so no JWKS fetch), and one count of the per-client limit (600 a
minute, 1,000 clients taking turns) in memory and, with `--redis URL`, in Redis (a round
trip). Each is timed over `--rounds` calls on one event loop; the table gives microseconds
per call (median of 5 runs).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import itertools
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from redis.asyncio import Redis

from benchmarks.common import machine, print_table
from gateway.access.auth import Authenticator
from gateway.access.gate import ClientGate
from gateway.access.limit import MemoryClientLimiter, RedisClientLimiter
from gateway.config import AuthSettings

ISSUER, AUDIENCE = "https://issuer.bench/", "meetings-gateway"


async def per_call_us(call: Callable[[], Awaitable[Any]], rounds: int) -> float:
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(rounds):
            await call()
        runs.append((time.perf_counter() - started) / rounds * 1e6)
    return statistics.median(runs)


async def gate_cost(rounds: int) -> tuple[float, float]:
    """The bare ASGI call and the same behind a gate with nothing configured."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        return None

    gate = ClientGate(
        app, authenticate=False, per_minute=None, open_paths=frozenset({"/healthz"}),
        open_prefixes=("/graphiql-assets/",), graphiql_path="/graphql",
    )  # fmt: skip
    scope = {"type": "http", "path": "/graphql", "method": "POST", "client": ("10.1.2.3", 4)}

    async def receive() -> Any:
        return None

    async def send(_: Any) -> None:
        return None

    bare = await per_call_us(lambda: app(scope, receive, send), rounds)
    gated = await per_call_us(lambda: gate(scope, receive, send), rounds)
    return bare, gated


async def main(rounds: int, redis_url: str | None) -> None:
    keys = [f"mg_live_bench_{n}" for n in range(20)]
    digests = [hashlib.sha256(k.encode()).hexdigest() for k in keys]
    rsa_key = rsa.generate_private_key(65537, 2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = {
        "keys": [
            {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "r", "alg": "RS256"},
            {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e", "alg": "ES256"},
        ]
    }
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "bench", "exp": int(time.time()) + 3600}
    rs256 = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "r"})
    es256 = jwt.encode(claims, ec_key, algorithm="ES256", headers={"kid": "e"})

    async def serve_jwks(_: web.Request) -> web.Response:
        return web.json_response(jwks)

    site_app = web.Application()
    site_app.router.add_get("/jwks", serve_jwks)
    runner = web.AppRunner(site_app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    jwks_url = f"http://127.0.0.1:{runner.addresses[0][1]}/jwks"
    rows: list[list[object]] = []
    try:
        async with aiohttp.ClientSession() as session:
            bare, gated = await gate_cost(rounds)
            rows.append(
                ["gate, nothing configured (minus the bare ASGI call)", f"{gated - bare:.2f}"]
            )
            for count in (1, 20):
                settings = AuthSettings(api_keys=digests[:count])
                async with Authenticator(settings, session) as auth:
                    cost = await per_call_us(lambda a=auth: a.identify(keys[0]), rounds)  # type: ignore[misc]
                rows.append([f"API key among {count} digest(s)", f"{cost:.2f}"])
            settings = AuthSettings(jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE)
            async with Authenticator(settings, session) as auth:
                await auth.identify(rs256)  # fetches the JWKS once
                for name, token in (("RS256", rs256), ("ES256", es256)):
                    cost = await per_call_us(lambda t=token: auth.identify(t), rounds)  # type: ignore[misc]
                    rows.append([f"JWT {name}, key known", f"{cost:.2f}"])
            clients = itertools.cycle([f"key:{n:012x}" for n in range(1000)])
            memory = MemoryClientLimiter(600)
            cost = await per_call_us(lambda: memory.hit(next(clients)), rounds)
            rows.append(["client limit, in memory", f"{cost:.2f}"])
            await memory.close()
            if redis_url:
                redis = Redis.from_url(redis_url)
                shared = RedisClientLimiter(600, redis, redis_url)
                cost = await per_call_us(lambda: shared.hit(next(clients)), max(1, rounds // 10))
                rows.append(["client limit, in Redis (one round trip)", f"{cost:.2f}"])
                await redis.delete(*[k async for k in redis.scan_iter("mg:v1:client:*")])
                await redis.aclose()
    finally:
        await runner.cleanup()
    print(machine())
    print_table("Client gate, per call", ["what", "µs"], rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--redis", help="a Redis URL (its db gets keys under mg:v1:client:)")
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.redis))
