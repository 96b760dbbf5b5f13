"""The `/graphql` endpoint: GraphQL over HTTP in front of the engine.

One request goes: GraphiQL for a browser → negotiate the response type → read and check the
parameters → resolve a persisted operation → `Engine.prepare`, once (cached), whose prepared
operation the GET-mutation and introspection rules check → `Engine.execute` of that prepared
operation → `_respond`: the status per media type, then mask, strip suggestions, add the plan.

The engine answers unmasked and knows nothing of HTTP; `_respond` is the one place that
decides what a client sees and with which status, for every answer, a crash included.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeAlias

import orjson
from starlette.requests import Request
from starlette.responses import Response

from edge.access import AccessControl
from edge.auth import Authenticator
from edge.clients import verified_client
from edge.config import GatewayConfig
from edge.graphiql import example_tabs, graphiql_page, wants_graphiql
from edge.headers import forwardable_headers
from edge.home import landing_page
from edge.http import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    encoded_response,
    read_request,
    request_error_response,
    response_media_type,
)
from edge.observability import query_plan_timings_extension
from edge.persisted import PersistedQueries
from edge.policy import introspection_errors, mask_errors, strip_suggestions
from federation.authorization import deny
from federation.demand import response_too_large
from federation.engine import Engine, EngineResult
from federation.operation import OperationError
from federation.telemetry.tracing import note_result

__all__ = ["PLAN_HEADER", "GraphQLEndpoint"]

logger = logging.getLogger("edgegraph.gateway")

PLAN_HEADER = "x-edgegraph-include-plan"

#: How a request ended, which is all the status depends on besides the media type: the engine
#: executed it, the engine (or the edge's introspection rule) rejected it, or it crashed.
_Outcome: TypeAlias = Literal["executed", "rejected", "crashed"]

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
        auth: Authenticator | None = None,
        access: AccessControl | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.persisted = persisted
        self.path = path
        #: GraphiQL's example tabs: the device teams' operations, read once
        self.examples = (
            example_tabs(config.persisted.clients_dir) if config.graphql.graphiql else []
        )
        self.auth = auth or Authenticator()
        self.access = access or AccessControl()

    async def handle(self, request: Request) -> Response:
        """Answer one HTTP request."""
        graphql = self.config.graphql
        if wants_graphiql(request):
            if graphql.graphiql:
                return graphiql_page(
                    endpoint=self.path, include_plan=graphql.include_plan, tabs=self.examples
                )
            # A person in a browser, not a GraphQL client: say what this is, not a bare 400.
            return landing_page(
                request, endpoint=self.path, graphiql=False, introspection=graphql.introspection
            )
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
            # Anything unforeseen still answers with a GraphQL error body, never a bare 500 page;
            # it is masked like every other answer.
            logger.exception("unhandled error serving a GraphQL request")
            crash = {"message": f"{exc!r}", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
            return self._respond({"errors": [crash]}, media_type, outcome="crashed")

    async def _serve(self, request: Request, media_type: str) -> Response:
        engine = self.engine()
        graphql = self.config.graphql
        # Who is calling comes first: a refused token is answered before anything is read.
        identity = await self.auth.authenticate(
            request.headers, client=verified_client(request.scope)
        )
        params = await read_request(request)
        resolved = self.persisted.resolve(params, request.headers)
        try:
            prepared = engine.prepare(resolved.query, params.operation_name)
        except OperationError as error:
            return self._respond({"errors": error.formatted}, media_type, outcome="rejected")
        if params.method != "POST" and prepared.operation_type == "mutation":
            raise RequestError(
                405, "Mutations are only allowed over POST", "METHOD_NOT_ALLOWED",
                headers={"allow": "POST"},
            )  # fmt: skip
        if not graphql.introspection:
            schema = engine.supergraph.api_schema
            refused = introspection_errors(schema, prepared.document, resolved.query)
            if refused:
                return self._respond({"errors": refused}, media_type, outcome="rejected")
        if resolved.register is not None:
            self.persisted.register(resolved.register, resolved.query)
        # Prepared once, above: the engine runs what the edge checked.
        headers = self.auth.subgraph_headers(forwardable_headers(request.headers.items()), identity)
        # @authenticated/@requiresScopes/@policy: what the caller may not see is never fetched.
        prepared, denied = await self.access.restrict(engine, prepared, identity)
        result = await engine.execute(prepared, params.variables, headers=headers)
        wants_plan = request.headers.get(PLAN_HEADER, "").lower() == "true" or bool(
            (params.extensions or {}).get("includeQueryPlan")
        )
        return self._respond(
            deny(result.body, denied) if denied else result.body,
            media_type,
            outcome="rejected" if result.rejected else "executed",
            plan=_plan(result) if wants_plan else None,
            max_bytes=engine.limits.max_response_bytes,
        )

    def _respond(
        self,
        body: Mapping[str, Any],
        media_type: str,
        *,
        outcome: _Outcome,
        plan: str | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """The one way out: the status, then what the client may see of `body`, encoded once;
        past `max_bytes` it is replaced by a RESPONSE_TOO_LARGE error."""
        encoded = orjson.dumps(self._visible(body, plan))
        if max_bytes is not None and len(encoded) > max_bytes:
            body = {"data": None, "errors": [response_too_large(len(encoded), max_bytes)]}
            encoded = orjson.dumps(self._visible(body, None))
        note_result(body)  # unmasked: the access log keeps what clients no longer see
        return encoded_response(encoded, _status(body, outcome, media_type), media_type)

    def _visible(self, body: Mapping[str, Any], plan: str | None) -> dict[str, Any]:
        """What the client may see of `body`, with the plan where asked and allowed."""
        graphql = self.config.graphql
        out = dict(body)
        if not graphql.introspection:
            out = strip_suggestions(out)
        if graphql.mask_errors:
            out = mask_errors(out)
        if plan is not None and graphql.include_plan:
            out["extensions"] = {
                **out.get("extensions", {}), "queryPlan": plan, **query_plan_timings_extension()
            }  # fmt: skip
        return out


def _plan(result: EngineResult) -> str | None:
    return str(result.plan) if result.plan is not None else None


def _status(body: Mapping[str, Any], outcome: _Outcome, media_type: str) -> int:
    """The GraphQL-over-HTTP status of an answer (decided from the unmasked body).

    An executed operation is 200, whatever its errors; a crash is 500. A request the engine
    rejected (its document, its variables) is 400 with graphql-response+json, and 200 with
    application/json, except unknown operation names and malformed parameters: 400 for both.
    """
    if outcome == "executed":
        return 200
    if outcome == "crashed":
        return 500
    if media_type != JSON:
        return 400
    codes = {
        (error.get("extensions") or {}).get("code")
        for error in body.get("errors", [])
        if isinstance(error, dict)
    }
    return 400 if codes & _REQUEST_ERROR_CODES else 200
