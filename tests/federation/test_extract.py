"""A subgraph's own schema from the supergraph, and every fixture operation's fetches valid in
their subgraphs."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from graphql import (
    FragmentDefinitionNode,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
    OperationDefinitionNode,
    parse,
    print_schema,
    validate,
)

from federation.errors import PlanningError, SupergraphError
from federation.planning.plan import FetchNode, QueryPlan, SequenceNode
from federation.planning.planner import QueryPlanner
from federation.supergraph.extract import extract_subgraph_schema
from federation.supergraph.model import Supergraph, load_supergraph
from tests.federation.fetch_validation import assert_fetches_valid
from tests.fixtures.federation import cases as fixture_cases

SUPERGRAPHS = Path(__file__).parent.parent / "fixtures" / "supergraphs"


@functools.cache
def _supergraph(feature: str) -> Supergraph:
    return load_supergraph(fixture_cases.supergraph_sdl(feature))


@functools.cache
def _fixture(name: str) -> Supergraph:
    return load_supergraph((SUPERGRAPHS / f"{name}.graphql").read_text())


_FEDERATION = """
scalar _Any

type _Service {
  sdl: String
}
"""

GOLDEN = {
    "catalog": """directive @lowercase on FIELD

type Author {
  id: ID!
  name: String
}

type Book implements Node & Media {
  id: ID!
  title: String!
  format: Format
  author: Author
  internalCode: String
}

input BookFilter {
  titleContains: String
  limit: Int = 10
}

enum Format {
  HARDCOVER
  PAPERBACK
}

union Item = Book

interface Media {
  id: ID!
}

interface Node {
  id: ID!
}

type Query {
  books(filter: BookFilter, first: Int = 5): [Book!]!
  items: [Item]
  node(id: ID!): Node
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
}
"""
    + _FEDERATION
    + """
union _Entity = Author | Book""",
    "people": """directive @lowercase on FIELD

type Author implements Node {
  id: ID!
  name: String
  favoriteFormat: Format
}

type Book {
  id: ID!
  title: String
  rating: Int
}

enum Format {
  HARDCOVER
  EBOOK
}

union Item = Author

interface Node {
  id: ID!
}

type Query {
  people: [Item]
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
}
"""
    + _FEDERATION
    + """
union _Entity = Author | Book""",
    "reviews": """directive @lowercase on FIELD

type Author {
  id: ID!
}

type Media {
  id: ID!
  reviews: [Review!]!
}

type Query {
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
}

type Review {
  text: String
  author: Author
}
"""
    + _FEDERATION
    + """
union _Entity = Author | Media""",
}


@pytest.mark.parametrize("graph", sorted(GOLDEN))
def test_extract_prints_each_subgraph_schema(graph: str) -> None:
    # Each is the subgraph's own SDL without its directives, plus the federation additions;
    # catalog's Book.rating is gone: people overrides it and catalog uses it for nothing.
    schema = extract_subgraph_schema(_fixture("extract"), graph)
    assert print_schema(schema) == GOLDEN[graph]


def test_extract_types_a_narrowed_field_as_its_graph_declares_it() -> None:
    supergraph = _fixture("extract")
    title = supergraph.field("Book", "title")
    assert title is not None and title.type == "String"
    for graph, expected in (("catalog", "String!"), ("people", "String")):
        book = extract_subgraph_schema(supergraph, graph).get_type("Book")
        assert isinstance(book, GraphQLObjectType)
        assert str(book.fields["title"].type) == expected


def test_extract_gives_each_graph_its_own_interfaces_and_members() -> None:
    catalog = extract_subgraph_schema(_fixture("extract"), "catalog")
    people = extract_subgraph_schema(_fixture("extract"), "people")
    book, author = catalog.get_type("Book"), people.get_type("Author")
    assert isinstance(book, GraphQLObjectType) and isinstance(author, GraphQLObjectType)
    assert [i.name for i in book.interfaces] == ["Node", "Media"]
    assert [i.name for i in author.interfaces] == ["Node"]
    people_book = people.get_type("Book")
    assert isinstance(people_book, GraphQLObjectType) and not people_book.interfaces
    for schema, members in ((catalog, ["Book"]), (people, ["Author"])):
        item = schema.get_type("Item")
        assert isinstance(item, GraphQLUnionType)
        assert [t.name for t in item.types] == members
    assert validate(catalog, parse("{ items { ... on Author { id } } }")) != []


def test_extract_keeps_an_overridden_field_only_where_it_is_still_used() -> None:
    supergraph = _fixture("join_v05_override")

    def fields(graph: str) -> set[str]:
        product = extract_subgraph_schema(supergraph, graph).get_type("Product")
        assert isinstance(product, GraphQLObjectType)
        return set(product.fields)

    # stock: products still uses it (usedOverridden); discount: a progressive override keeps
    # the field in both graphs; price: overridden from a graph the supergraph does not have.
    assert fields("products") == {"id", "name", "stock", "discount", "currency"}
    assert fields("inventory") == {"id", "stock"}
    assert fields("pricing") == {"id", "price", "discount"}


def test_extract_drops_a_type_the_graph_gives_no_field() -> None:
    # A hand-written supergraph gives orders `Letter` without a field: orders has no Letter,
    # and so no Shipment (whose only member there Letter was).
    orders = extract_subgraph_schema(_fixture("join_v03"), "orders")
    assert orders.get_type("Letter") is None and orders.get_type("Shipment") is None
    shipping = extract_subgraph_schema(_fixture("join_v03"), "shipping")
    shipment = shipping.get_type("Shipment")
    assert isinstance(shipment, GraphQLUnionType)
    assert {t.name for t in shipment.types} == {"Letter", "Parcel"}


def test_extract_an_interface_stays_an_interface_where_it_is_one() -> None:
    supergraph = _fixture("extract")
    assert isinstance(
        extract_subgraph_schema(supergraph, "catalog").get_type("Media"), GraphQLInterfaceType
    )
    reviews = extract_subgraph_schema(supergraph, "reviews")
    assert isinstance(reviews.get_type("Media"), GraphQLObjectType)
    entity = reviews.get_type("_Entity")
    assert isinstance(entity, GraphQLUnionType)
    assert [t.name for t in entity.types] == ["Author", "Media"]


def test_extract_rejects_an_unknown_graph() -> None:
    with pytest.raises(SupergraphError, match="no subgraph 'nowhere'"):
        extract_subgraph_schema(_fixture("extract"), "nowhere")


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


def test_assert_fetches_valid_names_the_subgraph_the_errors_and_the_operation() -> None:
    supergraph = _fixture("extract")
    valid = FetchNode.from_operation("catalog", "{ books { title } }")
    assert_fetches_valid(supergraph, QueryPlan(valid))
    invalid = FetchNode.from_operation("people", "{ books { title } }")
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_fetches_valid(supergraph, QueryPlan(SequenceNode((valid, invalid))))
    assert "fetch to people" in str(failure.value)
    assert "Cannot query field 'books' on type 'Query'." in str(failure.value)
    assert str(failure.value).endswith("\n{ books { title } }")


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
