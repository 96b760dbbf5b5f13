"""No code path parses fetch text at execution time: a fetch carries its parsed document, the
keys it owes, its input facts and the copies of its repeated aliases, and the executor,
batching, merging and the fetch pipeline (its resilience stage included) read those."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import graphql
import httpx
import pytest
from graphql.language.lexer import Lexer
from graphql.language.parser import Parser
from strawberry.asgi import GraphQL

import federation
from federation.engine import Engine
from federation.planning.plan import FetchNode
from federation.subgraphs.fetcher import HttpFetcher
from federation.subgraphs.resilience import ResilientFetcher, SubgraphGuards
from federation.supergraph.model import load_supergraph
from tests.fixtures.federation import cases as fixture_cases

_GRAPHQL_CORE = str(Path(graphql.__file__).parent)
_FEDERATION = str(Path(federation.__file__).parent)


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise AssertionError("the engine parsed GraphQL text while executing a cached plan")


def _refusing_from_federation(init: Callable[..., None]) -> Callable[..., None]:
    """`init` (a Parser's or a Lexer's), refused when the nearest caller outside graphql-core
    is the gateway's own code; the in-process subgraphs (strawberry) still parse."""

    def guarded(self: Any, *args: Any, **kwargs: Any) -> None:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(_GRAPHQL_CORE):
            frame = frame.f_back  # type: ignore[assignment]
        if frame is not None and frame.f_code.co_filename.startswith(_FEDERATION):
            _refuse()
        init(self, *args, **kwargs)

    return guarded


#: Per feature, operations beyond its fixture cases: identical aliased fields at the root and
#: inside entity fetches (sent once, copied back on the answer, batched or not), with an error
#: (b4 has no rating) and a null entity (b5) to copy.
REPEATED_ALIASES = {
    "batching": [
        (
            """query RepeatedAliases($len: Int!) {
              a: featured { id r1: rating r2: rating s1: summary(maxLength: $len)
                            s2: summary(maxLength: $len) }
              b: featured { id r1: rating r2: rating s1: summary(maxLength: $len)
                            s2: summary(maxLength: $len) }
              n: newest { id r1: rating r2: rating blurb }
              staffPicks { id x: blurb y: blurb }
            }""",
            "RepeatedAliases",
            {"len": 5},
        ),
    ],
}


@pytest.mark.parametrize("feature", ["batching", "requires", "abstract", "interface_object"])
@pytest.mark.parametrize("batch", [True, False], ids=["batched", "unbatched"])
async def test_execution_parses_no_fetch_text(
    feature: str, batch: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    supergraph = load_supergraph(fixture_cases.supergraph_sdl(feature))
    module = fixture_cases.subgraph_module(feature)
    mounts: dict[str, httpx.AsyncBaseTransport] = {
        f"http://{name}": httpx.ASGITransport(app=GraphQL(schema))
        for name, schema in module.SUBGRAPHS.items()
    }
    operations = [
        (c.document, c.operation_name, c.variables) for c in fixture_cases.load_cases(feature)
    ]
    operations += REPEATED_ALIASES.get(feature, [])
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        fetcher = ResilientFetcher(HttpFetcher(urls, client=client), SubgraphGuards())
        engine = Engine(supergraph, fetcher, batch_entities=batch)
        # The client operations are prepared and planned, and nothing is executed yet: a
        # cache a stage fills from fetch text the first time it sees it cannot hide a parse.
        for document, operation_name, _variables in operations:
            prepared = engine.prepare(document, operation_name)
            plan = engine.planner.plan(prepared.operation, prepared.fragments)
            engine.plans.put(prepared.key, plan)
        with monkeypatch.context() as guard:
            # Every `parse` the gateway's own modules hold now refuses, and so does
            # graphql-core's parser or lexer when the gateway calls it by any other name; the
            # subgraphs keep theirs.
            for name, loaded in list(sys.modules.items()):
                if name.startswith("federation.") and hasattr(loaded, "parse"):
                    guard.setattr(loaded, "parse", _refuse)
            guard.setattr(Parser, "__init__", _refusing_from_federation(Parser.__init__))
            guard.setattr(Lexer, "__init__", _refusing_from_federation(Lexer.__init__))
            guarded = [await engine.run(*operation) for operation in operations]
        again = [await engine.run(*operation) for operation in operations]
    assert [r.body for r in guarded] == [r.body for r in again]
    if feature in REPEATED_ALIASES:
        answer = guarded[-1].body
        assert answer["data"]["b"] == answer["data"]["a"]
        assert all(row["r2"] == row["r1"] and row["s2"] == row["s1"] for row in answer["data"]["a"])
        assert answer["data"]["staffPicks"][1]["y"] == answer["data"]["staffPicks"][1]["x"]
        paths = [e["path"] for e in answer["errors"]]
        assert ["n", 1, "r1"] in paths and ["n", 1, "r2"] in paths


def test_the_parser_guard_refuses_the_gateway_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Parser, "__init__", _refusing_from_federation(Parser.__init__))
    assert graphql.parse("{ a }").definitions  # from a test: allowed
    with pytest.raises(AssertionError, match="parsed GraphQL text"):
        FetchNode.from_operation("a", "{ a }")  # from federation/: refused
