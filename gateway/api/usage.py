"""`extensions.upstream` of every response: the upstream traffic this operation caused; and
for the HTTP layer's whole-response cache, that tally and whether the answer is live."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from strawberry.extensions import SchemaExtension

from gateway.usage import Usage, query_tally

# Where the operation's tally is left for the HTTP layer (the whole-response cache reads it).
USAGE_SCOPE_KEY = "gateway.usage"
LIVE_SCOPE_KEY = "gateway.live"  # True: the answer shows live state, never to be kept


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
