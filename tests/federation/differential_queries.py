"""Seeded random queries, valid against an API schema, for the differential test.

hypothesis-graphql draws the queries (root fields, nested selections, arguments, inline
fragments on the members of abstract types), seeded and derandomized so that every run draws the
same ones for the same hypothesis version. A seeded pass over each query then adds what the
generator does not write: aliases, `@skip`/`@include` on literals and on variables, arguments
passed as variables, fragments on abstract types (a field's selections wrapped in `... on
Interface` or `... on Union { ... on Member }`) and named fragments. A varied query that fails
validation is replaced by the query as drawn.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLCompositeType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    NamedTypeNode,
    NameNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    ast_from_value,
    get_named_type,
    is_composite_type,
    is_equal_type,
    parse,
    parse_type,
    print_ast,
    validate,
    value_from_ast,
)
from graphql.utilities import value_from_ast_untyped
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis_graphql import queries

__all__ = ["GeneratedQuery", "generate_queries"]

#: Chances, per node, of each variation.
_ALIAS = 0.15
_CONDITION = 0.1
_VARIABLE_CONDITION = 0.7
_ARGUMENT_VARIABLE = 0.4
_ABSTRACT_WRAP = 0.2
_NAMED_FRAGMENT = 0.2
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class GeneratedQuery:
    """One client request: the operation's text and its variables."""

    query: str
    variables: Mapping[str, Any]

    @property
    def key(self) -> str:
        """The request as one string, to compare with a recorded entry."""
        return self.query + "\n" + json.dumps(self.variables, sort_keys=True)


def generate_queries(schema: GraphQLSchema, *, seed: str, count: int) -> list[GeneratedQuery]:
    """Up to ``count`` distinct queries for ``schema``, the same on every run for one seed."""
    drawn: list[str] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(queries(schema, allow_x00=False, allow_null=False, codec="utf-8"))
    def draw(query: str) -> None:
        drawn.append(query)

    draw()
    out: list[GeneratedQuery] = []
    for index, text in enumerate(dict.fromkeys(drawn)):
        document = parse(text)
        rng = random.Random(f"{seed}:{index}")
        for _ in range(_ATTEMPTS):
            varied = _Variation(schema, rng).document(document)
            if not validate(schema, parse(varied.query)):
                out.append(varied)
                break
        else:
            out.append(GeneratedQuery(query=print_ast(document), variables={}))
    return out


