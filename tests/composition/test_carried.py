"""compose(): type-system directives carried into the supergraph (`@composeDirective`,
`@cost`, `@listSize`), in the form @apollo/composition prints."""

from __future__ import annotations

from graphql import GraphQLObjectType, print_ast

from federation.composition import compose
from federation.supergraph.model import load_supergraph
from tests.composition.support import fixture_set


def _sdl(name: str) -> str:
    result = compose(fixture_set(name))
    assert result.supergraph_sdl is not None, result.errors
    return result.supergraph_sdl


def _applied(sdl: str, type_name: str, field_name: str | None = None) -> list[str]:
    supergraph = load_supergraph(sdl)
    named = supergraph.schema.get_type(type_name)
    assert named is not None and named.ast_node is not None
    node = named.ast_node
    if field_name is not None:
        assert isinstance(named, GraphQLObjectType)
        node = named.fields[field_name].ast_node
    return [print_ast(d) for d in node.directives or () if not d.name.value.startswith("join__")]


def test_compose_directive_keeps_link_definition_and_applications() -> None:
    sdl = _sdl("compose_directive")
    # The latest version any subgraph links, and the directive under the subgraphs' name.
    assert '@link(url: "https://edge.example/cache/v1.1", import: ["@cached"])' in sdl
    assert "directive @cached(maxAge: Int!) on FIELD_DEFINITION | OBJECT" in sdl
    assert _applied(sdl, "Title") == ["@cached(maxAge: 30)"]
    # Not repeatable: one application per element, the first subgraph's on a tie.
    assert _applied(sdl, "Title", "name") == ["@cached(maxAge: 30)"]
    assert _applied(sdl, "Title", "stars") == ["@cached(maxAge: 10)"]
    assert "titles(region: String @cached(maxAge: 5))" in sdl
    assert "MOVIE @join__enumValue(graph: CATALOG) @cached(maxAge: 600)" in sdl


def test_compose_directive_stays_out_of_the_api_schema_as_in_apollo() -> None:
    api = load_supergraph(_sdl("compose_directive")).api_schema
    assert api.get_directive("cached") is None


def test_compose_cost_and_list_size_in_the_cost_spec_form() -> None:
    sdl = _sdl("cost_list_size")
    assert '@link(url: "https://specs.apollo.dev/cost/v0.1", import: ["@listSize"])' in sdl
    assert _applied(sdl, "Query", "titles") == [
        '@listSize(slicingArguments: ["first"], assumedSize: 20)',
        "@cost(weight: 4)",
    ]
    # Two subgraphs on one field: the highest weight, list sizes merged.
    assert _applied(sdl, "Title", "episodes") == [
        '@listSize(slicingArguments: ["first"], requireOneSlicingArgument: false, assumedSize: 12)',
        "@cost(weight: 6)",
    ]
    assert "episodes(first: Int @cost(weight: 1))" in sdl
    assert "enum Genre @join__type(graph: CATALOG) @cost(weight: 3)" in sdl
    assert "scalar Poster @join__type(graph: CATALOG) @cost(weight: 9)" in sdl


def test_compose_refuses_a_composed_directive_of_no_linked_spec() -> None:
    errors = compose(fixture_set("fail_compose_directive_unlinked")).errors
    assert [e.code for e in errors] == ["DIRECTIVE_COMPOSITION_ERROR"]
    assert "not a member of a core feature" in errors[0].message


def test_compose_refuses_a_carried_directive_imported_under_two_names() -> None:
    errors = compose(fixture_set("fail_cost_import_mismatch")).errors
    assert [e.code for e in errors] == ["LINK_IMPORT_NAME_MISMATCH"]
    assert '"@price" in subgraph "search"' in errors[0].message
