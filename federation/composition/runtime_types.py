"""`SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES`: a field several subgraphs resolve whose abstract type
has no runtime type in common among them, as Apollo's satisfiability check reports it."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import print_ast

from .errors import CompositionError
from .explain import example_query
from .merge_rules import quoted_names, subgraph_list
from .merged import MergedField, MergedSchema, MergedType
from .model import named_type

__all__ = ["runtime_mismatch"]


def runtime_mismatch(
    merged: MergedSchema,
    possible: Sequence[str],
    parent: MergedType,
    fdef: MergedField,
    graphs: Sequence[str],
    where: tuple[str, tuple[str, ...]],
) -> CompositionError | None:
    """The error for `parent.fdef`, reached at `where` (root, path) and resolved by `graphs`, whose
    type's `possible` runtime types differ so much between them that none is common; else None."""
    if len(fdef.resolved_in) < 2 or len(graphs) < 2:
        return None
    target = merged.types[named_type(fdef.type)]
    every = set(possible)
    intersection = set(every)
    by_listing: dict[str, list[str]] = {}
    all_empty = True
    for graph in graphs:
        names = sorted(
            t.name for t in merged.types.values()
            if t.kind == "OBJECT" and t.name in every and (
                (graph, target.name) in t.implements or (graph, t.name) in target.members)
        )  # fmt: skip
        if not names and any(j.graph == graph and j.is_interface_object for j in target.joins):
            continue  # it stands for the interface's own runtime types
        listing = "no runtime type is defined"
        if names:
            all_empty = False
            listing = ("types " if len(names) > 1 else "type ") + quoted_names(names)
        by_listing.setdefault(listing, []).append(graph)
        intersection &= set(names)
    if all_empty or intersection:
        return None
    lines = [f" - in {subgraph_list(g)}, {listing}" for listing, g in by_listing.items()]
    coordinate = f"{parent.name}.{fdef.name}"
    root, path = where
    message = (
        "For the following supergraph API query:\n"
        + example_query(root, (*path, "..."))
        + f'\nShared field "{coordinate}" return type "{print_ast(fdef.type)}" has a '
        "non-intersecting set of possible runtime types across subgraphs. Runtime types in "
        "subgraphs are:\n" + ";\n".join(lines) + ".\nThis is not allowed as shared fields "
        "must resolve the same way in all subgraphs, and that implies at least some common "
        "runtime types between the subgraphs."
    )
    return CompositionError(
        "SHAREABLE_HAS_MISMATCHED_RUNTIME_TYPES", message, tuple(graphs), coordinate
    )
