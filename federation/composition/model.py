"""Reading one subgraph's SDL into typed records, whatever library printed it.

Subgraph libraries print federation in several dialects: Federation 2 with `@link` and imports
(possibly renamed: `{name: "@key", as: "@primaryKey"}`, or prefixed: `@federation__key`),
Federation 1 without `@link`, `extend type` or `@extends`, and with or without the federation
plumbing (`_entities`, `_service`, `_Any`, directive definitions). Everything here maps those
onto canonical names, so the merge never sees a dialect.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    ConstValueNode,
    DirectiveNode,
    DocumentNode,
    EnumTypeDefinitionNode,
    EnumTypeExtensionNode,
    GraphQLSyntaxError,
    InputObjectTypeDefinitionNode,
    InputObjectTypeExtensionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    ObjectValueNode,
    ScalarTypeDefinitionNode,
    ScalarTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeNode,
    UnionTypeDefinitionNode,
    UnionTypeExtensionNode,
    parse,
    parse_type,
    print_ast,
)

from .errors import CompositionError

__all__ = [
    "ArgDef",
    "EnumValueDef",
    "FieldDef",
    "KeyDef",
    "Subgraph",
    "SubgraphSource",
    "TypeDef",
    "read_subgraph",
]

FEDERATION_SPEC = "https://specs.apollo.dev/federation/"
BUILTIN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})
#: what federation adds to a subgraph; never part of the supergraph
PLUMBING_TYPES = frozenset(
    {"_Service", "_Entity", "_Any", "_FieldSet", "FieldSet", "link__Import", "link__Purpose"}
)
PLUMBING_FIELDS = frozenset({"_entities", "_service"})
ROOT_NAMES = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}
#: federation directives every Federation 1 subgraph may use without declaring them
_FED1_NAMES = ("key", "external", "requires", "provides", "extends", "tag", "inaccessible")


@dataclass(frozen=True, slots=True)
class SubgraphSource:
    """One subgraph to compose: its name, the URL the gateway calls, and its SDL."""

    name: str
    url: str
    sdl: str


@dataclass(frozen=True, slots=True)
class KeyDef:
    """One `@key` of a type in one subgraph."""

    fields: str
    resolvable: bool = True


@dataclass(frozen=True, slots=True)
class ArgDef:
    """An argument of a field, or an input field (`default` is the printed default value)."""

    name: str
    type: TypeNode
    default: ConstValueNode | None = None
    description: str | None = None
    deprecated: str | None = None
    inaccessible: bool = False
    tags: tuple[str, ...] = ()
    #: `@fromContext(field:)` as written (`"$shop { currency }"`): filled from an ancestor
    from_context: str | None = None


@dataclass(frozen=True, slots=True)
class FieldDef:
    """A field of an object or interface type as one subgraph declares it."""

    name: str
    type: TypeNode
    args: tuple[ArgDef, ...] = ()
    description: str | None = None
    deprecated: str | None = None
    external: bool = False
    shareable: bool = False
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    override_label: str | None = None
    inaccessible: bool = False
    tags: tuple[str, ...] = ()

    @property
    def type_str(self) -> str:
        """The type as printed: `[Product!]!`."""
        return print_ast(self.type)


@dataclass(frozen=True, slots=True)
class EnumValueDef:
    """A value of an enum type in one subgraph."""

    name: str
    description: str | None = None
    deprecated: str | None = None
    inaccessible: bool = False
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TypeDef:
    """A named type of one subgraph, its definition and extensions folded together."""

    name: str
    kind: str  # OBJECT, INTERFACE, UNION, ENUM, INPUT_OBJECT, SCALAR
    description: str | None = None
    fields: dict[str, FieldDef] = field(default_factory=dict)
    input_fields: dict[str, ArgDef] = field(default_factory=dict)
    interfaces: tuple[str, ...] = ()
    members: tuple[str, ...] = ()
    values: dict[str, EnumValueDef] = field(default_factory=dict)
    keys: tuple[KeyDef, ...] = ()
    extension: bool = False
    #: marked `@extends` (as opposed to written `extend type`)
    extends: bool = False
    shareable: bool = False
    inaccessible: bool = False
    interface_object: bool = False
    tags: tuple[str, ...] = ()
    #: `@specifiedBy(url:)` of a custom scalar
    specified_by: str | None = None
    #: the contexts the type sets (`@context(name:)`), as the subgraph names them
    contexts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Subgraph:
    """A subgraph read into records; `fed1` says whether it was written for Federation 1."""

    name: str
    url: str
    types: dict[str, TypeDef]
    fed1: bool
    #: the name the subgraph gives `@context` (`@ctx` if imported so): the supergraph keeps it
    context_directive: str = "context"


# -- directive names ------------------------------------------------------------------------------


def _link_names(document: DocumentNode) -> tuple[dict[str, str], bool]:
    """local directive name -> canonical federation name, and whether federation is linked."""
    names: dict[str, str] = {}
    linked = False
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value != "link":
                continue
            args = _args(directive)
            url = _string(args.get("url")) or ""
            spec = url.rstrip("/").split("/")[-2] if url.count("/") >= 2 else ""
            if url.startswith(FEDERATION_SPEC):
                linked = True
            prefix = _string(args.get("as")) or spec
            for imported in _imports(args.get("import")):
                name, alias = imported
                if name.startswith("@"):
                    names[alias.lstrip("@")] = name.lstrip("@")
            # Elements not imported stay reachable under `prefix__name`; the canonical name of
            # `federation__key` is `key`, of `inaccessible` (the spec's own-name directive) too.
            names.setdefault(prefix, spec)
            names["\0" + prefix] = spec  # marks a known prefix
    return names, linked


def _imports(value: object) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if not isinstance(value, ListValueNode):
        return out
    for item in value.values:
        if isinstance(item, StringValueNode):
            out.append((item.value, item.value))
        elif isinstance(item, ObjectValueNode):
            fields = {f.name.value: f.value for f in item.fields}
            name = _string(fields.get("name"))
            if name:
                out.append((name, _string(fields.get("as")) or name))
    return out


class _Names:
    """Canonical name of an applied directive (None for directives federation does not know)."""

    def __init__(self, document: DocumentNode) -> None:
        self.local, self.fed2 = _link_names(document)
        if not self.fed2:
            for name in _FED1_NAMES:
                self.local.setdefault(name, name)
            # Fed1 subgraphs may still import fed2 names by habit; accept them as written.
            for name in ("shareable", "override"):
                self.local.setdefault(name, name)

    def local_name(self, canonical: str) -> str:
        """The name the subgraph applies a federation directive under: as imported (perhaps
        renamed), else prefixed with the federation link's name (`federation__context`)."""
        renamed = [k for k, v in self.local.items() if v == canonical and k[:1] != "\0"]
        if renamed:
            return canonical if canonical in renamed else renamed[0]
        prefixes = [k[1:] for k, v in self.local.items() if k[:1] == "\0" and v == "federation"]
        return f"{prefixes[0] if prefixes else 'federation'}__{canonical}"

    def canonical(self, name: str) -> str | None:
        if name in self.local:
            return self.local[name]
        if "__" in name:
            prefix, element = name.split("__", 1)
            if "\0" + prefix in self.local:
                return element
        if name in ("deprecated", "specifiedBy"):
            return name
        return None


