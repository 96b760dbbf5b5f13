"""`@context` / `@fromContext`: what the supergraph says, and what composition refuses."""

from __future__ import annotations

from federation.composition import compose
from federation.composition.context import parse_context
from federation.supergraph.model import ContextArgument, load_supergraph
from tests.composition.support import federation_sources, fixture_set


def test_parse_context_keeps_the_selection_as_written() -> None:
    assert parse_context("$shop { currency }") == ("shop", " { currency }")
    assert parse_context("  $seller ... on Shop { c }") == ("seller", " ... on Shop { c }")
    assert parse_context("{ currency }") == (None, None)


def test_context_supergraph_names_contexts_by_subgraph_and_drops_the_argument() -> None:
    result = compose(federation_sources("context"))
    assert result.supergraph_sdl is not None, result.errors
    sdl = result.supergraph_sdl
    assert '@link(url: "https://specs.apollo.dev/context/v0.1", for: SECURITY)' in sdl
    assert "scalar context__ContextFieldValue" in sdl
    supergraph = load_supergraph(sdl)
    assert supergraph.types["Store"].contexts == ("stores__shop", "stores__till")
    price = supergraph.types["Product"].fields["price"]
    assert price.in_graphs["stores"].context_arguments == (
        ContextArgument(
            name="currency", type="String", context="stores__shop", selection=" { currency }"
        ),
    )
    # The client never passes it: the API schema has no argument.
    assert not supergraph.api_schema.get_type("Product").fields["price"].args  # type: ignore[union-attr]


def test_context_arguments_print_on_one_line_as_apollo_prints_them() -> None:
    sdl = compose(fixture_set("context_single_type")).supergraph_sdl
    assert sdl is not None
    assert (
        'price: Int! @join__field(graph: SHOP, contextArguments: [{context: "shop__shop", '
        'name: "currency", type: "String", selection: " { currency }"}])'
    ) in sdl


def test_context_external_selection_field_is_used() -> None:
    # `taxRate` is @external in shop and read by the selection only: not EXTERNAL_UNUSED.
    assert compose(fixture_set("context_external_selection")).ok


def test_context_unreachable_without_an_ancestor_says_so_per_subgraph() -> None:
    errors = compose(fixture_set("fail_context_unreachable")).errors
    assert [e.code for e in errors] == ["SATISFIABILITY_ERROR"]
    # Apollo's example query gives every argument a sample value.
    assert '  product(id: "<any id>") {\n    price\n' in errors[0].message
    assert errors[0].message.endswith(
        '- from subgraph "catalog": cannot find field "Product.price".\n'
        '- from subgraph "shop": could not find a match for required context for field '
        '"Product.price".'
    )


def test_context_checks_report_apollos_codes_and_words() -> None:
    cases = {
        "fail_context_name_invalid": 'Context name "my_shop" may not contain an underscore.',
        "fail_context_type_condition_unused": 'type condition "Market" is never used.',
        "fail_context_selection_type": 'the type of the selection "String" does not match the '
        'expected type "Int"',
        "fail_no_context_in_selection": '@fromContext argument does not reference a context "{ '
        'currency }".',
    }
    for name, ending in cases.items():
        errors = compose(fixture_set(name)).errors
        assert errors[0].message.endswith(ending), (name, errors)


def test_contextual_argument_must_be_optional_where_it_is_not_contextual() -> None:
    errors = compose(fixture_set("fail_contextual_argument_not_contextual")).errors
    assert [(e.code, e.coordinate) for e in errors] == [
        ("CONTEXTUAL_ARGUMENT_NOT_CONTEXTUAL_IN_ALL_SUBGRAPHS", "Product.price(currency:)")
    ]


def test_context_through_an_interface_fails_on_the_implementation_that_sets_none() -> None:
    # As Apollo walks it: `places { products }` goes down to each implementation, and only
    # `... on Kiosk` (which sets no context) cannot fill `price`.
    errors = compose(fixture_set("fail_context_interface_implementation_unset")).errors
    assert len(errors) == 1
    assert "  places {\n    ... on Kiosk {\n      products {\n        price\n" in errors[0].message


def test_context_field_must_demand_the_access_rules_of_what_it_reads() -> None:
    errors = compose(fixture_set("fail_context_transitive_auth_field")).errors
    assert [(e.code, e.coordinate) for e in errors] == [
        ("MISSING_TRANSITIVE_AUTH_REQUIREMENTS", "Product.price")
    ]
    assert errors[0].message.endswith(
        'the transitive field "Shop.currency" data from @fromContext selection set.'
    )
    assert compose(fixture_set("context_auth_covered")).ok
