"""The benchmark report's subgraph-ceiling verdict: which gateways the subgraphs bound."""

from __future__ import annotations

from bench.report import Ceiling, _ceiling_text


def _ceiling(gateway: str, client_rps: float) -> Ceiling:
    return Ceiling(
        gateway=gateway, fetches_per_request=5.0, subgraph_rps={4001: 100.0}, client_rps=client_rps
    )


def test_gateways_well_below_their_ceilings_are_the_bottleneck() -> None:
    text = _ceiling_text(
        [_ceiling("edgegraph", 500.0), _ceiling("apollo", 250.0)],
        {"edgegraph": 220.0, "apollo": 70.0},
    )
    assert "at most **500 client req/s** (with dedupe off it reached 44% of that)" in text
    assert "the gateway is the bottleneck" in text and "bound this scenario" not in text


def test_a_gateway_at_its_ceiling_is_named_as_bound_by_the_subgraphs() -> None:
    text = _ceiling_text(
        [_ceiling("edgegraph", 45.0), _ceiling("apollo", 38.0), _ceiling("hive", 38.0)],
        {"edgegraph": 39.0, "apollo": 33.0, "hive": 10.0},
    )
    assert "**The subgraphs bound this scenario** (edgegraph, apollo at 60%" in text
    assert "(with dedupe off it reached 26% of that)" in text  # hive, 10 of 38
