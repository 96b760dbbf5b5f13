"""Composition test helpers: fixture sets, Apollo in one batch, and supergraph normal forms."""

from __future__ import annotations

import functools
import importlib
import json
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from graphql import (
    ConstDirectiveNode,
    DirectiveDefinitionNode,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    lexicographic_sort_schema,
    parse,
    print_ast,
    print_schema,
)

import demo
from federation.composition import SubgraphSource
from federation.composition.cli import service_sdl
from federation.supergraph.model import Supergraph, load_supergraph
from tests.fixtures.federation import cases as fixture_cases
from tests.peers_support import _peers_env, _tool, ensure_peers_installed

REPO_ROOT = Path(__file__).resolve().parents[2]
SETS_DIR = REPO_ROOT / "tests" / "fixtures" / "composition"

__all__ = [
    "apollo_compose_many",
    "composition_sets",
    "demo_sources",
    "expected_failure",
    "federation_sources",
    "fixture_set",
    "interop_sets",
    "normal_form",
]


def composition_sets() -> list[str]:
    """Every fixture set under tests/fixtures/composition (one directory each)."""
    return sorted(p.name for p in SETS_DIR.iterdir() if p.is_dir() and any(p.glob("*.graphql")))


def fixture_set(name: str) -> list[SubgraphSource]:
    """The subgraphs of one set: one `<subgraph>.graphql` each, URL `http://<subgraph>/graphql`."""
    return [
        SubgraphSource(name=p.stem, url=f"http://{p.stem}/graphql", sdl=p.read_text())
        for p in sorted((SETS_DIR / name).glob("*.graphql"))
    ]


def expected_failure(name: str) -> str | None:
    """The error code a set must fail with (its `EXPECT` file), or None if it must compose."""
    path = SETS_DIR / name / "EXPECT"
    return path.read_text().strip() if path.exists() else None


def federation_sources(feature: str) -> list[SubgraphSource]:
    """A `tests/fixtures/federation` feature's subgraphs, SDL from their `_service { sdl }`."""
    module = importlib.import_module(f"tests.fixtures.federation.{feature}.subgraphs")
    return [
        SubgraphSource(name=name, url=f"http://{name}/graphql", sdl=service_sdl(schema))
        for name, schema in module.SUBGRAPHS.items()
    ]


def demo_sources() -> list[SubgraphSource]:
    """The demo domain's four subgraphs, SDL from their strawberry schemas."""
    return [
        SubgraphSource(
            name=name,
            url=f"http://127.0.0.1:{4001 + index}/graphql",
            sdl=service_sdl(importlib.import_module(f"schema.{name}").schema),
        )
        for index, name in enumerate(demo.SUBGRAPHS)
    ]


def interop_sets() -> dict[str, list[SubgraphSource]]:
    """Every set compared with Apollo: the composition sets, `fed-<feature>`, and `demo`."""
    sets = {name: fixture_set(name) for name in composition_sets()}
    for feature in fixture_cases.features():
        sets[f"fed-{feature}"] = federation_sources(feature)
    sets["demo"] = demo_sources()
    return sets


def apollo_compose_many(sets: Mapping[str, list[SubgraphSource]]) -> dict[str, dict[str, Any]]:
    """Apollo's composition of many sets in one node process (`peers/compose_many.mjs`)."""
    return dict(_apollo_cached(json.dumps(
        {k: [{"name": s.name, "url": s.url, "sdl": s.sdl} for s in v] for k, v in sets.items()},
        sort_keys=True,
    )))  # fmt: skip


@functools.lru_cache(maxsize=4)
def _apollo_cached(payload: str) -> Mapping[str, dict[str, Any]]:
    peers_dir = ensure_peers_installed()
    proc = subprocess.run(
        [_tool("node"), str(peers_dir / "compose_many.mjs")],
        input=payload,
        cwd=peers_dir,
        env=_peers_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"compose_many.mjs crashed: {proc.stderr}")
    out: dict[str, dict[str, Any]] = json.loads(proc.stdout)
    return out


def _selection(node: Any) -> str | None:
    return None if node is None else " ".join(print_ast(node).split())


