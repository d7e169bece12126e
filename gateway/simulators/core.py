"""What every simulator shares: the API contract, traffic recording, faults and the admin API.

A concrete upstream subclasses `SimulatedApi` (its routes, auth, data and error shapes);
`Simulator` wraps it in an aiohttp application that records every request, applies injected
faults and serves the `/__admin/` test hooks, a path no real API uses.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import random
import socket
import struct
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.simulators.faults import Fault, FaultKind, FaultQueue

Clock = Callable[[], datetime]
Record = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

ADMIN_PREFIX = "/__admin/"
MALFORMED_JSON = '{"data": [{"id": "truncated", '


def utc_now() -> datetime:
    return datetime.now(UTC)


def fingerprint(secret: str) -> str:
    """A short, stable hash of a credential: tests tell callers apart without the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:12]


class ApiError(Exception):
    """An error answer in the API's own shape; handlers raise it, the simulator sends it."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status, headers=self.headers)


class RecordStore:
    """One simulator's records, each id once, in insertion order (APIs list them so).

    A changed record keeps its place and a new one comes last. `records()` and `upsert()` hand
    out deep copies, so a test editing what it got cannot change what the simulator serves;
    handlers iterate the store itself and copy only what they answer.
    """

    def __init__(
        self,
        records: Iterable[Record],
        *,
        id_field: str = "id",
        id_type: type[str] | type[int] = str,
    ) -> None:
        self._records = copy.deepcopy(list(records))
        self._id_field = id_field
        self._id_type = id_type

    def __iter__(self) -> Iterator[Record]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def records(self) -> list[Record]:
        return copy.deepcopy(self._records)

    def upsert(self, record: Record) -> Record:
        """Store a copy of `record`; raises KeyError without an id, TypeError for a bad one."""
        record_id = record[self._id_field]
        # bool is an int subclass, but `true` is no id.
        if not isinstance(record_id, self._id_type) or isinstance(record_id, bool):
            kind = "a string" if self._id_type is str else "an integer"
            raise TypeError(f"{self._id_field} must be {kind}")
        stored = copy.deepcopy(record)
        for index, existing in enumerate(self._records):
            if existing.get(self._id_field) == record_id:
                self._records[index] = stored
                break
        else:
            self._records.append(stored)
        return copy.deepcopy(stored)


class SimulatedApi(ABC):
    """One upstream API: its routes (relative to `prefix`), credentials, data and errors."""

    name: ClassVar[str]
    prefix: ClassVar[str]  # the vendor's own path prefix, e.g. "/api/v1"
    default_port: ClassVar[int]
    auth_header: ClassVar[str] = "Authorization"

    def __init__(self, *, clock: Clock = utc_now, rate_limits: bool = True) -> None:
        self.clock = clock
        self.rate_limits = rate_limits

    @property
    @abstractmethod
    def api_key(self) -> str:
        """The primary valid credential (printed by `simulate`, used by the demo)."""

    @abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """Routes with paths relative to `prefix`."""

    @abstractmethod
    def error(self, status: int) -> ApiError:
        """The API's own error answer for an HTTP status (used for injected faults)."""

    def rate_limit_error(self) -> ApiError:
        return self.error(429)

    def wrong_shape_body(self) -> Any:
        """Valid JSON that is not the documented shape of any answer."""
        return {"result": "ok", "items": {"unexpected": "an object where a list belongs"}}

    @abstractmethod
    def records(self) -> list[Record]:
        """Every record, in wire format, as the API would return it."""

    @abstractmethod
    def upsert(self, record: Record) -> Record:
        """Insert a record, or replace the one with the same id; returns what is stored."""

    def reset_rate_limits(self) -> None:  # noqa: B027 (a hook: APIs without limits keep it)
        """Forget the requests counted so far (a fresh minute)."""


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: list[tuple[str, str]]
    credential: str | None  # fingerprint of the auth header value, never the secret
    started_at: float
    ended_at: float | None = None
    status: int | None = None

    @property
    def params(self) -> dict[str, str]:
        return dict(self.query)


@dataclass
class Traffic:
    requests: list[RecordedRequest] = field(default_factory=list)
    in_flight: int = 0
    peak_in_flight: int = 0


class _RateLimitSwitch(BaseModel):
    enabled: bool


