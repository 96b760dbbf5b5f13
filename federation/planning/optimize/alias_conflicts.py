"""Aliases for fields that cannot share a response key inside one subgraph operation.

Two inline fragments of one selection may ask for the same response key with types that differ
in the subgraph: `... on User { id }` and `... on Admin { id }` where `User.id` is `ID!` and
`Admin.id` is `ID` there. The supergraph may agree on one type, but the subgraph validates the
fetch against its own schema and rejects it ("fields conflict"). Such fields get an internal
alias in the fetch, and the fetch carries an `OutputRename` that restores the client's key on
the subgraph's answer before it is merged (Apollo's `addAliasesForNonMergingFields`).
"""

from __future__ import annotations

from federation.planning.fetch_group import FetchGroup, SubField, SubFragment, SubSelectionSet
from federation.planning.plan import OperationKind, OutputRename
from federation.supergraph.model import Supergraph

__all__ = ["alias_conflicting_fields"]


def alias_conflicting_fields(
    groups: list[FetchGroup], supergraph: Supergraph, kind: OperationKind
) -> list[FetchGroup]:
    """Alias, in place, fields whose response keys clash in each group's operation."""
    for group in groups:
        renames: list[OutputRename] = []
        if group.is_entity:
            for item in group.selection.items.values():
                if isinstance(item, SubFragment):
                    _walk(supergraph, group.graph, item.children, item.type_condition, (), renames)
        else:
            root = supergraph.root_types.get(kind)
            if root is not None:
                _walk(supergraph, group.graph, group.selection, root, (), renames)
        # Children first: a nested rename's path still uses its parent's aliased key.
        group.output_renames = tuple(reversed(renames))
    return groups


def _walk(
    supergraph: Supergraph,
    graph: str,
    selection: SubSelectionSet,
    type_name: str,
    path: tuple[str, ...],
    renames: list[OutputRename],
) -> None:
    _walk_merged(supergraph, graph, [(selection, type_name)], path, renames)


def _walk_merged(
    supergraph: Supergraph,
    graph: str,
    branches: list[tuple[SubSelectionSet, str]],
    path: tuple[str, ...],
    renames: list[OutputRename],
) -> None:
    """Alias clashing fields among selections that meet at one response path.

    Validation merges the subselections of fields that share a response key, even under
    different parents (`... on A { f { x } } ... on B { f { x } }`): their `x`s must agree, so
    the children of same-key fields are checked together, one level at a time.
    """
    # Every field at this path, with the type it sits under and its type in this subgraph.
    seen: dict[str, list[str]] = {}
    entries: list[tuple[SubField, str, str]] = []
    for selection, type_name in branches:
        for condition, field in _fields(selection, None):
            parent = condition or type_name
            entries.append((field, parent, _field_type(supergraph, parent, field.name, graph)))
    for field, parent, typed in entries:
        key = field.alias or field.name
        types = seen.setdefault(key, [])
        index = next(
            (i for i, other in enumerate(types) if not _conflict(supergraph, typed, other)), None
        )
        if index is None:
            index = len(types)
            types.append(typed)
        if index > 0:
            alias = f"{key}__eg_alias_{index - 1}"
            renames.append(OutputRename(path, parent, alias, key))
            field.alias = alias
    children: dict[str, list[tuple[SubSelectionSet, str]]] = {}
    for field, _parent, typed in entries:
        if field.children.items:
            key = field.alias or field.name
            children.setdefault(key, []).append((field.children, typed.strip("[]!")))
    for key, nested in children.items():
        _walk_merged(supergraph, graph, nested, (*path, key), renames)


def _fields(selection: SubSelectionSet, condition: str | None) -> list[tuple[str | None, SubField]]:
    out: list[tuple[str | None, SubField]] = []
    for item in selection.items.values():
        if isinstance(item, SubField):
            out.append((condition, item))
        else:
            out += _fields(item.children, item.type_condition)
    return out


def _conflict(supergraph: Supergraph, one: str, other: str) -> bool:
    """Whether two field types cannot share a response key (graphql-core's rule): list and
    non-null wrappers must match, and leaf types must be the same; object types may differ."""
    while one and other:
        if one.endswith("!") != other.endswith("!"):
            return True
        one, other = one.rstrip("!"), other.rstrip("!")
        if one.startswith("[") != other.startswith("["):
            return True
        if not one.startswith("["):
            break
        one, other = one[1:-1], other[1:-1]
    leaf = {"SCALAR", "ENUM"}
    kinds = {
        name: (supergraph.types[name].kind if name in supergraph.types else "SCALAR")
        for name in (one, other)
    }
    if kinds[one] in leaf or kinds[other] in leaf:
        return one != other
    return False


def _field_type(supergraph: Supergraph, parent: str, field: str, graph: str) -> str:
    """The field's type as the subgraph declares it (`@join__field(type:)` narrows it)."""
    if field == "__typename":
        return "String!"
    meta = supergraph.field(parent, field)
    if meta is None:
        return "?"
    in_graph = meta.in_graphs.get(graph)
    if in_graph is not None and in_graph.type is not None:
        return in_graph.type
    return meta.type
