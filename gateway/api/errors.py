"""How errors reach clients: a code on every error, upstream failures the query survived,
and nothing unexpected or secret.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from gateway.errors import GatewayError, UpstreamError

log = logging.getLogger(__name__)

# Messages graphql-core gives to argument and variable values it cannot coerce.
_INPUT_MARKERS = (
    "got invalid value",
    "Expected value of type",
    "of required type",
    "was not provided",
    "is not defined by type",
    "Expected type",
    "cannot represent",  # a literal of the wrong scalar type: `first: 1.5`, `first: "7"`
    "has invalid value",  # the same in a variable
)


def is_client_safe(error: GraphQLError) -> bool:
    """Errors of ours and errors graphql-core raises before execution (no path) are safe."""
    original = error.original_error
    return isinstance(original, GatewayError) or error.path is None


def error_code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, GatewayError):
        return original.code
    if error.path is not None:
        return "INTERNAL_SERVER_ERROR"
    if error.message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if any(marker in error.message for marker in _INPUT_MARKERS):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class GatewayErrors(SchemaExtension):
    """Adds `extensions.code` to every error and reports upstream failures into `errors[]`.

    Must come before `MaskErrors` in the extension list, so it sees errors already masked.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None:
            return
        errors = list(getattr(result, "errors", None) or [])
        context = self.execution_context.context
        for reported in getattr(context, "upstream_errors", ()):
            upstream = reported.error
            errors.append(
                GraphQLError(upstream.message, path=reported.path, extensions=upstream.extensions)
            )
        result.errors = add_codes(errors) or None


def add_codes(errors: list[GraphQLError]) -> list[GraphQLError]:
    """Give every error its `extensions.code` (idempotent).

    Also called by the HTTP view: strawberry skips extensions' closing hooks when the
    document does not parse.
    """
    for error in errors:
        extensions = dict(error.extensions or {})
        original = error.original_error
        if isinstance(original, GatewayError):
            extensions.update(original.extensions)
        extensions.setdefault("code", error_code(error))
        error.extensions = extensions
    return errors


def log_errors(errors: list[GraphQLError]) -> None:
    """What strawberry would log with a traceback each: an upstream failure was logged where
    it happened (`sources.http`), a client's mistake is one line without a traceback, and
    only the unexpected keep theirs."""
    for error in errors:
        original = error.original_error
        if isinstance(original, UpstreamError):
            continue
        if is_client_safe(error):
            log.info("client error", extra={"code": error_code(error), "error": error.message})
        else:
            path = ".".join(map(str, error.path or ()))
            log.error("unexpected error at %s", path, exc_info=original)
