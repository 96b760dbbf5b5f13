"""What production hides: introspection, "did you mean" suggestions, and error details.

With introspection off a client must not learn the schema another way, and validation messages
such as "Cannot query field 'titel' on type 'Query'. Did you mean 'title'?" would leak it field by
field, so suggestions go with it. Masking keeps subgraph and internal error details (messages,
service names, stack traces) in the gateway's log; the client keeps the code and the path.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from graphql import DocumentNode, GraphQLSchema, validate
from graphql.validation import NoSchemaIntrospectionCustomRule

__all__ = [
    "CLIENT_ERROR_CODES",
    "INTERNAL_ERROR_MESSAGE",
    "introspection_errors",
    "mask_errors",
    "strip_suggestions",
]

logger = logging.getLogger("edgegraph.errors")

INTERNAL_ERROR_MESSAGE = "Internal server error"

#: Errors about the client's own request: their messages are the point, so they are never masked.
CLIENT_ERROR_CODES = frozenset(
    {
        "BAD_REQUEST",
        "BAD_USER_INPUT",
        "GRAPHQL_PARSE_FAILED",
        "GRAPHQL_VALIDATION_FAILED",
        "OPERATION_RESOLUTION_FAILURE",
        "OPERATION_LIMIT_EXCEEDED",
        "PERSISTED_QUERY_NOT_FOUND",
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "PERSISTED_QUERY_HASH_MISMATCH",
    }
)
#: Errors the gateway writes about the operation itself (a field it cannot plan, a field no
#: subgraph answered): their messages name only the client's own fields, so they pass. A failed
#: fetch's message may name a host: it is masked, and its code says what happened.
GATEWAY_ERROR_CODES = frozenset(
    {
        "QUERY_PLANNING_FAILED",
        "FIELD_NOT_RESOLVED",
    }
)

# graphql-core appends suggestions as " Did you mean 'a', 'b', or 'c'?" (did_you_mean); enum
# coercion says " Did you mean the enum value 'X'?".
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?")
# Cheap pre-check: most documents never mention the introspection roots (`__typename` does not
# match thanks to the word boundary).
_INTROSPECTION_ROOT = re.compile(r"__(schema|type)\b")


def introspection_errors(
    schema: GraphQLSchema, document: DocumentNode, query: str
) -> list[dict[str, Any]]:
    """Validation errors for any `__schema` or `__type` field in `document`, formatted."""
    if not _INTROSPECTION_ROOT.search(query):
        return []
    errors = validate(schema, document, [NoSchemaIntrospectionCustomRule])
    return [
        {**error.formatted, "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}} for error in errors
    ]


def strip_suggestions(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body with "Did you mean …?" removed from every error message."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return dict(body)
    cleaned = [
        {**error, "message": _SUGGESTION.sub("", error["message"])}
        if isinstance(error, dict) and isinstance(error.get("message"), str)
        else error
        for error in errors
    ]
    return {**body, "errors": cleaned}


def mask_errors(body: Mapping[str, Any]) -> dict[str, Any]:
    """The body with subgraph and internal errors reduced to a generic message, code and path.

    Each masked error is logged whole, so nothing is lost for the people who run the gateway.
    """
    errors = body.get("errors")
    if not isinstance(errors, list):
        return dict(body)
    masked: list[Any] = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if isinstance(error, dict) and (code in CLIENT_ERROR_CODES or code in GATEWAY_ERROR_CODES):
            masked.append(error)
            continue
        logger.warning("masked error: %s", error)
        entry: dict[str, Any] = {"message": INTERNAL_ERROR_MESSAGE}
        if isinstance(error, dict):
            for key in ("locations", "path"):
                if key in error:
                    entry[key] = error[key]
        entry["extensions"] = {"code": code if isinstance(code, str) else "INTERNAL_SERVER_ERROR"}
        masked.append(entry)
    return {**body, "errors": masked}
