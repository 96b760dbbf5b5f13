"""Satisfiability: whole key and requirement conditions, one error per unsatisfiable path, and
Apollo's wording."""

from __future__ import annotations

from typing import Any

import pytest

from federation.composition import compose
from tests.composition.support import fixture_set, interop_sets

SETS = interop_sets()


def test_satisfiability_checks_nested_key_fields() -> None:
    # `studio` is in catalog, `studio { code }` is not: the key into ratings cannot be built.
    errors = compose(fixture_set("fail_satisfiability_nested_key")).errors
    assert {(e.code, e.coordinate) for e in errors} == {
        ("SATISFIABILITY_ERROR", "Title.rating"),
        ("SATISFIABILITY_ERROR", "Studio.code"),
    }
    rating = next(e for e in errors if e.coordinate == "Title.rating")
    assert rating.message.endswith(
        'cannot move to subgraph "ratings" using @key(fields: "studio { code }") of "Title", '
        'the key field(s) cannot be resolved from subgraph "catalog".'
    )


def test_satisfiability_nested_conditions_may_jump_by_keys() -> None:
    # `studio { code }`: the studio's code comes from studios through Studio's key.
    assert compose(fixture_set("nested_conditions_through_keys")).ok


def test_satisfiability_checks_nested_requirements_from_the_requiring_subgraph() -> None:
    errors = compose(fixture_set("fail_satisfiability_nested_requires")).errors
    price = next(e for e in errors if e.coordinate == "Title.price")
    assert price.message.endswith(
        '- from subgraph "catalog": cannot find field "Title.price".\n'
        '- from subgraph "pricing": cannot satisfy @require conditions on field "Title.price".'
    )


@pytest.mark.parametrize("name", sorted(n for n in SETS if n.startswith("fail_satisfiability")))
def test_satisfiability_errors_read_as_apollos(
    name: str, apollo_results: dict[str, dict[str, Any]]
) -> None:
    # Every unsatisfiable path Apollo reports, with the same query and reasons, and no other.
    theirs = sorted(
        e["message"] for e in apollo_results[name]["errors"] if e["code"] == "SATISFIABILITY_ERROR"
    )
    assert theirs, apollo_results[name]
    ours = sorted(e.message for e in compose(SETS[name]).errors)
    assert ours == theirs


def test_satisfiability_reports_each_unsatisfiable_path() -> None:
    # heavy (from c) and products (from a) both reach Product.cost; c cannot give b the weight
    # b requires, because a requirement is fetched from b's side.
    errors = compose(fixture_set("fail_satisfiability_requires")).errors
    queries = sorted(
        e.message.split("cannot be satisfied")[0] for e in errors if e.coordinate == "Product.cost"
    )
    assert len(queries) == 2
    assert "  heavy {\n    cost" in queries[0] and "  products {\n    cost" in queries[1]


def test_satisfiability_message_reads_as_apollo_prints_it() -> None:
    (error,) = compose(fixture_set("fail_satisfiability_unresolvable_key")).errors
    assert error.message == (
        "The following supergraph API query:\n"
        "{\n  me {\n    karma\n  }\n}\n"
        "cannot be satisfied by the subgraphs because:\n"
        '- from subgraph "a":\n'
        '  - cannot find field "User.karma".\n'
        '  - cannot move to subgraph "b", which has field "User.karma", because none of the '
        '@key defined on type "User" in subgraph "b" are resolvable (they are all declared '
        'with their "resolvable" argument set to false).'
    )
