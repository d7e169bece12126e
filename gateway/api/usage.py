"""`extensions.upstream` of every response: the upstream traffic this operation caused; and
for the HTTP layer (whole-response cache, metrics, logs), that tally, whether the answer is
live, and the operation's name and outcome."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import PreExecutionError

from gateway.usage import Usage, query_tally

# Where the operation's tally is left for the HTTP layer (the whole-response cache reads it).
USAGE_SCOPE_KEY = "gateway.usage"
LIVE_SCOPE_KEY = "gateway.live"  # True: the answer shows live state, never to be kept
OPERATION_SCOPE_KEY = "gateway.operation"  # an `Operation`: what the metrics and logs tell

# ok: no error; partial: data with errors (an upstream failed); error: no data; refused:
# never executed (a document that does not parse or validate, or a request turned away).
Outcome = Literal["ok", "partial", "error", "refused"]
# A GraphQL name of sensible length: the client chooses it, metrics and logs show it.
SAFE_OPERATION_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")
INVALID_OPERATION_NAME = "invalid"  # a name no operation can have (wrong characters, too long)
UNKNOWN_OPERATION = "unknown"  # not executed: turned away before GraphQL, or did not parse


@dataclass(frozen=True, slots=True)
class Operation:
    name: str | None  # None: anonymous; else a `SAFE_OPERATION_NAME` or "invalid"
    outcome: Outcome


def operation_name(name: object) -> str | None:
    """The client's operation name, if it is one a document can hold (else "invalid")."""
    if name is None:
        return None
    if isinstance(name, str) and SAFE_OPERATION_NAME.fullmatch(name):
        return name
    return INVALID_OPERATION_NAME


class _Result(Protocol):
    @property
    def data(self) -> object: ...
    @property
    def errors(self) -> Sequence[GraphQLError] | None: ...


def outcome(result: _Result | None) -> Outcome:
    if result is None:
        return "error"
    if isinstance(result, PreExecutionError):
        return "refused"
    if not result.errors:
        return "ok"
    return "error" if result.data is None else "partial"


class UpstreamUsage(SchemaExtension):
    """Opens the operation's tally, with its upstream request budget."""

    usage: Usage | None = None

    def __init__(self, budget: int | None = None) -> None:
        super().__init__()
        self.budget = budget

    def on_operation(self) -> Iterator[None]:
        with query_tally(self.budget) as usage:
            self.usage = usage
            yield
        context = self.execution_context.context
        request = getattr(context, "request", None)
        if request is not None:
            request.scope[USAGE_SCOPE_KEY] = usage
            request.scope[LIVE_SCOPE_KEY] = getattr(context, "live", False)
            request.scope[OPERATION_SCOPE_KEY] = Operation(
                operation_name(self.execution_context.operation_name),
                outcome(self.execution_context.result),
            )

    def get_results(self) -> dict[str, Any]:
        if self.usage is None:
            return {}
        # Executed, so not a whole-response cache hit (those are answered before GraphQL).
        return {"upstream": usage_extension(self.usage), "responseCache": {"hit": False}}


def usage_extension(usage: Usage) -> dict[str, int]:
    return {
        "requests": usage.requests,
        "cacheHits": usage.cache_hits,
        "staleHits": usage.stale_hits,
        "sharedRequests": usage.shared,
    }
