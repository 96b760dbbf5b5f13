"""@authenticated, @requiresScopes and @policy composed into the supergraph as Apollo does:
the same specs linked for SECURITY, and the same rules on the same elements (a field's scopes
from two subgraphs ANDed)."""

from __future__ import annotations

from pathlib import Path

from federation.authorization import AccessRules, Requirement
from federation.composition import compose
from federation.supergraph.model import load_supergraph
from tests.composition.support import fixture_set

APOLLO = Path(__file__).parents[1] / "fixtures" / "supergraphs" / "auth_directives_merged.graphql"


def test_compose_auth_directives_gives_apollo_s_rules() -> None:
    result = compose(fixture_set("auth_directives"))
    assert result.ok, result.errors
    assert result.supergraph_sdl is not None
    ours = load_supergraph(result.supergraph_sdl)
    apollo = load_supergraph(APOLLO.read_text())
    assert {(link.url, link.purpose) for link in ours.links if link.purpose == "SECURITY"} == {
        (link.url, link.purpose) for link in apollo.links if link.purpose == "SECURITY"
    }
    rules = AccessRules.from_supergraph(ours)
    assert rules == AccessRules.from_supergraph(apollo)
    assert rules.fields[("Product", "cost")] == Requirement(
        scopes=(frozenset({"audit", "finance"}),)
    )
    # The API schema shows no trace of them: rules are the gateway's business.
    assert "requiresScopes" not in str(ours.api_schema.directives)


def test_compose_auth_directives_without_them_links_nothing_more() -> None:
    result = compose(fixture_set("compatible_field_types"))
    assert result.ok and result.supergraph_sdl is not None
    assert "specs.apollo.dev/authenticated" not in result.supergraph_sdl
