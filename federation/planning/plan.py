"""Query plans: frozen, printable data. The planner builds them; the executor walks them.

The vocabulary and the text form follow Apollo's query plans, so a plan reads the same to anyone
who knows federation. A response path uses `@` for "each element of a list".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from graphql import (
    DocumentNode,
    FieldNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
)

__all__ = [
    "AliasCopy",
    "ConditionNode",
    "ContextRewrite",
    "FetchNode",
    "FlatRequires",
    "FlattenNode",
    "InputField",
    "InputFragment",
    "InputSelection",
    "OutputRename",
    "ParallelNode",
    "PlanNode",
    "QueryPlan",
    "SequenceNode",
    "flat_inputs",
    "fragment_conditions",
    "owed_keys",
    "print_plan",
]

OperationKind: TypeAlias = Literal["query", "mutation", "subscription"]


@dataclass(frozen=True, slots=True)
class InputField:
    """A field copied into a representation.

    `response_key` is where the value sits in the merged data (an internal alias when the planner
    had to rename a conflicting field); `name` is the key written into the representation.
    """

    name: str
    response_key: str
    selections: tuple[InputSelection, ...] = ()


@dataclass(frozen=True, slots=True)
class InputFragment:
    """Copies its selections only when the object's `__typename` is (a subtype of) the condition."""

    type_condition: str
    selections: tuple[InputSelection, ...]


InputSelection: TypeAlias = InputField | InputFragment


#: An entity fetch's inputs in their most common shape, one fragment of leaf fields such as
#: `... on Title { __typename id }`: its type condition and each field's (name, response key).
FlatRequires: TypeAlias = tuple[str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True, slots=True)
class ContextRewrite:
    """Where each entity of a fetch finds the value of one `@fromContext` argument.

    From the entity, go `levels` fields up the response (list items do not count; 0 is the
    entity itself, for a field inside its fetch) to the ancestor that sets the context; when
    `type_condition` is set, only an ancestor whose `__typename` is that type (or one of its
    possible types) has it; then read `path` (response keys) down from there. The value is
    sent as the operation variable `variable`. Several rewrites may fill one variable, one
    per type that sets the context: the first that finds a value (nearest first) wins, and
    none finding one leaves the variable out.
    """

    variable: str
    levels: int
    type_condition: str | None
    path: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AliasCopy:
    """A response key the fetch does not send, since an identical aliased field is sent as
    `kept`: `dropped` gets a copy of its value and of its errors. At the root of the answer
    for a root fetch; in each `_entities` item for an entity fetch, when the item's
    representation is of `type_condition` (or one of its possible types; None: every item).
    """

    kept: str
    dropped: str
    type_condition: str | None = None


