"""Backend faults become field errors with paths and codes; other fields keep their data."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.schema.harness import as_member, backend_app, misbehave_on, serve_subgraph


def fault_app(path: str, answer: Response | None = None, *, sleep: float = 0.0) -> Starlette:
    """A tiny backend that serves `path` with `answer`, after sleeping `sleep` seconds."""

    async def endpoint(request: Request) -> Response:
        await request.body()
        await asyncio.sleep(sleep)
        return answer or JSONResponse({"results": []})

    return Starlette(routes=[Route(path, endpoint, methods=["GET", "POST"])])


async def test_faults_backend_500_fails_only_the_fields_that_needed_it() -> None:
    path = "/reviews/by-title/batch"
    broken = fault_app(path, JSONResponse({"error": "database on fire"}, status_code=500))
    backend = misbehave_on(path, backend_app("ratings"), broken)
    representations = [{"__typename": "Title", "id": "t1"}, {"__typename": "Title", "id": "t2"}]
    async with serve_subgraph("ratings", backend=backend) as ratings:
        body = await ratings.entities(
            representations, "... on Title { id ratingCount reviews { totalCount } }"
        )
    assert [e["id"] for e in body["data"]["_entities"]] == ["t1", "t2"]
    assert all(e["ratingCount"] > 0 and e["reviews"] is None for e in body["data"]["_entities"])
    paths = sorted(error["path"] for error in body["errors"])
    assert paths == [["_entities", 0, "reviews"], ["_entities", 1, "reviews"]]
    error = body["errors"][0]
    assert error["extensions"] == {"code": "BACKEND_ERROR", "service": "ratings", "status": 500}
    assert "answered 500: database on fire" in error["message"]


async def test_faults_backend_timeout_gives_backend_timeout_errors() -> None:
    path = "/continue-watching/batch"
    slow = fault_app(path, sleep=5.0)
    backend = misbehave_on(path, backend_app("members"), slow)
    query = """{ me { name }
        member(id: "m1") { name continueWatching { positionSeconds } } }"""
    async with serve_subgraph("members", backend=backend, timeout=0.2) as members:
        started = asyncio.get_running_loop().time()
        body = await members.execute(query, headers=as_member("m1"))
        elapsed = asyncio.get_running_loop().time() - started
    assert elapsed < 2.0
    assert body["data"]["me"]["name"]
    # continueWatching is non-null, so the null reaches the member.
    assert body["data"]["member"] is None
    (error,) = body["errors"]
    assert error["path"] == ["member", "continueWatching"]
    assert error["extensions"]["code"] == "BACKEND_TIMEOUT"
    assert "took longer than 0.2s" in error["message"]


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (PlainTextResponse("<html>502 Bad Gateway</html>"), "non-JSON"),
        (JSONResponse({"results": [{"id": "g1", "name": "Drama"}] * 3}), "3 results for 1 ids"),
        (JSONResponse({"results": [{"id": "g1"}]}), "malformed result"),
        (JSONResponse({"rows": []}), "no 'results' list"),
    ],
)
async def test_faults_garbage_answer_gives_bad_response_errors(
    answer: Response, detail: str
) -> None:
    path = "/genres/batch"
    backend = misbehave_on(path, backend_app("catalog"), fault_app(path, answer))
    async with serve_subgraph("catalog", backend=backend) as catalog:
        body = await catalog.execute('{ title(id: "t1") { name } genre(id: "g1") { name } }')
    assert body["data"]["title"]["name"]
    assert body["data"]["genre"] is None
    (error,) = body["errors"]
    assert error["path"] == ["genre"]
    assert error["extensions"]["code"] == "BACKEND_BAD_RESPONSE"
    assert detail in error["message"]
