"""No code path parses fetch text at execution time: a fetch carries its parsed document and
the keys it owes, and the executor, batching and merging read those."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import httpx
import pytest
from strawberry.asgi import GraphQL

from federation.engine import Engine
from federation.subgraphs.fetcher import HttpFetcher
from federation.supergraph.model import load_supergraph
from tests.fixtures.federation import cases as fixture_cases


def _refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
    raise AssertionError("the engine parsed GraphQL text while executing a cached plan")


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
        # Every `parse` the gateway's own modules hold now refuses; the subgraphs (strawberry)
        # keep theirs. The client operations and plans are cached from the first round.
        for name, loaded in list(sys.modules.items()):
            if name.startswith("federation.") and hasattr(loaded, "parse"):
                monkeypatch.setattr(loaded, "parse", _refuse)
        again = [await engine.run(c.document, c.operation_name, c.variables) for c in cases]
    assert [r.body for r in again] == [r.body for r in warm]
