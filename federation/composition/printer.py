"""The merged schema printed as a supergraph: join v0.5 and link v1.0, the form Apollo emits.

The document is built as graphql-core AST and printed with `print_ast`, so quoting and
descriptions are graphql-core's; types come sorted by name, as in Apollo's output.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from graphql import (
    BooleanValueNode,
    ConstArgumentNode,
    ConstDirectiveNode,
    DirectiveDefinitionNode,
    EnumTypeDefinitionNode,
    EnumValueDefinitionNode,
    EnumValueNode,
    FieldDefinitionNode,
    InputObjectTypeDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    NameNode,
    ObjectTypeDefinitionNode,
    OperationType,
    OperationTypeDefinitionNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    UnionTypeDefinitionNode,
    parse,
    print_ast,
)

from .carried import CarriedDirectives
from .merged import JoinField, JoinType, MergedSchema, MergedType
from .model import ArgDef

__all__ = ["graph_enum_values", "print_supergraph"]

_ALL_LOCATIONS = (
    "FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM | "
    "ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION"
)

#: the join v0.5 and link v1.0 definitions every supergraph carries, as Apollo prints them
_PREAMBLE = (Path(__file__).parent / "preamble.graphql").read_text()
_INACCESSIBLE = f"directive @inaccessible on {_ALL_LOCATIONS}"
_TAG = f"directive @tag(name: String!) repeatable on {_ALL_LOCATIONS} | SCHEMA"
#: the context spec, as Apollo adds it once some subgraph sets a context
_CONTEXT = (
    "directive @{context}(name: String!) repeatable on INTERFACE | OBJECT | UNION\n\n"
    "directive @context__fromContext(field: context__ContextFieldValue) on ARGUMENT_DEFINITION"
    "\n\nscalar context__ContextFieldValue"
)


def graph_enum_values(names: Sequence[str]) -> dict[str, str]:
    """graph name -> its `join__Graph` value: upper case, non-word characters as `_`, unique."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in sorted(names):
        base = re.sub(r"\W", "_", name).upper()
        if base[:1].isdigit():
            base = "_" + base
        value, n = base, 1
        while value in taken:
            value, n = f"{base}_{n}", n + 1
        taken.add(value)
        out[name] = value
    return out


def _name(value: str) -> NameNode:
    return NameNode(value=value)


def _directive(
    directive_name: str, /, **args: str | bool | BooleanValueNode | None
) -> ConstDirectiveNode:
    arguments = []
    for arg, value in args.items():
        if value is None or value is False:
            continue
        node: object
        if isinstance(value, BooleanValueNode):
            node = value
        elif isinstance(value, bool):
            node = BooleanValueNode(value=value)
        elif arg == "graph":
            node = EnumValueNode(value=value)
        else:
            node = StringValueNode(value=value)
        arguments.append(ConstArgumentNode(name=_name(arg), value=node))
    return ConstDirectiveNode(name=_name(directive_name), arguments=tuple(arguments))


def _desc(text: str | None) -> StringValueNode | None:
    return StringValueNode(value=text, block="\n" in text) if text else None


