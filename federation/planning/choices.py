"""Where each field is fetched: the planner's decisions, made with the path finder's costs.

At the root, a field goes to the subgraph whose paths reach its whole selection cheapest, or is
split across subgraphs. Below, a field the current subgraph has stays in its fetch unless no
path from there finishes its subtree; fields it does not have go through an entity jump to the
cheapest subgraph that can resolve them, preferring one already entered from the same object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from federation.errors import PlanningError
from federation.planning.facts import SchemaFacts
from federation.planning.normalize import NField, NSelection
from federation.planning.paths import ENTER_COST, FrozenProvided, PathFinder

__all__ = ["Chooser", "Position"]


@dataclass(frozen=True, slots=True)
class Position:
    """Where the walk stands: an object of `type_name` held by a fetch to `graph`, at `path`.

    `exclude` holds subgraphs that may not be entered from here (their own keys are being
    planned); `guard` the requirements being solved above, which no path may need again.
    """

    graph: str
    type_name: str
    path: tuple[str, ...]
    provided: FrozenProvided | None = None
    exclude: frozenset[str] = frozenset()
    guard: frozenset[tuple[str, str, str]] = frozenset()


def _unplannable(position: Position, field: NField) -> PlanningError:
    return PlanningError(
        f"Cannot plan field {position.type_name}.{field.name}: no subgraph can resolve it "
        "from here",
        [*position.path, field.response_key],
    )


class Chooser:
    """The planner's decisions for one supergraph."""

    def __init__(self, facts: SchemaFacts, paths: PathFinder) -> None:
        self.facts = facts
        self.paths = paths

    def root_assignments(
        self,
        root_type: str,
        field: NField,
        candidates: frozenset[str],
        chosen: Mapping[str, list[NField]],
    ) -> list[tuple[str, NField]]:
        """Where a root field is fetched: the subgraph whose paths reach its whole subselection
        at the least cost (one already fetched from costs no new entry). A shareable root field
        no subgraph can finish alone is split: each part goes where it can be resolved, the
        fetches run in parallel and their answers merge element by element."""
        order = self.facts.graph_order

        def cost(graph: str, selections: tuple[NSelection, ...]) -> int | None:
            options = self.paths.options(graph, root_type, field, jumps=False)
            if not options:
                return None
            if not field.selections:
                return options[0].cost
            return self.paths.option_cost(options[0], root_type, field, selections)

        def rank(graph: str, value: int, used: Mapping[str, object]) -> tuple[int, int]:
            return (value - (ENTER_COST if graph in used else 0), order.get(graph, 0))

        whole = {g: cost(g, field.selections) for g in candidates}
        feasible = {g: c for g, c in whole.items() if c is not None}
        best = min(feasible, key=lambda g: rank(g, feasible[g], chosen)) if feasible else None
        if len(candidates) < 2 or not field.selections:
            if best is None:
                raise PlanningError(f"Cannot plan field {root_type}.{field.name}", [field.name])
            return [(best, field)]
        # The split: each part where it is cheapest. Parallel root fetches beat a root fetch
        # followed by entity jumps when the extra entries cost less than the jumps (as Apollo).
        parts: dict[str, list[NSelection]] = {}
        split_cost = 0
        for item in field.selections:
            costs = {g: cost(g, (item,)) for g in candidates}
            reachable = {g: c for g, c in costs.items() if c is not None}
            if not reachable:
                if best is not None:
                    return [(best, field)]
                raise PlanningError(
                    f"Cannot plan field {root_type}.{field.name}: no subgraph resolves all of "
                    "its selection",
                    [field.response_key],
                )
            used = {**chosen, **parts}
            home = min(reachable, key=lambda g: rank(g, reachable[g], used))
            split_cost += reachable[home]
            parts.setdefault(home, []).append(item)
        # Each part pays for the root field once, and each subgraph beyond the first an entry.
        split_cost += ENTER_COST * (len(parts) - 1) - (len(field.selections) - len(parts))
        if best is not None and (len(parts) == 1 or feasible[best] < split_cost):
            return [(best, field)]
        return [
            (graph, replace(field, selections=tuple(items)))
            for graph, items in sorted(parts.items(), key=lambda p: order.get(p[0], 0))
        ]

    def local_parts(self, position: Position, field: NField) -> tuple[NField | None, NField | None]:
        """A local field whose subselection no path from here can finish is split: the parts
        reachable from this subgraph stay, the rest is fetched through another subgraph that
        resolves the field (a value type reached again through its parent entity)."""
        if not field.selections:
            return field, None
        options = self.paths.options(
            position.graph,
            position.type_name,
            field,
            position.provided,
            position.guard,
            jumps=False,
        )
        if not options or options[0].requires:
            return field, None
        local = options[0]

        def reachable(selections: tuple[NSelection, ...]) -> bool:
            cost = self.paths.option_cost(
                local, position.type_name, field, selections, position.guard
            )
            return cost is not None

        if reachable(field.selections):
            return field, None
        here = tuple(item for item in field.selections if reachable((item,)))
        there = tuple(item for item in field.selections if item not in here)
        if not here:
            return None, field
        return replace(field, selections=here), replace(field, selections=there)

    def remote_targets(self, position: Position, fields: list[NField]) -> dict[NField, str]:
        """The subgraph each field (or part of one) is fetched from through an entity jump, in
        the client's order. Fields with the fewest ways are placed first; the others then
        prefer a subgraph already entered from here, whose entry the plan pays for once."""
        choices: dict[NField, dict[str, int]] = {}
        for field in fields:
            costs = self._remote_costs(position, field, field.selections)
            if costs:
                choices[field] = costs
                continue
            # No one subgraph finishes the subselection: each part goes where it can be.
            parts = [replace(field, selections=(item,)) for item in field.selections]
            for part in parts if len(parts) > 1 else ():
                choices[part] = self._remote_costs(position, part, part.selections)
            if not any(choices.get(part) for part in parts):
                raise _unplannable(position, field)
        order = self.facts.graph_order
        chosen: dict[NField, str] = {}
        used: set[str] = set()
        for field in sorted(choices, key=lambda f: len(choices[f])):
            costs = choices[field]
            if not costs:
                raise _unplannable(position, field)
            best = min(
                costs,
                key=lambda g: (costs[g] - (ENTER_COST if g in used else 0), order.get(g, 0)),
            )
            chosen[field] = best
            used.add(best)
        return {field: chosen[field] for field in choices}

    def _remote_costs(
        self, position: Position, field: NField, selections: tuple[NSelection, ...]
    ) -> dict[str, int]:
        """The subgraphs an entity jump from here can fetch `field` (with `selections`) from,
        with what each way costs; the position's own subgraph only for a `@requires` round
        trip."""
        out: dict[str, int] = {}
        type_name = position.type_name
        for option in self.paths.options(
            position.graph, type_name, field, position.provided, position.guard
        ):
            if option.graph in position.exclude:
                continue
            if option.graph == position.graph and not option.requires:
                continue
            if self.facts.entry_key(type_name, option.graph) is None:
                continue  # an @interfaceObject entry: planned through the interface
            cost: int | None = option.cost
            if selections:
                cost = self.paths.option_cost(option, type_name, field, selections, position.guard)
            if cost is not None and cost < out.get(option.graph, cost + 1):
                out[option.graph] = cost
        return out
