"""The five simulators together: start, stop, reset. What `simulate`, `demo` and tests use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gateway.simulators.core import Clock, Simulator, utc_now
from gateway.simulators.daily import DailyApi
from gateway.simulators.dataset import Dataset, build_dataset
from gateway.simulators.leezy import LeezyApi
from gateway.simulators.meetstream import MeetStreamApi
from gateway.simulators.nexor import NexorApi
from gateway.simulators.salesloft import SalesloftApi

NAMES = ("leezy", "nexor", "meetstream", "salesloft", "daily")
DEFAULT_PORTS = {
    api.name: api.default_port
    for api in (LeezyApi, NexorApi, MeetStreamApi, SalesloftApi, DailyApi)
}


@dataclass
class Simulators:
    dataset: Dataset
    leezy: Simulator
    nexor: Simulator
    meetstream: Simulator
    salesloft: Simulator
    daily: Simulator

    def __iter__(self) -> Iterator[Simulator]:
        return iter((self.leezy, self.nexor, self.meetstream, self.salesloft, self.daily))

    def by_name(self, name: str) -> Simulator:
        simulator = getattr(self, name, None)
        if name not in NAMES or not isinstance(simulator, Simulator):
            raise KeyError(name)
        return simulator

    def reset(self) -> None:
        """Clear faults, request logs and rate-limit counters of all five."""
        for simulator in self:
            simulator.clear_faults()
            simulator.reset_requests()
            simulator.api.reset_rate_limits()

    async def start(self, host: str = "127.0.0.1", ports: Mapping[str, int] | None = None) -> None:
        """Start all five; a port of 0 (the default) picks a free one."""
        for simulator in self:
            await simulator.start(host, (ports or {}).get(simulator.name, 0))

    async def stop(self) -> None:
        for simulator in self:
            await simulator.stop()


def create_simulators(
    dataset: Dataset | None = None, *, clock: Clock = utc_now, rate_limits: bool = True
) -> Simulators:
    data = dataset or build_dataset()
    return Simulators(
        dataset=data,
        leezy=Simulator(LeezyApi(data.leezy, clock=clock, rate_limits=rate_limits)),
        nexor=Simulator(
            NexorApi(data.nexor_leads, data.nexor_meetings, clock=clock, rate_limits=rate_limits)
        ),
        meetstream=Simulator(MeetStreamApi(data.meetstream, clock=clock, rate_limits=rate_limits)),
        salesloft=Simulator(SalesloftApi(data.salesloft, clock=clock, rate_limits=rate_limits)),
        daily=Simulator(DailyApi(data.daily, clock=clock, rate_limits=rate_limits)),
    )


@asynccontextmanager
async def running_simulators(
    dataset: Dataset | None = None,
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
    clock: Clock = utc_now,
    rate_limits: bool = True,
) -> AsyncIterator[Simulators]:
    simulators = create_simulators(dataset, clock=clock, rate_limits=rate_limits)
    await simulators.start(host, ports)
    try:
        yield simulators
    finally:
        await simulators.stop()
