"""One error root. Subclasses are safe to show to clients; anything else gets masked."""

from __future__ import annotations

from enum import Enum

from gateway.model import Source


class SourceState(Enum):
    OK = "OK"
    SKIPPED = "SKIPPED"
    TIMEOUT = "TIMEOUT"
    RATE_LIMITED = "RATE_LIMITED"
    UNAUTHORIZED = "UNAUTHORIZED"
    UNAVAILABLE = "UNAVAILABLE"
    BAD_RESPONSE = "BAD_RESPONSE"
    CIRCUIT_OPEN = "CIRCUIT_OPEN"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"  # the operation's upstream request budget is spent


class GatewayError(Exception):
    """An error whose message is written for the client and carries no secret."""

    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code}


class BadUserInput(GatewayError):
    code = "BAD_USER_INPUT"


class UpstreamError(GatewayError):
    """An upstream could not answer; the query goes on with the other sources."""

    state = SourceState.UNAVAILABLE

    def __init__(
        self,
        source: Source,
        message: str,
        *,
        retry_after_seconds: int | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(f"{source.name}: {message}")
        self.source = source
        self.detail = message
        self.retry_after_seconds = retry_after_seconds
        self.status = status  # the upstream's HTTP status, when it answered (for the logs)

    @property
    def code(self) -> str:  # type: ignore[override]
        return f"UPSTREAM_{self.state.value}"

    @property
    def extensions(self) -> dict[str, object]:
        return {
            "code": self.code,
            "source": self.source.name,
            "retryAfterSeconds": self.retry_after_seconds,
        }


class UpstreamTimeout(UpstreamError):
    state = SourceState.TIMEOUT


class UpstreamRateLimited(UpstreamError):
    state = SourceState.RATE_LIMITED


class UpstreamUnauthorized(UpstreamError):
    state = SourceState.UNAUTHORIZED


class UpstreamUnavailable(UpstreamError):
    state = SourceState.UNAVAILABLE


class UpstreamBadResponse(UpstreamError):
    state = SourceState.BAD_RESPONSE


class UpstreamBudgetExceeded(UpstreamError):
    """Not asked: the operation already sent as many upstream requests as it may."""

    state = SourceState.BUDGET_EXCEEDED


class CircuitOpen(UpstreamError):
    # Clients see it as unavailable; `sources` tells the circuit is open.
    state = SourceState.CIRCUIT_OPEN

    @property
    def code(self) -> str:  # type: ignore[override]
        return "UPSTREAM_UNAVAILABLE"


class Unauthenticated(GatewayError):
    """The client sent no credential, or one that is not accepted (HTTP 401). The message
    says which kind of problem, never the credential."""

    code = "UNAUTHENTICATED"

    def __init__(self, message: str, *, error: str | None = "invalid_token") -> None:
        super().__init__(message)
        self.error = error  # RFC 6750's error code; None when no credential was sent


class ClientRateLimited(GatewayError):
    """The client sent more requests than its limit allows (HTTP 429)."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code, "retryAfterSeconds": self.retry_after_seconds}
