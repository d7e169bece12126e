"""`GET /readyz`: whether this replica can serve, with each upstream's state.

Ready once the app has started and its cache backend answers (Redis, pinged with a short
timeout; the in-process cache always does). An upstream that fails does not make the
replica unready: queries still answer with the other sources (and its stale entries), and
every replica would see the same upstream down. Its state is in the body for operators.
No credential is in it: an upstream's last error is the client-safe message `sources`
shows, a Redis error is named by its type only (its text may name the server).
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from gateway.core.gateway import Gateway

PING_TIMEOUT_S = 1.0


async def readiness(gateway: Gateway | None, redis: Redis | None) -> tuple[bool, dict[str, Any]]:
    """Ready or not, and the body that says why."""
    if gateway is None:
        return False, {"status": "starting"}
    cache = {"backend": "memory", "reachable": True}
    if redis is not None:
        cache = {"backend": "redis", **await _ping(redis)}
    sources = [
        {
            "source": health.source.name,
            "enabled": health.enabled,
            "circuit": health.circuit,
            "lastSuccessAt": health.last_success_at.isoformat().replace("+00:00", "Z")
            if health.last_success_at
            else None,
            "lastError": health.last_error,
        }
        for health in gateway.health()
    ]
    ready = bool(cache["reachable"])
    return ready, {"status": "ready" if ready else "unready", "cache": cache, "sources": sources}


async def _ping(redis: Redis) -> dict[str, Any]:
    try:
        await asyncio.wait_for(redis.ping(), PING_TIMEOUT_S)
    except Exception as error:  # unreachable, refused, timed out, wrong password...
        return {"reachable": False, "error": type(error).__name__}
    return {"reachable": True}