# -- reading --------------------------------------------------------------------------------------


def _args(directive: DirectiveNode) -> dict[str, object]:
    return {arg.name.value: arg.value for arg in directive.arguments or ()}


def _string(value: object) -> str | None:
    return value.value if isinstance(value, StringValueNode) else None


def _field_set(value: object) -> str | None:
    # Fed1 libraries sometimes print FieldSets as lists of strings.
    if isinstance(value, ListValueNode):
        return " ".join(v.value for v in value.values if isinstance(v, StringValueNode))
    return _string(value)


@dataclass(slots=True)
class _Applied:
    """The federation directives on one element, by canonical name."""

    flags: set[str] = field(default_factory=set)
    keys: list[KeyDef] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    requires: str | None = None
    provides: str | None = None
    override: str | None = None
    override_label: str | None = None
    deprecated: str | None = None
    specified_by: str | None = None
    contexts: list[str] = field(default_factory=list)
    from_context: str | None = None


def _applied(directives: Iterable[DirectiveNode], names: _Names) -> _Applied:
    out = _Applied()
    for directive in directives:
        name = names.canonical(directive.name.value)
        if name is None:
            continue
        args = _args(directive)
        if name == "key":
            resolvable = args.get("resolvable")
            out.keys.append(
                KeyDef(
                    fields=_field_set(args.get("fields")) or "",
                    resolvable=not (
                        isinstance(resolvable, BooleanValueNode) and not resolvable.value
                    ),
                )
            )
        elif name == "tag":
            out.tags.append(_string(args.get("name")) or "")
        elif name == "requires":
            out.requires = _field_set(args.get("fields"))
        elif name == "provides":
            out.provides = _field_set(args.get("fields"))
        elif name == "override":
            out.override = _string(args.get("from"))
            out.override_label = _string(args.get("label"))
        elif name == "specifiedBy":
            out.specified_by = _string(args.get("url"))
        elif name == "deprecated":
            out.deprecated = _string(args.get("reason")) or "No longer supported"
        elif name == "context":
            out.contexts.append(_string(args.get("name")) or "")
        elif name == "fromContext":
            out.from_context = _string(args.get("field")) or ""
        else:
            out.flags.add(name)
    return out


