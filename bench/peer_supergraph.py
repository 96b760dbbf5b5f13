"""The supergraph the peer gateways get: without the access-control specs they refuse.

The demo's supergraph links `authenticated` and `requiresScopes` `for: SECURITY` (README "Who is
calling"). @apollo/gateway refuses any supergraph with a SECURITY spec it does not implement
(those are Apollo Router features), so the peers get a copy without those links, their
directive definitions, their scalar and their applications. The benchmark's requests are made
by an anonymous caller and read no protected field, so the answers are the same; edgegraph keeps
the original and pays for its checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graphql import (
    ConstDirectiveNode,
    DirectiveDefinitionNode,
    ScalarTypeDefinitionNode,
    StringValueNode,
    Visitor,
    parse,
    print_ast,
    visit,
)
from graphql.language import REMOVE

__all__ = ["peer_supergraph"]

#: linked specs the peers do not implement, by their name in the spec URL
UNSUPPORTED_BY_PEERS = ("authenticated", "requiresScopes", "policy")


def peer_supergraph(path: Path) -> Path:
    """`path`, or a copy beside it without the specs the peers refuse (when it links any)."""
    sdl = path.read_text()
    if not any(f"specs.apollo.dev/{name}/" in sdl for name in UNSUPPORTED_BY_PEERS):
        return path
    stripped = print_ast(visit(parse(sdl), _Strip()))
    out = path.with_name(path.stem + ".peers.graphql")
    if not out.exists() or out.read_text() != stripped:
        out.write_text(stripped)
    return out


class _Strip(Visitor):
    def enter_directive(self, node: ConstDirectiveNode, *_args: Any) -> Any:
        name = node.name.value
        if name in UNSUPPORTED_BY_PEERS:
            return REMOVE
        if name == "link":
            for argument in node.arguments or ():
                value = argument.value
                if (
                    argument.name.value == "url"
                    and isinstance(value, StringValueNode)
                    and any(f"/{spec}/" in value.value for spec in UNSUPPORTED_BY_PEERS)
                ):
                    return REMOVE
        return None

    enter_const_directive = enter_directive

    def enter_directive_definition(self, node: DirectiveDefinitionNode, *_args: Any) -> Any:
        return REMOVE if node.name.value in UNSUPPORTED_BY_PEERS else None

    def enter_scalar_type_definition(self, node: ScalarTypeDefinitionNode, *_args: Any) -> Any:
        owner = node.name.value.split("__", 1)[0]
        return REMOVE if "__" in node.name.value and owner in UNSUPPORTED_BY_PEERS else None
