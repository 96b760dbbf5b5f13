"""Satisfiability: every field of the API schema can be reached from a root by some plan.

The analysis walks the API schema from each root type. At every step it holds a *situation*:
the type reached and the set of (type, subgraph, provided fields) *states* a plan could be in
there, one per way the subgraphs can serve the path so far. For a field `T.f` it asks, from each
state, which subgraphs can be entered by key jumps and which of those resolve `f`:

- a key jump to subgraph S needs a resolvable `@key` of `T` in S whose whole field set can be
  fetched from where the plan stands: each field from a subgraph already reachable, and what
  it selects below from there or through further key jumps (fields `@provides`d on the path
  count in the subgraph that provides them);
- `f` resolves in S when S defines it, not `@external` (unless provided along the path) and not
  overridden away; a `@requires` needs its whole field set, checked the same way;
- an interface field can also be answered by every implementation the subgraph knows, and a
  field an `@interfaceObject` adds is reached through the interface's keys;
- a type condition `... on X` keeps the states whose subgraph knows `X` as a member, and from an
  `@interfaceObject` it needs a jump to a subgraph where the interface is real;
- a field with `@fromContext` arguments resolves in a subgraph only below an ancestor that sets
  each context, whose selection can be fetched from there (`context_paths.py`).

If no state reaches a subgraph that resolves `f`, the path to it is reported as
`SATISFIABILITY_ERROR`: one error per unsatisfiable path, with an example query printed as
Apollo prints it, and for each subgraph the plan could stand in, why it cannot go on.

Limits, stated plainly: a condition is checked from the subgraphs the plan can reach, not
along one chosen path (Apollo's checker builds full subgraph paths and is stricter in that
corner); conditions that need themselves (a key whose fields need that key) count as unmet;
the walk stops after `MAX_SITUATIONS` situations and then reports nothing more (it never
reports a false error because of that cap).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from graphql import FieldNode, InlineFragmentNode, SelectionSetNode

from .context_paths import ContextIndex, Contexts
from .errors import CompositionError
from .explain import example_query, unsatisfiable_message, witness_field
from .fieldset import parse_field_set
from .merged import MergedField, MergedSchema, MergedType
from .model import named_type
from .runtime_types import runtime_mismatch

__all__ = ["MAX_SITUATIONS", "check_satisfiability"]

MAX_SITUATIONS = 20_000

#: provided fields on a type along one path: ((field, nested provided), ...)
Provided = tuple[tuple[str, "Provided"], ...]
#: provided fields and the subgraph that holds them
Held = tuple[str, Provided]


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
    root: str = "Query"
    contexts: Contexts = ()  # set by ancestors, for @fromContext arguments


def _provided_tree(selection: SelectionSetNode | None) -> Provided:
    if selection is None:
        return ()
    out = []
    for node in selection.selections:
        if isinstance(node, FieldNode):
            out.append((node.name.value, _provided_tree(node.selection_set)))
    return tuple(sorted(out))


def _held(state: _State) -> Held:
    return (state.graph, state.provided)


class _Checker:
    def __init__(self, merged: MergedSchema) -> None:
        self.merged = merged
        self.types = merged.types
        self.reach_cache: dict[_State, frozenset[str]] = {}
        self.contexts = ContextIndex(merged)

    # -- primitives -------------------------------------------------------------------------------

    def field(self, type_name: str, name: str) -> MergedField | None:
        mtype = self.types.get(type_name)
        return mtype.fields.get(name) if mtype is not None else None

    def satisfied(
        self,
        type_name: str,
        graphs: Iterable[str],
        provided: Held,
        fields: str,
        guard: frozenset[_State] = frozenset(),
    ) -> bool:
        """Whether a condition (a key's or a requirement's field set) on `type_name` can be
        fetched by a plan standing in `graphs`, `provided` holding what the path provided."""
        selection = parse_field_set(fields)
        return selection is not None and self.selection_ok(
            type_name, frozenset(graphs), provided, selection, guard
        )

    def selection_ok(
        self,
        type_name: str,
        graphs: frozenset[str],
        provided: Held,
        selection: SelectionSetNode,
        guard: frozenset[_State],
    ) -> bool:
        for node in selection.selections:
            if isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else type_name
                if condition == type_name:
                    inner_graphs = graphs
                else:
                    ctype = self.types.get(condition)
                    # No value of a type no subgraph knows can turn up: nothing to fetch there.
                    inner_graphs = frozenset(graphs & set(ctype.graphs)) if ctype else frozenset()
                    if not inner_graphs:
                        continue
                if not self.selection_ok(
                    condition, inner_graphs, ("", ()), node.selection_set, guard
                ):
                    return False
                continue
            if not isinstance(node, FieldNode) or node.name.value == "__typename":
                continue
            if not self.field_ok(type_name, graphs, provided, node, guard):
                return False
        return True

    def field_ok(
        self,
        type_name: str,
        graphs: frozenset[str],
        provided: Held,
        node: FieldNode,
        guard: frozenset[_State],
    ) -> bool:
        name = node.name.value
        fdef = self.field(type_name, name)
        if fdef is None:
            return False
        target = named_type(fdef.type)
        # What the path provided is held in the subgraph that provided it.
        holder, held_fields = provided
        starts = [(holder, nested) for n, nested in held_fields if n == name]
        for graph in sorted(graphs):
            # A condition has no ancestors in the query: no context is set inside it.
            if graph not in fdef.resolved_in or self.context_unmet(type_name, graph, fdef, ()):
                continue
            requires = fdef.requires.get(graph)
            if requires is not None:
                # A requirement that needs itself again is unmet (and must not loop).
                marker = _State(type_name, graph, (("@requires " + name, ()),))
                if marker in guard or not self.requires_met(
                    type_name, graph, provided, requires, guard | {marker}
                ):
                    continue
            starts.append((graph, ()))
        if node.selection_set is None:
            return bool(starts)
        for graph, nested in starts:
            state = _State(target, graph, nested)
            inner = frozenset({graph}) if state in guard else self.reachable(state, guard)
            held = (graph, nested)
            if self.selection_ok(target, inner, held, node.selection_set, guard | {state}):
                return True
        return False

    def requires_met(
        self,
        type_name: str,
        graph: str,
        provided: Held,
        requires: str,
        guard: frozenset[_State] = frozenset(),
    ) -> bool:
        """Whether a `@requires` of `graph` can be fetched: as Apollo resolves it, from the
        entity in `graph` itself, jumping by keys from there."""
        held = provided if provided[0] == graph else (graph, ())
        state = _State(type_name, graph, held[1])
        graphs = frozenset({graph}) if state in guard else self.reachable(state, guard)
        return self.satisfied(type_name, graphs, held, requires, guard)

    def reachable(self, state: _State, guard: frozenset[_State] = frozenset()) -> frozenset[str]:
        """Subgraphs a plan standing at `state` can enter for its type, by key jumps."""
        cached = self.reach_cache.get(state)
        if cached is not None:
            return cached
        mtype = self.types.get(state.type)
        if mtype is None or mtype.kind not in ("OBJECT", "INTERFACE"):
            return frozenset({state.graph})
        guard = guard | {state}
        graphs = {state.graph}
        changed = True
        while changed:
            changed = False
            for join in mtype.joins:
                if join.graph in graphs or join.key is None or not join.key.resolvable:
                    continue
                if self.satisfied(mtype.name, graphs, _held(state), join.key.fields, guard):
                    graphs.add(join.graph)
                    changed = True
        result = frozenset(graphs)
        if len(guard) == 1:
            # Results found under a guard may miss a cycle's way round: only the top is kept.
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
                if self.satisfied(type_name, graphs, _held(state), join.key.fields):
                    out.add(join.graph)
        return out

    # -- one step ---------------------------------------------------------------------------------

    def context_unmet(
        self, type_name: str, graph: str, fdef: MergedField, contexts: Contexts
    ) -> str | None:
        """Why `graph` cannot fill the field's @fromContext arguments on this path, if so."""
        return self.contexts.unmet(
            type_name, fdef, graph, contexts,
            lambda t, graphs, selection: any(
                self.selection_ok(t, self.reachable(_State(t, g)), ("", ()), selection, frozenset())
                for g in graphs
            ),
        )  # fmt: skip

    def resolve_in(self, state: _State, fdef: MergedField, contexts: Contexts = ()) -> list[_State]:
        """States after asking `fdef` from `state` (empty if no plan can)."""
        target = named_type(fdef.type)
        out: list[_State] = []
        for name, nested in state.provided:
            if name == fdef.name:
                out.append(_State(target, state.graph, nested))
        graphs = self.reachable(state)
        for graph in sorted(graphs):
            if graph not in fdef.resolved_in or self.context_unmet(
                state.type, graph, fdef, contexts
            ):
                continue
            requires = fdef.requires.get(graph)
            if requires is not None and not self.requires_met(
                state.type, graph, _held(state), requires
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
            out += self.through_implementations(state, fdef, graphs, contexts)
        return out

    def through_implementations(
        self, state: _State, fdef: MergedField, graphs: frozenset[str], contexts: Contexts
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
            results = [self.resolve_in(_State(t.name, graph), t.fields[fdef.name], contexts)
                       for t in impls if fdef.name in t.fields]  # fmt: skip
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
        errors: dict[tuple[str, ...], CompositionError] = {}
        failed: dict[tuple[str, frozenset[_State], Contexts], list[MergedField]] = {}
        queue: deque[_Situation] = deque()
        seen: set[tuple[str, frozenset[_State], Contexts]] = set()
        for root in self.merged.roots:
            states = frozenset(_State(root, g) for g in self.types[root].graphs)
            queue.append(_Situation(root, states, (), root))
        count = 0
        while queue and count < MAX_SITUATIONS:
            situation = queue.popleft()
            key = (situation.type, situation.states, situation.contexts)
            if key in seen:
                # The same situation down another path fails the same fields: say so for this
                # path too (what lies deeper was reported along the first path).
                for fdef in failed.get(key, ()):
                    path = (*situation.path, witness_field(fdef, self.types))
                    errors.setdefault(path, self.error(fdef, path, situation))
                continue
            seen.add(key)
            count += 1
            mtype = self.types[situation.type]
            if mtype.kind == "INTERFACE" and not self.possible(mtype):
                # No object implements it: no value can ever stand there, so nothing to reach.
                continue
            # A subgraph where no object implements the interface never returns a value there.
            live = [st for st in sorted(situation.states, key=repr) if not self.vacuous(st)]
            if not live:
                continue
            for fdef in mtype.fields.values():
                if fdef.inaccessible or self.hidden(named_type(fdef.type)):
                    continue
                nxt = [s for st in live for s in self.resolve_in(st, fdef, situation.contexts)]
                path = (*situation.path, witness_field(fdef, self.types))
                if not nxt:
                    # One error per unsatisfiable path; the walk does not go on below it.
                    errors.setdefault(path, self.error(fdef, path, situation))
                    failed.setdefault(key, []).append(fdef)
                    continue
                target = self.types.get(named_type(fdef.type))
                if target is not None and target.kind in ("INTERFACE", "UNION"):
                    mismatch = runtime_mismatch(
                        self.merged, self.possible(target), mtype, fdef,
                        sorted({s.graph for s in nxt}), (situation.root, path),
                    )  # fmt: skip
                    if mismatch is not None:
                        errors.setdefault(path, mismatch)
                        continue
                if target is not None and target.kind in ("OBJECT", "INTERFACE", "UNION"):
                    graphs = {st.graph for st in live}
                    below = self.contexts.enter(situation.contexts, mtype.name, graphs)
                    queue.append(
                        _Situation(target.name, frozenset(nxt), path, situation.root, below)
                    )
            if mtype.kind in ("INTERFACE", "UNION"):
                for member in self.possible(mtype):
                    per_state = [self.downcast(st, member) for st in situation.states]
                    cast = [s for states in per_state for s in states]
                    path = (*situation.path, f"... on {member}")
                    if any(
                        not states and not self.is_interface_object(st)
                        for st, states in zip(situation.states, per_state, strict=True)
                    ):
                        # As Apollo decides it: a plan standing where `member` cannot occur
                        # never returns one, so this branch is satisfied as it is.
                        continue
                    if cast:
                        queue.append(_Situation(member, frozenset(cast), path, situation.root,
                                                situation.contexts))  # fmt: skip
                    elif self.only_interface_objects(mtype, situation):
                        errors.setdefault(path, self.cast_error(mtype, path, situation))
        return list(errors.values())

    def is_interface_object(self, state: _State) -> bool:
        mtype = self.types[state.type]
        return any(j.graph == state.graph and j.is_interface_object for j in mtype.joins)

    def vacuous(self, state: _State) -> bool:
        """Whether `state` is an interface its subgraph has no implementation of (and is no
        @interfaceObject there): a plan standing there has no value to go on with."""
        mtype = self.types[state.type]
        if mtype.kind != "INTERFACE":
            return False
        if any(j.graph == state.graph and j.is_interface_object for j in mtype.joins):
            return False
        return not any(
            (state.graph, mtype.name) in t.implements
            for t in self.types.values()
            if t.kind == "OBJECT"
        )

    def only_interface_objects(self, mtype: MergedType, situation: _Situation) -> bool:
        """Whether every subgraph the path stands in knows `mtype` only as an @interfaceObject
        (there, no value says which implementation it is)."""
        objects = {j.graph for j in mtype.joins if j.is_interface_object}
        return all(s.graph in objects for s in situation.states)

    def cast_error(
        self, mtype: MergedType, path: tuple[str, ...], situation: _Situation
    ) -> CompositionError:
        why = (
            "no subgraph can be reached to resolve the implementation type of @interfaceObject "
            f'type "{mtype.name}".'
        )
        reasons = [(g, [why]) for g in sorted({s.graph for s in situation.states})]
        message = unsatisfiable_message(example_query(situation.root, path), reasons)
        graphs = tuple(g for g, _r in reasons)
        return CompositionError("SATISFIABILITY_ERROR", message, graphs, mtype.name)

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
        self, fdef: MergedField, path: tuple[str, ...], situation: _Situation
    ) -> CompositionError:
        coordinate = f"{situation.type}.{fdef.name}"
        # As Apollo lists them: the subgraphs the path stands in, then those a key jump from
        # there reaches, each with why it cannot go on.
        origins = {s.graph: s for s in situation.states}
        reached = {
            g: _State(situation.type, g)
            for state in origins.values()
            for g in self.reachable(state)
            if g not in origins
        }
        here = situation.contexts
        reasons = [
            (g, self.reasons(st, fdef, set(reached), here)) for g, st in sorted(origins.items())
        ]
        reasons += [
            (g, self.reasons_after_jump(st, fdef, set(reached), here))
            for g, st in sorted(reached.items())
        ]
        message = unsatisfiable_message(example_query(situation.root, path), reasons)
        froms = [g for g, _r in reasons]
        graphs = tuple(dict.fromkeys([*froms, *sorted(fdef.resolved_in)]))
        return CompositionError("SATISFIABILITY_ERROR", message, graphs, coordinate)

    def overrider(self, graph: str, fdef: MergedField) -> str | None:
        """The subgraph that took `fdef` away from `graph` with `@override`, when `graph` still
        has the field (a key or a requirement uses it); a field overridden and unused is gone."""
        if graph not in fdef.used_overridden_in:
            return None
        for join in fdef.joins or ():
            if join.override == graph and join.override_label is None:
                return join.graph
        return None

    def local_reason(
        self, graph: str, type_name: str, fdef: MergedField, contexts: Contexts = ()
    ) -> str:
        coordinate = f'"{type_name}.{fdef.name}"'
        unmet = (
            self.context_unmet(type_name, graph, fdef, contexts)
            if graph in fdef.resolved_in
            else None
        )
        if unmet == "context":
            return f"could not find a match for required context for field {coordinate}."
        if unmet == "key":
            return (
                f"@require condition on field {coordinate} can be satisfied but missing usable key "
                f'on "{type_name}" in subgraph "{graph}" to resume query.'
            )
        overrider = self.overrider(graph, fdef)
        if overrider is not None:
            return (
                f"field {coordinate} is not resolvable because it is overridden by subgraph "
                f'"{overrider}".'
            )
        if graph in fdef.external_in:
            return f"field {coordinate} is not resolvable because marked @external."
        if graph in fdef.resolved_in and (graph in fdef.requires or unmet == "selection"):
            return f"cannot satisfy @require conditions on field {coordinate}."
        return f"cannot find field {coordinate}."

    def reasons(
        self, state: _State, fdef: MergedField, reached: set[str], contexts: Contexts
    ) -> list[str]:
        """Why no plan standing at `state` answers `fdef`, nor moves to a subgraph that does."""
        coordinate = f'"{state.type}.{fdef.name}"'
        graph = state.graph
        out = [self.local_reason(graph, state.type, fdef, contexts)]
        reachable = self.reachable(state)
        mtype = self.types[state.type]
        # Every subgraph that has the field, as Apollo lists them (external ones too).
        for owner in sorted(set(fdef.resolved_in) | set(fdef.external_in)):
            if owner == graph or owner in reachable or owner in reached:
                continue  # a subgraph reached has its own entry
            keys = [j.key for j in mtype.joins if j.graph == owner and j.key is not None]
            moving = f'cannot move to subgraph "{owner}", which has field {coordinate}, because'
            if not keys:
                out.append(
                    f'{moving} type "{state.type}" has no @key defined in subgraph "{owner}".'
                )
            elif not any(k.resolvable for k in keys):
                out.append(
                    f'{moving} none of the @key defined on type "{state.type}" in subgraph '
                    f'"{owner}" are resolvable (they are all declared with their "resolvable" '
                    "argument set to false)."
                )
            else:
                out += [
                    f'cannot move to subgraph "{owner}" using @key(fields: "{k.fields}") of '
                    f'"{state.type}", the key field(s) cannot be resolved from subgraph "{graph}"'
                    + self.overridden_note(state.type, k.fields, graph)
                    + "."
                    for k in keys
                    if k.resolvable
                ]
        return out

    def overridden_note(self, type_name: str, fields: str, graph: str) -> str:
        selection = parse_field_set(fields)
        names = [n.name.value for n in selection.selections if isinstance(n, FieldNode)] if (
            selection is not None) else []  # fmt: skip
        for name in names:
            fdef = self.field(type_name, name)
            if fdef is not None and self.overrider(graph, fdef) is not None:
                return f' (note that some of those key fields are overridden in "{graph}")'
        return ""

    def reasons_after_jump(
        self, state: _State, fdef: MergedField, reached: set[str], contexts: Contexts
    ) -> list[str]:
        """Why a subgraph a key jump reached does not answer `fdef`; moving on from there to
        another reached subgraph is a detour Apollo ignores, and says so."""
        out = [self.local_reason(state.graph, state.type, fdef, contexts)]
        for join in self.types[state.type].joins:
            other = join.graph
            if other == state.graph or other not in reached or join.key is None:
                continue
            if join.key.resolvable and self.satisfied(
                state.type, frozenset({state.graph}), ("", ()), join.key.fields
            ):
                out.append(
                    f'ignoring moving to subgraph "{other}" using @key(fields: '
                    f'"{join.key.fields}") of "{state.type}" because there is a more direct '
                    f"path in {other} that avoids {state.graph} altogether."
                )
        return out


def check_satisfiability(merged: MergedSchema) -> list[CompositionError]:
    """A `SATISFIABILITY_ERROR` for each API-schema field no plan can reach (see module doc)."""
    return _Checker(merged).run()
