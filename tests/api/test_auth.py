"""Client authentication over real HTTP: API keys and JWTs from an issuer whose JWKS is
served on loopback, every refused credential a 401 `UNAUTHENTICATED`, the open paths open,
and the client's identity scoping the whole-response cache."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization
from multidict import CIMultiDict

from gateway.access.auth import Authenticator
from gateway.access.gate import CLIENT_SCOPE_KEY, ClientGate, Message, Receive, Scope, Send
from gateway.app import create_app
from gateway.config import AuthSettings, Settings
from gateway.simulators.cluster import Simulators
from tests.api.issuer import (
    AUDIENCE,
    ISSUER,
    Issuer,
    SigningKey,
    b64url,
    claims,
    serving_issuer,
    unsigned,
)
from tests.conftest import REFERENCE_NOW
from tests.serving import serving

API_KEY = "mg_live_7c1e0b5d9a3f4e2c8b6a1d0f9e8c7b6a"
DIGEST = hashlib.sha256(API_KEY.encode()).hexdigest()
QUERY = "{ meetings(first: 2, filter: {sources: [LEEZY]}) { edges { node { id source } } } }"
RSA_KEY = SigningKey.rsa("rsa-1")
EC_KEY = SigningKey.ec("ec-1")
ROGUE_KEY = SigningKey.rsa("rsa-1")  # the same key id, another key
UNPUBLISHED_KEY = SigningKey.rsa("rsa-unpublished")
NEW_KEY = SigningKey.rsa("rsa-2")


@dataclass
class Gateway:
    url: str
    http: aiohttp.ClientSession
    clients: list[str | None] = field(default_factory=list)  # scope["gateway.client"] seen

    async def ask(
        self, authorization: str | list[str] | None = None, query: str = QUERY
    ) -> tuple[int, dict[str, Any], CIMultiDict[str]]:
        headers: CIMultiDict[str] = CIMultiDict()
        for value in [authorization] if isinstance(authorization, str) else authorization or []:
            headers.add("Authorization", value)
        async with self.http.post(
            self.url + "/graphql", json={"query": query}, headers=headers
        ) as response:
            return response.status, await response.json(), CIMultiDict(response.headers)


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Gateway]:
    """The app over real HTTP, wrapped to record the identity it left in each scope."""
    app = create_app(settings, clock=lambda: REFERENCE_NOW)
    seen: list[str | None] = []

    async def recording(scope: Scope, receive: Receive, send: Send) -> None:
        await app(scope, receive, send)
        if scope["type"] == "http":
            seen.append(scope.get(CLIENT_SCOPE_KEY))

    async with serving(recording) as url, aiohttp.ClientSession() as http:
        yield Gateway(url, http, seen)


def with_auth(settings: Settings, issuer: Issuer | None, **changes: Any) -> Settings:
    jwt = {} if issuer is None else {"jwks_url": issuer.url, "issuer": ISSUER, "audience": AUDIENCE}
    auth = AuthSettings.model_validate({"api_keys": [DIGEST], **jwt, **changes})
    return settings.model_copy(update={"auth": auth})


@pytest.fixture
async def issuer() -> AsyncIterator[Issuer]:
    async with serving_issuer(RSA_KEY, EC_KEY) as running_issuer:
        yield running_issuer


def hs256_with_the_public_key() -> str:
    """The classic confusion: HS256 'signed' with the RSA public key as the shared secret."""
    secret = (
        RSA_KEY.private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )  # fmt: skip
    header = b64url(b'{"alg":"HS256","typ":"JWT","kid":"rsa-1"}')
    payload = b64url(json.dumps(claims()).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


NOW = int(time.time())
INVALID = "invalid_token"
MALFORMED = "invalid_request"
# (case, the Authorization header(s) sent, what the message says, RFC 6750's error)
REFUSED: list[tuple[str, Callable[[], str | list[str] | None], str, str | None]] = [
    ("none", lambda: None, "Authentication required", None),
    ("wrong key", lambda: "Bearer mg_live_not-a-key-we-know", "API key is not accepted", INVALID),
    ("basic scheme", lambda: "Basic dXNlcjpwYXNz", "header is malformed", MALFORMED),
    ("no credential", lambda: "Bearer", "header is malformed", MALFORMED),
    ("two credentials", lambda: f"Bearer {API_KEY} {API_KEY}", "header is malformed", MALFORMED),
    ("two headers", lambda: [f"Bearer {API_KEY}"] * 2, "header is malformed", MALFORMED),
    ("expired", lambda: RSA_KEY.bearer(exp=NOW - 120), "has expired", INVALID),
    ("not yet valid", lambda: RSA_KEY.bearer(nbf=NOW + 600), "not valid yet", INVALID),
    ("other audience", lambda: RSA_KEY.bearer(aud="another-service"), "another audience", INVALID),
    ("other issuer", lambda: EC_KEY.bearer(iss="https://other.test/"), "another issuer", INVALID),
    ("no expiry", lambda: RSA_KEY.bearer(exp=None), "no `exp` claim", INVALID),
    ("no subject", lambda: RSA_KEY.bearer(subject=None), "no `sub` claim", INVALID),
    ("other key, same kid", ROGUE_KEY.bearer, "signature does not verify", INVALID),
    ("unpublished key", UNPUBLISHED_KEY.bearer, "does not publish", INVALID),
    ("alg none", lambda: "Bearer " + unsigned({"alg": "none", "kid": "rsa-1"}, claims()),
     "algorithm is not accepted", INVALID),
    ("HS256, public key as secret", lambda: "Bearer " + hs256_with_the_public_key(),
     "algorithm is not accepted", INVALID),
    ("not a JWT at all", lambda: "Bearer a.b.c", "token is malformed", INVALID),
    ("header not an object", lambda: "Bearer W10.e30.c2ln", "token is malformed", INVALID),
    ("header without alg", lambda: "Bearer e30.e30.c2ln", "algorithm is not accepted", INVALID),
]  # fmt: skip


@pytest.mark.parametrize(
    ("credential", "says", "error"),
    [case[1:] for case in REFUSED],
    ids=[case[0] for case in REFUSED],
)
async def test_each_refused_credential_is_a_401_unauthenticated(
    settings: Settings,
    simulators: Simulators,
    issuer: Issuer,
    credential: Callable[[], str | list[str] | None],
    says: str,
    error: str | None,
) -> None:
    header = credential()
    async with running(with_auth(settings, issuer)) as gateway:
        status, body, headers = await gateway.ask(header)

    assert status == 401
    assert body == {
        "errors": [
            {"message": body["errors"][0]["message"], "extensions": {"code": "UNAUTHENTICATED"}}
        ]
    }
    message = body["errors"][0]["message"]
    assert says in message
    challenge = headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="meetings-gateway"')
    if error is None:
        assert "error=" not in challenge
    else:
        assert f'error="{error}"' in challenge
        assert f'error_description="{message}"' in challenge
    for sent in [header] if isinstance(header, str) else header or []:
        credential_sent = sent.partition(" ")[2]
        if len(credential_sent) > 5:  # never echoed, not even in part
            assert credential_sent[:6] not in message + challenge
            assert credential_sent[-6:] not in message + challenge
    assert sum(len(s.requests) for s in simulators) == 0
    assert gateway.clients == ["ip:127.0.0.1"]  # who was refused, for the logs


async def test_a_right_key_and_valid_jwts_get_data(
    settings: Settings, simulators: Simulators, issuer: Issuer
) -> None:
    async with running(with_auth(settings, issuer)) as gateway:
        answers = [
            await gateway.ask(f"Bearer {API_KEY}"),
            await gateway.ask(f"bearer {RSA_KEY.token('user-1')}"),  # the scheme is any case
            await gateway.ask(f"Bearer {EC_KEY.token('user-2')}"),
        ]
    for status, body, _ in answers:
        assert status == 200
        assert "errors" not in body
        assert [e["node"]["source"] for e in body["data"]["meetings"]["edges"]] == ["LEEZY"] * 2
    assert gateway.clients == [f"key:{DIGEST[:12]}", "jwt:user-1", "jwt:user-2"]
    assert issuer.fetches == 1


@pytest.mark.parametrize(
    ("configured", "credential", "says"),
    [
        ("keys only", RSA_KEY.token, "The API key is not accepted."),
        ("JWT only", lambda: API_KEY, "The token is not a JWT."),
    ],
)
async def test_one_kind_configured_refuses_the_other(
    settings: Settings,
    issuer: Issuer,
    configured: str,
    credential: Callable[[], str],
    says: str,
) -> None:
    changes: dict[str, Any] = {"api_keys": []} if configured == "JWT only" else {}
    chosen = with_auth(settings, None if configured == "keys only" else issuer, **changes)
    async with running(chosen) as gateway:
        status, body, _ = await gateway.ask(f"Bearer {credential()}")
        right = RSA_KEY.token() if configured == "JWT only" else API_KEY
        accepted, _, _ = await gateway.ask(f"Bearer {right}")
    assert (status, body["errors"][0]["message"], accepted) == (401, says, 200)


async def test_health_readiness_metrics_and_graphiql_stay_open(
    settings: Settings, issuer: Issuer
) -> None:
    async with running(with_auth(settings, issuer)) as gateway:
        http, url = gateway.http, gateway.url
        for path in ("/healthz", "/readyz", "/graphiql-assets/graphiql.min.js"):
            async with http.get(url + path) as response:
                assert response.status == 200, path
        async with http.get(url + "/metrics") as response:
            assert response.status != 401  # open (served once metrics exist)
        async with http.get(url + "/graphql", headers={"Accept": "text/html"}) as response:
            assert response.status == 200
            assert "graphiql" in (await response.text()).lower()
        # A GET that carries a query is no page: the gate asks who it is first.
        params = {"query": "{ __typename }"}
        async with http.get(url + "/graphql", params=params, headers={"Accept": "*/*"}) as r:
            assert r.status == 401
        async with http.get(url + "/anything-else") as response:
            assert response.status == 401
    assert set(gateway.clients) == {"ip:127.0.0.1"}


async def test_a_cached_answer_is_kept_per_client_and_never_served_without_credentials(
    settings: Settings, simulators: Simulators, issuer: Issuer
) -> None:
    async with running(with_auth(settings, issuer)) as gateway:
        first = await gateway.ask(f"Bearer {API_KEY}")
        again = await gateway.ask(f"Bearer {API_KEY}")
        anonymous = await gateway.ask(None)
        other_client = await gateway.ask(f"Bearer {RSA_KEY.token('user-9')}")
        # The same subject with a new token (another iat/exp): the same client.
        renewed = RSA_KEY.token("user-9", iat=NOW - 10, exp=int(time.time()) + 900)
        same_client = await gateway.ask(f"Bearer {renewed}")

    def hit(answer: tuple[int, dict[str, Any], Any]) -> bool:
        assert answer[0] == 200
        return bool(answer[1]["extensions"]["responseCache"]["hit"])

    assert [hit(first), hit(again), hit(other_client), hit(same_client)] == [
        False,
        True,
        False,
        True,
    ]
    assert anonymous[0] == 401
    assert again[1]["data"] == other_client[1]["data"] == first[1]["data"]


async def test_rotated_keys_are_fetched_on_an_unknown_kid_and_removed_keys_refused(
    settings: Settings, issuer: Issuer
) -> None:
    async with running(with_auth(settings, issuer, jwks_min_refresh=0)) as gateway:
        before, _, _ = await gateway.ask(f"Bearer {RSA_KEY.token()}")
        assert issuer.fetches == 1
        issuer.keys = [NEW_KEY, EC_KEY]  # the issuer rotates: rsa-1 out, rsa-2 in
        rotated, _, _ = await gateway.ask(f"Bearer {NEW_KEY.token()}")
        assert issuer.fetches == 2
        still, _, _ = await gateway.ask(f"Bearer {EC_KEY.token()}")  # known: no fetch
        assert issuer.fetches == 2
        retired, body, _ = await gateway.ask(f"Bearer {RSA_KEY.token()}")
    assert (before, rotated, still, retired) == (200, 200, 200, 401)
    assert "does not publish" in body["errors"][0]["message"]


async def test_made_up_key_ids_never_flood_the_issuer(settings: Settings, issuer: Issuer) -> None:
    made_up = [
        SigningKey(f"kid-{uuid.uuid4().hex}", "RS256", UNPUBLISHED_KEY.private) for _ in range(20)
    ]
    async with running(with_auth(settings, issuer, jwks_min_refresh=60)) as gateway:
        # Ten clients at once on a cold gateway: one fetch.
        first = await asyncio.gather(*(gateway.ask(f"Bearer {RSA_KEY.token()}") for _ in range(10)))
        forged = await asyncio.gather(*(gateway.ask(f"Bearer {k.token()}") for k in made_up))
    assert [status for status, _, _ in first] == [200] * 10
    assert [status for status, _, _ in forged] == [401] * 20
    assert issuer.fetches == 1


async def test_keys_are_refreshed_in_the_background_once_their_ttl_passed(
    settings: Settings, issuer: Issuer
) -> None:
    chosen = with_auth(settings, issuer, jwks_cache_ttl=0.05, jwks_min_refresh=0)
    async with running(chosen) as gateway:
        assert (await gateway.ask(f"Bearer {RSA_KEY.token()}"))[0] == 200
        issuer.keys = [EC_KEY]  # rsa-1 withdrawn
        await asyncio.sleep(0.1)  # the keys are now older than their TTL
        # Still known: this request is not held up; it starts a refresh behind it.
        assert (await gateway.ask(f"Bearer {RSA_KEY.token()}"))[0] == 200
        for _ in range(500):
            if issuer.fetches >= 2:
                break
            await asyncio.sleep(0.01)
        assert issuer.fetches >= 2
        await asyncio.sleep(0.05)  # the refresh stores what it read
        status, body, _ = await gateway.ask(f"Bearer {RSA_KEY.token()}")
    assert status == 401
    assert "does not publish" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("broken", "reason"),
    [
        ("down", "the JWKS URL answered HTTP 503"),
        # A shared secret published under a real key's id: never taken for a signing key.
        ("only an HS key", "the JWKS has no RS256 or ES256 signing key"),
    ],
)
async def test_an_issuer_without_usable_keys_refuses_tokens_but_not_api_keys(
    settings: Settings,
    issuer: Issuer,
    caplog: pytest.LogCaptureFixture,
    broken: str,
    reason: str,
) -> None:
    if broken == "down":
        issuer.status = 503
    else:
        issuer.keys = []
        issuer.extra = [{"kty": "oct", "k": b64url(b"a shared secret"), "kid": "rsa-1"}]
    with caplog.at_level(logging.WARNING, logger="gateway.access.jwks"):
        async with running(with_auth(settings, issuer)) as gateway:
            token, body, _ = await gateway.ask(f"Bearer {RSA_KEY.token()}")
            key, _, _ = await gateway.ask(f"Bearer {API_KEY}")
    assert (token, key) == (401, 200)
    assert body["errors"][0]["message"] == (
        "The issuer's signing keys could not be fetched: try later."
    )
    assert f"could not fetch the JWT signing keys ({reason}): keeping the 0 known" in caplog.text


async def test_a_websocket_is_refused_before_its_handshake(http: aiohttp.ClientSession) -> None:
    # uvicorn here has no WebSocket library (none is a dependency), so this is the gate's
    # own ASGI answer to one, as a server with one would carry it: close before accept.
    reached: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        reached.append(scope[CLIENT_SCOPE_KEY])

    gate = ClientGate(
        app, authenticate=True, per_minute=None, open_paths=frozenset(), open_prefixes=(),
        graphiql_path="/graphql",
    )  # fmt: skip
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    authenticator = Authenticator(AuthSettings(api_keys=[DIGEST]), http)
    owner = SimpleNamespace(state=SimpleNamespace(authenticator=authenticator))
    for headers in ([], [(b"authorization", f"Bearer {API_KEY}".encode())]):
        scope: Scope = {
            "type": "websocket", "path": "/graphql", "headers": headers,
            "client": ("10.0.0.7", 5), "app": owner,
        }  # fmt: skip
        await gate(scope, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert reached == [f"key:{DIGEST[:12]}"]


async def test_without_configuration_everyone_is_let_in_with_a_warning_at_start(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.app"):
        async with running(settings) as gateway:
            status, _, _ = await gateway.ask(None)
            garbage, _, _ = await gateway.ask("Bearer whatever")
    assert (status, garbage) == (200, 200)
    assert gateway.clients == ["ip:127.0.0.1"] * 2
    assert "client authentication is off" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gateway.app"):
        async with running(with_auth(settings, None)):
            pass
    assert "client authentication is off" not in caplog.text


def test_jwt_settings_come_in_threes_and_keys_as_digests() -> None:
    with pytest.raises(ValueError, match="needs all three"):
        AuthSettings(jwks_url="https://issuer.test/jwks.json", issuer=ISSUER)
    with pytest.raises(ValueError, match="http:// or https://"):
        AuthSettings(jwks_url="file:///etc/jwks.json", issuer=ISSUER, audience=AUDIENCE)
    assert AuthSettings(api_keys=[DIGEST.upper()]).api_keys == [DIGEST]
    assert not AuthSettings().enabled
