"""The slowest documents we know of, each refused or answered within a bound relative to the
cost of an ordinary device query measured in the same run (no absolute timings).

The measured numbers are printed (`pytest -s`) so the list below can be kept up to date; on
the development machine an ordinary device query (TV home) prepares in 3.5-4.5 ms and the worst
documents here in 60-105 ms, about 24x: 2,000 duplicate `me { id }` and 1,000 duplicate inline
fragments, refused by `max_tokens`/`max_duplicate_fields` once lexed and parsed. Before the
limits, validation alone took 0.6-1.5 s on 400 duplicates or fragments side by side.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytest
from graphql import GraphQLSchema

from demo import demo_supergraph_sdl
from federation.limits import Limits, check_variables
from federation.operation import OperationError, coerce_variables, prepare_operation
from federation.supergraph.model import load_supergraph
from tests.gateway.demo_support import device_query

#: How many times slower than an ordinary device query the worst document may be. The worst
#: measured is ~20x; the headroom absorbs a noisy CI neighbour, not a quadratic blow-up (those
#: measured 200x to 1000x before the limits).
BOUND = 60


def _nest(count: int, depth: int) -> str:
    if depth == 0:
        return "id"
    return " ".join(f"myList {{ {_nest(count, depth - 1)} }}" for _ in range(count))


def _distinct_bomb(levels: int) -> str:
    """Each fragment doubles the next through two different fields: 2**levels fields."""
    hop = "reviews {{ nodes {{ author {{ ...F{} }} }} }}"
    fragments = "".join(
        f"fragment F{i} on Member {{ myList {{ {hop.format(i + 1)} }} "
        f"continueWatching {{ title {{ {hop.format(i + 1)} }} }} }}\n"
        for i in range(levels)
    )
    return "{ me { ...F0 } }\n" + fragments + f"fragment F{levels} on Member {{ id }}"


def _spread_bomb(levels: int) -> str:
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    return "query { ...F0 }\n" + fragments + f"fragment F{levels} on Query {{ me {{ id }} }}"


_KEYS = ["id", "name", "maturityLevel", "myList { id }", "continueWatching { positionSeconds }"]

#: name → document; every one of these must finish within the bound, accepted or refused.
WORST: dict[str, Callable[[], str]] = {
    "deep nesting (10k levels)": lambda: "{ me " * 10_000 + "}" * 10_000,
    "deep list value (5k levels)": lambda: "{ titles(ids: " + "[" * 5000 + "]" * 5000 + ") { a } }",
    "fragment bomb (same spread twice)": lambda: _spread_bomb(60),
    "fragment bomb (distinct fields)": lambda: _distinct_bomb(30),
    "10k duplicate fields": lambda: "{ me {" + " id" * 10_000 + "} }",
    "2k duplicate sub-selections": lambda: "{" + " me { id }" * 2_000 + "}",
    "1k duplicate inline fragments": lambda: (
        "{ me { " + " ".join("... on Member { myList { id } }" for _ in range(1000)) + " } }"
    ),
    "5k aliases": lambda: "{" + "".join(f" a{i}: me {{ id }}" for i in range(5000)) + "}",
    "huge string (99k chars)": lambda: '{ search(term: "' + "x" * 99_000 + '") { __typename } }',
    "huge string (2M chars)": lambda: '{ search(term: "' + "x" * 2_000_000 + '") { __typename } }',
    "1k directives": lambda: "{ me " + "@skip(if: false) " * 1000 + "{ id } }",
    "100 fragments side by side": lambda: (
        "{ me { " + "".join(f"...F{i} " for i in range(100)) + "} }"
        + "".join(f" fragment F{i} on Member {{ {_KEYS[i % 5]} }}" for i in range(100))
    ),
    "merged duplicates 20x20": lambda: "{ me { " + _nest(20, 2) + " } }",
    "merged duplicates 5^5": lambda: "{ me { " + _nest(5, 4) + " } }",
    "big integer literal": lambda: "{ genres(first: " + "9" * 5000 + ") { id } }",
    "3k variables": lambda: "query(" + " ".join(f"$v{i}: Int" for i in range(3000)) + ") { me }",
    "2k operations": lambda: " ".join(f"query Q{i} {{ me {{ id }} }}" for i in range(2000)),
    "100 unused fragments": lambda: (
        "{ me { id } }" + "".join(f" fragment F{i} on Member {{ id }}" for i in range(100))
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return load_supergraph(demo_supergraph_sdl()).api_schema


def _seconds(schema: GraphQLSchema, query: str, repeat: int = 2) -> float:
    """The best of `repeat` runs of a full preparation (limits, parse, validate), uncached."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        with contextlib.suppress(OperationError):
            prepare_operation(schema, query, None, limits=Limits())
        best = min(best, time.perf_counter() - started)
    return best


def test_worst_cases_each_finish_within_bound_of_an_ordinary_query(
    schema: GraphQLSchema,
) -> None:
    baseline = _seconds(schema, device_query("tv/home.graphql"), repeat=5)
    measured = {name: _seconds(schema, build()) for name, build in WORST.items()}
    for name, seconds in sorted(measured.items(), key=lambda item: -item[1]):
        print(f"{name:40} {seconds * 1000:8.2f} ms  {seconds / baseline:6.1f}x")
    slow = {name: seconds / baseline for name, seconds in measured.items()}
    assert {name: ratio for name, ratio in slow.items() if ratio > BOUND} == {}


def test_worst_cases_bombs_and_deep_documents_are_refused(schema: GraphQLSchema) -> None:
    for name in ("deep nesting (10k levels)", "fragment bomb (distinct fields)",
                 "10k duplicate fields", "5k aliases", "huge string (2M chars)"):  # fmt: skip
        with pytest.raises(OperationError) as caught:
            prepare_operation(schema, WORST[name](), None, limits=Limits())
        assert caught.value.formatted[0]["extensions"]["code"] == "OPERATION_LIMIT_EXCEEDED"


def test_worst_cases_device_queries_pass_the_default_limits(schema: GraphQLSchema) -> None:
    for path in ("tv/home.graphql", "mobile/home.graphql", "web/title.graphql"):
        prepare_operation(schema, device_query(path), None, limits=Limits())


def test_worst_cases_huge_variables_are_refused_before_coercion(schema: GraphQLSchema) -> None:
    prepared = prepare_operation(
        schema, "query($ids: [ID!]!) { titles(ids: $ids) { id } }", None, limits=Limits()
    )
    baseline = _seconds(schema, device_query("tv/home.graphql"), repeat=5)

    def refuse_or_coerce(variables: dict[str, object]) -> float:
        started = time.perf_counter()
        if check_variables(variables, Limits()) is None:
            coerce_variables(schema, prepared.operation, variables)
        return time.perf_counter() - started

    # 500,000 IDs fit a 2 MB body and take seconds to coerce; refused, they cost nothing.
    huge = refuse_or_coerce({"ids": ["1"] * 500_000})
    at_limit = refuse_or_coerce({"ids": ["1"] * 4_990})
    print(f"500k variable values {huge * 1000:.2f} ms, 4,990 {at_limit * 1000:.2f} ms")
    assert huge < baseline
    assert at_limit < BOUND * baseline
