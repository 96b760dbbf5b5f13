"""Satisfiability of `@fromContext` arguments: which ancestors of a query path set a context.

As Apollo's checker decides it, a field with contextual arguments resolves in a subgraph only when
every context it reads is set by some ancestor on the path: the parent type of a field taken
higher up is a type setting the context, implements an interface setting it, or is a member of a
union setting it. The nearest such ancestor is the one read, and the selection must be fetchable
from where the plan stood there. The planner then comes back to the field's own subgraph by a key
of that subgraph's own fields (none `@external`), so the type needs one.

Apollo's checker never takes a field on an interface: it goes down to each implementation. A field
taken on an interface therefore sets what its implementations set, and the walk down each type
condition (`... on Kiosk`) is where a missing context shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from graphql import FieldNode, InlineFragmentNode, SelectionSetNode

from .context import selection_body
from .fieldset import parse_field_set
from .merged import MergedField, MergedSchema
from .model import named_type

__all__ = ["ContextIndex", "Contexts"]

#: contexts set above a path: (context, the ancestor type setting it, the graphs it stood in)
Contexts = tuple[tuple[str, str, frozenset[str]], ...]
#: whether a selection on a type can be fetched by a plan standing in some graphs
Fetchable = Callable[[str, frozenset[str], SelectionSetNode], bool]


class ContextIndex:
    """The contexts of a merged schema: who sets each one, and who reads them."""

    def __init__(self, merged: MergedSchema) -> None:
        self.merged = merged
        self.setters: dict[str, set[str]] = {}
        for mtype in merged.types.values():
            for context in mtype.contexts:
                self.setters.setdefault(context, set()).add(mtype.name)

    def sets(self, type_name: str) -> dict[str, str]:
        """The contexts a field's parent type `type_name` sets for what lies below it, each with
        the type whose value the selection reads."""
        mtype = self.merged.types.get(type_name)
        if mtype is None:
            return {}
        unions = {t.name for t in self.merged.types.values() if type_name in t.member_names}
        out = {
            context: type_name
            for context, types in self.setters.items()
            if types & {type_name, *mtype.interfaces, *unions}
        }
        if mtype.kind == "INTERFACE":
            # Apollo's checker never takes a field on an interface: it goes down to each
            # implementation, and those that set no context fail there (`... on Kiosk`).
            for impl in self.merged.types.values():
                if type_name in impl.interfaces and impl.kind == "OBJECT":
                    for context in self.sets(impl.name):
                        out.setdefault(context, impl.name)
        return out

    def enter(self, contexts: Contexts, type_name: str, graphs: Iterable[str]) -> Contexts:
        """The contexts below a field taken on `type_name` while standing in `graphs`."""
        if not self.setters:
            return contexts
        nearest = {c: (c, t, frozenset(graphs)) for c, t in self.sets(type_name).items()}
        kept = [entry for entry in contexts if entry[0] not in nearest]
        return tuple(sorted([*kept, *nearest.values()]))

    def unmet(
        self,
        type_name: str,
        fdef: MergedField,
        graph: str,
        contexts: Contexts,
        fetchable: Fetchable,
    ) -> str | None:
        """None when `graph` can fill every contextual argument of `type_name.fdef` on this path;
        else what Apollo's checker finds: the context is not set (`context`), its selection cannot
        be fetched (`selection`), or no key of the type leads back to `graph` (`key`)."""
        join = next((j for j in fdef.joins or () if j.graph == graph), None)
        if join is None or not join.context_arguments:
            return None
        above = {c: (t, g) for c, t, g in contexts}
        if any(argument.context not in above for argument in join.context_arguments):
            return "context"
        for argument in join.context_arguments:
            ancestor, graphs = above[argument.context]
            selection = parse_field_set(selection_body(argument.selection))
            if selection is None or not fetchable(
                ancestor, graphs, self.applying(ancestor, selection)
            ):
                return "selection"
        mtype = self.merged.types[type_name]
        keys = [j.key for j in mtype.joins if j.graph == graph and j.key is not None]
        if not any(self.local(type_name, graph, parse_field_set(k.fields)) for k in keys):
            return "key"
        return None

    def local(self, type_name: str, graph: str, selection: SelectionSetNode | None) -> bool:
        """Whether a key's fields are all the subgraph's own (none `@external` there)."""
        mtype = self.merged.types.get(type_name)
        if selection is None or mtype is None:
            return False
        for node in selection.selections:
            fdef = mtype.fields.get(node.name.value) if isinstance(node, FieldNode) else None
            if fdef is None:
                continue
            if graph in fdef.external_in:
                return False
            inner = getattr(node, "selection_set", None)
            if inner is not None and not self.local(named_type(fdef.type), graph, inner):
                return False
        return True

    def applying(self, type_name: str, selection: SelectionSetNode) -> SelectionSetNode:
        """The selection without the fragments whose type a value of `type_name` cannot be."""
        mtype = self.merged.types[type_name]
        possible = {type_name, *mtype.member_names}
        possible |= {t.name for t in self.merged.types.values() if type_name in t.interfaces}
        kept = tuple(
            node
            for node in selection.selections
            if not isinstance(node, InlineFragmentNode)
            or node.type_condition is None
            or node.type_condition.name.value in possible
        )
        return SelectionSetNode(selections=kept)
