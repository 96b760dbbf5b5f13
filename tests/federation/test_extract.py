"""A subgraph's own schema from the supergraph, and every fixture operation's fetches valid in
their subgraphs."""

from __future__ import annotations

import functools

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLObjectType,
    OperationDefinitionNode,
    parse,
    validate,
)

from federation.errors import PlanningError
from federation.planning.planner import QueryPlanner
from federation.supergraph.extract import extract_subgraph_schema
from federation.supergraph.model import Supergraph, load_supergraph
from tests.federation.fetch_validation import assert_fetches_valid
from tests.fixtures.federation import cases as fixture_cases


@functools.cache
def _supergraph(feature: str) -> Supergraph:
    return load_supergraph(fixture_cases.supergraph_sdl(feature))


def test_extract_keeps_external_fields_and_adds_entities() -> None:
    schema = extract_subgraph_schema(_supergraph("requires"), "shipping")
    product = schema.get_type("Product")
    assert isinstance(product, GraphQLObjectType)
    assert {"upc", "price", "weight", "shippingEstimate", "insurance"} <= set(product.fields)
    assert "name" not in product.fields  # only products declares it
    query = schema.query_type
    assert query is not None and {"_entities", "_service", "shippable"} <= set(query.fields)
    assert "products" not in query.fields


def test_extract_interface_object_is_an_object_type_there() -> None:
    supergraph = _supergraph("interface_object")
    assert isinstance(
        extract_subgraph_schema(supergraph, "billing").get_type("Account"), GraphQLObjectType
    )
    assert not isinstance(
        extract_subgraph_schema(supergraph, "accounts").get_type("Account"), GraphQLObjectType
    )


def test_extract_rejects_what_the_subgraph_would_reject() -> None:
    schema = extract_subgraph_schema(_supergraph("requires"), "shipping")
    assert validate(schema, parse("{ shippable { upc } }")) == []
    assert validate(schema, parse("{ shippable { name } }")) != []
    assert validate(schema, parse("{ products { upc } }")) != []


def _operations() -> list[tuple[str, str]]:
    return [(feature, name) for feature in fixture_cases.features() for name in _documents(feature)]


@functools.cache
def _documents(feature: str) -> dict[str, str]:
    return {case.operation_name: case.document for case in fixture_cases.load_cases(feature)}


@pytest.mark.parametrize(("feature", "operation_name"), _operations())
def test_every_fixture_fetch_validates_in_its_subgraph(feature: str, operation_name: str) -> None:
    document = parse(_documents(feature)[operation_name])
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    supergraph = _supergraph(feature)
    try:
        plan = QueryPlanner(supergraph).plan(operation, fragments)
    except PlanningError:
        return  # an unplannable operation sends nothing
    assert_fetches_valid(supergraph, plan)
