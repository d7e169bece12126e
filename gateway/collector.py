"""Python's cycle collector, set for a server that holds large caches.

With the defaults, a young-generation collection runs every 700 allocations, and the older
generations, which hold the caches' hundreds of thousands of objects, are walked again and
again: measured on long-tail traffic (benchmarks/varied.py), the collector took a fifth of
the CPU of a request. Objects built at start-up (modules, the schema) are frozen, never
walked again; the young generation is collected every 10,000 allocations instead.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 10_000


@contextmanager
def tuned_collector() -> Iterator[None]:
    """For the life of the app; on exit, the process's collector as it was."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()
