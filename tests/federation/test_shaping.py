from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    parse,
)

from federation.execution.shaping import shape_response

API_SDL = """
schema { query: RootQuery }

type RootQuery {
  product(id: ID!): Product
  products: [Product!]!
  strictProducts: [Product!]!
  node(id: ID!): Node
  nodes: [Node]
  media: [Media]
  must: Product!
}

interface Node { id: ID! }

type Product implements Node {
  id: ID!
  name: String
  sku: String!
  color: Color
  tags: [String!]
  variants: [Variant!]
}

type Variant { size: Int! }

type User implements Node { id: ID! email: String }

type Chat implements Node { id: ID! }

union Media = Product | User

enum Color { RED GREEN }
"""

SCHEMA = build_schema(API_SDL)


def shape(
    query: str,
    data: dict[str, Any] | None,
    errors: list[dict[str, Any]] | None = None,
    variables: Mapping[str, Any] | None = None,
    schema: GraphQLSchema = SCHEMA,
) -> dict[str, Any]:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return shape_response(
        schema=schema,
        operation=operation,
        fragments=fragments,
        variables=variables or {},
        data=data,
        errors=errors or [],
    )


def test_shape_response_orders_keys_and_drops_extras() -> None:
    data = {
        # merged data is keyed by the client's response keys (`other`), plus helper fields
        "p": {"__typename": "Product", "id": "k", "other": "1", "name": "N", "_internal": 1},
        "extra": 1,
    }
    result = shape("{ p: product(id: 1) { name other: id } }", data)
    assert result == {"data": {"p": {"name": "N", "other": "1"}}}
    assert list(result["data"]["p"]) == ["name", "other"]


def test_shape_response_unanswered_field_is_null_with_an_error() -> None:
    # No silent nulls: a field no fetch answered is null, and an error at its path says so.
    assert shape("{ product(id: 1) { name color } }", {"product": {"name": "N"}}) == {
        "data": {"product": {"name": "N", "color": None}},
        "errors": [
            {
                "message": "No subgraph returned a value for field Product.color.",
                "path": ["product", "color"],
                "extensions": {"code": "FIELD_NOT_RESOLVED"},
            }
        ],
    }


def test_shape_response_null_from_a_subgraph_needs_no_error() -> None:
    data = {"product": {"name": "N", "color": None}}
    assert shape("{ product(id: 1) { name color } }", data) == {
        "data": {"product": {"name": "N", "color": None}}
    }


def test_shape_response_unanswered_field_under_an_error_is_not_reported_twice() -> None:
    errors = [{"message": "boom", "path": ["product"]}]
    assert (
        shape("{ product(id: 1) { name color } }", {"product": {"name": "N"}}, errors)["errors"]
        == errors
    )
    pathless = [{"message": "subgraph down"}]
    assert (
        shape("{ product(id: 1) { name color } }", {"product": {"name": "N"}}, pathless)["errors"]
        == pathless
    )


def test_shape_response_typename_on_renamed_root_type() -> None:
    data = {"__typename": "Query", "t": "Query"}
    assert shape("{ __typename t: __typename }", data) == {
        "data": {"__typename": "RootQuery", "t": "RootQuery"}
    }


def test_shape_response_typename_static_and_runtime() -> None:
    data = {
        "product": {"__typename": "Whatever"},
        "node": {"__typename": "User", "id": "u"},
    }
    query = "{ product(id: 1) { __typename } node(id: 1) { kind: __typename id } }"
    assert shape(query, data) == {
        "data": {"product": {"__typename": "Product"}, "node": {"kind": "User", "id": "u"}}
    }


def test_shape_response_unknown_typename_nulls_object_with_error() -> None:
    data = {"node": {"__typename": "Node", "id": "1"}, "nodes": [{"__typename": "Secret"}]}
    result = shape("{ node(id: 1) { id } nodes { id } }", data)
    # The interface's own name (an @interfaceObject answer) is fine while nobody asks the type.
    assert result["data"] == {"node": {"id": "1"}, "nodes": [None]}
    assert [error["path"] for error in result["errors"]] == [["nodes", 0]]
    assert 'Received "Secret"' in result["errors"][0]["message"]


def test_shape_response_interface_typename_asked_is_an_error() -> None:
    data = {"node": {"__typename": "Node", "id": "1"}}
    result = shape("{ node(id: 1) { __typename id } }", data)
    assert result["data"] == {"node": None}
    assert result["errors"][0]["path"] == ["node", "__typename"]


def test_shape_response_fragments_follow_runtime_type() -> None:
    query = """
      { account: node(id: "a1") { ... on Chat { id } }
        node(id: "u") { ...U ... on Node { id } }
        media { ... on Product { name } ... on User { email } } }
      fragment U on User { email }
    """
    data = {
        "account": {"__typename": "User", "id": "a1"},
        "node": {"__typename": "User", "id": "u", "email": "e"},
        "media": [
            {"__typename": "Product", "name": "N", "email": "x"},
            {"__typename": "User", "email": "e", "name": "x"},
        ],
    }
    assert shape(query, data) == {
        "data": {
            "account": {},
            "node": {"email": "e", "id": "u"},
            "media": [{"name": "N"}, {"email": "e"}],
        }
    }


def test_shape_response_fragment_without_typename_uses_static_type() -> None:
    query = "{ node(id: 1) { ... on Node { id } ... on User { email } } }"
    assert shape(query, {"node": {"id": "1", "email": "e"}}) == {"data": {"node": {"id": "1"}}}


