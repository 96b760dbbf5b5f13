"""compose(): the merge rules, the errors it collects and the supergraph it prints."""

from __future__ import annotations

import pytest
from graphql import print_schema

from federation.authorization import AccessRules
from federation.composition import CompositionResult, SubgraphSource, compose
from federation.supergraph.model import load_supergraph
from tests.composition.support import fixture_set

FED2 = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", '
    'import: ["@key", "@shareable", "@external", "@override", "@inaccessible", "@tag"])\n'
)


def _compose(**sdls: str) -> CompositionResult:
    return compose(
        [SubgraphSource(name, f"http://{name}/graphql", sdl) for name, sdl in sdls.items()]
    )


def _ok(result: CompositionResult) -> str:
    assert result.supergraph_sdl is not None, result.errors
    return result.supergraph_sdl


def test_compose_collects_every_error_with_subgraphs_and_coordinate() -> None:
    result = compose(fixture_set("fail_several_errors"))
    assert not result.ok
    found = {(e.code, e.coordinate, e.subgraphs) for e in result.errors}
    assert ("FIELD_TYPE_MISMATCH", "Book.pages", ("a", "b")) in found
    assert ("INVALID_FIELD_SHARING", "Book.title", ("a", "b")) in found


def test_compose_prints_join_v05_and_link_v10_that_the_engine_loads() -> None:
    sdl = _ok(compose(fixture_set("strawberry_style")))
    assert '@link(url: "https://specs.apollo.dev/link/v1.0")' in sdl
    assert '@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)' in sdl
    supergraph = load_supergraph(sdl)
    assert sorted(supergraph.graphs) == ["inventory", "products"]
    assert supergraph.graphs["inventory"].enum_value == "INVENTORY"
    assert supergraph.types["Product"].fields["weight"].resolvable_in == {"inventory", "products"}


def test_compose_reads_renamed_and_prefixed_federation_directives() -> None:
    sdl = _ok(compose(fixture_set("renamed_imports")))
    keys = {
        g: [k.fields for k in t.keys]
        for g, t in load_supergraph(sdl).types["Title"].in_graphs.items()
    }
    assert keys == {"catalog": ["id"], "search": ["id"]}
    prefixed = load_supergraph(_ok(compose(fixture_set("prefixed_names"))))
    assert [k.fields for k in prefixed.types["Film"].in_graphs["people"].keys] == ["id"]


def test_compose_upgrades_fed1_type_extensions() -> None:
    supergraph = load_supergraph(_ok(compose(fixture_set("fed1_extend_type"))))
    product = supergraph.types["Product"]
    assert product.in_graphs["reviews"].extension is False  # `extend type`: a definition in Fed 2
    assert product.fields["upc"].in_graphs == {}  # own key fields are not external
    assert product.fields["shippingEstimate"].in_graphs["inventory"].requires is not None
    dgs = load_supergraph(_ok(compose(fixture_set("dgs_style"))))
    assert dgs.types["Show"].in_graphs["reviews"].extension is True  # `@extends` stays


def test_compose_widens_output_types_and_hints() -> None:
    result = compose(fixture_set("compatible_field_types"))
    supergraph = load_supergraph(_ok(result))
    title = supergraph.types["Book"].fields["title"]
    assert title.type == "String"
    assert {g: f.type for g, f in title.in_graphs.items()} == {"a": "String!", "b": "String"}
    assert "INCONSISTENT_BUT_COMPATIBLE_FIELD_TYPE" in {h.code for h in result.hints}


def test_compose_merges_enums_by_usage() -> None:
    output = load_supergraph(_ok(compose(fixture_set("enum_output_union"))))
    assert set(output.types["Color"].enum_values) == {"RED", "GREEN", "BLUE"}
    input_only = load_supergraph(_ok(compose(fixture_set("enum_input_intersection"))))
    assert set(input_only.types["Sort"].enum_values) == {"ASC", "DESC"}


def test_compose_intersects_input_fields_and_arguments() -> None:
    filters = load_supergraph(_ok(compose(fixture_set("input_intersection"))))
    assert set(filters.api_schema.get_type("Filter").fields) == {"name", "limit"}  # type: ignore[union-attr]
    args = load_supergraph(_ok(compose(fixture_set("argument_intersection"))))
    item = args.api_schema.get_type("Item")
    assert set(item.fields["label"].args) == {"locale"}  # type: ignore[union-attr]


def test_compose_unions_members_per_graph() -> None:
    media = load_supergraph(_ok(compose(fixture_set("union_members")))).types["Media"]
    assert media.members == {"a": {"Song"}, "b": {"Song", "Podcast"}}


