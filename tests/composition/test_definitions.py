"""A subgraph's own definitions of federation directives: compatible ones compose, others are
DIRECTIVE_DEFINITION_INVALID worded as Apollo words them."""

from __future__ import annotations

from federation.composition import compose
from tests.composition.support import fixture_set


def test_definitions_report_the_first_disagreement_as_apollo_does() -> None:
    expected = {
        "fail_directive_definition_key": 'Invalid definition for directive "@key": argument '
        '"fields" should have type "federation__FieldSet!" but found type "Int"',
        "fail_directive_definition_default": 'Invalid definition for directive "@key": argument '
        '"resolvable" should have default value true but found default value null',
        "fail_directive_definition_version": 'Invalid definition for directive "@override": '
        'unknown/unsupported argument "label"',
        "fail_directive_definition_locations": '"@shareable" should have locations OBJECT, '
        "FIELD_DEFINITION, but found (non-subset) INTERFACE",
    }
    for name, ending in expected.items():
        errors = compose(fixture_set(name)).errors
        assert errors[0].code == "DIRECTIVE_DEFINITION_INVALID", (name, errors)
        assert errors[0].message.endswith(ending), (name, errors[0].message)


def test_definitions_accept_built_in_scalars_for_spec_scalars_and_fewer_locations() -> None:
    for name in ("directive_definition_compatible", "directive_definition_string_field_set"):
        assert compose(fixture_set(name)).ok, name


def test_definitions_unknown_import_says_what_apollo_suggests() -> None:
    errors = compose(fixture_set("fail_link_import_unknown")).errors
    assert [e.code for e in errors] == ["INVALID_LINK_DIRECTIVE_USAGE"]
    assert errors[0].message == (
        '[a] Cannot import unknown element "@requiresScopes". Did you mean "@requires"?'
    )
    # @context is federation 2.8's: a 2.5 link cannot import it.
    codes = {e.code for e in compose(fixture_set("fail_context_before_federation_2_8")).errors}
    assert codes == {"INVALID_LINK_DIRECTIVE_USAGE"}
