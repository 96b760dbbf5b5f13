"""Satisfiability: every field of the API schema can be reached from a root by some plan.

The analysis walks the API schema from each root type. At every step it holds a *situation*:
the type reached and the set of (type, subgraph, provided fields) *states* a plan could be in
there, one per way the subgraphs can serve the path so far. For a field `T.f` it asks, from each
state, which subgraphs can be entered by key jumps and which of those resolve `f`:

- a key jump to subgraph S needs a resolvable `@key` of `T` in S whose top-level fields some
  subgraph already reachable can give (fields `@provides`d on the path count in the subgraph
  that provides them);
- `f` resolves in S when S defines it, not `@external` (unless provided along the path) and not
  overridden away; a `@requires` needs its top-level fields from a reachable subgraph;
- an interface field can also be answered by every implementation the subgraph knows, and a
  field an `@interfaceObject` adds is reached through the interface's keys;
- a type condition `... on X` keeps the states whose subgraph knows `X` as a member, and from an
  `@interfaceObject` it needs a jump to a subgraph where the interface is real.

If no state reaches a subgraph that resolves `f`, the path to it is reported as
`SATISFIABILITY_ERROR` (one error per field, with the first path found).

Limits, stated plainly: key and requirement conditions are checked on their top-level fields
only (a nested key `serial { vendor }` counts as reachable when `serial` is); states differing
only in nested provides are merged; the walk stops after `MAX_SITUATIONS` situations and then
reports nothing more (it never reports a false error because of that cap). Apollo's checker
builds full subgraph paths and is stricter in those corners.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from graphql import FieldNode, SelectionSetNode

from .errors import CompositionError
from .fieldset import parse_field_set
from .merged import MergedField, MergedSchema, MergedType
from .model import named_type

__all__ = ["MAX_SITUATIONS", "check_satisfiability"]

MAX_SITUATIONS = 20_000

#: provided fields on a type along one path: ((field, nested provided), ...)
Provided = tuple[tuple[str, "Provided"], ...]


@dataclass(frozen=True, slots=True)
class _State:
    type: str
    graph: str
    provided: Provided = ()


@dataclass(frozen=True, slots=True)
class _Situation:
    type: str
    states: frozenset[_State]
    path: tuple[str, ...]  # printed selections from the root: "topProducts", "... on Book"


def _provided_tree(selection: SelectionSetNode | None) -> Provided:
    if selection is None:
        return ()
    out = []
    for node in selection.selections:
        if isinstance(node, FieldNode):
            out.append((node.name.value, _provided_tree(node.selection_set)))
    return tuple(sorted(out))


def _top_fields(fields: str) -> list[str]:
    selection = parse_field_set(fields)
    if selection is None:
        return []
    return [n.name.value for n in selection.selections if isinstance(n, FieldNode)]


class _Checker:
    def __init__(self, merged: MergedSchema) -> None:
        self.merged = merged
        self.types = merged.types
        self.reach_cache: dict[_State, frozenset[str]] = {}

    # -- primitives -------------------------------------------------------------------------------

    def field(self, type_name: str, name: str) -> MergedField | None:
        mtype = self.types.get(type_name)
        return mtype.fields.get(name) if mtype is not None else None

    def available(self, type_name: str, name: str, graphs: Iterable[str], state: _State) -> bool:
        """Whether some graph of `graphs` gives `type_name.name` (a key or required field)."""
        if state.type == type_name and any(n == name for n, _p in state.provided):
            return True
        fdef = self.field(type_name, name)
        if fdef is None:
            return False
        # A field overridden away cannot feed a key either, even where it stays "used".
        return any(g in fdef.resolved_in for g in graphs)

    def reachable(self, state: _State) -> frozenset[str]:
        """Subgraphs a plan standing at `state` can enter for its type, by key jumps."""
        cached = self.reach_cache.get(state)
        if cached is not None:
            return cached
        mtype = self.types[state.type]
        graphs = {state.graph}
        changed = True
        while changed:
            changed = False
            for join in mtype.joins:
                if join.graph in graphs or join.key is None or not join.key.resolvable:
                    continue
                fields = _top_fields(join.key.fields)
                if all(self.available(mtype.name, f, graphs, state) for f in fields):
                    graphs.add(join.graph)
                    changed = True
        result = frozenset(graphs)
        self.reach_cache[state] = result
        return result

    def interface_object_graphs(
        self, type_name: str, graphs: frozenset[str], state: _State, field_name: str
    ) -> set[str]:
        """Graphs where an interface of `type_name` is an @interfaceObject resolving the field,
        entered from `graphs` through the interface's key."""
        out: set[str] = set()
        for iface_name in self.types[type_name].interfaces:
            iface = self.types.get(iface_name)
            ifield = iface.fields.get(field_name) if iface is not None else None
            if iface is None or ifield is None:
                continue
            for join in iface.joins:
                if not join.is_interface_object or join.graph not in ifield.resolved_in:
                    continue
                if join.key is None or not join.key.resolvable:
                    continue
                fields = _top_fields(join.key.fields)
                if all(self.available(type_name, f, graphs, state) for f in fields):
                    out.add(join.graph)
        return out

    # -- one step ---------------------------------------------------------------------------------

    def resolve_in(self, state: _State, fdef: MergedField) -> list[_State]:
        """States after asking `fdef` from `state` (empty if no plan can)."""
        target = named_type(fdef.type)
        out: list[_State] = []
        for name, nested in state.provided:
            if name == fdef.name:
                out.append(_State(target, state.graph, nested))
        graphs = self.reachable(state)
        for graph in sorted(graphs):
            if graph not in fdef.resolved_in:
                continue
            requires = fdef.requires.get(graph)
            if requires is not None and not all(
                self.available(state.type, f, graphs, state) for f in _top_fields(requires)
            ):
                continue
            provides = fdef.provides.get(graph)
            provided = _provided_tree(parse_field_set(provides)) if provides else ()
            out.append(_State(target, graph, provided))
        if not out and not fdef.resolved_in:
            for graph in sorted(self.interface_object_graphs(state.type, graphs, state, fdef.name)):
                out.append(_State(target, graph))
        mtype = self.types[state.type]
        if not out and mtype.kind == "INTERFACE":
            out += self.through_implementations(state, fdef, graphs)
        return out

    def through_implementations(
        self, state: _State, fdef: MergedField, graphs: frozenset[str]
    ) -> list[_State]:
        # An interface field missing in a subgraph's interface can still be answered if every
        # implementation that subgraph may return answers it.
        out: list[_State] = []
        for graph in sorted(graphs):
            impls = [
                t for t in self.types.values()
                if (graph, state.type) in t.implements and t.kind == "OBJECT"
            ]  # fmt: skip
            if not impls:
                continue
            results = [self.resolve_in(_State(t.name, graph), t.fields[fdef.name]) for t in impls
                       if fdef.name in t.fields]  # fmt: skip
            if len(results) == len(impls) and all(results):
                out += [s for r in results for s in r]
        return out

    def downcast(self, state: _State, member: str) -> list[_State]:
        """States for `... on member` from an abstract-typed state."""
        mtype = self.types[state.type]
        member_type = self.types[member]
        in_graph = (state.graph, member) in mtype.members or (
            state.graph,
            mtype.name,
        ) in member_type.implements
        if in_graph:
            return [_State(member, state.graph)]
        object_join = next(
            (j for j in mtype.joins if j.graph == state.graph and j.is_interface_object), None
        )
        if object_join is None:
            return []
        # An @interfaceObject does not know concrete types: jump to where the interface is real.
        out = []
        for graph in sorted(self.reachable(state)):
            if (graph, mtype.name) in member_type.implements:
                out.append(_State(member, graph))
        return out

    # -- the walk ---------------------------------------------------------------------------------

    def run(self) -> list[CompositionError]:
        errors: dict[str, CompositionError] = {}
        queue: deque[_Situation] = deque()
        seen: set[tuple[str, frozenset[_State]]] = set()
        for root in self.merged.roots:
            states = frozenset(_State(root, g) for g in self.types[root].graphs)
            queue.append(_Situation(root, states, ()))
        count = 0
        while queue and count < MAX_SITUATIONS:
            situation = queue.popleft()
            key = (situation.type, situation.states)
            if key in seen:
                continue
            seen.add(key)
            count += 1
            mtype = self.types[situation.type]
            if mtype.kind == "INTERFACE" and not self.possible(mtype):
                # No object implements it: no value can ever stand there, so nothing to reach.
                continue
            for fdef in mtype.fields.values():
                if fdef.inaccessible or self.hidden(named_type(fdef.type)):
                    continue
                ordered = sorted(situation.states, key=repr)
                nxt = [s for st in ordered for s in self.resolve_in(st, fdef)]
                path = (*situation.path, fdef.name)
                if not nxt:
                    coordinate = f"{mtype.name}.{fdef.name}"
                    if coordinate not in errors:
                        errors[coordinate] = self.error(coordinate, path, situation)
                    continue
                target = self.types.get(named_type(fdef.type))
                if target is not None and target.kind in ("OBJECT", "INTERFACE", "UNION"):
                    queue.append(_Situation(target.name, frozenset(nxt), path))
            if mtype.kind in ("INTERFACE", "UNION"):
                for member in self.possible(mtype):
                    cast = [s for st in situation.states for s in self.downcast(st, member)]
                    if cast:
                        path = (*situation.path, f"... on {member}")
                        queue.append(_Situation(member, frozenset(cast), path))
        return list(errors.values())

    def hidden(self, type_name: str) -> bool:
        mtype = self.types.get(type_name)
        return mtype is not None and mtype.inaccessible

    def possible(self, mtype: MergedType) -> list[str]:
        if mtype.kind == "UNION":
            return [m for m in mtype.member_names if not self.hidden(m)]
        return [
            t.name for t in self.types.values()
            if mtype.name in t.interfaces and t.kind == "OBJECT" and not t.inaccessible
        ]  # fmt: skip

    def error(
        self, coordinate: str, path: tuple[str, ...], situation: _Situation
    ) -> CompositionError:
        query = "{ " + " { ".join(path) + " }" * len(path)
        froms = sorted({s.graph for s in situation.states})
        fdef = self.field(*coordinate.split(".", 1))
        owners = sorted(fdef.resolved_in) if fdef is not None else []
        verb = "resolves" if len(owners) == 1 else "resolve"
        where = f"only {_quoted(owners)} {verb} it" if owners else "no subgraph resolves it"
        message = (
            f"The following supergraph API query:\n{query}\ncannot be satisfied by the "
            f'subgraphs because: "{coordinate}" is reached in {_quoted(froms)}, {where}, and no '
            f'usable @key lets a plan move there. Add a resolvable @key to "{situation.type}" in '
            "a subgraph that resolves the field, resolve the field where it is reached (marking "
            "it @shareable), or @provides it on the way."
        )
        graphs = tuple(dict.fromkeys([*froms, *owners]))
        return CompositionError("SATISFIABILITY_ERROR", message, graphs, coordinate)


def check_satisfiability(merged: MergedSchema) -> list[CompositionError]:
    """A `SATISFIABILITY_ERROR` for each API-schema field no plan can reach (see module doc)."""
    return _Checker(merged).run()


def _quoted(graphs: Iterable[str]) -> str:
    listed = [f'"{g}"' for g in graphs]
    return ("subgraph " if len(listed) == 1 else "subgraphs ") + ", ".join(listed)