def _description(node: object) -> str | None:
    desc = getattr(node, "description", None)
    return desc.value if desc is not None else None


def _arg(node: object, names: _Names) -> ArgDef:
    applied = _applied(getattr(node, "directives", None) or (), names)
    return ArgDef(
        name=node.name.value,  # type: ignore[attr-defined]
        type=node.type,  # type: ignore[attr-defined]
        default=getattr(node, "default_value", None),
        description=_description(node),
        deprecated=applied.deprecated,
        inaccessible="inaccessible" in applied.flags,
        tags=tuple(applied.tags),
        from_context=applied.from_context,
    )


_KINDS: dict[type, tuple[str, bool]] = {
    ObjectTypeDefinitionNode: ("OBJECT", False),
    ObjectTypeExtensionNode: ("OBJECT", True),
    InterfaceTypeDefinitionNode: ("INTERFACE", False),
    InterfaceTypeExtensionNode: ("INTERFACE", True),
    UnionTypeDefinitionNode: ("UNION", False),
    UnionTypeExtensionNode: ("UNION", True),
    EnumTypeDefinitionNode: ("ENUM", False),
    EnumTypeExtensionNode: ("ENUM", True),
    InputObjectTypeDefinitionNode: ("INPUT_OBJECT", False),
    InputObjectTypeExtensionNode: ("INPUT_OBJECT", True),
    ScalarTypeDefinitionNode: ("SCALAR", False),
    ScalarTypeExtensionNode: ("SCALAR", True),
}


def _is_plumbing_type(name: str) -> bool:
    return name in PLUMBING_TYPES or name.startswith(("federation__", "link__", "join__"))


def read_subgraph(source: SubgraphSource, errors: list[CompositionError]) -> Subgraph | None:
    """Read one subgraph, appending what is wrong with it to `errors` (None if unreadable)."""
    try:
        document = parse(source.sdl)
    except GraphQLSyntaxError as error:
        errors.append(
            CompositionError(
                code="INVALID_GRAPHQL",
                message=f"[{source.name}] {error.message}",
                subgraphs=(source.name,),
            )
        )
        return None
    names = _Names(document)
    roots = dict(ROOT_NAMES)
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            for op in definition.operation_types or ():
                roots[op.operation.value] = op.type.name.value
    rename = {name: ROOT_NAMES[op] for op, name in roots.items()}
    builders: dict[str, _TypeBuilder] = {}
    for definition in document.definitions:
        kind_ext = _KINDS.get(type(definition))
        if kind_ext is None:
            continue
        kind, is_extension = kind_ext
        name = definition.name.value  # type: ignore[attr-defined]
        if _is_plumbing_type(name):
            continue
        name = rename.get(name, name)
        builder = builders.get(name)
        if builder is None:
            builder = builders[name] = _TypeBuilder(name, kind)
        elif builder.kind != kind:
            errors.append(
                CompositionError(
                    code="INVALID_GRAPHQL",
                    message=f'[{source.name}] Type "{name}" is defined with several kinds',
                    subgraphs=(source.name,),
                    coordinate=name,
                )
            )
            continue
        elif builder.has_definition and not is_extension:
            errors.append(
                CompositionError(
                    code="INVALID_GRAPHQL",
                    message=f'[{source.name}] There can be only one type named "{name}".',
                    subgraphs=(source.name,),
                    coordinate=name,
                )
            )
            continue
        builder.add(definition, is_extension, names, rename)
    types = {name: builder.build() for name, builder in builders.items()}
    # Every subgraph answers `_service` on Query, so every subgraph has the Query type.
    types.setdefault("Query", TypeDef(name="Query", kind="OBJECT"))
    subgraph = Subgraph(
        name=source.name,
        url=source.url,
        types=types,
        fed1=not names.fed2,
        context_directive=names.local_name("context"),
    )
    _check_references(subgraph, errors)
    return subgraph


