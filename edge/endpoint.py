"""The `/graphql` endpoint: GraphQL over HTTP in front of the engine.

One request goes: GraphiQL for a browser → negotiate the response type → read and check the
parameters → resolve a persisted operation → prepare (cached) for the GET-mutation and
introspection rules → execute → mask, strip suggestions, add the plan → status per media type.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from edge.config import GatewayConfig
from edge.graphiql import graphiql_page, wants_graphiql
from edge.headers import forwardable_headers
from edge.http import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    graphql_response,
    read_request,
    request_error_response,
    response_media_type,
)
from edge.observability import query_plan_timings_extension
from edge.persisted import PersistedQueries
from edge.policy import INTERNAL_ERROR_MESSAGE, introspection_errors, mask_errors, strip_suggestions
from federation.engine import Engine, EngineResult
from federation.operation import OperationError
from federation.telemetry.tracing import note_result

__all__ = ["PLAN_HEADER", "GraphQLEndpoint"]

logger = logging.getLogger("edgegraph.gateway")

PLAN_HEADER = "x-edgegraph-include-plan"

# Failures of the request itself rather than of its document: 400 whatever the media type.
_REQUEST_ERROR_CODES = frozenset({"BAD_REQUEST", "OPERATION_RESOLUTION_FAILURE"})


class GraphQLEndpoint:
    """Serves one engine at `path` under `config`; the engine is looked up per request because
    the app's lifespan builds it."""

    def __init__(
        self,
        engine: Callable[[], Engine],
        config: GatewayConfig,
        persisted: PersistedQueries,
        *,
        path: str = "/graphql",
    ) -> None:
        self.engine = engine
        self.config = config
        self.persisted = persisted
        self.path = path

    async def handle(self, request: Request) -> Response:
        """Answer one HTTP request."""
        graphql = self.config.graphql
        if graphql.graphiql and wants_graphiql(request):
            return graphiql_page(endpoint=self.path, include_plan=graphql.include_plan)
        media_type = response_media_type(request.headers.get("accept", ""))
        if media_type is None:
            error = RequestError(
                406,
                f"Accept must allow {JSON} or {GRAPHQL_RESPONSE}",
                "NOT_ACCEPTABLE",
            )
            return request_error_response(error, JSON)
        try:
            return await self._serve(request, media_type)
        except RequestError as error:
            return request_error_response(error, media_type)
        except Exception as exc:
            # Anything unforeseen still answers with a GraphQL error body, never a bare 500 page.
            logger.exception("unhandled error serving a GraphQL request")
            message = INTERNAL_ERROR_MESSAGE if graphql.mask_errors else f"{exc!r}"
            body = {
                "errors": [{"message": message, "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
            }
            return graphql_response(body, 500, media_type)

    async def _serve(self, request: Request, media_type: str) -> Response:
        engine = self.engine()
        graphql = self.config.graphql
        params = await read_request(request)
        resolved = self.persisted.resolve(params, request.headers)
        try:
            prepared = engine.prepare(resolved.query, params.operation_name)
        except OperationError as error:
            return self._respond({"errors": error.formatted}, error.status, media_type)
        if params.method != "POST" and prepared.operation_type == "mutation":
            raise RequestError(
                405, "Mutations are only allowed over POST", "METHOD_NOT_ALLOWED",
                headers={"allow": "POST"},
            )  # fmt: skip
        if not graphql.introspection:
            schema = engine.supergraph.api_schema
            refused = introspection_errors(schema, prepared.document, resolved.query)
            if refused:
                return self._respond({"errors": refused}, 400, media_type)
        if resolved.register is not None:
            self.persisted.register(resolved.register, resolved.query)
        # Prepared once, above: the engine runs what the edge checked.
        result = await engine.execute(
            prepared, params.variables, headers=forwardable_headers(request.headers.items())
        )
        wants_plan = request.headers.get(PLAN_HEADER, "").lower() == "true" or bool(
            (params.extensions or {}).get("includeQueryPlan")
        )
        return self._respond(
            result.body,
            400 if result.rejected else 200,
            media_type,
            plan=_plan(result) if wants_plan else None,
        )

    def _respond(
        self,
        body: Mapping[str, Any],
        status: int,
        media_type: str,
        *,
        plan: str | None = None,
    ) -> Response:
        graphql = self.config.graphql
        note_result(body)  # before masking: the access log keeps what clients no longer see
        out = dict(body)
        if not graphql.introspection:
            out = strip_suggestions(out)
        if graphql.mask_errors:
            out = mask_errors(out)
        if plan is not None and graphql.include_plan:
            out["extensions"] = {
                **out.get("extensions", {}), "queryPlan": plan, **query_plan_timings_extension()
            }  # fmt: skip
        return graphql_response(out, _status(out, status, media_type), media_type)


def _plan(result: EngineResult) -> str | None:
    return str(result.plan) if result.plan is not None else None


def _status(body: Mapping[str, Any], status: int, media_type: str) -> int:
    """The GraphQL-over-HTTP status: with application/json a document that fails is still 200.

    With graphql-response+json the engine's status stands (400 for a failed document).
    Unknown operation names and malformed parameters stay 400 for either type.
    """
    if media_type != JSON or status != 400 or "data" in body:
        return status
    codes = {
        (error.get("extensions") or {}).get("code")
        for error in body.get("errors", [])
        if isinstance(error, dict)
    }
    return 400 if codes & _REQUEST_ERROR_CODES else 200
