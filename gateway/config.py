"""The one `Settings` object: environment variables with prefix GATEWAY_, `__` for nesting."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PositiveFloat, PositiveInt, SecretStr, field_validator
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
    url: str = "memory://"  # or redis://[:password@]host[:port][/db], shared by replicas
    max_entries: int = Field(default=10_000, ge=1)  # memory:// only (Redis has its own)
    max_bytes: int = Field(default=256 * 1024**2, ge=1024)  # memory://: stored bodies' size
    responses: bool = True  # whole-response cache for identical operations
    # Bytes of upstream answers whose decoded records are kept in process (any backend).
    decoded_max_bytes: int = Field(default=32 * 1024**2, ge=0)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if urlsplit(url).scheme not in ("memory", "redis"):
            raise ValueError("must be memory:// or redis://host[:port][/db]")
        return url


class LimitSettings(BaseModel):
    max_depth: int = Field(default=12, ge=1)
    max_aliases: int = Field(default=30, ge=1)
    max_tokens: int = Field(default=2000, ge=1)
    # Upstream requests one operation may send (cache hits are free); past it, the rest of
    # the operation's upstream calls fail as partial results (UPSTREAM_BUDGET_EXCEEDED).
    max_upstream_requests: int = Field(default=50, ge=1, le=10_000)


class TracingSettings(BaseModel):
    # None: on when an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT).
    enabled: bool | None = None
    # A span per field resolver too: costly (every field of every answer), for debugging.
    resolver_spans: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_nested_delimiter="__", env_file=".env", extra="ignore"
    )

    leezy: LeezySettings = LeezySettings()
    nexor: NexorSettings = NexorSettings()
    meetstream: MeetStreamSettings = MeetStreamSettings()
    salesloft: SalesloftSettings = SalesloftSettings()
    daily: DailySettings = DailySettings()
    cache: CacheSettings = CacheSettings()
    limits: LimitSettings = LimitSettings()
    tracing: TracingSettings = TracingSettings()
    graphiql: bool = True
    log_format: Literal["json", "text"] | None = None  # None: json for serve, text for demo

    def source(self, source: Source) -> SourceSettings:
        settings: SourceSettings = getattr(self, source.value)
        return settings