class _Variation:
    """One seeded pass over one query; collects the variables and fragments it introduces."""

    def __init__(self, schema: GraphQLSchema, rng: random.Random) -> None:
        self.schema = schema
        self.rng = rng
        self.variables: dict[str, Any] = {}
        self.definitions: list[VariableDefinitionNode] = []
        self.fragments: list[FragmentDefinitionNode] = []
        self.aliases = 0

    def document(self, document: DocumentNode) -> GeneratedQuery:
        operation = document.definitions[0]
        root = self.schema.query_type
        if not isinstance(operation, OperationDefinitionNode) or root is None:
            raise TypeError("hypothesis-graphql drew something other than one query")
        selection_set = self.selection_set(operation.selection_set, root)
        varied = OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=(*(operation.variable_definitions or ()), *self.definitions),
            directives=operation.directives or (),
            selection_set=selection_set,
        )
        text = print_ast(DocumentNode(definitions=(varied, *self.fragments)))
        return GeneratedQuery(query=text, variables=dict(self.variables))

    def selection_set(
        self, node: SelectionSetNode, parent: GraphQLCompositeType
    ) -> SelectionSetNode:
        selections = [self.selection(selection, parent) for selection in node.selections]
        if self.rng.random() < _ABSTRACT_WRAP:
            selections = self.wrap_in_abstract(selections, parent)
        return SelectionSetNode(selections=tuple(selections))

    def selection(self, node: SelectionNode, parent: GraphQLCompositeType) -> SelectionNode:
        if isinstance(node, FieldNode):
            return self.field(node, parent)
        if isinstance(node, InlineFragmentNode):
            target = parent
            if node.type_condition is not None:
                named = self.schema.get_type(node.type_condition.name.value)
                if not is_composite_type(named):
                    raise TypeError(f"fragment on a non-composite type: {named}")
                target = named
            inner = self.selection_set(node.selection_set, target)
            return self.fragment(target, inner, (*(node.directives or ()), *self.condition()))
        return node

    def field(self, node: FieldNode, parent: GraphQLCompositeType) -> FieldNode:
        name = node.name.value
        if name.startswith("__") or isinstance(parent, GraphQLUnionType):
            return node
        definition = parent.fields[name]
        alias = node.alias
        if alias is None and self.rng.random() < _ALIAS:
            self.aliases += 1
            alias = NameNode(value=f"{name}_{self.aliases}")
        selection_set = None
        if node.selection_set is not None:
            child = get_named_type(definition.type)
            if not is_composite_type(child):
                raise TypeError(f"a selection set on a leaf field: {name}")
            selection_set = self.selection_set(node.selection_set, child)
        return FieldNode(
            alias=alias,
            name=node.name,
            arguments=tuple(
                self.argument(argument, definition.args[argument.name.value])
                for argument in node.arguments or ()
            ),
            directives=(*(node.directives or ()), *self.condition()),
            selection_set=selection_set,
        )

    def argument(self, node: ArgumentNode, definition: GraphQLArgument) -> ArgumentNode:
        if self.rng.random() >= _ARGUMENT_VARIABLE:
            return node
        literal = ast_from_value(value_from_ast(node.value, definition.type), definition.type)
        if literal is None:
            return node
        name = self.variable(str(definition.type), value_from_ast_untyped(literal))
        return ArgumentNode(name=node.name, value=VariableNode(name=NameNode(value=name)))

    def condition(self) -> tuple[DirectiveNode, ...]:
        """Nothing, or one `@skip`/`@include` on a literal or on a Boolean! variable."""
        if self.rng.random() >= _CONDITION:
            return ()
        directive = self.rng.choice(("include", "skip"))
        included = self.rng.random() < 0.6
        value = included if directive == "include" else not included
        argument: ValueNode = BooleanValueNode(value=value)
        if self.rng.random() < _VARIABLE_CONDITION:
            argument = VariableNode(name=NameNode(value=self.variable("Boolean!", value)))
        return (
            DirectiveNode(
                name=NameNode(value=directive),
                arguments=(ArgumentNode(name=NameNode(value="if"), value=argument),),
            ),
        )

    def variable(self, type_text: str, value: Any) -> str:
        name = f"v{len(self.definitions)}"
        self.variables[name] = value
        self.definitions.append(
            VariableDefinitionNode(
                variable=VariableNode(name=NameNode(value=name)),
                type=parse_type(type_text),
                directives=(),
            )
        )
        return name

    def wrap_in_abstract(
        self, selections: list[SelectionNode], parent: GraphQLCompositeType
    ) -> list[SelectionNode]:
        """Move some of ``parent``'s fields under a fragment on an abstract type it belongs to."""
        candidates = self.abstract_types_of(parent)
        if not candidates:
            return selections
        abstract = self.rng.choice(candidates)
        if isinstance(abstract, GraphQLUnionType):
            if isinstance(parent, GraphQLObjectType):
                # `... on Union { ... on Member { ... } }`: every selection keeps its parent.
                inner = self.fragment(parent, SelectionSetNode(selections=tuple(selections)), ())
                return [self.fragment(abstract, SelectionSetNode(selections=(inner,)), ())]
            return [self.fragment(abstract, SelectionSetNode(selections=tuple(selections)), ())]
        movable = [
            index
            for index, selection in enumerate(selections)
            if isinstance(selection, FieldNode) and self.movable(selection, parent, abstract)
        ]
        moved = [index for index in movable if self.rng.random() < 0.6] or movable[:1]
        if not moved:
            return selections
        fragment = self.fragment(
            abstract,
            SelectionSetNode(selections=tuple(selections[index] for index in moved)),
            self.condition(),
        )
        kept = [selection for index, selection in enumerate(selections) if index not in moved]
        kept.insert(moved[0], fragment)
        return kept

    def abstract_types_of(
        self, parent: GraphQLCompositeType
    ) -> Sequence[GraphQLInterfaceType | GraphQLUnionType]:
        if isinstance(parent, GraphQLUnionType):
            return [parent]
        found: list[GraphQLInterfaceType | GraphQLUnionType] = list(parent.interfaces)
        if isinstance(parent, GraphQLInterfaceType):
            found.append(parent)
        else:
            found += [
                union
                for union in self.schema.type_map.values()
                if isinstance(union, GraphQLUnionType) and parent in union.types
            ]
        return sorted(found, key=lambda kind: kind.name)

    @staticmethod
    def movable(
        field: FieldNode, parent: GraphQLCompositeType, abstract: GraphQLInterfaceType
    ) -> bool:
        name = field.name.value
        if name == "__typename":
            return True
        if isinstance(parent, GraphQLUnionType) or name not in abstract.fields:
            return False
        return is_equal_type(abstract.fields[name].type, parent.fields[name].type)

    def fragment(
        self,
        target: GraphQLCompositeType,
        selection_set: SelectionSetNode,
        directives: tuple[DirectiveNode, ...],
    ) -> SelectionNode:
        """`... on Target { ... }`, or a spread of a new named fragment with that body."""
        condition = NamedTypeNode(name=NameNode(value=target.name))
        if self.rng.random() < _NAMED_FRAGMENT:
            name = NameNode(value=f"F{len(self.fragments)}")
            self.fragments.append(
                FragmentDefinitionNode(
                    name=name,
                    type_condition=condition,
                    directives=(),
                    selection_set=selection_set,
                )
            )
            return FragmentSpreadNode(name=name, directives=directives)
        return InlineFragmentNode(
            type_condition=condition, directives=directives, selection_set=selection_set
        )