@dataclass(frozen=True, slots=True)
class FetchNode:
    """One request to one subgraph, with the facts execution needs, all derived at plan time.

    A root fetch has `requires is None` and its data merges at the root. An entity fetch sends
    `$representations` projected from the merged data with `requires`, and sits in a FlattenNode
    that says where its targets are. `input_rewrites` sets `__typename` to an interface name
    before sending to an `@interfaceObject` subgraph (pairs of (type condition, new typename)).

    `operation` is the text sent to the subgraph; `document` is the same operation as built by
    the planner. Execution, entity batching and the printer read `document`, `owed`,
    `variable_usages` and the input facts, and never parse `operation`.
    """

    service_name: str
    operation: str
    operation_kind: OperationKind = "query"
    #: the client variables the operation uses, sent with it
    variable_usages: tuple[str, ...] = ()
    requires: tuple[InputSelection, ...] | None = None
    input_rewrites: tuple[tuple[str, str], ...] = ()
    #: internal aliases to undo on the answer before it is merged (optimize/alias_conflicts.py)
    output_renames: tuple[OutputRename, ...] = ()
    #: `@fromContext` arguments, read per entity from its ancestors; entities with different
    #: values go in separate `_entities` calls, since one call has one set of variables
    context_rewrites: tuple[ContextRewrite, ...] = ()
    #: repeats of identical aliased fields left out of `operation`, copied back on the answer
    #: (optimize/duplicate_aliases.py)
    alias_copies: tuple[AliasCopy, ...] = ()
    #: the operation as built at plan time (its variable definitions, and `_entities` with its
    #: selection for an entity fetch): batching combines fetches from it, the printer prints it
    document: DocumentNode = field(kw_only=True, compare=False, repr=False)
    #: the top-level response keys the fetch owes (of each entity, for an entity fetch), each
    #: with the type condition it sits under: failure errors and null entities are reported there
    owed: tuple[tuple[str, str | None], ...] = ()
    #: the types an entity fetch's inputs are fragments on (only objects of these types are its
    #: targets), or None when its inputs are not all fragments (or for a root fetch)
    entity_types: tuple[str, ...] | None = field(init=False, compare=False, repr=False)
    #: `requires` in the flat shape execution projects without a general walk, if it has it
    flat_requires: FlatRequires | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        requires = self.requires
        # Frozen: the derived facts are set once, here, like the fields they come from.
        types = fragment_conditions(requires) if requires is not None else None
        object.__setattr__(self, "entity_types", types)
        object.__setattr__(self, "flat_requires", flat_inputs(requires or ()))

    @property
    def is_entity(self) -> bool:
        return self.requires is not None

    @property
    def selection_set(self) -> SelectionSetNode:
        """What the fetch asks for: the operation's selection, or `_entities`'s for an entity
        fetch."""
        return _owed_selection(self.document, entity=self.is_entity)

    @classmethod
    def from_operation(cls, service_name: str, operation: str, **facts: Any) -> FetchNode:
        """A fetch from operation text, its facts derived once here (tests and tools build
        plans this way; the planner builds the document itself)."""
        document = parse(operation, no_location=True)
        entity = facts.get("requires") is not None
        return cls(
            service_name,
            operation,
            document=document,
            owed=owed_keys(document, entity=entity),
            **facts,
        )


def fragment_conditions(requires: tuple[InputSelection, ...]) -> tuple[str, ...] | None:
    """The type conditions of `requires` when all of its selections are fragments, else None."""
    if not all(isinstance(s, InputFragment) for s in requires):
        return None
    return tuple(s.type_condition for s in requires if isinstance(s, InputFragment))


def flat_inputs(requires: tuple[InputSelection, ...]) -> FlatRequires | None:
    """`requires` as a FlatRequires when it has that shape, else None."""
    if len(requires) != 1 or not isinstance(requires[0], InputFragment):
        return None
    fields = requires[0].selections
    if not all(isinstance(s, InputField) and not s.selections for s in fields):
        return None
    pairs = tuple((s.name, s.response_key) for s in fields if isinstance(s, InputField))
    return requires[0].type_condition, pairs


def owed_keys(document: DocumentNode, *, entity: bool) -> tuple[tuple[str, str | None], ...]:
    """The response keys a fetch's operation asks for at its top (under `_entities` for an
    entity fetch), with their type conditions; `__typename` is left out."""
    selection_set = _owed_selection(document, entity=entity)
    owed = [item for item in _top_keys(selection_set, None) if item[0] != "__typename"]
    return tuple(dict.fromkeys(owed))


def _owed_selection(document: DocumentNode, *, entity: bool) -> SelectionSetNode:
    operation = document.definitions[0]
    if not isinstance(operation, OperationDefinitionNode):
        raise TypeError("a fetch operation must be an operation definition")
    selection_set = operation.selection_set
    if entity and selection_set.selections:
        entities = selection_set.selections[0]
        if isinstance(entities, FieldNode) and entities.selection_set is not None:
            return entities.selection_set
    return selection_set


def _top_keys(
    selection_set: SelectionSetNode, condition: str | None
) -> list[tuple[str, str | None]]:
    keys: list[tuple[str, str | None]] = []
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            keys.append(((selection.alias or selection.name).value, condition))
        elif isinstance(selection, InlineFragmentNode):
            inner = selection.type_condition.name.value if selection.type_condition else condition
            keys += _top_keys(selection.selection_set, inner)
    return keys


@dataclass(frozen=True, slots=True)
class OutputRename:
    """Restore `key` where a fetch asked for it as `alias`: on the objects at `path` (response
    keys from the fetch's root, or from each entity; lists are walked through) whose
    `__typename` is `type_condition` or one of its possible types."""

    path: tuple[str, ...]
    type_condition: str
    alias: str
    key: str