class _TypeBuilder:
    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.description: str | None = None
        self.fields: dict[str, FieldDef] = {}
        self.input_fields: dict[str, ArgDef] = {}
        self.interfaces: list[str] = []
        self.members: list[str] = []
        self.values: dict[str, EnumValueDef] = {}
        self.keys: list[KeyDef] = []
        self.has_definition = False
        self.extends = False
        self.flags: set[str] = set()
        self.tags: list[str] = []
        self.specified_by: str | None = None
        self.contexts: list[str] = []

    def add(self, node: object, is_extension: bool, names: _Names, rename: dict[str, str]) -> None:
        applied = _applied(getattr(node, "directives", None) or (), names)
        self.has_definition |= not is_extension
        self.extends |= "extends" in applied.flags
        self.flags |= applied.flags
        self.keys.extend(k for k in applied.keys if k not in self.keys)
        self.tags.extend(applied.tags)
        self.contexts.extend(applied.contexts)
        self.specified_by = self.specified_by or applied.specified_by
        self.description = self.description or _description(node)
        for iface in getattr(node, "interfaces", None) or ():
            if iface.name.value not in self.interfaces:
                self.interfaces.append(iface.name.value)
        for member in getattr(node, "types", None) or ():
            if member.name.value not in self.members:
                self.members.append(member.name.value)
        for value in getattr(node, "values", None) or ():
            value_applied = _applied(value.directives or (), names)
            self.values[value.name.value] = EnumValueDef(
                name=value.name.value,
                description=_description(value),
                deprecated=value_applied.deprecated,
                inaccessible="inaccessible" in value_applied.flags,
                tags=tuple(value_applied.tags),
            )
        for node_field in getattr(node, "fields", None) or ():
            if self.kind == "INPUT_OBJECT":
                self.input_fields[node_field.name.value] = _arg(node_field, names)
                continue
            if node_field.name.value in PLUMBING_FIELDS:
                continue
            fa = _applied(node_field.directives or (), names)
            type_node = _renamed(node_field.type, rename)
            self.fields[node_field.name.value] = FieldDef(
                name=node_field.name.value,
                type=type_node,
                args=tuple(_arg(arg, names) for arg in node_field.arguments or ()),
                description=_description(node_field),
                deprecated=fa.deprecated,
                external="external" in fa.flags,
                shareable="shareable" in fa.flags,
                requires=fa.requires,
                provides=fa.provides,
                override=fa.override,
                override_label=fa.override_label,
                inaccessible="inaccessible" in fa.flags,
                tags=tuple(fa.tags),
            )

    def build(self) -> TypeDef:
        external_type = "external" in self.flags
        fields = self.fields
        if external_type:
            fields = {n: _with(f, external=True) for n, f in fields.items()}
        return TypeDef(
            name=self.name,
            kind=self.kind,
            description=self.description,
            fields=fields,
            input_fields=self.input_fields,
            interfaces=tuple(self.interfaces),
            members=tuple(self.members),
            values=self.values,
            keys=tuple(self.keys),
            extension=(self.extends or not self.has_definition)
            and self.name not in ROOT_NAMES.values(),
            extends=self.extends,
            shareable="shareable" in self.flags,
            inaccessible="inaccessible" in self.flags,
            interface_object="interfaceObject" in self.flags,
            tags=tuple(dict.fromkeys(self.tags)),
            specified_by=self.specified_by,
            contexts=tuple(self.contexts),
        )


def _renamed(type_node: TypeNode, rename: dict[str, str]) -> TypeNode:
    if not rename or all(k == v for k, v in rename.items()):
        return type_node
    printed = print_ast(type_node)
    named = printed.strip("[]!")
    if named in rename:
        printed = printed.replace(named, rename[named])
    return parse_type(printed)


def _with(fdef: FieldDef, **changes: object) -> FieldDef:
    return replace(fdef, **changes)  # type: ignore[arg-type]


def named_type(type_node: TypeNode) -> str:
    """`[Product!]!` -> `Product`."""
    return print_ast(type_node).strip("[]!")


def _check_references(subgraph: Subgraph, errors: list[CompositionError]) -> None:
    known = set(subgraph.types) | BUILTIN_SCALARS

    def check(type_name: str, where: str) -> None:
        if type_name not in known:
            errors.append(
                CompositionError(
                    code="INVALID_GRAPHQL",
                    message=f'[{subgraph.name}] Unknown type "{type_name}" (used by {where}).',
                    subgraphs=(subgraph.name,),
                    coordinate=where,
                )
            )

    for tdef in subgraph.types.values():
        for fdef in tdef.fields.values():
            check(named_type(fdef.type), f"{tdef.name}.{fdef.name}")
            for arg in fdef.args:
                check(named_type(arg.type), f"{tdef.name}.{fdef.name}({arg.name}:)")
        for arg in tdef.input_fields.values():
            check(named_type(arg.type), f"{tdef.name}.{arg.name}")
        for ref in (*tdef.interfaces, *tdef.members):
            check(ref, tdef.name)


def unwrap_args(nodes: Sequence[ArgumentNode]) -> dict[str, object]:
    """Argument nodes by name (used when re-reading FieldSets)."""
    return {arg.name.value: arg.value for arg in nodes}
