"""`edgegraph dev`: the demo's graph with one subgraph replaced by a team's own, recomposed when
its SDL changes, with composition errors in the terminal and in GraphiQL's answers."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import demo
from devloop import CompositionErrors, TeamSubgraphSource
from federation.composition import SubgraphSource
from federation.composition.cli import service_sdl

CATALOG_SDL = service_sdl(demo.SUBGRAPH_SCHEMAS["catalog"])
#: the team's next version: one new root field
WITH_HELLO = CATALOG_SDL.replace("type Query {\n", "type Query {\n  hello: String\n", 1)
#: a version that does not compose: a field of a type nobody defines
BROKEN = CATALOG_SDL.replace("type Query {\n", "type Query {\n  broken: Nope\n", 1)


class TeamSubgraph:
    """The team's subgraph as the gateway sees it: it answers `_service { sdl }`."""

    def __init__(self, sdl: str) -> None:
        self.sdl = sdl

    def app(self) -> Starlette:
        async def graphql(_request: Request) -> Response:
            return JSONResponse({"data": {"_service": {"sdl": self.sdl}}})

        return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


def _others() -> list[SubgraphSource]:
    return [
        SubgraphSource(
            name=name,
            url=f"http://{name}/graphql",
            sdl=service_sdl(demo.SUBGRAPH_SCHEMAS[name]),
        )
        for name in demo.SUBGRAPHS
        if name != "catalog"
    ]


async def test_team_source_recomposes_only_when_the_sdl_changes() -> None:
    team = TeamSubgraph(WITH_HELLO)
    transport = httpx.ASGITransport(app=team.app())
    async with httpx.AsyncClient(transport=transport) as client:
        source = TeamSubgraphSource(_others(), "catalog", "http://team/graphql", client=client)
        first = await source.poll()
        assert first is not None and "hello: String" in first and "http://team/graphql" in first
        assert await source.poll() is None  # the same SDL: nothing to compose
        team.sdl = BROKEN
        with pytest.raises(ValueError, match="catalog does not compose"):
            await source.poll()
        assert any("Nope" in error for error in source.errors)
        assert await source.poll() is None and source.errors  # reported once, still standing
        team.sdl = CATALOG_SDL
        fixed = await source.poll()
        assert fixed is not None and "hello" not in fixed and source.errors == []


async def test_an_unreachable_team_subgraph_is_reported_once() -> None:
    source = TeamSubgraphSource(_others(), "catalog", "http://127.0.0.1:9/graphql")
    with pytest.raises(Exception, match="catalog"):
        await source.poll()
    assert await source.poll() is None


async def test_composition_errors_are_added_to_graphql_answers() -> None:
    async def graphql(_request: Request) -> Response:
        return JSONResponse({"data": {"a": 1}})

    source = TeamSubgraphSource(_others(), "catalog", "http://team/graphql")
    app = CompositionErrors(
        Starlette(routes=[Route("/graphql", graphql, methods=["POST"])]), source=source
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://g") as c:
        clean = (await c.post("/graphql")).json()
        source.errors = ["[INVALID_GRAPHQL] [catalog] Unknown type Nope."]
        flagged = await c.post("/graphql")
    assert clean == {"data": {"a": 1}}
    assert flagged.json() == {
        "data": {"a": 1},
        "extensions": {"compositionErrors": ["[INVALID_GRAPHQL] [catalog] Unknown type Nope."]},
    }
    assert flagged.headers["content-length"] == str(len(flagged.content))


def _free_block(size: int) -> int:
    """The first of `size` consecutive free loopback ports."""
    for base in range(21_000, 60_000, 97):
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base, base + size):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return base
    raise RuntimeError("no free ports")


#: The team's subgraph as a module: an ASGI app answering its SDL, which the test edits.
TEAM_MODULE = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

SDL = {sdl!r}


async def graphql(_request):
    return JSONResponse({{"data": {{"_service": {{"sdl": SDL}}}}}})


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
"""


@contextlib.asynccontextmanager
async def dev_command(team: str, cwd: Path) -> AsyncIterator[tuple[str, list[str]]]:
    """`edgegraph dev --subgraph catalog=team` run in `cwd` on free ports; yields its URL and
    its output so far."""
    base = _free_block(12)
    args = [
        "dev", "--subgraph", f"catalog={team}", "--interval", "0.2",
        "--port", str(base), "--subgraph-port", str(base + 1),
        "--backend-port", str(base + 5), "--issuer-port", str(base + 10),
        "--team-port", str(base + 11),
    ]  # fmt: skip
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys, gateway; gateway.main(sys.argv[1:])", *args,
        cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(line.decode())

    reader = asyncio.create_task(read())
    try:
        yield f"http://127.0.0.1:{base}", lines
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=20)
        await reader


async def _until(check: Any, what: str, lines: list[str]) -> Any:
    for _ in range(300):  # 30 s at most: the first start composes the demo and loads data
        with contextlib.suppress(httpx.TransportError):
            found = await check()
            if found:
                return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}\n{''.join(lines)}")


async def test_dev_serves_the_team_module_and_shows_composition_errors(tmp_path: Path) -> None:
    module = tmp_path / "team_catalog.py"
    module.write_text(TEAM_MODULE.format(sdl=WITH_HELLO))
    fields_query = {"query": '{ __type(name: "Query") { fields { name } } }'}
    async with (
        dev_command("team_catalog:app", tmp_path) as (url, lines),
        httpx.AsyncClient(base_url=url, timeout=5) as client,
    ):

        async def hello_served() -> bool:
            answer = (await client.post("/graphql", json=fields_query)).json()
            fields = answer["data"]["__type"]["fields"]
            return "hello" in {field["name"] for field in fields}

        await _until(hello_served, "the team's hello field is served", lines)
        module.write_text(TEAM_MODULE.format(sdl=BROKEN))  # uvicorn --reload restarts it

        async def errors_shown() -> list[str] | None:
            answer = (await client.post("/graphql", json=fields_query)).json()
            shown: list[str] | None = answer.get("extensions", {}).get("compositionErrors")
            return shown

        shown = await _until(errors_shown, "composition errors in answers", lines)
        still = (await client.post("/graphql", json={"query": "{ hello }"})).json()
    assert any("Nope" in error for error in shown)
    # the last graph that composed keeps serving: `hello` still validates (the team's app
    # answers only its SDL, so the field itself is null)
    assert still["data"] == {"hello": None}
    logged = [orjson.loads(line) for line in lines if line.startswith("{")]
    rejected = [entry for entry in logged if entry.get("event") == "reload_rejected"]
    assert rejected and "Nope" in rejected[0]["reason"]
