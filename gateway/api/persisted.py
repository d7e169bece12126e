"""Persisted queries: Apollo's automatic persisted queries (APQ, version 1) and an optional
allow-list of documents.

A request may name its document by `extensions.persistedQuery.sha256Hash` instead of
sending it. The text is found in the manifest (`GATEWAY_PERSISTED__DOCUMENTS`) or in the
cache store, shared by replicas on Redis; a request that sends the text with its hash
registers it, once the hash is checked. The text found is what strawberry parses, so the
parse and validation caches hit as for any other request. With `only`, the manifest is an
allow-list: nothing else runs, and nothing is registered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gateway.cache.backends import ByteStore
from gateway.cache.entries import KEY_PREFIX, fingerprint
from gateway.config import PersistedSettings
from gateway.errors import GatewayError

EXTENSION = "persistedQuery"
VERSION = 1
_HASH = re.compile(r"[0-9a-f]{64}")
_KEY = f"{KEY_PREFIX}apq:"
_APOLLO_MANIFEST = "apollo-persisted-query-manifest"


class PersistedQueryError(GatewayError):
    """A persisted query that cannot run; `status` is the HTTP status of the answer."""

    status = 400


class PersistedQueryNotFound(PersistedQueryError):
    # Apollo clients look for this message or code, then send the document with its hash.
    # Answered 200: Apollo Client 3 stops using APQ altogether after a 400.
    code = "PERSISTED_QUERY_NOT_FOUND"
    status = 200

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class PersistedQueryInvalid(PersistedQueryError):
    code = "PERSISTED_QUERY_INVALID"


class PersistedQueryHashMismatch(PersistedQueryError):
    code = "PERSISTED_QUERY_HASH_MISMATCH"


class PersistedQueryNotInList(PersistedQueryError):
    code = "PERSISTED_QUERY_NOT_IN_LIST"
    status = 403


def sha256(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def requested_hash(extensions: Mapping[str, Any] | None) -> str | None:
    """The document hash a request names, None when it names none; refuses a malformed one."""
    persisted = extensions.get(EXTENSION) if extensions else None
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != VERSION:
        raise PersistedQueryInvalid("`persistedQuery` must be {version: 1, sha256Hash}.")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest.lower()):
        raise PersistedQueryInvalid("`sha256Hash` must be 64 hexadecimal digits.")
    return digest.lower()


class PersistedQueries:
    """The documents requests may name by hash: the manifest's, then those registered in
    the cache store (one per app, built in its lifespan)."""

    def __init__(
        self,
        store: ByteStore | None,
        settings: PersistedSettings,
        manifest: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.manifest = dict(manifest or {})

    async def document(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The text to run: `query` (its hash checked when it names one), or the document
        the request names by its hash."""
        digest = requested_hash(extensions)
        if digest is None:
            if self.settings.only and query is not None and sha256(query) not in self.manifest:
                raise PersistedQueryNotInList("Only the persisted documents run here.")
            return query
        if query is None:
            return await self._find(digest)
        if sha256(query) != digest:
            raise PersistedQueryHashMismatch("`sha256Hash` is not the SHA-256 of `query`.")
        if self.settings.only and digest not in self.manifest:
            raise PersistedQueryNotInList("Only the persisted documents run here.")
        return query

    async def register(self, query: str | None, extensions: Mapping[str, Any] | None) -> None:
        """Keeps a document sent with its (checked) hash, once it ran: documents that do
        not parse or validate are never kept."""
        if query is None or self.store is None or self.settings.only:
            return
        digest = requested_hash(extensions)
        if digest is None or digest in self.manifest:
            return
        text = query.encode()
        if len(text) <= self.settings.max_document_bytes:  # a longer one runs, unkept
            await self.store.write(_KEY + digest, text, self.settings.ttl)

    async def _find(self, digest: str) -> str:
        known = self.manifest.get(digest)
        if known is not None:
            return known
        if self.store is not None and not self.settings.only:
            stored = await self.store.read(_KEY + digest)
            if stored is not None:
                return stored.decode()
        raise PersistedQueryNotFound


def allow_list_fingerprint(settings: PersistedSettings, manifest: Mapping[str, str]) -> str:
    """Tells allow-lists apart (empty without one): answers kept under one never serve
    another."""
    return fingerprint("only", *sorted(manifest)) if settings.only else ""


def load_manifest(path: Path) -> dict[str, str]:
    """Documents by sha256 from a JSON file: Apollo's persisted query manifest
    (`{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}...]}`)
    or an object of hash -> document. Every hash must be its document's SHA-256."""
    try:
        content = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        raise ValueError(f"persisted documents {path}: cannot read it as JSON ({error})") from None
    if isinstance(content, dict) and content.get("format") == _APOLLO_MANIFEST:
        operations = content.get("operations")
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            raise ValueError(f"persisted documents {path}: `operations` must be a list of objects")
        pairs = [(o.get("id"), o.get("body")) for o in operations]
    elif isinstance(content, dict):
        pairs = list(content.items())
    else:
        raise ValueError(f"persisted documents {path}: must be a JSON object")
    manifest: dict[str, str] = {}
    for digest, body in pairs:
        if not isinstance(digest, str) or not isinstance(body, str):
            raise ValueError(f"persisted documents {path}: each id and body must be strings")
        if sha256(body) != digest.lower():
            raise ValueError(f"persisted documents {path}: {digest!r} is not its body's SHA-256")
        manifest[digest.lower()] = body
    return manifest
