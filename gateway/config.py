"""The one `Settings` object: environment variables with prefix GATEWAY_, `__` for nesting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from gateway.model import Source


class SourceSettings(BaseModel):
    base_url: str
    api_key: SecretStr | None = None  # no key: the source is disabled
    timeout: float = Field(default=5.0, gt=0, le=120)  # seconds a query waits for the source
    # Seconds one upstream request may run: past `timeout` it goes on without the query that
    # waited, so a slow upstream's answer is still cached for the next one.
    request_timeout: float = Field(default=30.0, gt=0, le=600)
    cache_ttl: float = Field(default=30.0, ge=0)  # seconds an entry is fresh
    stale_ttl: float = Field(default=300.0, ge=0)  # seconds past that it may still be served
    retries: int = Field(default=2, ge=0, le=5)  # for connection errors and 502/503/504
    circuit_failures: int = Field(default=5, ge=1)  # failures in a row that open the circuit
    circuit_cooldown: float = Field(default=30.0, gt=0)  # seconds before a trial request
    auth_cooldown: float = Field(default=60.0, ge=0)  # seconds not asked after a 401/403
    # The vendor's rate limit as [[units, seconds], ...], instead of the documented one the
    # source declares (e.g. a larger Leezy plan: [[300, 60]]); [] turns client limits off.
    rate_limits: list[tuple[PositiveInt, PositiveFloat]] | None = None

    @property
    def enabled(self) -> bool:
        return self.api_key is not None and bool(self.api_key.get_secret_value())


# One class per source only for its default base URL: a partial override from the
# environment (just an API key) then keeps the rest of the defaults.
class LeezySettings(SourceSettings):
    base_url: str = "https://app.leezy.ai/api/v1"


class NexorSettings(SourceSettings):
    base_url: str = "https://api.getnexor.ai/api/public"


class MeetStreamSettings(SourceSettings):
    base_url: str = "https://api.meetstream.ai/api/v1"


class SalesloftSettings(SourceSettings):
    base_url: str = "https://api.salesloft.com/v2"


class DailySettings(SourceSettings):
    base_url: str = "https://api.daily.co/v1"


class CacheSettings(BaseModel):
    # or redis://[[user]:password@]host[:port][/db] (rediss:// for TLS), shared by replicas
    url: str = "memory://"
    max_entries: int = Field(default=10_000, ge=1)  # memory:// only (Redis has its own)
    max_bytes: int = Field(default=256 * 1024**2, ge=1024)  # memory://: stored bodies' size
    responses: bool = True  # whole-response cache for identical operations
    # Bytes of upstream answers whose decoded records are kept in process (any backend).
    decoded_max_bytes: int = Field(default=32 * 1024**2, ge=0)

    @field_validator("url")
    @classmethod
    def _known_url(cls, url: str) -> str:
        # Checked whole here, so that no library sees a malformed URL (their errors may quote
        # it, password and all); these messages never do.
        parts = urlsplit(url)
        if parts.scheme == "memory":
            return url
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError("must be memory:// or redis[s]://[[user]:password@]host[:port][/db]")
        try:
            parts.port  # noqa: B018  # raises for a port that is not a number
        except ValueError:
            raise ValueError("the Redis port is not a number from 0 to 65535") from None
        if not parts.hostname:
            raise ValueError("the Redis URL names no host")
        if not re.fullmatch(r"/?\d*", parts.path):
            raise ValueError("the Redis database (the URL's path) must be a number")
        return url


class LimitSettings(BaseModel):
    max_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=2000, ge=1)
    # Upstream requests one operation may send (cache hits are free); past it, the rest of
    # the operation's upstream calls fail as partial results (UPSTREAM_BUDGET_EXCEEDED).
    max_upstream_requests: int = Field(default=50, ge=1, le=10_000)
    # Requests one client (its identity, or its IP when authentication is off) may send in
    # any minute; past it, HTTP 429 (RATE_LIMITED). None: no limit.
    client_requests_per_minute: int | None = Field(default=None, ge=1)


class AuthSettings(BaseModel):
    """Who may ask: API keys (their SHA-256 digests), JWTs from one issuer, or both; neither
    configured means everyone (the demo)."""

    api_keys: list[str] = []  # SHA-256 hex digests of the accepted keys, never the keys
    jwks_url: str | None = None  # where the issuer publishes its signing keys (JWKS)
    issuer: str | None = None  # the `iss` a token must carry
    audience: str | None = None  # the `aud` a token must carry
    jwks_cache_ttl: float = Field(default=300.0, gt=0)  # seconds before the keys are refreshed
    # Seconds between two fetches of the keys: a token naming an unknown key fetches them
    # again at most this often (a flood of made-up key ids never floods the issuer).
    jwks_min_refresh: float = Field(default=5.0, ge=0)

    @field_validator("api_keys")
    @classmethod
    def _digests(cls, digests: list[str]) -> list[str]:
        lowered = [digest.strip().lower() for digest in digests]
        for position, digest in enumerate(lowered):
            if not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise ValueError(
                    f"entry {position} is not a SHA-256 hex digest (64 hex digits): list "
                    "the digests of the keys, never the keys"
                )
        return lowered

    @field_validator("jwks_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and urlsplit(url).scheme not in ("http", "https"):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _jwt_complete(self) -> Self:
        given = [self.jwks_url, self.issuer, self.audience]
        if any(given) and not all(given):
            raise ValueError(
                "JWT authentication needs all three of JWKS_URL, ISSUER and AUDIENCE "
                "(a token checked against fewer would be accepted from other services)"
            )
        return self

    @property
    def api_keys_on(self) -> bool:
        return bool(self.api_keys)

    @property
    def jwt_on(self) -> bool:
        return self.jwks_url is not None

    @property
    def enabled(self) -> bool:
        return self.api_keys_on or self.jwt_on


class CorsSettings(BaseModel):
    # Origins (scheme://host[:port]) whose pages may call /graphql and read its answers,
    # with credentials. Empty: no page of another origin may read them.
    allow_origins: list[str] = []

    @field_validator("allow_origins")
    @classmethod
    def _origins(cls, origins: list[str]) -> list[str]:
        return [_origin(origin) for origin in origins]


def _origin(origin: str) -> str:
    """An origin as browsers send it, or a clear error (a path or `*` is a mistake here)."""
    if origin.strip() == "*":
        raise ValueError("list each origin: '*' would let any site read answers with credentials")
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{origin!r} is not an origin like https://app.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{origin!r} is not an origin: scheme://host[:port] only, no path")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class PersistedSettings(BaseModel):
    # Automatic persisted queries: documents registered by hash, kept this many seconds.
    ttl: float = Field(default=86_400.0, gt=0)
    # Documents longer than this (UTF-8 bytes) still run but are not registered.
    max_document_bytes: int = Field(default=32 * 1024, ge=1)
    # A JSON manifest of documents by sha256 (Apollo's persisted query manifest, or an
    # object of hash -> document), known from the start.
    documents: Path | None = None
    # Only the manifest's documents run (an allow-list); nothing is registered at run time.
    only: bool = False

    @model_validator(mode="after")
    def _only_needs_documents(self) -> Self:
        if self.only and self.documents is None:
            raise ValueError("`only` needs `documents`: the manifest of the documents allowed")
        return self


class TracingSettings(BaseModel):
    # None: on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT).
    enabled: bool | None = None
    # A span per field resolver too: costly (every field of every answer), for debugging.
    resolver_spans: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        # A validation error names the setting and the rule, never the value given: it may
        # hold a password (GATEWAY_CACHE__URL) or a key pasted where its digest belongs.
        hide_input_in_errors=True,
    )

    leezy: LeezySettings = LeezySettings()
    nexor: NexorSettings = NexorSettings()
    meetstream: MeetStreamSettings = MeetStreamSettings()
    salesloft: SalesloftSettings = SalesloftSettings()
    daily: DailySettings = DailySettings()
    cache: CacheSettings = CacheSettings()
    limits: LimitSettings = LimitSettings()
    auth: AuthSettings = AuthSettings()
    cors: CorsSettings = CorsSettings()
    persisted: PersistedSettings = PersistedSettings()
    tracing: TracingSettings = TracingSettings()
    graphiql: bool = True
    log_format: Literal["json", "text"] | None = None  # None: json for serve, text for demo

    def source(self, source: Source) -> SourceSettings:
        settings: SourceSettings = getattr(self, source.value)
        return settings
