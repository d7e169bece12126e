"""Node ids ("<source>:<rest>") and lead keys: pure functions of the text.

A lead id is read by its source's own rule (`LeadSource.lead_key`, static), configured or
not, so client input becomes a filter without asking any upstream.
"""

from __future__ import annotations

from gateway.errors import BadUserInput
from gateway.model import BOT_SOURCE, LeadKey, Source
from gateway.sources.registry import lead_source_types

_LEAD_SOURCES = lead_source_types()


def node_id_parts(node_id: str) -> tuple[Source | None, str]:
    """The source a node id names (None for none) and the rest of the id."""
    prefix, _, rest = node_id.partition(":")
    try:
        return Source(prefix), rest
    except ValueError:
        return None, rest


def split_node_id(node_id: str, type_name: str) -> tuple[Source, str]:
    """Like `node_id_parts`, but an id that names no source is the client's error."""
    source, rest = node_id_parts(node_id)
    if source is None:
        raise BadUserInput(f"`{node_id}` is not a {type_name} id.")
    return source, rest


def bot_id(node_id: str) -> str:
    """The bot id in a ScheduledBot's node id, or a BAD_USER_INPUT error."""
    source, rest = node_id_parts(node_id)
    if source is not BOT_SOURCE or not rest:
        raise BadUserInput(f"`{node_id}` is not a ScheduledBot id.")
    return rest


def lead_key(node_id: str) -> LeadKey:
    """The key of a lead's node id, or a BAD_USER_INPUT error naming the accepted forms."""
    source, rest = split_node_id(node_id, "Lead")
    reader = _LEAD_SOURCES.get(source)
    key = None if reader is None else reader.lead_key(rest)
    if key is None:
        forms = " or ".join(f"{s.value}:{kind.lead_id_form}" for s, kind in _LEAD_SOURCES.items())
        raise BadUserInput(f"`{node_id}` is not a lead id ({forms}).")
    return key
