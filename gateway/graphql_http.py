"""The HTTP rules of `/graphql` beyond strawberry's view: which other origins may read its
answers (CORS)."""

from __future__ import annotations

# What a page of an allowed origin may send: credentials, JSON, and the headers Apollo
# clients add (APQ over GET, client awareness).
CORS_METHODS = ("GET", "POST")
CORS_HEADERS = (
    "Authorization",
    "Content-Type",
    "Apollo-Require-Preflight",
    "X-Apollo-Operation-Name",
    "Apollographql-Client-Name",
    "Apollographql-Client-Version",
)
