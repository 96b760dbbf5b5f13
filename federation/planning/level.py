"""A selection level of the planner's walk, and the position the path finder prices it at."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from federation.planning.choices import Position
from federation.planning.fetch_group import FetchGroup, SubSelectionSet
from federation.planning.internal_fields import Provided
from federation.planning.normalize import NField, NSelection
from federation.planning.paths import freeze_provided

__all__ = ["Level", "position"]


@dataclass(frozen=True, slots=True)
class Level:
    """One selection level: `selections` on `parent_type` at `path`, planned into `selection`
    inside `group`.

    `provided` is what a `@provides` above makes local here; `user_keys` are the client's fields
    at this level by response key, so internal fields can dodge them; `exclude` holds the
    subgraphs whose entity keys are being planned here, which cannot supply their own keys.
    """

    group: FetchGroup
    selection: SubSelectionSet
    path: tuple[str, ...]
    parent_type: str
    selections: tuple[NSelection, ...]
    provided: Provided | None
    user_keys: Mapping[str, NField]
    exclude: frozenset[str] = frozenset()
    #: the requirements being planned above this level, which no path here may need again
    guard: frozenset[tuple[str, str, str]] = frozenset()
    #: the subgraphs that could serve the object at this path equally (None at the root); an
    #: entity jump pins the path to its subgraph
    candidates: frozenset[str] | None = None
    #: the object levels above this one, nearest last: where `@fromContext` values come from
    ancestors: tuple[Level, ...] = ()
    #: for the target of an entity jump, the level it jumped from: the same object, in the
    #: fetch that found it
    via: Level | None = None


def position(level: Level) -> Position:
    return Position(
        level.group.graph,
        level.parent_type,
        level.path,
        freeze_provided(level.provided),
        level.exclude,
        level.guard,
    )
