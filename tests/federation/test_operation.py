from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSchema, build_schema

from federation.operation import (
    OperationCache,
    OperationError,
    PreparedOperation,
    coerce_variables,
    execute_introspection,
    prepare_operation,
)

SDL = """
enum Sort { NEWEST OLDEST }

input Filter {
  author: String
  sort: Sort = NEWEST
}

type Review {
  id: ID!
  body: String
}

type Query {
  reviews(first: Int = 10, filter: Filter): [Review!]!
  review(id: ID!): Review
}

type Mutation {
  addReview(body: String!): Review
}
"""


@pytest.fixture
def schema() -> GraphQLSchema:
    return build_schema(SDL)


def _error(schema: GraphQLSchema, query: str, name: str | None = None) -> OperationError:
    with pytest.raises(OperationError) as info:
        prepare_operation(schema, query, name)
    return info.value


def test_prepare_operation_single_query(schema: GraphQLSchema) -> None:
    prepared = prepare_operation(schema, "query Top { reviews { id } }", None)
    assert prepared.operation_type == "query"
    assert prepared.name == "Top"
    assert prepared.operation.name is not None
    assert prepared.fragments == {}
    assert not prepared.is_introspection_only


def test_prepare_operation_collects_fragments(schema: GraphQLSchema) -> None:
    query = "{ reviews { ...R } } fragment R on Review { id body }"
    prepared = prepare_operation(schema, query, None)
    assert list(prepared.fragments) == ["R"]
    assert prepared.name is None


