"""No code path parses fetch text at execution time: a fetch carries its parsed document, the
keys it owes and its input facts, and the executor, batching, merging and the fetch pipeline
read those."""

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
    cases = fixture_cases.load_cases(feature)
    async with httpx.AsyncClient(mounts=mounts) as client:
        urls = {name: graph.url for name, graph in supergraph.graphs.items()}
        engine = Engine(supergraph, HttpFetcher(urls, client=client), batch_entities=batch)
        warm = [await engine.run(c.document, c.operation_name, c.variables) for c in cases]
        # Every `parse` the gateway's own modules hold now refuses, and so does graphql-core's
        # parser or lexer when the gateway calls it by any other name; the subgraphs keep
        # theirs. The client operations and plans are cached from the first round.
        for name, loaded in list(sys.modules.items()):
            if name.startswith("federation.") and hasattr(loaded, "parse"):
                monkeypatch.setattr(loaded, "parse", _refuse)
        monkeypatch.setattr(Parser, "__init__", _refusing_from_federation(Parser.__init__))
        monkeypatch.setattr(Lexer, "__init__", _refusing_from_federation(Lexer.__init__))
        again = [await engine.run(c.document, c.operation_name, c.variables) for c in cases]
    assert [r.body for r in again] == [r.body for r in warm]


def test_the_parser_guard_refuses_the_gateway_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Parser, "__init__", _refusing_from_federation(Parser.__init__))
    assert graphql.parse("{ a }").definitions  # from a test: allowed
    with pytest.raises(AssertionError, match="parsed GraphQL text"):
        FetchNode.from_operation("a", "{ a }")  # from federation/: refused
