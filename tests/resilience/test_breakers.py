"""Breakers judge a subgraph, not a query: one operation that keeps failing is failed fast
alone, while the subgraph's other operations, and so every other client, are still served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.subgraphs.resilience import Resilience, ResilientFetcher, SubgraphGuards
from tests.resilience.support import FAST_DATA, SICK_DATA, fast_app, supergraph

CHEAP = "{ sick { id } }"
#: the one operation the subgraph cannot answer in time
EXPENSIVE = "{ sick { id count label } }"
POLICY = Resilience(max_retries=0, failure_threshold=5, failure_rate=0.5, reset_timeout=60)


def sick_app(hang: asyncio.Event) -> Starlette:
    """Answers every query at once, except those asking `label`: they wait for `hang`."""

    async def graphql(request: Request) -> Response:
        body = orjson.loads(await request.body())
        if "label" in body["query"]:
            await hang.wait()
        return Response(orjson.dumps({"data": SICK_DATA}), media_type="application/json")

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


@asynccontextmanager
async def engine(policy: Resilience) -> AsyncIterator[tuple[Engine, SubgraphGuards]]:
    hang = asyncio.Event()
    mounts = {
        "http://fast": httpx.ASGITransport(app=fast_app()),
        "http://sick": httpx.ASGITransport(app=sick_app(hang)),
    }
    async with httpx.AsyncClient(mounts=mounts) as client:
        http = HttpFetcher(
            {"fast": "http://fast/graphql", "sick": "http://sick/graphql"}, client=client
        )
        guards = SubgraphGuards(policy)
        # A short timeout: the expensive operation fails by timing out, as in the incident.
        yield Engine(supergraph(), ResilientFetcher(http, guards, timeout=0.05)), guards
        hang.set()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def test_breakers_one_operations_timeouts_do_not_open_the_subgraph() -> None:
    async with engine(POLICY) as (gateway, guards):
        for _ in range(8):
            expensive = (await gateway.run(EXPENSIVE)).body
            assert (await gateway.run(CHEAP)).body == {"data": {"sick": {"id": "s1"}}}
        # The expensive operation's own breaker opened after its five timeouts: it now fails
        # fast; the subgraph's breaker, which saw the cheap operation served, stays closed.
        assert codes(expensive) == ["CIRCUIT_OPEN"]
        breaker = guards.breaker("sick")
        assert breaker is not None and breaker.state == "closed"
        assert (await gateway.run("{ fast { name } sick { id } }")).body == {
            "data": {**FAST_DATA, "sick": {"id": "s1"}}
        }


async def test_breakers_without_per_operation_one_query_opens_it_for_everyone() -> None:
    policy = Resilience(max_retries=0, failure_threshold=5, reset_timeout=60, per_operation=False)
    async with engine(policy) as (gateway, _guards):
        for _ in range(8):
            await gateway.run(EXPENSIVE)
            await gateway.run(CHEAP)
        # What the incident showed: the subgraph answers, yet every client is refused.
        assert codes((await gateway.run(CHEAP)).body) == ["CIRCUIT_OPEN"]


async def test_breakers_subgraph_opens_when_its_operations_all_fail() -> None:
    async with engine(POLICY) as (gateway, guards):
        for _ in range(4):
            await gateway.run(EXPENSIVE)
            await gateway.run("{ sick { id count label __typename } }")
        breaker = guards.breaker("sick")
        assert breaker is not None and breaker.state == "open"
        assert codes((await gateway.run(CHEAP)).body) == ["CIRCUIT_OPEN"]


async def test_breakers_ignore_fetches_shed_at_the_concurrency_limit() -> None:
    policy = Resilience(
        max_retries=0,
        failure_threshold=2,
        initial_concurrency=1,
        min_concurrency=1,
        max_concurrency=1,
        queue_size=0,
    )
    async with engine(policy) as (gateway, guards):
        # The expensive fetch holds the subgraph's one slot until it times out; the cheap
        # one, arriving meanwhile, is shed at once rather than queued behind it.
        expensive, cheap = await asyncio.gather(gateway.run(EXPENSIVE), gateway.run(CHEAP))
        assert codes(cheap.body) == ["OVERLOADED"]
        assert codes(expensive.body) == ["SUBGRAPH_TIMEOUT"]
        # Only the timeout counted: had the shed fetch counted too, two failures of two
        # operations would have opened the subgraph's breaker.
        breaker = guards.breaker("sick")
        assert breaker is not None and breaker.state == "closed"
        assert (await gateway.run(CHEAP)).body == {"data": {"sick": {"id": "s1"}}}