class _Printer:
    def __init__(
        self,
        merged: MergedSchema,
        executable_directives: Sequence[DirectiveDefinitionNode],
        carried: CarriedDirectives,
    ) -> None:
        self.merged = merged
        self.executable_directives = executable_directives
        self.carried = carried
        self.enum_values = graph_enum_values(list(merged.graphs))
        self.uses_inaccessible = False
        self.uses_tag = False

    def graph(self, name: str) -> str:
        return self.enum_values[name]

    def common(
        self, inaccessible: bool, tags: Sequence[str], deprecated: str | None = None
    ) -> list[ConstDirectiveNode]:
        out: list[ConstDirectiveNode] = []
        if deprecated is not None:
            out.append(_directive("deprecated", reason=deprecated))
        if inaccessible:
            self.uses_inaccessible = True
            out.append(_directive("inaccessible"))
        for tag in tags:
            self.uses_tag = True
            out.append(_directive("tag", name=tag))
        return out

    def applied(self, coordinate: str) -> list[ConstDirectiveNode]:
        """The carried directives (`@composeDirective`d, `@cost`, ...) on one element."""
        return list(self.carried.applied.get(coordinate, ()))

    def join_type(self, join: JoinType) -> ConstDirectiveNode:
        key = join.key
        return _directive(
            "join__type",
            graph=self.graph(join.graph),
            key=key.fields if key else None,
            extension=join.extension,
            resolvable=None if key is None or key.resolvable else BooleanValueNode(value=False),
            isInterfaceObject=join.is_interface_object,
        )

    def join_field(self, join: JoinField) -> ConstDirectiveNode:
        node = _directive(
            "join__field",
            graph=self.graph(join.graph) if join.graph else None,
            requires=join.requires,
            provides=join.provides,
            type=join.type,
            external=join.external,
            override=join.override,
            usedOverridden=join.used_overridden,
            overrideLabel=join.override_label,
        )
        if not join.context_arguments:
            return node
        # Printed on one line as Apollo prints it: graphql-core would break these objects over
        # several lines inside the directive. The raw text goes through an enum value node, which
        # print_ast writes as it is.
        entries = ", ".join(
            "{" + ", ".join(f"{k}: {print_ast(StringValueNode(value=v))}" for k, v in (
                ("context", c.context), ("name", c.name), ("type", c.type),
                ("selection", c.selection))) + "}"
            for c in join.context_arguments
        )  # fmt: skip
        contexts = ConstArgumentNode(
            name=_name("contextArguments"), value=EnumValueNode(value=f"[{entries}]")
        )
        return ConstDirectiveNode(name=node.name, arguments=(*(node.arguments or ()), contexts))

    def arg(self, arg: ArgDef, coordinate: str) -> InputValueDefinitionNode:
        return InputValueDefinitionNode(
            name=_name(arg.name),
            type=arg.type,
            default_value=arg.default,
            description=_desc(arg.description),
            directives=tuple(
                self.common(arg.inaccessible, arg.tags, arg.deprecated)
                + self.applied(f"{coordinate}({arg.name}:)")
            ),
        )

    def type_definition(self, mtype: MergedType) -> TypeDefinitionNode:
        directives = [self.join_type(j) for j in mtype.joins]
        context = self.merged.context_directive
        directives += [_directive(context, name=c) for c in mtype.contexts]
        directives += self.common(mtype.inaccessible, mtype.tags) + self.applied(mtype.name)
        name, description = _name(mtype.name), _desc(mtype.description)
        if mtype.kind in ("OBJECT", "INTERFACE"):
            directives[:0] = [
                _directive("join__implements", graph=self.graph(g), interface=i)
                for g, i in mtype.implements
            ]
            fields = tuple(
                FieldDefinitionNode(
                    name=_name(f.name),
                    type=f.type,
                    description=_desc(f.description),
                    arguments=tuple(self.arg(a, f"{mtype.name}.{f.name}") for a in f.args),
                    directives=tuple(
                        [self.join_field(j) for j in f.joins or ()]
                        + self.common(f.inaccessible, f.tags, f.deprecated)
                        + self.applied(f"{mtype.name}.{f.name}")
                    ),
                )
                for f in mtype.fields.values()
            )
            interfaces = tuple(NamedTypeNode(name=_name(i)) for i in mtype.interfaces)
            cls = (
                ObjectTypeDefinitionNode if mtype.kind == "OBJECT" else InterfaceTypeDefinitionNode
            )
            return cls(
                name=name,
                description=description,
                interfaces=interfaces,
                fields=fields,
                directives=tuple(directives),
            )
        if mtype.kind == "UNION":
            directives += [
                _directive("join__unionMember", graph=self.graph(g), member=m)
                for g, m in mtype.members
            ]
            types = tuple(NamedTypeNode(name=_name(m)) for m in mtype.member_names)
            return UnionTypeDefinitionNode(
                name=name, description=description, types=types, directives=tuple(directives)
            )
        if mtype.kind == "ENUM":
            values = tuple(
                EnumValueDefinitionNode(
                    name=_name(v.name),
                    description=_desc(v.description),
                    directives=tuple(
                        [_directive("join__enumValue", graph=self.graph(g)) for g in v.graphs]
                        + self.common(v.inaccessible, v.tags, v.deprecated)
                        + self.applied(f"{mtype.name}.{v.name}")
                    ),
                )
                for v in mtype.values.values()
            )
            return EnumTypeDefinitionNode(
                name=name, description=description, values=values, directives=tuple(directives)
            )
        if mtype.kind == "INPUT_OBJECT":
            input_fields = tuple(
                InputValueDefinitionNode(
                    name=_name(f.name),
                    type=f.type,
                    default_value=f.default,
                    description=_desc(f.description),
                    directives=tuple(
                        [self.join_field(j) for j in f.joins or ()]
                        + self.common(f.inaccessible, f.tags, f.deprecated)
                        + self.applied(f"{mtype.name}.{f.name}")
                    ),
                )
                for f in mtype.input_fields.values()
            )
            return InputObjectTypeDefinitionNode(
                name=name,
                description=description,
                fields=input_fields,
                directives=tuple(directives),
            )
        if mtype.specified_by:
            directives.append(_directive("specifiedBy", url=mtype.specified_by))
        return ScalarTypeDefinitionNode(
            name=name, description=description, directives=tuple(directives)
        )

    def print(self) -> str:
        definitions = [
            self.type_definition(t)
            for t in sorted(self.merged.types.values(), key=lambda t: t.name)
            if t.name not in ("String", "Int", "Float", "Boolean", "ID")
        ]
        graph_enum = EnumTypeDefinitionNode(
            name=_name("join__Graph"),
            values=tuple(
                EnumValueDefinitionNode(
                    name=_name(self.enum_values[g]),
                    directives=(_directive("join__graph", name=g, url=url),),
                )
                for g, url in sorted(self.merged.graphs.items())
            ),
        )
        links = [_directive("link", url="https://specs.apollo.dev/link/v1.0")]
        links.append(_link("https://specs.apollo.dev/join/v0.5", "EXECUTION"))
        extra = []
        if self.uses_inaccessible:
            links.append(_link("https://specs.apollo.dev/inaccessible/v0.2", "SECURITY"))
            extra.append(_INACCESSIBLE)
        if self.uses_tag:
            links.append(_directive("link", url="https://specs.apollo.dev/tag/v0.3"))
            extra.append(_TAG)
        if any(t.contexts for t in self.merged.types.values()):
            context = self.merged.context_directive
            # Apollo keeps the subgraphs' name for it, imported under that name when renamed.
            renamed = f', import: [{{name: "@context", as: "@{context}"}}]'
            link_text = (
                '@link(url: "https://specs.apollo.dev/context/v0.1", for: SECURITY'
                + (renamed if context != "context" else "")
                + ")"
            )
            extension = parse(f"extend schema {link_text}", no_location=True).definitions[0]
            link = extension.directives[0]  # type: ignore[attr-defined]
            links.append(link)
            extra.append(_CONTEXT.replace("{context}", context))
        links += self.carried.links
        operations = {"Query": OperationType.QUERY, "Mutation": OperationType.MUTATION,
                      "Subscription": OperationType.SUBSCRIPTION}  # fmt: skip
        schema = SchemaDefinitionNode(
            directives=tuple(links),
            operation_types=tuple(
                OperationTypeDefinitionNode(
                    operation=operations[r], type=NamedTypeNode(name=_name(r))
                )
                for r in self.merged.roots
            ),
        )
        preamble = parse("\n\n".join([*extra, _PREAMBLE]), no_location=True).definitions
        ordered = sorted(
            [
                *preamble,
                *self.executable_directives,
                *self.carried.definitions,
                graph_enum,
                *definitions,
            ],
            key=lambda d: (not hasattr(d, "locations"), d.name.value.lower()),  # type: ignore[attr-defined]
        )
        return "\n\n".join(print_ast(d) for d in [schema, *ordered]) + "\n"


def _link(url: str, purpose: str) -> ConstDirectiveNode:
    node = _directive("link", url=url)
    arg = ConstArgumentNode(name=_name("for"), value=EnumValueNode(value=purpose))
    return ConstDirectiveNode(name=node.name, arguments=(*(node.arguments or ()), arg))


def print_supergraph(
    merged: MergedSchema,
    executable_directives: Sequence[DirectiveDefinitionNode] = (),
    carried: CarriedDirectives | None = None,
) -> str:
    """The supergraph SDL of a merged schema, with the executable directives to keep and the
    type-system directives carried over (`@composeDirective`, `@cost`, `@listSize`)."""
    return _Printer(merged, executable_directives, carried or CarriedDirectives()).print()
