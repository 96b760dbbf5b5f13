"""@composeDirective and the API schema, edgegraph beside Apollo (#13 point 4).

Apollo's composition keeps a composed directive in the supergraph (its `@link`, its definition
and every application), and edgegraph's does too (`normal_form` compares them). The API schema
is another matter: @apollo/federation-internals 2.14.4 builds it (`Supergraph.apiSchema()`)
without any element of a linked spec, so `@cached` has neither a definition nor an application
there. These tests show both sides on the same set.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import build_schema, lexicographic_sort_schema, print_schema

from federation.composition import compose
from federation.supergraph.model import load_supergraph
from tests.composition.support import fixture_set
from tests.peers_support import _run_composer

SET = "compose_directive"
#: directives every GraphQL schema has, whatever the gateway adds besides
_BUILT_IN = {"include", "skip", "deprecated", "specifiedBy", "oneOf", "defer", "stream"}


@pytest.fixture(scope="module")
def apollo_api() -> dict[str, Any]:
    """Apollo's API schema of the set, from its own supergraph."""
    return _run_composer("compose_api.mjs", [(s.name, s.url, s.sdl) for s in fixture_set(SET)])


def _ours() -> tuple[str, set[str]]:
    sdl = compose(fixture_set(SET)).supergraph_sdl
    assert sdl is not None
    api = load_supergraph(sdl).api_schema
    return print_schema(lexicographic_sort_schema(api)), {d.name for d in api.directives}


def test_compose_directive_is_in_both_supergraphs() -> None:
    sdl = compose(fixture_set(SET)).supergraph_sdl
    assert sdl is not None
    assert "directive @cached(maxAge: Int!) on" in sdl
    assert '@link(url: "https://edge.example/cache/v1.1", import: ["@cached"])' in sdl


def test_compose_directive_api_schema_same_as_apollos(apollo_api: dict[str, Any]) -> None:
    printed, directives = _ours()
    apollo_printed = print_schema(lexicographic_sort_schema(build_schema(apollo_api["apiSchema"])))
    # Neither API schema defines or applies the composed directive.
    assert "@cached" not in apollo_printed
    assert "cached" not in apollo_api["directives"]
    assert "cached" not in directives
    assert printed == apollo_printed


def test_compose_directive_api_schema_built_in_directives(apollo_api: dict[str, Any]) -> None:
    # Only the built-ins differ: Apollo's API schema declares @defer and @stream, edgegraph's
    # (graphql-core's) @oneOf. No custom directive on either side.
    _printed, directives = _ours()
    assert set(apollo_api["directives"]) <= _BUILT_IN
    assert directives <= _BUILT_IN
    assert set(apollo_api["directives"]) - directives == {"defer", "stream"}
    assert directives - set(apollo_api["directives"]) == {"oneOf"}
