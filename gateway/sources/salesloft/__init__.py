"""Salesloft: meetings booked through sales cadences, each with a person (a lead).

`GET /meetings` lists active meetings by default and *only* canceled ones with
`show_deleted=true`, so "all meetings" is two listings, fetched side by side.

A page of the connection walks each listing in its own order (`sort_by`), from a keyset bound
taken from the cursor (`start_time[gte]`, `created_at[lte]`...), only until it holds the
matches the page needs; the cursor carries where each walk may resume, so consecutive pages
reuse the cached upstream page.

`totalCount` is counted beside the walk, from the first page of each listing from its start
(the walk's own first page, asked with `include_paging_counts`): its `total_count` is the
count where the filter is pushed down exactly. Where it is not (`search`, `attendeeEmail`,
`updatedSince`, CONFIRMED apart from COMPLETED...), the other pages are read while the count
stays within `COUNT_REQUESTS`, else the matches seen are a lower bound; "now", rounded to the
minute for `upcoming`, is made exact from that minute's meetings.
"""

from gateway.sources.salesloft.counting import COUNT_REQUESTS
from gateway.sources.salesloft.mapping import listing_page, to_meeting
from gateway.sources.salesloft.pushdown import micro_z
from gateway.sources.salesloft.source import SalesloftSource, page_cost

# What the registry, the tests and the benchmarks import.
__all__ = [
    "COUNT_REQUESTS",
    "SalesloftSource",
    "listing_page",
    "micro_z",
    "page_cost",
    "to_meeting",
]
