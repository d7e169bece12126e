"""The seeded data set of all five simulators, built from one seed and a reference "now"."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.simulators import daily, leezy, meetstream, nexor, salesloft
from gateway.simulators.core import Record
from gateway.simulators.scale import build_scaled_pools, check_scale
from gateway.simulators.seed import build_pools

DEFAULT_SEED = 7


@dataclass(frozen=True)
class DatasetSizes:
    leezy: int = 120
    nexor_leads: int = 25  # each lead has 0 to 8 meetings
    meetstream: int = 40
    salesloft: int = 200  # benchmarks scale this to 10,000
    daily: int = 80  # sessions besides those of rooms that Leezy and Nexor link to

    @classmethod
    def scaled(cls, scale: int) -> DatasetSizes:
        """A real-sized account: `scale` times a small team's counts (scale 20: 3,000 Salesloft
        meetings, 2,400 Leezy, about 1,200 Daily sessions with those of the booked rooms)."""
        check_scale(scale)
        return cls(
            leezy=120 * scale,
            nexor_leads=25 * scale,
            meetstream=40 * scale,
            salesloft=150 * scale,
            daily=40 * scale,
        )


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
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    sizes: DatasetSizes | None = None,
    *,
    scale: int | None = None,
) -> Dataset:
    """The default data set, or with `scale` (1-200) a real-sized account (scale.py) whose
    sizes are `DatasetSizes.scaled(scale)` unless `sizes` says otherwise."""
    reference = (now or datetime.now(UTC)).astimezone(UTC)
    if scale is None:
        pools = build_pools(seed, reference)
        sizes = sizes or DatasetSizes()
    else:
        pools = build_scaled_pools(seed, reference, scale)
        sizes = sizes or DatasetSizes.scaled(scale)
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
