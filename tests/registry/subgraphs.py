"""A catalog subgraph for the registry's gateway tests: a plain GraphQL server over loopback
that answers the fields of every catalog version in tests/registry/graphs.py."""

from __future__ import annotations

import orjson
from graphql import build_schema, graphql
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CATALOG_SCHEMA = build_schema(
    "type Query { titles(first: Int): [Title!]! title(id: ID!): Title }"
    " type Title { id: ID! name: String! kind: Kind! year: Int } enum Kind { MOVIE SHOW }"
)
TITLES = {"titles": [{"id": "t1", "name": "Heat", "kind": "MOVIE", "year": 1995}]}


def catalog_app() -> Starlette:
    async def endpoint(request: Request) -> Response:
        body = orjson.loads(await request.body())
        result = await graphql(
            CATALOG_SCHEMA, body["query"], root_value=TITLES, variable_values=body.get("variables")
        )
        return Response(orjson.dumps(result.formatted), media_type="application/json")

    return Starlette(routes=[Route("/graphql", endpoint, methods=["POST"])])
