"""Relay paging arguments: checked once, the same for every connection."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.errors import BadUserInput

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class PageArgs:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None


def page_size(args: PageArgs) -> tuple[int, bool]:
    """How many edges, and whether the page is walked backwards (`last`/`before`)."""
    if args.first is not None and args.last is not None:
        raise BadUserInput("Pass `first` or `last`, not both.")
    if args.last is None and args.before is not None:
        raise BadUserInput("`before` pages backwards: pass it with `last`.")
    if args.last is not None and args.after is not None:
        raise BadUserInput("`after` pages forwards: pass it with `first`.")
    for name, value in (("first", args.first), ("last", args.last)):
        if value is not None and not 1 <= value <= MAX_PAGE_SIZE:
            raise BadUserInput(f"`{name}` must be between 1 and {MAX_PAGE_SIZE}, got {value}.")
    if args.last is not None:
        return args.last, True
    return (args.first if args.first is not None else DEFAULT_PAGE_SIZE), False
