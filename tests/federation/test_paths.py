"""The query graph and the path finder, on the `requires` fixture's supergraph."""

from __future__ import annotations

import functools

from graphql import OperationDefinitionNode, parse

from federation.planning.facts import SchemaFacts
from federation.planning.normalize import NField, normalize_operation
from federation.planning.paths import ENTER_COST, PathFinder
from federation.planning.query_graph import QueryGraph, Vertex
from federation.supergraph.model import Supergraph, load_supergraph
from tests.fixtures.federation import cases as fixture_cases


@functools.cache
def _supergraph(feature: str) -> Supergraph:
    return load_supergraph(fixture_cases.supergraph_sdl(feature))


def _paths(feature: str) -> PathFinder:
    supergraph = _supergraph(feature)
    return PathFinder(SchemaFacts(supergraph), QueryGraph(supergraph))


def _root_field(query: str) -> NField:
    operation = parse(query).definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    field = normalize_operation(operation, {})[0]
    assert isinstance(field, NField)
    return field


def _field(name: str) -> NField:
    return NField(name, name, None, (), (), (), ())


def test_query_graph_field_edges_follow_join_field() -> None:
    graph = QueryGraph(_supergraph("requires"))
    shipping = Vertex("Product", "shipping")
    estimate = graph.field_edge(shipping, "shippingEstimate")
    assert estimate is not None and estimate.requires is not None
    # External in shipping: only the owner resolves it.
    assert graph.field_edge(shipping, "price") is None
    assert graph.field_edge(Vertex("Product", "products"), "price") is not None


def test_query_graph_key_edges_enter_every_subgraph_with_a_resolvable_key() -> None:
    graph = QueryGraph(_supergraph("requires"))
    heads = sorted(edge.head.graph for edge in graph.entries("Product"))
    assert heads == ["delivery", "products", "shipping"]


def test_query_graph_non_resolvable_key_has_no_entry() -> None:
    supergraph = _supergraph("multiple_keys")
    heads = {edge.head.graph for edge in QueryGraph(supergraph).entries("User")}
    # legacy declares User's key with resolvable: false: nothing enters it.
    assert "legacy" not in heads
    assert {"billing", "identity", "sessions"} <= heads


def test_paths_leaf_found_locally_has_no_jump_options() -> None:
    options = _paths("requires").options("products", "Product", _field("name"))
    assert [(option.graph, option.entry) for option in options] == [("products", None)]


def test_paths_requires_costs_an_entry_and_the_requirement() -> None:
    paths = _paths("requires")
    # From products: price and weight are at hand (1 each); shipping is entered by its key.
    options = paths.options("products", "Product", _field("shippingEstimate"))
    assert [option.graph for option in options] == ["shipping"]
    assert options[0].requires
    assert options[0].cost >= ENTER_COST


def test_paths_a_requirement_that_needs_itself_has_no_path() -> None:
    paths = _paths("requires")
    guard = frozenset({("Product", "shippingEstimate", "shipping")})
    assert paths.options("products", "Product", _field("shippingEstimate"), guard=guard) == []
    assert paths.field_cost("products", "Product", _field("shippingEstimate"), guard=guard) is None


def test_paths_unknown_root_subtree_costs_none() -> None:
    paths = _paths("requires")
    field = _root_field("{ products { name } }")
    assert paths.options("shipping", "Query", field, jumps=False) == []  # not in shipping
    (local,) = paths.options("products", "Query", field, jumps=False)
    assert paths.option_cost(local, "Query", field, field.selections) == 2


def test_paths_provided_fields_are_free_and_scoped_to_their_type() -> None:
    paths = _paths("provides")
    provided = _root_field("{ topReviews { author { username } } }")
    (local,) = paths.options("reviews", "Query", provided, jumps=False)
    # topReviews and author cost 1 each; the provided username costs nothing.
    assert paths.option_cost(local, "Query", provided, provided.selections) == 2
    # name is not provided: accounts is entered through User's key.
    fetched = _root_field("{ topReviews { author { name } } }")
    (local,) = paths.options("reviews", "Query", fetched, jumps=False)
    cost = paths.option_cost(local, "Query", fetched, fetched.selections)
    assert cost is not None and cost > ENTER_COST