def test_prepare_operation_syntax_error_has_location(schema: GraphQLSchema) -> None:
    error = _error(schema, "{ reviews { id }")
    (formatted,) = error.formatted
    assert formatted["message"].startswith("Syntax Error")
    assert formatted["locations"] == [{"line": 1, "column": 17}]
    assert formatted["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


def test_prepare_operation_validation_error(schema: GraphQLSchema) -> None:
    error = _error(schema, "{ reviews { id rating } }")
    (formatted,) = error.formatted
    assert "Cannot query field 'rating' on type 'Review'" in formatted["message"]
    assert formatted["locations"] == [{"line": 1, "column": 16}]
    assert formatted["extensions"] == {"code": "GRAPHQL_VALIDATION_FAILED"}


def test_prepare_operation_selects_by_operation_name(schema: GraphQLSchema) -> None:
    query = 'query A { reviews { id } } mutation B { addReview(body: "x") { id } }'
    assert prepare_operation(schema, query, "A").operation_type == "query"
    prepared = prepare_operation(schema, query, "B")
    assert prepared.operation_type == "mutation"
    assert prepared.name == "B"


def test_prepare_operation_several_operations_need_a_name(schema: GraphQLSchema) -> None:
    error = _error(schema, "query A { reviews { id } } query B { review(id: 1) { id } }")
    assert "Must provide operation name" in str(error)
    assert error.formatted[0]["extensions"] == {"code": "OPERATION_RESOLUTION_FAILURE"}


def test_prepare_operation_unknown_operation_name(schema: GraphQLSchema) -> None:
    error = _error(schema, "query A { reviews { id } }", "C")
    assert error.formatted[0]["message"] == "Unknown operation named 'C'."


def test_prepare_operation_introspection_only(schema: GraphQLSchema) -> None:
    for query in (
        "{ __typename }",
        "{ __schema { queryType { name } } }",
        '{ ...Meta } fragment Meta on Query { __type(name: "Review") { name } }',
        "{ ... on Query { __typename } }",
    ):
        assert prepare_operation(schema, query, None).is_introspection_only, query
    mixed = prepare_operation(schema, "{ __typename reviews { id } }", None)
    assert not mixed.is_introspection_only


def test_coerce_variables_applies_defaults(schema: GraphQLSchema) -> None:
    query = """
      query ($first: Int = 3, $filter: Filter) { reviews(first: $first, filter: $filter) { id } }
    """
    prepared = prepare_operation(schema, query, None)
    assert coerce_variables(schema, prepared.operation, None) == {"first": 3}
    coerced = coerce_variables(schema, prepared.operation, {"first": 5, "filter": {}})
    assert coerced == {"first": 5, "filter": {"sort": "NEWEST"}}


def test_coerce_variables_rejects_bad_types(schema: GraphQLSchema) -> None:
    query = "query ($id: ID!, $first: Int) { review(id: $id) { id } reviews(first: $first) { id } }"
    prepared = prepare_operation(schema, query, None)
    with pytest.raises(OperationError) as info:
        coerce_variables(schema, prepared.operation, {"first": "many"})
    error = info.value
    messages = [formatted["message"] for formatted in error.formatted]
    assert len(messages) == 2
    assert any("$id" in message and "to be provided" in message for message in messages)
    assert any("$first" in message and "Int" in message for message in messages)
    assert all(f["extensions"] == {"code": "BAD_USER_INPUT"} for f in error.formatted)


def test_coerce_variables_rejects_non_object(schema: GraphQLSchema) -> None:
    prepared = prepare_operation(schema, "{ reviews { id } }", None)
    raw: Any = ["not", "an", "object"]
    with pytest.raises(OperationError, match="must be provided as an object"):
        coerce_variables(schema, prepared.operation, raw)


def test_execute_introspection_schema_and_type(schema: GraphQLSchema) -> None:
    query = """
      query Meta($name: String!) {
        __schema { queryType { name } mutationType { name } }
        review: __type(name: $name) { name fields { name } }
        __typename
      }
    """
    prepared = prepare_operation(schema, query, None)
    variables = coerce_variables(schema, prepared.operation, {"name": "Review"})
    result = execute_introspection(schema, prepared, variables)
    assert result == {
        "data": {
            "__schema": {"queryType": {"name": "Query"}, "mutationType": {"name": "Mutation"}},
            "review": {"name": "Review", "fields": [{"name": "id"}, {"name": "body"}]},
            "__typename": "Query",
        }
    }


def test_execute_introspection_mutation_typename(schema: GraphQLSchema) -> None:
    prepared = prepare_operation(schema, "mutation { __typename }", None)
    assert prepared.is_introspection_only
    assert execute_introspection(schema, prepared, None) == {"data": {"__typename": "Mutation"}}


def test_operation_cache_hit_returns_same_object(schema: GraphQLSchema) -> None:
    cache = OperationCache(schema)
    first = cache.prepare("{ reviews { id } }", None)
    assert isinstance(first, PreparedOperation)
    assert cache.prepare("{ reviews { id } }", None) is first
    assert len(cache) == 1


def test_operation_cache_key_includes_operation_name(schema: GraphQLSchema) -> None:
    cache = OperationCache(schema)
    query = "query A { reviews { id } } query B { review(id: 1) { id } }"
    assert cache.prepare(query, "A").name == "A"
    assert cache.prepare(query, "B").name == "B"
    assert len(cache) == 2


def test_operation_cache_caches_failures(schema: GraphQLSchema) -> None:
    cache = OperationCache(schema)
    with pytest.raises(OperationError) as first:
        cache.prepare("{ nope }", None)
    with pytest.raises(OperationError) as second:
        cache.prepare("{ nope }", None)
    assert second.value is first.value
    assert len(cache) == 1


def test_operation_cache_is_bounded(schema: GraphQLSchema) -> None:
    cache = OperationCache(schema, max_size=2)
    a = cache.prepare("{ a: reviews { id } }", None)
    cache.prepare("{ b: reviews { id } }", None)
    assert cache.prepare("{ a: reviews { id } }", None) is a  # a is now the most recent
    cache.prepare("{ c: reviews { id } }", None)  # evicts b, the least recently used
    assert len(cache) == 2
    assert cache.prepare("{ a: reviews { id } }", None) is a
    assert len(cache) == 2


def test_operation_cache_rejects_too_many_tokens(schema: GraphQLSchema) -> None:
    cache = OperationCache(schema, max_tokens=5)
    with pytest.raises(OperationError) as info:
        cache.prepare("{ reviews { id body } }", None)
    assert info.value.formatted[0]["extensions"] == {"code": "GRAPHQL_PARSE_FAILED"}


def test_operation_cache_rejects_bad_size(schema: GraphQLSchema) -> None:
    with pytest.raises(ValueError, match="max_size"):
        OperationCache(schema, max_size=0)