def test_shape_response_skip_and_include() -> None:
    query = """query ($yes: Boolean!, $no: Boolean!) {
      product(id: 1) {
        a: name @include(if: $yes)
        b: name @include(if: $no)
        c: name @skip(if: true)
        ... on Product @skip(if: $yes) { id }
        ...F @include(if: $yes)
      }
    }
    fragment F on Product { sku }"""
    data = {"product": {"a": "A", "b": "B", "c": "C", "id": "1", "sku": "s"}}
    result = shape(query, data, variables={"yes": True, "no": False})
    assert result == {"data": {"product": {"a": "A", "sku": "s"}}}


def test_shape_response_merges_same_response_key() -> None:
    query = "{ product(id: 1) { variants { size } ... on Product { variants { __typename } } } }"
    data = {"product": {"variants": [{"size": 1, "__typename": "Variant"}]}}
    assert shape(query, data) == {
        "data": {"product": {"variants": [{"size": 1, "__typename": "Variant"}]}}
    }


def test_shape_response_unknown_enum_value_nulls_with_error() -> None:
    data = {"product": {"color": "BLUE"}}
    result = shape("{ product(id: 1) { color } }", data)
    assert result["data"] == {"product": {"color": None}}
    assert result["errors"] == [
        {"message": 'Enum "Color" cannot represent value: "BLUE"', "path": ["product", "color"]}
    ]


def test_shape_response_inaccessible_enum_at_non_null_bubbles() -> None:
    schema = build_schema("type Query { c: C! d: String } enum C { A }")
    result = shape("{ d c }", {"c": "HIDDEN", "d": "x"}, schema=schema)
    assert result["data"] is None
    assert len(result["errors"]) == 1  # the enum error explains the null; no second error


def test_shape_response_null_bubbles_through_non_null_list() -> None:
    data = {
        "products": [{"sku": "a"}, {"sku": None}],
        "product": {"sku": "x", "variants": [{"size": 1}, {"size": None}]},
    }
    result = shape("{ product(id: 1) { variants { size } } products { sku } }", data)
    # products: [Product!]! -> the null item nulls the list, which is non-null: data is null.
    assert result["data"] is None
    assert result["errors"] == [
        {
            "message": "Cannot return null for non-nullable field Variant.size.",
            "path": ["product", "variants", 1, "size"],
        },
        {
            "message": "Cannot return null for non-nullable field Product.sku.",
            "path": ["products", 1, "sku"],
        },
    ]


def test_shape_response_null_stops_at_nullable_parent() -> None:
    data = {"product": {"name": "N", "variants": [{"size": 1}, {}]}}
    result = shape("{ product(id: 1) { name variants { size } } }", data)
    assert result["data"] == {"product": {"name": "N", "variants": None}}
    assert [error["path"] for error in result["errors"]] == [["product", "variants", 1, "size"]]


def test_shape_response_data_null_at_root() -> None:
    result = shape("{ must { id } product(id: 1) { id } }", {"product": {"id": "1"}})
    assert result == {
        "data": None,
        "errors": [
            {
                "message": "Cannot return null for non-nullable field RootQuery.must.",
                "path": ["must"],
            }
        ],
    }


def test_shape_response_existing_error_suppresses_null_error() -> None:
    errors = [{"message": "boom", "path": ["must", "id"], "extensions": {"serviceName": "a"}}]
    result = shape("{ must { id } }", {"must": {"id": None}}, errors=errors)
    assert result == {"data": None, "errors": errors}


def test_shape_response_keeps_errors_and_data_none() -> None:
    errors = [{"message": "planning failed"}]
    assert shape("{ product(id: 1) { id } }", None, errors=errors) == {
        "data": None,
        "errors": errors,
    }


def test_shape_response_scalar_lists_pass_through() -> None:
    data = {"product": {"tags": ["a", "b"], "id": 5}}
    assert shape("{ product(id: 1) { tags id } }", data) == {
        "data": {"product": {"tags": ["a", "b"], "id": 5}}
    }


def test_shape_response_wrong_shape_is_an_error() -> None:
    result = shape("{ product(id: 1) { tags } }", {"product": {"tags": "a"}})
    assert result["data"] == {"product": {"tags": None}}
    assert result["errors"][0]["path"] == ["product", "tags"]


def test_shape_response_plans_kept_per_operation_follow_skip_and_include() -> None:
    document = parse(
        "query ($on: Boolean!) { product(id: 1) { id name @include(if: $on) ...F } }"
        " fragment F on Product { sku @skip(if: $on) }"
    )
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    data = {"product": {"id": "1", "name": "n", "sku": "s", "__typename": "Product"}}

    def run(on: bool) -> dict[str, Any]:
        return shape_response(
            schema=SCHEMA,
            operation=operation,
            fragments=fragments,
            variables={"on": on},
            data=data,
            errors=[],
        )

    for _ in range(2):  # the second round answers from the plans the first one kept
        assert run(True) == {"data": {"product": {"id": "1", "name": "n"}}}
        assert run(False) == {"data": {"product": {"id": "1", "sku": "s"}}}


def test_shape_response_invalid_scalars_fast_and_slow_paths() -> None:
    query = "{ product(id: 1) { id name sku variants { size } } }"
    data = {"product": {"id": 7, "name": 3, "sku": None, "variants": [{"size": 2**40}]}}
    result = shape(query, data)
    assert result["data"] == {"product": None}
    assert [(e["path"], e["message"]) for e in result["errors"]] == [
        (["product", "name"], 'Subgraph returned an invalid value for field "Product.name".'),
        (["product", "sku"], "Cannot return null for non-nullable field Product.sku."),
        (
            ["product", "variants", 0, "size"],
            'Subgraph returned an invalid value for field "Variant.size".',
        ),
    ]
