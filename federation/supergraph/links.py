"""Which specs a supergraph links (`@link` / the older `@core`), and the local names they use.

A spec's elements are renamed in the SDL by `@link(as:)` and `import:`: the join spec linked with
`as: "join2"` defines `@join2__type` and `join2__Graph`. Everything else asks this module for the
local name of an element instead of assuming `join__`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DirectiveNode,
    DocumentNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    value_from_ast_untyped,
)

from federation.errors import SupergraphError

__all__ = ["SUPPORTED_FEATURES", "LinkedFeature", "check_feature_support", "parse_links"]

_VERSION = re.compile(r"^v\d+\.\d+$")


@dataclass(frozen=True, slots=True)
class LinkedFeature:
    """One `@link` (or `@core`) of the schema definition.

    `name` and `version` come from the URL (`https://specs.apollo.dev/join/v0.3` → `join`,
    `v0.3`); `alias` is the local prefix (`as:` or the name); `imports` maps an imported element
    (`@inaccessible`, `Type`) to its local name.
    """

    url: str
    name: str
    version: str
    alias: str
    purpose: str | None = None
    imports: Mapping[str, str] = field(default_factory=dict)

    @property
    def version_tuple(self) -> tuple[int, int]:
        major, minor = self.version[1:].split(".")
        return int(major), int(minor)

    def directive(self, element: str) -> str:
        """The local name (without `@`) of the spec's directive `element`."""
        imported = self.imports.get("@" + element)
        if imported is not None:
            return imported[1:]
        return self.alias if element == self.name else f"{self.alias}__{element}"

    def type_name(self, element: str) -> str:
        """The local name of the spec's type `element`."""
        return self.imports.get(element) or f"{self.alias}__{element}"

    def owns_directive(self, local_name: str) -> bool:
        return (
            local_name == self.alias
            or local_name.startswith(self.alias + "__")
            or "@" + local_name in self.imports.values()
        )

    def owns_type(self, local_name: str) -> bool:
        return local_name.startswith(self.alias + "__") or local_name in self.imports.values()


#: The linked specs edgegraph implements, by name and versions. A supergraph may link any other
#: spec for metadata; one linked `for: SECURITY` or `for: EXECUTION` changes who may read what
#: or how fields resolve, so a gateway that ignored it would serve wrong or unprotected data.
SUPPORTED_FEATURES: Mapping[str, frozenset[str]] = {
    "core": frozenset({"v0.1", "v0.2"}),
    "link": frozenset({"v1.0"}),
    "join": frozenset({"v0.1", "v0.2", "v0.3", "v0.4", "v0.5"}),
    "tag": frozenset({"v0.1", "v0.2", "v0.3"}),
    "inaccessible": frozenset({"v0.1", "v0.2"}),
    # enforced by federation/authorization.py
    "authenticated": frozenset({"v0.1"}),
    "requiresScopes": frozenset({"v0.1"}),
    "policy": frozenset({"v0.1"}),
    # @fromContext arguments: planned by federation/planning/contexts.py
    "context": frozenset({"v0.1"}),
}


def check_feature_support(links: Iterable[LinkedFeature]) -> None:
    """Refuse a supergraph that links a spec for SECURITY or EXECUTION which edgegraph does not
    implement, as the core/link spec requires of any consumer (Apollo Gateway refuses the same
    ones: `@authenticated`, `@requiresScopes`, `@policy`, `@context`, connectors, ...)."""
    for link in links:
        if link.purpose not in ("SECURITY", "EXECUTION"):
            continue
        if link.version in SUPPORTED_FEATURES.get(link.name, frozenset()):
            continue
        raise SupergraphError(
            f"schema: the supergraph links {link.url} for {link.purpose}, which edgegraph does "
            "not implement; serving it would ignore what that spec requires (access rules, "
            "or how fields resolve)"
        )


def parse_links(document: DocumentNode) -> tuple[LinkedFeature, ...]:
    """Read every `@link`/`@core` on the schema definition and extensions, in SDL order."""
    directives = [
        directive
        for definition in document.definitions
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode)
        for directive in definition.directives or ()
    ]
    bootstrap = _bootstrap_name(directives)
    if bootstrap is None:
        return ()
    return tuple(
        _feature(_arguments(directive))
        for directive in directives
        if directive.name.value == bootstrap
    )


def _bootstrap_name(directives: Iterable[DirectiveNode]) -> str | None:
    """The local name of the link directive itself: the one that links the link/core spec."""
    for directive in directives:
        arguments = _arguments(directive)
        url = arguments.get("url", arguments.get("feature"))
        if not isinstance(url, str):
            continue
        name, _ = _split_url(url)
        if name in ("link", "core") and directive.name.value == arguments.get("as", name):
            return directive.name.value
    return None


def _arguments(directive: DirectiveNode) -> dict[str, Any]:
    return {
        argument.name.value: value_from_ast_untyped(argument.value)
        for argument in directive.arguments or ()
    }


def _split_url(url: str) -> tuple[str, str]:
    parts = url.rstrip("/").split("/")
    if len(parts) < 2 or not _VERSION.match(parts[-1]) or not parts[-2]:
        raise SupergraphError(f"schema: @link url {url!r} does not end in <name>/v<major>.<minor>")
    return parts[-2], parts[-1]


def _feature(arguments: Mapping[str, Any]) -> LinkedFeature:
    url = arguments.get("url", arguments.get("feature"))
    if not isinstance(url, str):
        raise SupergraphError(f"schema: @link without a url: {dict(arguments)!r}")
    name, version = _split_url(url)
    alias = arguments.get("as") or name
    if not isinstance(alias, str):
        raise SupergraphError(f"schema: @link(url: {url!r}) has a non-string `as`")
    purpose = arguments.get("for")
    return LinkedFeature(
        url=url,
        name=name,
        version=version,
        alias=alias,
        purpose=purpose if isinstance(purpose, str) else None,
        imports=_imports(url, arguments.get("import") or []),
    )


def _imports(url: str, raw: Any) -> dict[str, str]:
    imports: dict[str, str] = {}
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, str):
            imports[item] = item
            continue
        name = item.get("name") if isinstance(item, dict) else None
        local = item.get("as", name) if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(local, str):
            raise SupergraphError(f"schema: @link(url: {url!r}) has a bad import {item!r}")
        if name.startswith("@") != local.startswith("@"):
            raise SupergraphError(
                f"schema: @link(url: {url!r}) imports {name} as {local}: "
                "a directive must be imported as a directive"
            )
        imports[name] = local
    return imports
