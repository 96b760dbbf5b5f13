"""The small rules the merge applies: type compatibility, picking descriptions, enum usage,
and the fields an `@interfaceObject` adds to the implementations of its interface."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TypedDict

from graphql import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode, print_ast

from .merged import JoinField, MergedField, MergedType
from .model import FieldDef, Subgraph, TypeDef, named_type

__all__ = [
    "enum_usage",
    "external_type_mismatch",
    "named_list",
    "pick_description",
    "quoted_names",
    "spread_interface_objects",
    "subgraph_list",
    "subtype",
    "type_listing",
    "union_tags",
]


def subtype(subgraphs: Sequence[Subgraph], a: TypeNode, b: TypeNode) -> bool:
    """Whether a value of type `a` may stand where `b` is expected (output covariance)."""
    if isinstance(b, NonNullTypeNode):
        return isinstance(a, NonNullTypeNode) and subtype(subgraphs, a.type, b.type)
    if isinstance(a, NonNullTypeNode):
        return subtype(subgraphs, a.type, b)
    if isinstance(a, ListTypeNode) or isinstance(b, ListTypeNode):
        return (
            isinstance(a, ListTypeNode)
            and isinstance(b, ListTypeNode)
            and subtype(subgraphs, a.type, b.type)
        )
    if not isinstance(a, NamedTypeNode) or not isinstance(b, NamedTypeNode):
        return False
    if a.name.value == b.name.value:
        return True
    sub, sup = a.name.value, b.name.value
    for subgraph in subgraphs:
        sub_def, sup_def = subgraph.types.get(sub), subgraph.types.get(sup)
        if sub_def is not None and sup in sub_def.interfaces:
            return True
        if sup_def is not None and sub in sup_def.members:
            return True
    return False


def spread_interface_objects(types: dict[str, MergedType]) -> None:
    """Fields an `@interfaceObject` adds to an interface are fields of its implementations."""
    for iface in [t for t in types.values() if t.kind == "INTERFACE"]:
        object_graphs = {j.graph for j in iface.joins if j.is_interface_object}
        if not object_graphs:
            continue
        added = [
            f
            for f in iface.fields.values()
            if set(f.resolved_in) | set(f.external_in) <= object_graphs
        ]
        for impl in [t for t in types.values() if iface.name in t.interfaces]:
            for fdef in added:
                if fdef.name not in impl.fields:
                    impl.fields[fdef.name] = MergedField(
                        name=fdef.name,
                        type=fdef.type,
                        args=fdef.args,
                        description=fdef.description,
                        deprecated=fdef.deprecated,
                        inaccessible=fdef.inaccessible,
                        tags=fdef.tags,
                        resolved_in=(),
                        external_in=(),
                        joins=(JoinField(graph=None),),
                    )


def enum_usage(name: str, types: dict[str, MergedType]) -> tuple[bool, bool]:
    """Whether an enum appears in input positions, and in output positions."""
    as_input = as_output = False
    for tdef in types.values():
        for fdef in tdef.fields.values():
            as_output |= named_type(fdef.type) == name
            as_input |= any(named_type(a.type) == name for a in fdef.args)
        as_input |= any(named_type(f.type) == name for f in tdef.input_fields.values())
    return as_input, as_output


class SharedFacts(TypedDict):
    """What a merged type of any kind takes alike from its subgraphs' definitions."""

    description: str | None
    inaccessible: bool
    tags: tuple[str, ...]


def shared_facts(sources: Sequence[tuple[str, TypeDef]]) -> SharedFacts:
    """The first description, `@inaccessible` in any subgraph, every `@tag`."""
    return SharedFacts(
        description=pick_description([t.description for _g, t in sources]),
        inaccessible=any(t.inaccessible for _g, t in sources),
        tags=union_tags(t.tags for _g, t in sources),
    )


def pick_description(descriptions: Sequence[str | None]) -> str | None:
    """The most common description; a tie goes to the first subgraph that has it."""
    counts = Counter(d for d in descriptions if d)
    if not counts:
        return None
    best = max(counts.values())
    return next(d for d in descriptions if d and counts[d] == best)


def union_tags(groups: Iterable[Iterable[str]]) -> tuple[str, ...]:
    """Every tag of every source, once, in order."""
    return tuple(dict.fromkeys(tag for group in groups for tag in group))


def quoted_names(graphs: Iterable[str]) -> str:
    """`"a"`, `"a" and "b"`, `"a", "b" and "c"`."""
    listed = [f'"{g}"' for g in graphs]
    return listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]


def type_listing(defs: Sequence[tuple[str, FieldDef]]) -> str:
    """`type "Int" in subgraph "a" but type "String" in subgraph "b"`."""
    by_type: dict[str, list[str]] = {}
    for graph, fdef in defs:
        by_type.setdefault(fdef.type_str, []).append(graph)
    parts = [
        f'type "{t}" in subgraph{"s" if len(g) > 1 else ""} {quoted_names(g)}'
        for t, g in by_type.items()
    ]
    return " but ".join(parts)


def subgraph_list(graphs: Sequence[str]) -> str:
    """`subgraph "a"`, `subgraphs "a" and "b"`, as Apollo names them in messages."""
    return ("subgraph " if len(graphs) == 1 else "subgraphs ") + quoted_names(graphs)


def named_list(labels: Sequence[str]) -> str:
    """`subgraph_list` for labels already quoted (`"b" (through @interfaceObject field ...)`)."""
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return ("subgraph " if len(labels) == 1 else "subgraphs ") + listed


def external_type_mismatch(
    subgraphs: Sequence[Subgraph],
    defs: Sequence[tuple[str, FieldDef]],
    external: Sequence[tuple[str, FieldDef]],
    merged_type: TypeNode,
) -> str | None:
    """The types by subgraph when an @external field's type is neither the supergraph field's
    nor (where subgraphs disagree) a strict subtype of it; None when all are fine: what the
    subgraph expects to receive must be what it gets."""
    # As Apollo merges it: "the types agree" is asked of the resolving subgraphs only.
    resolving = [f for _g, f in defs if not f.external] or [f for _g, f in defs]
    all_equal = len({f.type_str for f in resolving}) == 1
    merged = print_ast(merged_type)
    if all(
        f.type_str == merged or (not all_equal and subtype(subgraphs, f.type, merged_type))
        for _g, f in external
    ):
        return None
    by_type: dict[str, list[str]] = {merged: []}
    for graph, fdef in defs:
        by_type.setdefault(fdef.type_str, []).append(graph)
    return " but ".join(
        f'type "{t}" in {subgraph_list(graphs)}' for t, graphs in by_type.items() if graphs
    )
