"""The peers' copy of the demo supergraph: the same API, without the specs they refuse."""

from __future__ import annotations

from pathlib import Path

from graphql import print_schema

from bench.peer_supergraph import peer_supergraph
from demo import demo_supergraph_sdl
from federation.supergraph.model import load_supergraph


def test_peer_copy_drops_only_the_access_specs(tmp_path: Path) -> None:
    original = tmp_path / "demo.graphql"
    original.write_text(demo_supergraph_sdl())
    copy = peer_supergraph(original)
    assert copy != original
    text = copy.read_text()
    for spec in ("authenticated", "requiresScopes"):
        assert f"specs.apollo.dev/{spec}/" in original.read_text()
        assert spec not in text
    # Clients see the same API through it; only the access rules are gone.
    ours, theirs = load_supergraph(original.read_text()), load_supergraph(text)
    assert print_schema(ours.api_schema) == print_schema(theirs.api_schema)
    assert ours.types.keys() == theirs.types.keys()


def test_a_supergraph_without_those_specs_is_used_as_it_is(tmp_path: Path) -> None:
    plain = tmp_path / "plain.graphql"
    guild = Path(__file__).resolve().parents[2] / "bench" / "guild" / "supergraph.graphql"
    plain.write_text(guild.read_text())
    assert peer_supergraph(plain) == plain