@dataclass(frozen=True, slots=True)
class FlattenNode:
    """Runs an entity fetch against every object found at `path` (`@` fans out over lists)."""

    path: tuple[str, ...]
    node: FetchNode


@dataclass(frozen=True, slots=True)
class SequenceNode:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class ParallelNode:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class ConditionNode:
    """Runs `if_clause` when the boolean variable `condition` is true, else `else_clause`."""

    condition: str
    if_clause: PlanNode | None
    else_clause: PlanNode | None


PlanNode: TypeAlias = FetchNode | FlattenNode | SequenceNode | ParallelNode | ConditionNode


@dataclass(frozen=True, slots=True)
class QueryPlan:
    node: PlanNode | None

    def __str__(self) -> str:
        return print_plan(self)


def print_plan(plan: QueryPlan) -> str:
    """Print a plan in Apollo's text form, so tests can state expected plans as text."""
    if plan.node is None:
        return "QueryPlan {\n}"
    return "QueryPlan {\n" + _print_node(plan.node, 1) + "\n}"


def _indent(text: str, level: int) -> str:
    pad = "  " * level
    return "\n".join(pad + line if line else line for line in text.splitlines())


def _print_node(node: PlanNode, level: int) -> str:
    pad = "  " * level
    if isinstance(node, FetchNode):
        return _print_fetch(node, level)
    if isinstance(node, FlattenNode):
        inner = _print_node(node.node, level + 1)
        return f'{pad}Flatten(path: "{".".join(node.path)}") {{\n{inner}\n{pad}}},'
    if isinstance(node, SequenceNode | ParallelNode):
        name = "Sequence" if isinstance(node, SequenceNode) else "Parallel"
        inner = "\n".join(_print_node(child, level + 1) for child in node.nodes)
        return f"{pad}{name} {{\n{inner}\n{pad}}},"
    parts = [f"{pad}Condition(if: ${node.condition}) {{"]
    if node.if_clause is not None:
        parts += [f"{pad}  Then {{", _print_node(node.if_clause, level + 2), f"{pad}  }}"]
    if node.else_clause is not None:
        parts += [f"{pad}  Else {{", _print_node(node.else_clause, level + 2), f"{pad}  }}"]
    parts.append(f"{pad}}},")
    return "\n".join(parts)


def _print_fetch(node: FetchNode, level: int) -> str:
    pad = "  " * level
    body = print_ast(node.selection_set)
    if node.operation_kind == "mutation":
        body = "mutation " + body
    lines = [f'{pad}Fetch(service: "{node.service_name}") {{']
    if node.requires is not None:
        lines.append(_indent(_print_inputs(node.requires), level + 1) + " =>")
    lines.append(_indent(body, level + 1))
    if node.context_rewrites:
        # Apollo's text form leaves these out; an operator reading the plan needs them.
        lines.append(f"{pad}  contextRewrites {{")
        lines += [f"{pad}    {_print_rewrite(rewrite)}" for rewrite in node.context_rewrites]
        lines.append(f"{pad}  }}")
    lines.append(f"{pad}}},")
    return "\n".join(lines)


def _print_rewrite(rewrite: ContextRewrite) -> str:
    """`$var <- ../... on Store/currency`, the steps of Apollo's KeyRenamer path."""
    steps = [".."] * rewrite.levels
    if rewrite.type_condition is not None:
        steps.append(f"... on {rewrite.type_condition}")
    return f"${rewrite.variable} <- " + "/".join([*steps, *rewrite.path])


def _print_inputs(selections: tuple[InputSelection, ...]) -> str:
    lines = ["{"]
    for selection in selections:
        lines.append(_indent(_print_input(selection), 1))
    lines.append("}")
    return "\n".join(lines)


def _print_input(selection: InputSelection) -> str:
    if isinstance(selection, InputFragment):
        return f"... on {selection.type_condition} " + _print_inputs(selection.selections)
    head = selection.name
    if selection.response_key != selection.name:
        head = f"{selection.response_key}: {selection.name}"
    if selection.selections:
        return head + " " + _print_inputs(selection.selections)
    return head
