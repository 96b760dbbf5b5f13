"""Load shedding at the edge: a saturated gateway refuses new requests at once with 503,
Retry-After and OVERLOADED, and serves the ones it let in."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from edge.protection import LoadShedder, LoopLag, ProtectionMiddleware

JSON = {"content-type": "application/json"}


def held_app(release: asyncio.Event, shedder: LoadShedder) -> ProtectionMiddleware:
    """An endpoint that answers only once `release` is set."""

    async def graphql(request: Request) -> Response:
        await request.body()
        await release.wait()
        return JSONResponse({"data": {"ok": True}})

    app = Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])
    return ProtectionMiddleware(app, shedder=shedder)


async def test_shedding_refuses_past_max_inflight_and_serves_the_admitted() -> None:
    release = asyncio.Event()
    shedder = LoadShedder(max_inflight=2, max_loop_lag=None)
    app = held_app(release, shedder)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        held = [
            asyncio.create_task(client.post("/graphql", json={}, headers=JSON)) for _ in range(2)
        ]
        while shedder.inflight < 2:
            await asyncio.sleep(0)
        refused = await client.post("/graphql", json={}, headers=JSON)
        release.set()
        admitted = await asyncio.gather(*held)
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["errors"][0]["extensions"]["code"] == "OVERLOADED"
    assert [response.status_code for response in admitted] == [200, 200]
    assert shedder.inflight == 0 and shedder.shed == 1


async def test_shedding_refuses_while_the_event_loop_runs_late() -> None:
    lag = [0.0]
    shedder = LoadShedder(max_inflight=None, max_loop_lag=1.0, lag=lambda: lag[0])
    release = asyncio.Event()
    release.set()
    app = held_app(release, shedder)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        assert (await client.post("/graphql", json={}, headers=JSON)).status_code == 200
        lag[0] = 2.5
        late = await client.post("/graphql", json={}, headers=JSON)
        lag[0] = 0.1
        assert (await client.post("/graphql", json={}, headers=JSON)).status_code == 200
    assert late.status_code == 503 and late.headers["retry-after"] == "3"


def test_loop_lag_one_stall_is_not_saturation_a_loop_that_stays_behind_is() -> None:
    lag = LoopLag(smoothing=0.3)
    assert lag.observe(3.0) < 1.0  # one slow request held the loop once
    for _ in range(3):
        lag.observe(0.0)
    assert lag.lag < 0.5
    for _ in range(5):
        lag.observe(3.0)  # every heartbeat late: the loop is saturated
    assert lag.lag > 2.0