def normal_form(sdl: str) -> dict[str, Any]:
    """A supergraph as comparable data: its sorted API schema and sorted join metadata."""
    supergraph: Supergraph = load_supergraph(sdl)
    types: dict[str, Any] = {}
    for name, meta in sorted(supergraph.types.items()):
        types[name] = {
            "kind": meta.kind,
            "in_graphs": sorted(
                (
                    g,
                    sorted((" ".join(k.fields.split()), k.resolvable) for k in t.keys),
                    t.extension,
                    t.is_interface_object,
                )
                for g, t in meta.in_graphs.items()
            ),
            "fields": {
                fname: {
                    "type": f.type,
                    "resolvable_in": sorted(f.resolvable_in),
                    "in_graphs": sorted(
                        (
                            g,
                            _selection(j.requires),
                            _selection(j.provides),
                            j.external,
                            j.override,
                            j.used_overridden,
                            j.type,
                            j.override_label,
                            tuple(
                                (c.context, c.name, c.type, c.selection)
                                for c in j.context_arguments
                            ),
                        )
                        for g, j in f.in_graphs.items()
                    ),
                    "inaccessible": f.inaccessible,
                }
                for fname, f in sorted(meta.fields.items())
            },
            "implements": {g: sorted(i) for g, i in sorted(meta.implements.items())},
            "members": {g: sorted(m) for g, m in sorted(meta.members.items())},
            "enum_values": {v: sorted(g) for v, g in sorted(meta.enum_values.items())},
            "inaccessible": meta.inaccessible,
            "contexts": sorted(meta.contexts),
        }
    return {
        "carried": _carried(sdl),
        "graphs": sorted((g.name, g.enum_value, g.url) for g in supergraph.graphs.values()),
        "roots": dict(sorted(supergraph.root_types.items())),
        "api_schema": print_schema(lexicographic_sort_schema(supergraph.api_schema)),
        "types": types,
    }


#: directives every supergraph has, compared through the records above instead
_PLUMBING = frozenset({"link", "tag", "inaccessible", "deprecated", "specifiedBy", "oneOf", "core"})


#: specs whose versions follow the subgraphs' federation version in Apollo's output
_CORE_SPECS = tuple(
    f"https://specs.apollo.dev/{spec}/" for spec in ("link", "join", "inaccessible", "tag")
)


def _printed(directive: ConstDirectiveNode) -> str:
    args = sorted(f"{a.name.value}: {print_ast(a.value)}" for a in directive.arguments or ())
    return f"@{directive.name.value}({', '.join(args)})"


def _carried(sdl: str) -> dict[str, Any]:
    """The other directives a supergraph carries (`@composeDirective`d ones, `@cost`, ...):
    their links, definitions and applications by coordinate, argument order aside."""
    document = parse(sdl, no_location=True)
    applied: dict[str, list[str]] = {}
    links: list[str] = []
    definitions: list[str] = []

    def keep(coordinate: str, directives: Any) -> None:
        for d in directives or ():
            name = d.name.value
            if name not in _PLUMBING and not name.startswith("join__"):
                applied.setdefault(coordinate, []).append(_printed(d))

    for node in document.definitions:
        if isinstance(node, SchemaDefinitionNode):
            links += [
                _printed(d)
                for d in node.directives or ()
                if d.name.value == "link" and not any(s in print_ast(d) for s in _CORE_SPECS)
            ]
        elif isinstance(node, DirectiveDefinitionNode):
            if not node.name.value.startswith(("join__", "link")):
                definitions.append(print_ast(node))
        elif isinstance(node, TypeDefinitionNode):
            keep(node.name.value, node.directives)
            for child in getattr(node, "fields", None) or getattr(node, "values", None) or ():
                keep(f"{node.name.value}.{child.name.value}", child.directives)
                for arg in getattr(child, "arguments", None) or ():
                    keep(f"{node.name.value}.{child.name.value}({arg.name.value}:)", arg.directives)
    return {
        "links": sorted(links),
        "definitions": sorted(definitions),
        "applied": {c: sorted(v) for c, v in sorted(applied.items())},
    }