class Simulator:
    """Serves one `SimulatedApi` on a loopback port, with traffic log, faults and admin API."""

    def __init__(self, api: SimulatedApi) -> None:
        self.api = api
        self.faults = FaultQueue()
        self.traffic = Traffic()
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # --- Python API for tests -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.api.name

    @property
    def api_key(self) -> str:
        return self.api.api_key

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError(f"simulator {self.name} is not running")
        return self._port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + self.api.prefix

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received on the API (admin calls excluded), oldest first."""
        return list(self.traffic.requests)

    @property
    def peak_in_flight(self) -> int:
        return self.traffic.peak_in_flight

    def reset_requests(self) -> None:
        self.traffic = Traffic(in_flight=self.traffic.in_flight)

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def clear_faults(self) -> None:
        """Remove every fault and let hanging requests go on."""
        self.faults.clear()
        self._released.set()
        self._released = asyncio.Event()

    def set_rate_limits(self, enabled: bool) -> None:
        self.api.rate_limits = enabled
        self.api.reset_rate_limits()

    def upsert(self, record: Record) -> Record:
        return self.api.upsert(record)

    # --- serving --------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_and_disturb])
        app.add_routes(self._admin_routes())
        for route in self.api.routes():
            assert isinstance(route, web.RouteDef)
            app.router.add_route(route.method, self.api.prefix + route.path, route.handler)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as error:
            sock.close()
            raise OSError(error.errno, f"{self.name}: cannot listen on {host}:{port}") from error
        self._port = sock.getsockname()[1]
        self._runner = web.AppRunner(self.app(), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _record_and_disturb(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        if request.path.startswith(ADMIN_PREFIX):
            return await handler(request)
        presented = request.headers.get(self.api.auth_header)
        entry = RecordedRequest(
            method=request.method,
            path=request.path,
            query=list(request.query.items()),
            credential=fingerprint(presented) if presented is not None else None,
            started_at=time.time(),
        )
        traffic = self.traffic
        traffic.requests.append(entry)
        traffic.in_flight += 1
        traffic.peak_in_flight = max(traffic.peak_in_flight, traffic.in_flight)
        try:
            response = await self._answer(request, handler)
            entry.status = response.status
            return response
        finally:
            traffic.in_flight -= 1
            entry.ended_at = time.time()

    async def _answer(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        delays, fault = self.faults.take()
        delay_ms = sum(f.latency_ms + random.uniform(0, f.jitter_ms) for f in delays)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        if fault is None:
            return await self._serve(request, handler)
        match fault.kind:
            case FaultKind.ERROR:
                return self.api.error(fault.status).response()
            case FaultKind.RATE_LIMIT:
                return self.api.rate_limit_error().response()
            case FaultKind.HANG:
                await self._released.wait()
                return await self._serve(request, handler)
            case FaultKind.MALFORMED_JSON:
                return web.Response(text=MALFORMED_JSON, content_type="application/json")
            case FaultKind.WRONG_SHAPE:
                return web.json_response(self.api.wrong_shape_body())
            case FaultKind.RESET:
                _reset_connection(request)
                return web.Response(status=499)  # never sent: the connection is gone
        raise AssertionError(f"unhandled fault {fault.kind}")  # pragma: no cover

    async def _serve(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()
        except web.HTTPException as http_error:
            # Unknown paths and methods answer in the API's own error shape too.
            return self.api.error(http_error.status).response()

    # --- admin API (the same hooks over HTTP) ---------------------------------------------

    def _admin_routes(self) -> list[web.RouteDef]:
        a = ADMIN_PREFIX
        return [
            web.get(a + "requests", self._admin_requests),
            web.delete(a + "requests", self._admin_reset_requests),
            web.get(a + "faults", self._admin_faults),
            web.post(a + "faults", self._admin_inject),
            web.delete(a + "faults", self._admin_clear_faults),
            web.put(a + "rate-limits", self._admin_rate_limits),
            web.get(a + "records", self._admin_records),
            web.put(a + "records", self._admin_upsert),
        ]

    async def _admin_requests(self, _: web.Request) -> web.Response:
        traffic = self.traffic
        return web.json_response(
            {
                "requests": [asdict(r) for r in traffic.requests],
                "in_flight": traffic.in_flight,
                "peak_in_flight": traffic.peak_in_flight,
            }
        )

    async def _admin_reset_requests(self, _: web.Request) -> web.Response:
        self.reset_requests()
        return web.Response(status=204)

    async def _admin_faults(self, _: web.Request) -> web.Response:
        return web.json_response({"faults": [f.model_dump() for f in self.faults.active()]})

    async def _admin_inject(self, request: web.Request) -> web.Response:
        fault = await _parse_body(request, Fault)
        self.inject(fault)
        return web.json_response(fault.model_dump(), status=201)

    async def _admin_clear_faults(self, _: web.Request) -> web.Response:
        self.clear_faults()
        return web.Response(status=204)

    async def _admin_rate_limits(self, request: web.Request) -> web.Response:
        switch = await _parse_body(request, _RateLimitSwitch)
        self.set_rate_limits(switch.enabled)
        return web.json_response({"enabled": switch.enabled})

    async def _admin_records(self, _: web.Request) -> web.Response:
        return web.json_response({"records": self.api.records()})

    async def _admin_upsert(self, request: web.Request) -> web.Response:
        try:
            record = await request.json()
        except ValueError:
            raise _admin_error("body must be a JSON object") from None
        if not isinstance(record, dict):
            raise _admin_error("body must be a JSON object")
        try:
            stored = self.upsert(record)
        except (KeyError, TypeError, ValueError) as error:
            raise _admin_error(f"cannot store this record: {error}") from None
        return web.json_response({"record": stored})


async def _parse_body(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as error:
        raise _admin_error(str(error)) from None


def _admin_error(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


def _reset_connection(request: web.Request) -> None:
    """Abort the TCP connection so the client sees a reset (RST), not a clean close."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