def test_compose_override_takes_the_field_and_keeps_used_keys() -> None:
    supergraph = load_supergraph(_ok(compose(fixture_set("override_key_field"))))
    fields = supergraph.types["P"].fields
    assert fields["id"].resolvable_in == {"new"}
    assert fields["id"].in_graphs["old"].used_overridden  # still one of old's keys
    assert fields["id"].in_graphs["new"].override == "old"
    progressive = load_supergraph(_ok(compose(fixture_set("override_progressive"))))
    price = progressive.types["Product"].fields["price"]
    assert price.in_graphs["modern"].override_label == "percent(25)"
    assert "legacy" not in progressive.types["Product"].fields["name"].in_graphs


def test_compose_spreads_inaccessible_and_keeps_tags() -> None:
    sdl = _ok(compose(fixture_set("inaccessible_spread")))
    supergraph = load_supergraph(sdl)
    api = print_schema(supergraph.api_schema)
    assert "secret" not in api and "USER" not in api and "GUEST" in api
    assert '@tag(name: "beta")' in sdl


def test_compose_keeps_most_common_description_and_deprecation() -> None:
    api = load_supergraph(_ok(compose(fixture_set("descriptions_deprecations")))).api_schema
    movie = api.get_type("Movie")
    assert movie.description == "A movie."  # type: ignore[union-attr]
    assert movie.fields["title"].description == "The title."  # type: ignore[union-attr]
    assert movie.fields["rating"].deprecation_reason == "Use score"  # type: ignore[union-attr]


def test_compose_interface_object_fields_reach_implementations() -> None:
    supergraph = load_supergraph(_ok(compose(fixture_set("interface_object"))))
    account = supergraph.types["Account"]
    assert account.interface_object_in == {"billing"}
    assert "balance" in supergraph.types["Business"].fields


def test_compose_satisfiability_error_names_the_path() -> None:
    result = compose(fixture_set("fail_satisfiability_unresolvable_key"))
    (error,) = result.errors
    assert (error.code, error.coordinate) == ("SATISFIABILITY_ERROR", "User.karma")
    assert "{\n  me {\n    karma\n  }\n}" in error.message
    assert set(error.subgraphs) == {"a", "b"}


def test_compose_rejects_no_subgraphs_and_duplicate_names() -> None:
    assert [e.code for e in compose([]).errors] == ["NO_SUBGRAPHS"]
    twice = [SubgraphSource("a", "http://a", "type Query { a: Int }")] * 2
    assert "INVALID_SUBGRAPH_NAME" in [e.code for e in compose(twice).errors]


def test_compose_reports_every_unparsable_subgraph() -> None:
    result = _compose(a="type Query {", b="type Query { b: Int", c="type Query { c: Int }")
    assert [(e.code, e.subgraphs) for e in result.errors] == [
        ("INVALID_GRAPHQL", ("a",)),
        ("INVALID_GRAPHQL", ("b",)),
    ]


def test_compose_is_deterministic() -> None:
    sets = fixture_set("requires_provides")
    assert compose(sets).supergraph_sdl == compose(list(sets)).supergraph_sdl


@pytest.mark.parametrize(
    ("imports", "applied", "directive"),
    [
        ('"@authenticated"', "me: String @authenticated", "authenticated"),
        ('"@requiresScopes"', 'me: String @requiresScopes(scopes: [["me"]])', "requiresScopes"),
        ('"@policy"', 'me: String @policy(policies: [["owner"]])', "policy"),
        ('{ name: "@authenticated", as: "@signedIn" }', "me: String @signedIn", "authenticated"),
    ],
)
def test_compose_carries_access_rules_under_any_local_name(
    imports: str, applied: str, directive: str
) -> None:
    # Composed without them, the fields would be served to anyone: they reach the supergraph
    # under their spec names, linked for SECURITY, whatever the subgraph calls them.
    secured = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", '
        f'import: ["@key", {imports}])\n'
        f"type Query {{ {applied} }}\n"
    )
    result = _compose(secured=secured, other=FED2 + "type Query { other: String }\n")
    assert result.ok, result.errors
    assert result.supergraph_sdl is not None
    assert f'@link(url: "https://specs.apollo.dev/{directive}/v0.1", for: SECURITY)' in (
        result.supergraph_sdl
    )
    rules = AccessRules.from_supergraph(load_supergraph(result.supergraph_sdl))
    assert ("Query", "me") in rules.fields


def test_compose_accepts_a_subgraph_that_only_imports_what_it_does_not_apply() -> None:
    unused = (
        'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", '
        'import: ["@key", "@authenticated"])\n'
        "type Query { open: String }\n"
    )
    assert _ok(_compose(unused=unused))
