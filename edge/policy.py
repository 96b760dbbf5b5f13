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
    "AVAILABILITY_MESSAGES",
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
        "COST_LIMIT",
    }
)
#: What happened to a fetch or to the request, said without hosts or internals: masking
#: replaces the message with this one, so a client can tell an outage from a bug, and keeps
#: the code (what a client's retry logic reads).
AVAILABILITY_MESSAGES = {
    "SUBGRAPH_UNAVAILABLE": "A service this field needs is unavailable.",
    "SUBGRAPH_TIMEOUT": "A service this field needs did not answer in time.",
    "CIRCUIT_OPEN": "A service this field needs is failing; calls to it are paused.",
    "OVERLOADED": "The gateway or a service it needs is overloaded; retry shortly.",
    "SUBGRAPH_RESPONSE_TOO_LARGE": "A service answered more than the gateway accepts.",
    "RESPONSE_TOO_LARGE": "The answer is larger than the gateway sends; ask for less.",
}
#: masked errors written whole to the log per answer; the rest are only counted, so an outage
#: that fails 200 tiles writes one line, not 200
MAX_LOGGED_ERRORS = 5
#: Errors the gateway writes about the operation itself (a field it cannot plan, a field no
#: subgraph answered): their messages name only the client's own fields, so they pass. A failed
#: fetch's message may name a host: it is masked, and its code says what happened.
GATEWAY_ERROR_CODES = frozenset(
    {
        "QUERY_PLANNING_FAILED",
        "FIELD_NOT_RESOLVED",
        # a field the caller may not see (federation/authorization.py): it names nothing else
        "UNAUTHORIZED_FIELD_OR_TYPE",
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

    The first masked errors are logged whole (one line per answer, with a count of the rest),
    so the people who run the gateway keep the details without a line per failed field.
    """
    errors = body.get("errors")
    if not isinstance(errors, list):
        return dict(body)
    masked: list[Any] = []
    hidden: list[Any] = []
    for error in errors:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if isinstance(error, dict) and (code in CLIENT_ERROR_CODES or code in GATEWAY_ERROR_CODES):
            masked.append(error)
            continue
        hidden.append(error)
        message = AVAILABILITY_MESSAGES.get(code) if isinstance(code, str) else None
        entry: dict[str, Any] = {"message": message or INTERNAL_ERROR_MESSAGE}
        if isinstance(error, dict):
            for key in ("locations", "path"):
                if key in error:
                    entry[key] = error[key]
        entry["extensions"] = {"code": code if isinstance(code, str) else "INTERNAL_SERVER_ERROR"}
        masked.append(entry)
    if hidden:
        more = len(hidden) - MAX_LOGGED_ERRORS
        logger.warning(
            "masked %d error(s): %s%s",
            len(hidden),
            hidden[:MAX_LOGGED_ERRORS],
            f" and {more} more" if more > 0 else "",
        )
    return {**body, "errors": masked}
