"""@authenticated, @requiresScopes and @policy on Apollo-composed supergraphs: the rules read,
the operation rewritten so nothing denied is fetched, and the answer's nulls and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, print_ast, validate

from federation.authorization import (
    AccessRules,
    Caller,
    Requirement,
    deny,
    restrict,
)
from federation.supergraph.model import Supergraph, load_supergraph

FIXTURES = Path(__file__).parent.parent / "fixtures" / "supergraphs"
ANONYMOUS = Caller()
MEMBER = Caller(authenticated=True)


def _load(name: str) -> Supergraph:
    return load_supergraph((FIXTURES / f"{name}.graphql").read_text())


def _restrict(supergraph: Supergraph, query: str, caller: Caller) -> Any:
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    rules = AccessRules.from_supergraph(supergraph)
    return restrict(document, operation, supergraph.api_schema, rules, caller)


def test_authorization_rules_are_read_as_apollo_composes_them() -> None:
    # Apollo's composition ANDs Product.cost's rules from two subgraphs: audit and finance.
    rules = AccessRules.from_supergraph(_load("auth_directives_merged"))
    assert rules.fields[("Product", "cost")] == Requirement(
        scopes=(frozenset({"audit", "finance"}),)
    )
    assert rules.fields[("Query", "me")] == Requirement(authenticated=True)
    assert rules.fields[("Query", "secret")].scopes == (
        frozenset({"admin"}),
        frozenset({"ops", "read"}),
    )
    assert rules.types["Supplier"] == Requirement(policies=(frozenset({"partners"}),))
    assert rules.policies == {"partners"}
    assert AccessRules.from_supergraph(_load("keys")).empty


@pytest.mark.parametrize(
    ("caller", "allowed"),
    [
        (Caller(), False),
        (Caller(authenticated=True, scopes=frozenset({"admin"})), True),
        (Caller(authenticated=True, scopes=frozenset({"ops"})), False),
        (Caller(authenticated=True, scopes=frozenset({"ops", "read"})), True),
    ],
)
def test_authorization_scopes_are_an_or_of_ands(caller: Caller, allowed: bool) -> None:
    rules = AccessRules.from_supergraph(_load("auth_directives"))
    assert caller.may(rules.fields[("Query", "secret")]) is allowed


def test_authorization_anonymous_caller_fetches_nothing_protected() -> None:
    supergraph = _load("auth_directives")
    query = """query Home {
      products { name cost supplier { name } reviews { body author } }
      me { ...Who }
      secret
    }
    fragment Who on Customer { email }"""
    restriction = _restrict(supergraph, query, ANONYMOUS)
    text = print_ast(restriction.document)
    for protected in ("cost", "supplier", "author", "me", "secret"):
        assert f"{protected}: __typename" in text
    assert "email" not in text and "fragment Who" not in text  # unused now, so dropped
    assert validate(supergraph.api_schema, restriction.document) == []
    assert [d.path for d in restriction.denied] == [
        ["products", "@", "cost"],
        ["products", "@", "supplier"],
        ["products", "@", "reviews", "@", "author"],
        ["me"],
        ["secret"],
    ]


def test_authorization_caller_with_every_right_is_not_rewritten() -> None:
    caller = Caller(
        authenticated=True,
        scopes=frozenset({"finance", "admin"}),
        policies=frozenset({"partners"}),
    )
    query = "{ products { cost supplier { name } reviews { author } } me { email } secret }"
    assert _restrict(_load("auth_directives"), query, caller) is None


def test_authorization_policy_needs_the_hook_to_grant_it() -> None:
    query = "{ products { supplier { name } } }"
    supergraph = _load("auth_directives")
    assert _restrict(supergraph, query, MEMBER) is not None
    granted = Caller(authenticated=True, policies=frozenset({"partners"}))
    assert _restrict(supergraph, query, granted) is None


def test_authorization_denied_variables_go_with_their_field() -> None:
    supergraph = _load("auth_directives")
    query = "query ($skip: Boolean!) { secret @skip(if: $skip) products { name } }"
    restriction = _restrict(supergraph, query, ANONYMOUS)
    # @skip stays on the placeholder: it is asked for exactly when `secret` would have been.
    assert "secret: __typename @skip(if: $skip)" in print_ast(restriction.document)
    assert validate(supergraph.api_schema, restriction.document) == []


def test_authorization_deny_nulls_placeholders_and_propagates_non_null() -> None:
    supergraph = _load("auth_directives")
    restriction = _restrict(supergraph, "{ products { name badge } secret }", ANONYMOUS)
    body = {
        "data": {
            "products": [{"name": "a", "badge": "Product"}, {"name": "b", "badge": "Product"}],
            "secret": "Query",
        }
    }
    answered = deny(body, restriction.denied)
    # badge is String!: its null makes the Product! null, and so the [Product!]! list, up to
    # `data` itself, exactly as a field error would.
    assert answered["data"] is None
    assert [e["extensions"]["code"] for e in answered["errors"]] == [
        "UNAUTHORIZED_FIELD_OR_TYPE",
        "UNAUTHORIZED_FIELD_OR_TYPE",
    ]
    assert body["data"]["secret"] == "Query"  # the shared answer is left as it was
    nullable = _restrict(supergraph, "{ products { name cost } secret }", ANONYMOUS)
    kept = deny(
        {"data": {"products": [{"name": "a", "cost": "Product"}], "secret": "Query"}},
        nullable.denied,
    )
    assert kept["data"] == {"products": [{"name": "a", "cost": None}], "secret": None}
    assert kept["errors"][0]["path"] == ["products", "@", "cost"]
