"""Executable directives in the supergraph: the ones every subgraph defines.

A client may apply such a directive (`title @shout`), and the gateway sends it on to whichever
subgraph resolves the field, so it must mean something in all of them. As Apollo composes
them, a directive defined with an executable location in every subgraph is kept with the
locations all subgraphs share, the arguments all subgraphs declare (with one type), and
`repeatable` only if every subgraph says so. Type-system locations stay out: they concern
only the subgraph that wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import DirectiveDefinitionNode, GraphQLError, parse, print_ast

from federation.supergraph.api_schema import EXECUTABLE_LOCATIONS

from .model import SubgraphSource

__all__ = ["merge_executable_directives"]

#: The spec's own, which every schema has and no supergraph declares.
_BUILT_IN = frozenset({"skip", "include", "defer", "stream"})


def merge_executable_directives(
    sources: Sequence[SubgraphSource],
) -> tuple[DirectiveDefinitionNode, ...]:
    """The executable directive definitions to print in the supergraph, by name."""
    per_subgraph: list[dict[str, DirectiveDefinitionNode]] = []
    for source in sources:
        try:
            document = parse(source.sdl, no_location=True)
        except GraphQLError:
            return ()  # reading the subgraphs reports it; nothing to add here
        per_subgraph.append(
            {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, DirectiveDefinitionNode)
                and d.name.value not in _BUILT_IN
                and any(location.value in EXECUTABLE_LOCATIONS for location in d.locations)
            }
        )
    if not per_subgraph:
        return ()
    merged: list[DirectiveDefinitionNode] = []
    for name in sorted(set.intersection(*(set(d) for d in per_subgraph))):
        definitions = [d[name] for d in per_subgraph]
        kept = _merge(definitions)
        if kept is not None:
            merged.append(kept)
    return tuple(merged)


def _merge(definitions: list[DirectiveDefinitionNode]) -> DirectiveDefinitionNode | None:
    first = definitions[0]
    locations = [
        location
        for location in first.locations
        if location.value in EXECUTABLE_LOCATIONS
        and all(location.value in {loc.value for loc in d.locations} for d in definitions)
    ]
    if not locations:
        return None
    arguments = [
        argument
        for argument in first.arguments or ()
        if all(
            any(
                other.name.value == argument.name.value
                and print_ast(other.type) == print_ast(argument.type)
                for other in d.arguments or ()
            )
            for d in definitions
        )
    ]
    description = next((d.description for d in definitions if d.description), None)
    return DirectiveDefinitionNode(
        name=first.name,
        description=description,
        arguments=tuple(arguments),
        repeatable=all(d.repeatable for d in definitions),
        locations=tuple(locations),
    )
