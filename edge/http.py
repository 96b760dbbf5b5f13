"""GraphQL over HTTP: reading a request's parameters and writing responses.

Every way a request can be malformed ends in a `RequestError` with its HTTP status and a GraphQL
error body, never in a Starlette default page: clients parse one error shape everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from federation.telemetry.tracing import note_result

__all__ = [
    "GRAPHQL_RESPONSE",
    "JSON",
    "GraphQLRequest",
    "RequestError",
    "graphql_response",
    "read_request",
    "request_error_response",
    "response_media_type",
]

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

_PARAMS = ("query", "operationName", "variables", "extensions", "documentId")


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    """The parameters of one GraphQL-over-HTTP request, already type-checked.

    `query` is None only when the request names a persisted operation instead (the
    `persistedQuery` extension or `documentId`); `edge.persisted` resolves it.
    """

    method: str
    query: str | None
    operation_name: str | None = None
    variables: dict[str, Any] | None = None
    extensions: dict[str, Any] | None = None
    document_id: str | None = None


class RequestError(Exception):
    """A request the gateway answers without running anything: its status and GraphQL error."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str = "BAD_REQUEST",
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        #: more for the client beside the code (a hint), never replacing it
        self.extensions = dict(extensions or {})

    @property
    def body(self) -> dict[str, Any]:
        """The response body: one GraphQL error with `extensions.code`."""
        extensions = {**self.extensions, "code": self.code}
        return {"errors": [{"message": self.message, "extensions": extensions}]}


async def read_request(request: Request) -> GraphQLRequest:
    """The request's GraphQL parameters from a JSON POST body or a GET query string.

    The body arrives already bounded (and inflated) by `edge.protection.ProtectionMiddleware`,
    which enforces the one body limit, `server.max_body_bytes`.
    """
    if request.method == "POST":
        raw = await _post_body(request)
    else:
        raw = _query_string_params(request.scope.get("query_string", b""))
    return _check(request.method, raw)


def response_media_type(accept: str) -> str | None:
    """The response media type for an Accept header, or None when we can offer nothing it allows.

    A missing Accept, `*/*` and `application/*` get application/json, which every client reads;
    `application/graphql-response+json` is used only when asked for by name.
    """
    if not accept.strip():
        return JSON
    offered: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE:
            offered.append((quality, -index, GRAPHQL_RESPONSE))
        elif media in (JSON, "*/*", "application/*"):
            offered.append((quality, -index, JSON))
    return max(offered)[2] if offered else None


def graphql_response(
    body: Mapping[str, Any],
    status: int,
    media_type: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A GraphQL response body in the negotiated media type."""
    note_result(body)  # requests refused before execution count their errors too
    return encoded_response(orjson.dumps(body), status, media_type, headers=headers)


def encoded_response(
    encoded: bytes,
    status: int,
    media_type: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A GraphQL response whose body is already encoded JSON."""
    response = Response(encoded, status_code=status, media_type=media_type)
    # The same URL answers differently per Accept; shared caches must key on it.
    response.headers["vary"] = "Accept"
    response.headers.update(headers or {})
    return response


def request_error_response(error: RequestError, media_type: str) -> Response:
    """The response for a `RequestError`.

    A 200 error (an APQ miss, which Apollo clients expect as 200) becomes 400 under
    graphql-response+json, where a response without `data` must not be a success.
    """
    status = 400 if error.status == 200 and media_type == GRAPHQL_RESPONSE else error.status
    return graphql_response(error.body, status, media_type, headers=error.headers)


async def _post_body(request: Request) -> dict[str, Any]:
    content_type = request.headers.get("content-type", "")
    media, *params = (piece.strip() for piece in content_type.split(";"))
    if media.lower() != JSON:
        raise RequestError(
            415,
            "POST requests must have Content-Type: application/json",
            "UNSUPPORTED_MEDIA_TYPE",
            headers={"accept-post": JSON},
        )
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            raise RequestError(415, "Only the utf-8 charset is supported", "UNSUPPORTED_MEDIA_TYPE")
    data = await request.body()
    if not data.strip():
        raise RequestError(400, "The request body is empty")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise RequestError(400, "The request body is not valid UTF-8") from None
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise RequestError(400, "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise RequestError(400, "The request body must be a JSON object")
    return body


def _query_string_params(query_string: bytes) -> dict[str, Any]:
    try:
        text = query_string.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise RequestError(400, "The query string is not valid UTF-8") from None
    params: dict[str, Any] = {}
    for name, value in pairs:
        if name not in _PARAMS:
            continue
        if name in params:
            raise RequestError(400, f"The `{name}` parameter is given more than once")
        params[name] = value
    for name in ("variables", "extensions"):
        if name in params:
            if params[name] == "":
                params[name] = None
                continue
            try:
                params[name] = orjson.loads(params[name])
            except orjson.JSONDecodeError:
                raise RequestError(400, f"The `{name}` parameter is not valid JSON") from None
    if params.get("operationName") == "":
        params["operationName"] = None
    return params


def _check(method: str, raw: Mapping[str, Any]) -> GraphQLRequest:
    query = raw.get("query")
    name = raw.get("operationName")
    variables = raw.get("variables")
    extensions = raw.get("extensions")
    document_id = raw.get("documentId")
    if name is not None and not isinstance(name, str):
        raise RequestError(400, "`operationName` must be a string")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError(400, "`variables` must be an object")
    if extensions is not None and not isinstance(extensions, dict):
        raise RequestError(400, "`extensions` must be an object")
    if document_id is not None and (not isinstance(document_id, str) or not document_id):
        raise RequestError(400, "`documentId` must be a non-empty string")
    persisted = document_id is not None or (
        extensions is not None and extensions.get("persistedQuery") is not None
    )
    if query is None and not persisted:
        raise RequestError(400, "A `query` string is required")
    if query is not None and (not isinstance(query, str) or not query.strip()):
        raise RequestError(400, "`query` must be a non-empty string")
    return GraphQLRequest(
        method=method,
        query=query,
        operation_name=name,
        variables=variables,
        extensions=extensions,
        document_id=document_id,
    )
