"""The seeded data set of all five simulators, built from one seed and a reference "now"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.simulators import daily, leezy, meetstream, nexor, salesloft
from gateway.simulators.core import Record
from gateway.simulators.seed import build_pools

DEFAULT_SEED = 7


@dataclass(frozen=True)
class DatasetSizes:
    leezy: int = 120
    nexor_leads: int = 25  # each lead has 0 to 8 meetings
    meetstream: int = 40
    salesloft: int = 200  # benchmarks scale this to 10,000
    daily: int = 80  # sessions besides those of rooms that Leezy and Nexor link to


@dataclass(frozen=True)
class Dataset:
    """Every record in wire format, exactly as the simulators serve it at start."""

    seed: int
    now: datetime
    leezy: list[Record] = field(repr=False)
    nexor_leads: list[Record] = field(repr=False)
    nexor_meetings: dict[str, list[Record]] = field(repr=False)
    meetstream: list[Record] = field(repr=False)
    salesloft: list[Record] = field(repr=False)
    daily: list[Record] = field(repr=False)


def build_dataset(
    seed: int = DEFAULT_SEED, now: datetime | None = None, sizes: DatasetSizes | None = None
) -> Dataset:
    reference = (now or datetime.now(UTC)).astimezone(UTC)
    sizes = sizes or DatasetSizes()
    pools = build_pools(seed, reference)
    nexor_leads, nexor_meetings = nexor.build_records(pools, sizes.nexor_leads)
    return Dataset(
        seed=seed,
        now=reference,
        leezy=leezy.build_records(pools, sizes.leezy),
        nexor_leads=nexor_leads,
        nexor_meetings=nexor_meetings,
        meetstream=meetstream.build_records(pools, sizes.meetstream),
        salesloft=salesloft.build_records(pools, sizes.salesloft),
        daily=daily.build_records(pools, sizes.daily),
    )
