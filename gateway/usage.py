"""Who asked the upstreams what: per-query and per-source tallies of upstream traffic.

The GraphQL layer opens a tally for each operation, the aggregation one for each source it
asks; the HTTP client and the cache record into whichever are open. Context variables
carry them, so concurrent queries (and the tasks they fan out to) never mix their counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from gateway.cache.entries import Served
from gateway.errors import UpstreamBudgetExceeded
from gateway.model import Source


@dataclass
class Usage:
    requests: int = 0  # HTTP requests sent upstream (retries included)
    cache_hits: int = 0  # answered from the cache (fresh or stale)
    stale_hits: int = 0  # of those, stale
    shared: int = 0  # joined an identical request in flight
    sources: set[Source] = field(default_factory=set)
    budget: int | None = None  # upstream requests the operation may send (None: no limit)
    # Wall-clock time the first upstream answer used turns stale (None: none used yet).
    fresh_until: float | None = None

    @property
    def cached(self) -> bool:
        """Everything came from the cache: no request was sent or waited for."""
        return self.cache_hits > 0 and self.requests == 0 and self.shared == 0


_query: ContextVar[Usage | None] = ContextVar("query_usage", default=None)
_source: ContextVar[Usage | None] = ContextVar("source_usage", default=None)


@contextmanager
def _tally(var: ContextVar[Usage | None], usage: Usage) -> Iterator[Usage]:
    token = var.set(usage)
    try:
        yield usage
    finally:
        var.reset(token)


def query_tally(budget: int | None = None) -> AbstractContextManager[Usage]:
    """The operation's tally; with a `budget`, `spend` refuses requests past it."""
    return _tally(_query, Usage(budget=budget))


def source_tally() -> AbstractContextManager[Usage]:
    return _tally(_source, Usage())


def ensure_budget(source: Source) -> None:
    """Refuse an upstream request when the operation has spent its budget (a request made
    for no operation, a background refresh, is free)."""
    usage = _query.get()
    if usage is not None and usage.budget is not None and usage.requests >= usage.budget:
        raise UpstreamBudgetExceeded(
            source, f"not asked: this operation spent its {usage.budget} upstream requests"
        )


def spend(source: Source) -> None:
    """Count one upstream request about to be sent, refusing it past the budget: checked
    and counted in one step, so concurrent requests of one operation cannot both take the
    last one."""
    ensure_budget(source)
    record(source, Served.UPSTREAM)


def record_freshness(fresh_until: float) -> None:
    """An upstream answer the operation used is fresh until then: so is the operation's
    answer at most (its `Cache-Control`, how long the whole-response cache keeps it)."""
    usage = _query.get()
    if usage is not None and (usage.fresh_until is None or fresh_until < usage.fresh_until):
        usage.fresh_until = fresh_until


def record(source: Source, served: Served) -> None:
    for var in (_query, _source):
        usage = var.get()
        if usage is None:
            continue
        usage.sources.add(source)
        if served is Served.UPSTREAM:
            usage.requests += 1
        elif served is Served.SHARED:
            usage.shared += 1
        else:
            usage.cache_hits += 1
            usage.stale_hits += served is Served.STALE
