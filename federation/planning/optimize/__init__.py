"""Passes over the planned fetch groups, one module each, run in order by `optimize`.

Each pass takes the groups (and what it needs of the supergraph) and returns the groups it
keeps; a pass may change the groups it keeps in place. One pass works on what a group becomes
instead: `duplicate_aliases` runs on each frozen FetchNode (emit.py), since it rewrites the
operation sent while the fetch still owes every key the client asked for.
"""

from __future__ import annotations

from collections.abc import Callable

from federation.planning.fetch_group import FetchGroup
from federation.planning.optimize.alias_conflicts import alias_conflicting_fields
from federation.planning.optimize.merge_siblings import merge_siblings
from federation.planning.plan import OperationKind
from federation.supergraph.model import Supergraph

__all__ = ["optimize"]

Pass = Callable[[list[FetchGroup], Supergraph, OperationKind], list[FetchGroup]]

PASSES: tuple[Pass, ...] = (
    # fewer requests: entity fetches to one subgraph at one path share a request
    lambda groups, _supergraph, _kind: merge_siblings(groups),
    # last, on the final selections: clashing response keys get internal aliases
    alias_conflicting_fields,
)


def optimize(
    groups: list[FetchGroup], supergraph: Supergraph, kind: OperationKind
) -> list[FetchGroup]:
    for run in PASSES:
        groups = run(groups, supergraph, kind)
    return groups
