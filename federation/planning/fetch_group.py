"""Fetch groups: the mutable steps the planner fills in before emitting frozen plan nodes.

A group is one request to one subgraph. It owns a selection tree in the subgraph's terms, the
representation inputs it needs (for entity fetches), and the groups it depends on.
"""

from __future__ import annotations

from collections.abc import Mapping

from graphql import (
    ArgumentNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    InlineFragmentNode,
    ListTypeNode,
    NamedTypeNode,
    NameNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    parse_type,
    print_ast,
    visit,
)
from graphql.language import Visitor

from federation.planning.normalize import Condition
from federation.planning.plan import (
    ContextRewrite,
    FetchNode,
    InputField,
    InputFragment,
    InputSelection,
    OperationKind,
    OutputRename,
    owed_keys,
)

__all__ = ["FetchGroup", "SubField", "SubFragment", "SubSelectionSet"]


class SubField:
    """A field in a subgraph selection, merged by response key, arguments and directives."""

    __slots__ = ("alias", "arguments", "children", "directives", "name")

    def __init__(
        self,
        name: str,
        alias: str | None,
        arguments: tuple[ArgumentNode, ...],
        directives: tuple[DirectiveNode, ...],
    ) -> None:
        self.name = name
        self.alias = alias
        self.arguments = arguments
        self.directives = directives
        self.children = SubSelectionSet()

    def to_ast(self) -> FieldNode | InlineFragmentNode:
        # A directive may appear once per location, but a field under nested conditional
        # fragments inherits one `@skip`/`@include` from each: the repeats go on bare fragments.
        own: list[DirectiveNode] = []
        repeated: list[DirectiveNode] = []
        for directive in self.directives:
            names = [d.name.value for d in own]
            (repeated if directive.name.value in names else own).append(directive)
        node: FieldNode | InlineFragmentNode = FieldNode(
            alias=NameNode(value=self.alias) if self.alias else None,
            name=NameNode(value=self.name),
            arguments=self.arguments,
            directives=tuple(own),
            selection_set=self.children.to_ast() if self.children.items else None,
        )
        for directive in repeated:
            node = InlineFragmentNode(
                type_condition=None,
                directives=(directive,),
                selection_set=SelectionSetNode(selections=(node,)),
            )
        return node


class SubFragment:
    __slots__ = ("children", "type_condition")

    def __init__(self, type_condition: str) -> None:
        self.type_condition = type_condition
        self.children = SubSelectionSet()

    def to_ast(self) -> InlineFragmentNode:
        return InlineFragmentNode(
            type_condition=NamedTypeNode(name=NameNode(value=self.type_condition)),
            directives=(),
            selection_set=self.children.to_ast(),
        )


