"""The benchmark's scenarios: which subgraphs run, which supergraph, which client requests."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from demo import demo_supergraph_path

__all__ = ["BENCH_DIR", "REPO_ROOT", "SCENARIOS", "Scenario", "SubgraphServer"]

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
GUILD_DIR = BENCH_DIR / "guild"
CLIENTS_DIR = REPO_ROOT / "clients"


@dataclass(frozen=True, slots=True)
class SubgraphServer:
    """How to start a scenario's subgraphs: one process, given the ports it opens."""

    command: tuple[str, ...]
    record_flag: str
    ports: tuple[int, ...]
    needs_npm: bool


@dataclass(frozen=True, slots=True)
class Scenario:
    """Client requests against one supergraph over one set of subgraphs."""

    name: str
    title: str
    supergraph: Path
    subgraphs: SubgraphServer
    #: JSON bodies POSTed to /graphql, in turn.
    requests: tuple[bytes, ...]
    #: Sent with every request (and forwarded by each gateway to its subgraphs).
    headers: Mapping[str, str] = field(default_factory=dict)
    #: The exact answer to each request, where the scenario ships one.
    expected: tuple[Any, ...] | None = None
    #: Extra `bench.serve_edgegraph` flags for this scenario, and why, in `edgegraph_note`.
    edgegraph_flags: tuple[str, ...] = ()
    edgegraph_note: str = ""


def _body(query: str, variables: Mapping[str, Any] | None = None) -> bytes:
    return json.dumps({"query": query, "variables": dict(variables or {})}).encode()


def _demo() -> Scenario:
    requests = (
        _body((CLIENTS_DIR / "tv" / "home.graphql").read_text()),
        _body((CLIENTS_DIR / "mobile" / "home.graphql").read_text()),
        _body((CLIENTS_DIR / "web" / "title.graphql").read_text(), {"id": "t2"}),
    )
    return Scenario(
        name="demo",
        title="1. Demo device queries (tv/home, mobile/home, web/title in turn)",
        supergraph=demo_supergraph_path(),
        subgraphs=SubgraphServer(
            command=(sys.executable, "-m", "bench.demo_subgraphs"),
            record_flag="--record",
            ports=(4001, 4002, 4003, 4004, 4101, 4102, 4103, 4104),
            needs_npm=False,
        ),
        requests=requests,
        headers={"x-member-id": "m1"},
    )


def _guild() -> Scenario:
    return Scenario(
        name="guild",
        title="2. Heavy nested query over accounts/products/reviews/inventory (87 KB answer)",
        supergraph=GUILD_DIR / "supergraph.graphql",
        subgraphs=SubgraphServer(
            command=("node", str(GUILD_DIR / "subgraphs.mjs"), "--port", "4200"),
            record_flag="--record",
            ports=(4200,),
            needs_npm=True,
        ),
        requests=((GUILD_DIR / "request.json").read_bytes(),),
        expected=(json.loads((GUILD_DIR / "expected-response.json").read_text()),),
        # The guild schema declares no @listSize and its lists take no slicing argument, so a
        # cold edgegraph assumes 10 items a list: an estimate of 118,810 for an 87 KB answer,
        # past its default max_cost of 50,000. The peers have no cost limit at all.
        edgegraph_flags=("--max-cost", "off"),
        edgegraph_note="max_cost off (the guild schema has no @listSize; no peer has a cost "
        "limit)",
    )


SCENARIOS = {"demo": _demo, "guild": _guild}
