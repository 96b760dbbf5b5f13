"""One test per document limit: each is refused before validation, naming the limit."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLSchema, build_schema

from federation.limits import COST_LIMIT, LIMIT_EXCEEDED, Limits, check_variables
from federation.operation import OperationCache, OperationError, prepare_operation

SCHEMA = build_schema(
    """
    type Query { me: User, users(first: Int): [User!]!, user(id: ID!): User, n(x: Int): Int }
    type User { id: ID!, name: String!, friends(first: Int): [User!]!, best: User }
    """
)


@pytest.fixture
def schema() -> GraphQLSchema:
    return SCHEMA


def refusal(query: str, limits: Limits) -> dict[str, Any]:
    with pytest.raises(OperationError) as caught:
        prepare_operation(SCHEMA, query, None, limits=limits)
    assert len(caught.value.errors) == 1
    return dict(caught.value.formatted[0])


def assert_refused(query: str, limits: Limits, limit: str, value: int) -> None:
    error = refusal(query, limits)
    extensions = {k: v for k, v in error["extensions"].items() if k != "measured"}
    assert extensions == {"code": LIMIT_EXCEEDED, "limit": limit, "max": value}
    assert f"{limit} limit of {value}" in error["message"]


def test_limits_defaults_accept_ordinary_queries() -> None:
    query = "query Q($n: Int) { me { id name friends(first: $n) { id best { name } } } }"
    assert prepare_operation(SCHEMA, query, None, limits=Limits()).name == "Q"


def test_limits_reject_non_positive_values() -> None:
    with pytest.raises(ValueError, match="max_depth"):
        Limits(max_depth=0)


def test_limits_max_length() -> None:
    assert_refused("{ me { id } }" + " " * 100, Limits(max_length=50), "max_length", 50)


def test_limits_max_tokens() -> None:
    assert_refused("{ me { id name } }", Limits(max_tokens=5), "max_tokens", 5)


def test_limits_max_nesting_before_parsing() -> None:
    # Deep enough to overflow graphql-core's recursive parser if it ever got there.
    query = "{ me " * 20_000 + "}" * 20_000
    assert_refused(query, Limits(max_tokens=None, max_length=None), "max_nesting", 64)


def test_limits_max_nesting_counts_list_values() -> None:
    query = "{ n(x: " + "[" * 70 + "]" * 70 + ") }"
    assert_refused(query, Limits(), "max_nesting", 64)


def test_limits_max_nesting_ignores_brackets_in_strings_and_comments() -> None:
    query = '# {{{{{{{{{{{{\n{ user(id: "{{{{{{{{{{{{{{{{{{{{") { id } }'
    assert prepare_operation(SCHEMA, query, None, limits=Limits(max_nesting=3)).name is None


def test_limits_without_nesting_limit_deep_document_is_a_clean_error() -> None:
    query = "{ me " * 5_000 + "}" * 5_000
    limits = Limits.unlimited()
    error = refusal(query, limits)
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_limits_max_depth() -> None:
    query = "{ me " + "{ best " * 5 + "{ id }" + "}" * 5 + "}"
    assert_refused(query, Limits(max_depth=4), "max_depth", 4)


def test_limits_state_the_measured_value_beside_the_limit() -> None:
    query = "{ me " + "{ best " * 17 + "{ id }" + " }" * 17 + " }"
    error = refusal(query, Limits())
    assert error["message"] == "The operation's depth exceeds the max_depth limit of 15: 19 > 15."
    assert error["extensions"]["measured"] == 19
    long = refusal("{ me { id } }" + " " * 100, Limits(max_length=50))
    assert long["message"].endswith("max_length limit of 50: 113 > 50.")


def test_limits_max_depth_through_fragments() -> None:
    query = (
        "{ me { ...A } } fragment A on User { best { ...B } } fragment B on User { best { id } }"
    )
    assert_refused(query, Limits(max_depth=3), "max_depth", 3)


def test_limits_max_aliases() -> None:
    query = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(4)) + " }"
    assert_refused(query, Limits(max_aliases=3), "max_aliases", 3)


def test_limits_max_root_fields() -> None:
    query = "{ me { id } users { id } user(id: 1) { id } }"
    assert_refused(query, Limits(max_root_fields=2), "max_root_fields", 2)


def test_limits_max_directives() -> None:
    query = "{ me @include(if: true) { id @skip(if: false) name @skip(if: false) } }"
    assert_refused(query, Limits(max_directives=2), "max_directives", 2)


def test_limits_max_fragments() -> None:
    fragments = "".join(f" fragment F{i} on User {{ id }}" for i in range(3))
    query = "{ me { ...F0 ...F1 ...F2 } }" + fragments
    assert_refused(query, Limits(max_fragments=2), "max_fragments", 2)


def test_limits_max_duplicate_fields() -> None:
    query = "{ me {" + " id" * 1_000 + " } }"
    assert_refused(query, Limits(), "max_duplicate_fields", 20)


def test_limits_max_duplicate_fields_counts_merged_sub_selections() -> None:
    # Five `best` each holding five `best`: twenty-five under one key once merged.
    inner = " ".join(["best { id }"] * 5)
    query = "{ me { " + " ".join([f"best {{ {inner} }}"] * 5) + " } }"
    assert_refused(query, Limits(), "max_duplicate_fields", 20)


def test_limits_max_expanded_fields_refuses_fragment_bomb() -> None:
    # Each fragment doubles the last through two different fields: 2**40 fields expanded.
    levels = 40
    fragments = "".join(
        f" fragment F{i} on User {{ best {{ ...F{i + 1} }} friends {{ ...F{i + 1} }} }}"
        for i in range(levels)
    )
    query = "{ me { ...F0 } }" + fragments + f" fragment F{levels} on User {{ id }}"
    limits = Limits(max_depth=None, max_cost=None)
    assert_refused(query, limits, "max_expanded_fields", 5_000)


def test_limits_same_fragment_twice_counts_once() -> None:
    fragments = "".join(f" fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = "{ ...F0 }" + fragments + " fragment F40 on Query { me { id } }"
    assert prepare_operation(SCHEMA, query, None, limits=Limits()).name is None


def assert_cost_refused(query: str, limits: Limits, estimate: int) -> None:
    error = refusal(query, limits)
    assert error["extensions"] == {
        "code": COST_LIMIT,
        "limit": "max_cost",
        "estimate": estimate,
        "max": limits.max_cost,
    }
    assert f"estimated cost of {estimate} exceeds the max_cost limit" in error["message"]


def test_limits_max_cost_multiplies_list_sizes() -> None:
    query = "{ users(first: 100) { friends(first: 100) { friends(first: 100) { id } } } }"
    assert_cost_refused(query, Limits(), 100 * (1 + 100 * (1 + 100 * 2)))
    cheaper = "{ users(first: 10) { friends(first: 10) { friends(first: 10) { id } } } }"
    assert prepare_operation(SCHEMA, cheaper, None, limits=Limits()).name is None


def test_limits_max_cost_assumes_default_list_size_for_variables() -> None:
    query = "query($n: Int) { users(first: $n) { friends(first: $n) { id } } }"
    assert_cost_refused(query, Limits(max_cost=100, default_list_size=10), 10 * (1 + 10 * 2))


def test_limits_max_variables_depth() -> None:
    nested: Any = 1
    for _ in range(40):
        nested = {"a": [nested]}
    error = check_variables({"input": nested}, Limits())
    assert error is not None
    assert error.extensions == {
        "code": LIMIT_EXCEEDED,
        "limit": "max_variables_depth",
        "max": 32,
    }
    assert check_variables({"input": {"a": [1, 2]}}, Limits()) is None


def test_limits_huge_integer_literal_is_a_validation_error() -> None:
    query = "{ n(x: " + "9" * 5_000 + ") }"
    error = refusal(query, Limits())
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_operation_cache_applies_limits_by_default(schema: GraphQLSchema) -> None:
    cache = OperationCache(schema)
    with pytest.raises(OperationError) as caught:
        cache.prepare("{ me " * 100 + "}" * 100, None)
    assert caught.value.formatted[0]["extensions"]["limit"] == "max_nesting"


def test_operation_cache_does_not_keep_overlong_documents(schema: GraphQLSchema) -> None:
    cache = OperationCache(schema, limits=Limits(max_length=20))
    with pytest.raises(OperationError):
        cache.prepare("{ me { id name } }" + " " * 30, None)
    assert len(cache) == 0


def test_limits_max_variables_values() -> None:
    error = check_variables({"ids": ["1"] * 500_000}, Limits())
    assert error is not None
    assert error.extensions == {
        "code": LIMIT_EXCEEDED,
        "limit": "max_variables_values",
        "max": 5_000,
    }
    assert check_variables({"ids": ["1"] * 4_000}, Limits()) is None
    assert check_variables({"ids": ["1"] * 500_000}, Limits(max_variables_values=None)) is None