class SubSelectionSet:
    """An ordered selection tree; adding the same field twice merges their children."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: dict[str, SubField | SubFragment] = {}

    def field(
        self,
        name: str,
        alias: str | None = None,
        arguments: tuple[ArgumentNode, ...] = (),
        directives: tuple[DirectiveNode, ...] = (),
    ) -> SubField:
        key = (alias or name) + "(" + " ".join(print_ast(a) for a in arguments) + ")"
        key += " ".join(print_ast(d) for d in directives)
        existing = self.items.get(key)
        if isinstance(existing, SubField):
            return existing
        created = SubField(name, alias, arguments, directives)
        self.items[key] = created
        return created

    def fragment(self, type_condition: str) -> SubFragment:
        key = "... on " + type_condition
        existing = self.items.get(key)
        if isinstance(existing, SubFragment):
            return existing
        created = SubFragment(type_condition)
        self.items[key] = created
        return created

    def to_ast(self) -> SelectionSetNode:
        selections: list[SelectionNode] = []
        for item in self.items.values():
            node = item.to_ast()
            # A fragment left with nothing to ask (its only field was `__typename` on a type
            # the parent's `__typename` already names) would not parse: leave it out.
            if isinstance(node, InlineFragmentNode) and not node.selection_set.selections:
                continue
            selections.append(node)
        return SelectionSetNode(selections=tuple(selections))


class FetchGroup:
    """One planned request to one subgraph."""

    def __init__(
        self,
        group_id: int,
        graph: str,
        merge_at: tuple[str, ...],
        *,
        is_entity: bool,
        conditions: tuple[Condition, ...] = (),
    ) -> None:
        self.id = group_id
        self.graph = graph
        self.merge_at = merge_at
        self.is_entity = is_entity
        self.conditions = conditions
        self.selection = SubSelectionSet()
        #: type name -> representation selection (for entity groups)
        self.inputs: dict[str, dict[str, InputField]] = {}
        #: type name -> typename to send instead (for @interfaceObject targets)
        self.input_rewrites: dict[str, str] = {}
        #: aliases given to clashing fields, undone on the answer (optimize/alias_conflicts.py)
        self.output_renames: tuple[OutputRename, ...] = ()
        self.parents: set[int] = set()
        #: `@fromContext` values read from ancestors (planning/contexts.py), and the type of
        #: each variable they fill, as the subgraph declares the argument
        self.context_rewrites: list[ContextRewrite] = []
        self.context_variables: dict[str, str] = {}

    def add_context(self, variable: str, type_text: str, rewrites: list[ContextRewrite]) -> None:
        self.context_variables[variable] = type_text
        self.context_rewrites += [r for r in rewrites if r not in self.context_rewrites]

    def add_input(self, type_name: str, fields: list[InputField]) -> None:
        current = self.inputs.setdefault(type_name, {})
        for input_field in fields:
            _merge_input(current, input_field)

    def to_fetch_node(
        self, variable_types: Mapping[str, VariableDefinitionNode], operation_kind: OperationKind
    ) -> FetchNode:
        """Freeze this group into a FetchNode with its subgraph operation printed."""
        body = self.selection.to_ast()
        used = _used_variables(body)
        definitions = [
            VariableDefinitionNode(
                variable=VariableNode(name=NameNode(value=name)),
                type=variable_types[name].type,
                default_value=variable_types[name].default_value,
                directives=(),
            )
            for name in used
            if name in variable_types
        ]
        definitions += [
            VariableDefinitionNode(
                variable=VariableNode(name=NameNode(value=name)),
                type=parse_type(type_text, no_location=True),
                directives=(),
            )
            for name, type_text in self.context_variables.items()
            if name in used
        ]
        requires: tuple[InputSelection, ...] | None = None
        if self.is_entity:
            definitions.insert(0, _representations_definition())
            entities = FieldNode(
                name=NameNode(value="_entities"),
                arguments=(
                    ArgumentNode(
                        name=NameNode(value="representations"),
                        value=VariableNode(name=NameNode(value="representations")),
                    ),
                ),
                directives=(),
                selection_set=body,
            )
            body = SelectionSetNode(selections=(entities,))
            requires = tuple(
                InputFragment(type_name, tuple(fields.values()))
                for type_name, fields in self.inputs.items()
            )
        kind = OperationType.MUTATION if operation_kind == "mutation" else OperationType.QUERY
        operation = OperationDefinitionNode(
            operation=kind,
            variable_definitions=tuple(definitions),
            directives=(),
            selection_set=body,
        )
        document = DocumentNode(definitions=(operation,))
        text = print_ast(document)
        return FetchNode(
            service_name=self.graph,
            operation=text,
            operation_kind="mutation" if operation_kind == "mutation" else "query",
            variable_usages=tuple(name for name in used if name in variable_types),
            requires=requires,
            input_rewrites=tuple(self.input_rewrites.items()),
            output_renames=self.output_renames,
            # Nearest ancestors first: the first rewrite that finds a value fills the variable.
            context_rewrites=tuple(
                sorted(
                    (r for r in self.context_rewrites if r.variable in used),
                    key=lambda r: r.levels,
                )
            ),
            document=document,
            owed=owed_keys(document, entity=self.is_entity),
        )


def _merge_input(into: dict[str, InputField], field: InputField) -> None:
    existing = into.get(field.response_key)
    if existing is None:
        into[field.response_key] = field
        return
    merged: dict[str, InputField] = {}
    fragments: list[InputSelection] = []
    for child in (*existing.selections, *field.selections):
        if isinstance(child, InputField):
            _merge_input(merged, child)
        elif child not in fragments:
            fragments.append(child)
    into[field.response_key] = InputField(
        existing.name, existing.response_key, (*merged.values(), *fragments)
    )


def _representations_definition() -> VariableDefinitionNode:
    any_list = NonNullTypeNode(
        type=ListTypeNode(type=NonNullTypeNode(type=NamedTypeNode(name=NameNode(value="_Any"))))
    )
    return VariableDefinitionNode(
        variable=VariableNode(name=NameNode(value="representations")),
        type=any_list,
        directives=(),
    )


class _VariableCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def enter_variable(self, node: VariableNode, *_args: object) -> None:
        if node.name.value not in self.names:
            self.names.append(node.name.value)


def _used_variables(selection_set: SelectionSetNode) -> list[str]:
    collector = _VariableCollector()
    visit(selection_set, collector)
    return collector.names
