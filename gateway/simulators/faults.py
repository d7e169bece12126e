"""Faults a test can inject into a simulator, and the queue that applies them."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FaultKind(StrEnum):
    LATENCY = "latency"  # delay the answer, then answer normally
    ERROR = "error"  # an error status with the API's own error body
    RATE_LIMIT = "rate_limit"  # the API's own 429 answer
    HANG = "hang"  # never answer (until the fault is cleared or the server stops)
    MALFORMED_JSON = "malformed_json"  # 200 with a body that is not JSON
    WRONG_SHAPE = "wrong_shape"  # 200 with valid JSON of the wrong shape
    RESET = "reset"  # close the connection with a TCP reset, no answer


class Fault(BaseModel):
    """One injected fault. `times` limits it to the next N requests (None: until cleared)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FaultKind
    status: int = Field(default=500, ge=400, le=599)
    latency_ms: float = Field(default=0.0, ge=0, le=600_000)
    jitter_ms: float = Field(default=0.0, ge=0, le=600_000)
    times: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _latency_needs_a_delay(self) -> Fault:
        if self.kind is FaultKind.LATENCY and self.latency_ms == 0 and self.jitter_ms == 0:
            raise ValueError("a latency fault needs latency_ms or jitter_ms")
        return self


class _ActiveFault:
    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times


class FaultQueue:
    """Active faults of one simulator.

    Every latency fault applies (their delays add up); of the other kinds, the oldest active
    one decides the answer. A fault with `times` is used up after that many requests.
    """

    def __init__(self) -> None:
        self._active: list[_ActiveFault] = []

    def add(self, fault: Fault) -> None:
        self._active.append(_ActiveFault(fault))

    def clear(self) -> None:
        self._active.clear()

    def active(self) -> list[Fault]:
        return [entry.fault for entry in self._active]

    def take(self) -> tuple[list[Fault], Fault | None]:
        """The latency faults and the answering fault (if any) for one request."""
        delays = [e for e in self._active if e.fault.kind is FaultKind.LATENCY]
        answer = next((e for e in self._active if e.fault.kind is not FaultKind.LATENCY), None)
        used = [*delays, *([answer] if answer else [])]
        for entry in used:
            if entry.remaining is not None:
                entry.remaining -= 1
        self._active = [e for e in self._active if e.remaining is None or e.remaining > 0]
        return [e.fault for e in delays], answer.fault if answer else None
