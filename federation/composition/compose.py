"""`compose()`: the composition pipeline, collecting every error of every stage it reaches."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from graphql import GraphQLSyntaxError, parse

from federation.supergraph.model import load_supergraph

from ..errors import SupergraphError
from .auth_transitive import check_transitive_auth
from .carried import carry_directives
from .definitions import check_directive_definitions
from .errors import CompositionError, CompositionHint, CompositionResult
from .executable import merge_executable_directives
from .merge import merge
from .model import Subgraph, SubgraphSource, read_subgraph
from .printer import print_supergraph
from .satisfiability import check_satisfiability
from .upgrade import upgrade_fed1
from .validate import validate_merged, validate_subgraphs

__all__ = ["compose"]


def compose(subgraphs: Sequence[SubgraphSource]) -> CompositionResult:
    """Compose subgraphs into a supergraph (join v0.5), or return every error found.

    Errors of one stage are all collected; later stages run only when they can say something
    meaningful (the merge needs readable subgraphs, satisfiability needs a merged schema).
    """
    errors: list[CompositionError] = []
    hints: list[CompositionHint] = []
    if not subgraphs:
        return CompositionResult(
            errors=(CompositionError("NO_SUBGRAPHS", "No subgraphs to compose."),)
        )
    names = [s.name for s in subgraphs]
    for name in sorted({n for n in names if names.count(n) > 1}):
        errors.append(
            CompositionError(
                "INVALID_SUBGRAPH_NAME", f'Subgraph "{name}" is listed twice.', (name,)
            )
        )
    read: list[Subgraph] = []
    for source in subgraphs:
        # As Apollo builds a subgraph: its federation directive definitions are checked first.
        with contextlib.suppress(GraphQLSyntaxError):  # read_subgraph reports it
            errors += check_directive_definitions(parse(source.sdl, no_location=True), source.name)
        subgraph = read_subgraph(source, errors)
        if subgraph is not None:
            read.append(subgraph)
    if errors:
        return CompositionResult(errors=tuple(errors))
    upgraded = upgrade_fed1(read)
    carried, carry_errors = carry_directives(subgraphs)
    errors += carry_errors
    errors += validate_subgraphs(upgraded)
    if errors:
        # Merging subgraphs whose directives are wrong only repeats the same problems.
        return CompositionResult(errors=tuple(errors))
    merged, merge_errors, merge_hints = merge(upgraded)
    errors += merge_errors
    hints += merge_hints
    if not errors:
        errors += validate_merged(merged, upgraded)
        errors += check_transitive_auth(merged, carried.applied)
    if not errors:
        errors += check_satisfiability(merged)
    if errors:
        return CompositionResult(errors=tuple(errors), hints=tuple(hints))
    sdl = print_supergraph(merged, merge_executable_directives(subgraphs), carried)
    try:
        load_supergraph(sdl)
    except SupergraphError as error:
        # Our own output must load in our own engine; if not, say so rather than ship it.
        return CompositionResult(
            errors=(
                CompositionError(
                    "INVALID_SUPERGRAPH", f"The composed supergraph does not load: {error}"
                ),
            ),
            hints=tuple(hints),
        )
    return CompositionResult(supergraph_sdl=sdl, hints=tuple(hints))
