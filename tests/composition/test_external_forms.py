"""compose(): the Federation 1 forms Federation 2 still reads (fake externals on extension keys,
`@extends`), enums with hidden values, provides through interfaces, and what override keeps."""

from __future__ import annotations

from federation.composition import compose
from federation.supergraph.model import Supergraph, load_supergraph
from tests.composition.support import fixture_set


def _supergraph(name: str) -> Supergraph:
    result = compose(fixture_set(name))
    assert result.supergraph_sdl is not None, result.errors
    return load_supergraph(result.supergraph_sdl)


def test_compose_reads_external_keys_of_extensions_as_resolved() -> None:
    for name in ("extends_external_key", "extend_type_external_key"):
        member = _supergraph(name).types["Member"]
        assert member.fields["id"].resolvable_in == {"profiles", "watchlist"}, name
        assert member.fields["handle"].in_graphs["watchlist"].external, name
        assert member.in_graphs["watchlist"].extension is True, name
    title = _supergraph("external_key_extension_only").types["Title"]
    assert title.fields["id"].resolvable_in == {"catalog", "pricing"}


def test_compose_fed1_extension_keys_make_base_fields_shared() -> None:
    title = _supergraph("fed1_extension_composite_key").types["Title"]
    assert title.fields["name"].resolvable_in == {"catalog", "pricing"}
    assert title.fields["sku"].resolvable_in == {"pricing"}
    assert title.in_graphs["pricing"].extension is False  # Fed 1 `extend type` is a definition


def test_compose_rejects_a_provides_of_a_fake_external_key() -> None:
    result = compose(fixture_set("fail_provides_fake_external"))
    assert [e.code for e in result.errors] == ["PROVIDES_FIELDS_MISSING_EXTERNAL"]
    assert "Member.id" in result.errors[0].message


def test_compose_keeps_an_inaccessible_enum_value_used_both_ways() -> None:
    maturity = _supergraph("enum_inaccessible_value").types["Maturity"]
    assert maturity.enum_values["UNRATED"] == {"search"}
    assert maturity.enum_values["KIDS"] == {"catalog", "search"}


def test_compose_provides_through_an_interface_field() -> None:
    supergraph = _supergraph("provides_interface_field")
    collection = supergraph.types["Query"].fields["collection"]
    assert collection.in_graphs["curation"].provides is not None
    assert supergraph.types["Still"].fields["caption"].in_graphs["curation"].external


def test_compose_interface_without_implementations_needs_no_plan() -> None:
    asset = _supergraph("interface_object_not_resolvable").types["Asset"]
    assert asset.interface_object_in == {"shop"}
    assert asset.fields["tag"].resolvable_in == {"shop"}


def test_compose_override_of_an_external_source_and_of_an_interface_field() -> None:
    handle = _supergraph("override_from_external").types["Member"].fields["handle"]
    assert not handle.in_graphs["reviews"].used_overridden
    assert handle.in_graphs["reviews"].external
    added = _supergraph("override_interface_field").types["TitleCard"].fields["addedAt"]
    assert added.in_graphs["feed"].used_overridden  # it still implements Card.addedAt in feed


def test_compose_marks_extension_only_on_keys() -> None:
    credit = _supergraph("union_extension").types["Credit"]
    assert not any(t.extension for t in credit.in_graphs.values())
