"""What the source modules share to read upstream answers: the wire-model base, ISO times,
meeting links to platforms, and the API key.

Each module keeps its own vendor tables (statuses, providers) and says at the call site
which of these rules it applies where upstreams differ.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict

from gateway.config import SourceSettings
from gateway.model import Platform


class WireModel(BaseModel):
    """An upstream record as received: types checked strictly, unknown fields ignored."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def _parse_iso(value: object) -> object:
    """Times come as ISO 8601 text; anything else is left for the strict check to refuse."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 1 at +01:00: a bad response, not a crash
        raise ValueError("a date-time out of range") from None


# Every vendor "ISO 8601" / "date-time" field: text with any offset (`Z`, `+00:00`, `-03:00`,
# `+0530`), with or without fractional seconds, read as an aware datetime in UTC. Refused:
# text without an offset (its zone is unknown) and anything not text, digits in a string too
# (pydantic's lax parser would read "1773150902" as unix seconds).
UtcTime = Annotated[AwareDatetime, BeforeValidator(_parse_iso), AfterValidator(_to_utc)]

# The one table of video hosts: a meeting link on the domain, or below it, is that platform.
VIDEO_HOSTS: dict[str, Platform] = {
    "meet.google.com": Platform.GOOGLE_MEET,
    "zoom.us": Platform.ZOOM,
    "teams.microsoft.com": Platform.TEAMS,
    "teams.live.com": Platform.TEAMS,
    "daily.co": Platform.DAILY,
}


def url_host(url: str | None) -> str:
    """The link's host in lower case; "" for None, "" and text that is no URL (no scheme)."""
    return (urlsplit(url).hostname or "").lower() if url else ""


def platform_from_url(
    url: str | None,
    *,
    domains: Collection[str] | None = None,
    subdomains: Collection[str] | None = None,
) -> Platform | None:
    """The platform of the `VIDEO_HOSTS` domain the link's host is, None for any other host.

    `domains` narrows the table to the domains an upstream's links are read for (None: all);
    a host below a domain (`us02web.zoom.us`, `team.daily.co`) counts only for the domains
    in `subdomains` (None: all of them).
    """
    host = url_host(url)
    for domain, platform in VIDEO_HOSTS.items():
        if domains is not None and domain not in domains:
            continue
        if host == domain:
            return platform
        below = subdomains is None or domain in subdomains
        if below and host.endswith("." + domain):
            return platform
    return None


def api_key(settings: SourceSettings) -> str:
    """The configured API key as text, "" when there is none."""
    return settings.api_key.get_secret_value() if settings.api_key is not None else ""
