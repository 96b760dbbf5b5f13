"""Registered operations as persisted-operation manifests, for gateways that safelist.

Each named operation of a registered document becomes one entry of Apollo's persisted query
manifest format, its id the sha256 of the operation followed by the fragments it uses, printed
canonically: the ids `edgegraph manifest` gives a device build (edge/persisted.py), so a
device sends the same id whether its operations came from a folder or from the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from edge.persisted import canonical_body, operation_id

from .store import Operation

__all__ = ["manifests"]


def _entries(body: str) -> list[dict[str, str]]:
    document = parse(body)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    entries = []
    for definition in document.definitions:
        # Safelisted operations are named: an anonymous one could not be told apart in a log.
        if not isinstance(definition, OperationDefinitionNode) or definition.name is None:
            continue
        printed = canonical_body(definition, fragments)
        entries.append(
            {
                "id": operation_id(printed),
                "name": definition.name.value,
                "type": definition.operation.value,
                "body": printed,
            }
        )
    return entries


def manifests(operations: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    """One manifest per client, from every version of its registered operations."""
    by_client: dict[str, dict[str, dict[str, str]]] = {}
    for op in operations:
        for entry in _entries(op.body):
            by_client.setdefault(op.client, {})[entry["id"]] = entry
    return {
        client: {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": sorted(entries.values(), key=lambda e: (e["name"], e["id"])),
        }
        for client, entries in sorted(by_client.items())
    }
