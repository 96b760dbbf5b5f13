"""Type-system directives composition carries into the supergraph, as Apollo composes them.

By default a subgraph's own type-system directives stay in the subgraph. Two kinds go on:

- a directive a subgraph names with `@composeDirective(name: "@cached")`: it must come from a
  spec the subgraph `@link`s (so that its meaning has a name and a version); the supergraph
  links that spec (its latest version among the subgraphs), defines the directive as the first
  subgraph does, and keeps every application, under the name the subgraphs use;
- the cost spec's `@cost` and `@listSize` (federation 2.9): the supergraph links
  `https://specs.apollo.dev/cost/v0.1` and keeps every application, so a gateway can price
  operations. Where several subgraphs put one on the same element, `@cost` takes the highest
  weight; `@listSize` the highest `assumedSize`, the union of `slicingArguments` and
  `sizedFields`, and `requireOneSlicingArgument` only if all say so;
- `@authenticated`, `@requiresScopes` and `@policy` (federation 2.5/2.6): the supergraph links
  `https://specs.apollo.dev/{authenticated,requiresScopes,policy}/v0.1` `for: SECURITY`, as
  Apollo's composition does, and the gateway enforces them (federation/authorization.py).
  Where several subgraphs put one on the same element, the rules add up: `@authenticated` if
  any says so, and the scopes (or policies) of all, each alternative of one paired with each
  of the others (`[["a"]]` and `[["b"], ["c"]]` give `[["a", "b"], ["a", "c"]]`).

Applications are found by schema coordinate (`Title`, `Title.name`, `Title.name(lang:)`,
`Genre.DRAMA`, `Filter.limit`); the printer puts them on the merged elements.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from graphql import (
    BooleanValueNode,
    ConstArgumentNode,
    ConstDirectiveNode,
    ConstListValueNode,
    ConstValueNode,
    DirectiveDefinitionNode,
    DocumentNode,
    EnumValueNode,
    GraphQLError,
    IntValueNode,
    ListValueNode,
    NameNode,
    ScalarTypeDefinitionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    parse,
    print_ast,
)

from .errors import CompositionError
from .model import FEDERATION_SPEC, SubgraphSource

__all__ = ["CarriedDirectives", "carry_directives"]

COST_SPEC = "https://specs.apollo.dev/cost/v0.1"
_COST_DEFINITIONS = (
    "directive @cost(weight: Int!) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | "
    "INPUT_FIELD_DEFINITION | OBJECT | SCALAR",
    "directive @{list_size}(assumedSize: Int, slicingArguments: [String!], sizedFields: "
    "[String!], requireOneSlicingArgument: Boolean = true) on FIELD_DEFINITION",
)
#: The auth specs: definitions as Apollo's composition prints them (and the scalars they use).
_AUTH = ("authenticated", "requiresScopes", "policy")
_AUTH_LOCATIONS = "FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM"
_AUTH_DEFINITIONS = {
    "authenticated": f"directive @authenticated on {_AUTH_LOCATIONS}",
    "requiresScopes": "directive @requiresScopes(scopes: [[requiresScopes__Scope!]!]!) on "
    f"{_AUTH_LOCATIONS}\n\nscalar requiresScopes__Scope",
    "policy": f"directive @policy(policies: [[policy__Policy!]!]!) on {_AUTH_LOCATIONS}"
    "\n\nscalar policy__Policy",
}
_ROOTS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


@dataclass(frozen=True, slots=True)
class CarriedDirectives:
    """What the supergraph gets: `@link`s, directive definitions, and applications by
    schema coordinate."""

    links: tuple[ConstDirectiveNode, ...] = ()
    definitions: tuple[DirectiveDefinitionNode | ScalarTypeDefinitionNode, ...] = ()
    applied: dict[str, tuple[ConstDirectiveNode, ...]] = field(default_factory=dict)


@dataclass(slots=True)
class _Link:
    url: str
    prefix: str
    imports: dict[str, str]  # local name -> element name (both without "@")

    @property
    def identity(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[0]

    @property
    def version(self) -> tuple[int, ...]:
        found = re.search(r"/v(\d+)\.(\d+)$", self.url.rstrip("/"))
        return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


@dataclass(slots=True)
class _Reading:
    """One subgraph: which local directive names to carry (local -> supergraph name)."""

    carried: dict[str, str] = field(default_factory=dict)
    composed: dict[str, tuple[_Link, DirectiveDefinitionNode]] = field(default_factory=dict)
    uses_cost: bool = False
    uses_auth: set[str] = field(default_factory=set)
    #: (spec, element) -> the local name an explicit import gives it
    imported: dict[tuple[str, str], str] = field(default_factory=dict)
    applied: dict[str, list[ConstDirectiveNode]] = field(default_factory=dict)


def _links(document: DocumentNode) -> list[_Link]:
    out: list[_Link] = []
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value != "link":
                continue
            args = {a.name.value: a.value for a in directive.arguments or ()}
            url = args.get("url")
            if not isinstance(url, StringValueNode):
                continue
            alias = args.get("as")
            default = url.value.rstrip("/").rsplit("/", 2)[-2] if url.value.count("/") > 2 else ""
            prefix = alias.value if isinstance(alias, StringValueNode) else default
            out.append(_Link(url.value, prefix, _imports(args.get("import"))))
    return out


def _imports(value: object) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in value.values if isinstance(value, ListValueNode) else ():
        if isinstance(item, StringValueNode) and item.value.startswith("@"):
            out[item.value[1:]] = item.value[1:]
        elif not isinstance(item, StringValueNode):
            fields = {f.name.value: f.value for f in getattr(item, "fields", ())}
            name, alias = fields.get("name"), fields.get("as")
            if isinstance(name, StringValueNode) and name.value.startswith("@"):
                local = alias.value if isinstance(alias, StringValueNode) else name.value
                out[local.lstrip("@")] = name.value[1:]
    return out


def _local(links: Iterable[_Link], spec: str, element: str) -> str | None:
    """The local name of `element` of a linked spec whose URL starts with `spec`."""
    for link in links:
        if not link.url.startswith(spec):
            continue
        for local, name in link.imports.items():
            if name == element:
                return local
        # A spec's own-name directive (`@cost` of the cost spec) goes by the prefix alone.
        own = link.url.rstrip("/").rsplit("/", 2)[-2]
        return link.prefix if element == own else f"{link.prefix}__{element}"
    return None


def _read(source: SubgraphSource, errors: list[CompositionError]) -> _Reading | None:
    try:
        document = parse(source.sdl, no_location=True)
    except GraphQLError:
        return None  # reading the subgraphs reports it
    reading = _Reading()
    links = _links(document)
    for linked in links:
        for imported_as, element_name in linked.imports.items():
            reading.imported[(linked.identity, element_name)] = imported_as
    for element in ("cost", "listSize"):
        for spec in (FEDERATION_SPEC, "https://specs.apollo.dev/cost/"):
            local = _local(links, spec, element)
            if local is not None:
                reading.carried[local] = element
    for element in _AUTH:
        local = _local(links, FEDERATION_SPEC, element)
        if local is not None:
            reading.carried[local] = element
    definitions = {
        d.name.value: d for d in document.definitions if isinstance(d, DirectiveDefinitionNode)
    }
    compose_name = _local(links, FEDERATION_SPEC, "composeDirective")
    for name in _composed_names(document, compose_name):
        where = f'in subgraph "{source.name}"'
        if not name.startswith("@"):
            errors.append(_error(source, f'Argument to @composeDirective "{name}" {where} must '
                                 'have a leading "@"'))  # fmt: skip
            continue
        local = name[1:]
        definition = definitions.get(local)
        link = next((k for k in links if local in k.imports or (local.startswith(k.prefix + "__")
                     and not k.url.startswith(FEDERATION_SPEC))), None)  # fmt: skip
        if definition is None:
            errors.append(_error(source, f"Could not find matching directive definition for "
                                 f'argument to @composeDirective "{name}" {where}.'))  # fmt: skip
        elif link is None or link.url.startswith(FEDERATION_SPEC):
            errors.append(_error(source, f'Directive "{name}" {where} cannot be composed '
                                 "because it is not a member of a core feature"))  # fmt: skip
        else:
            reading.carried[local] = local
            reading.composed[local] = (link, definition)
    _collect(document, reading)
    return reading


def _error(source: SubgraphSource, message: str) -> CompositionError:
    return CompositionError("DIRECTIVE_COMPOSITION_ERROR", message, (source.name,))


def _composed_names(document: DocumentNode, compose_name: str | None) -> list[str]:
    names: list[str] = []
    for definition in document.definitions:
        if not isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            continue
        for directive in definition.directives or ():
            if directive.name.value != compose_name:
                continue
            for arg in directive.arguments or ():
                if arg.name.value == "name" and isinstance(arg.value, StringValueNode):
                    names.append(arg.value.value)
    return names


def _collect(document: DocumentNode, reading: _Reading) -> None:
    roots = dict(_ROOTS)
    for definition in document.definitions:
        if isinstance(definition, SchemaDefinitionNode | SchemaExtensionNode):
            for op in definition.operation_types or ():
                roots[op.operation.value] = op.type.name.value
    rename = {name: _ROOTS[op] for op, name in roots.items()}

    def keep(coordinate: str, directives: Iterable[ConstDirectiveNode] | None) -> None:
        for directive in directives or ():
            name = reading.carried.get(directive.name.value)
            if name is None:
                continue
            reading.uses_cost |= name in ("cost", "listSize")
            if name in _AUTH:
                reading.uses_auth.add(name)
            renamed = ConstDirectiveNode(name=NameNode(value=name), arguments=directive.arguments)
            reading.applied.setdefault(coordinate, []).append(renamed)

    for node in document.definitions:
        if not isinstance(node, TypeDefinitionNode | TypeExtensionNode):
            continue
        type_name = rename.get(node.name.value, node.name.value)
        keep(type_name, node.directives)
        for child in getattr(node, "fields", None) or getattr(node, "values", None) or ():
            coordinate = f"{type_name}.{child.name.value}"
            keep(coordinate, child.directives)
            for arg in getattr(child, "arguments", None) or ():
                keep(f"{coordinate}({arg.name.value}:)", arg.directives)


def carry_directives(
    sources: Sequence[SubgraphSource],
) -> tuple[CarriedDirectives, list[CompositionError]]:
    """The directives to carry into the supergraph, or the `DIRECTIVE_COMPOSITION_ERROR`s of
    `@composeDirective`s that name no directive of a linked spec."""
    errors: list[CompositionError] = []
    read = [(s.name, r) for s in sources if (r := _read(s, errors)) is not None]
    readings = [r for _n, r in read]
    errors += _import_mismatches(read)
    if errors:
        return CarriedDirectives(), errors
    links: list[ConstDirectiveNode] = []
    definitions: list[DirectiveDefinitionNode] = []
    list_size_imported = any(
        d.name.value == "listSize" for r in readings for ds in r.applied.values() for d in ds
    )
    if any(r.uses_cost for r in readings):
        imports = ["@listSize"] if list_size_imported else []
        links.append(_link(COST_SPEC, imports))
        for text in _COST_DEFINITIONS:
            name = "listSize" if list_size_imported else "cost__listSize"
            parsed = parse(text.replace("{list_size}", name), no_location=True)
            definitions += [d for d in parsed.definitions if isinstance(d, DirectiveDefinitionNode)]
    composed: dict[str, tuple[_Link, DirectiveDefinitionNode]] = {}
    for reading in readings:
        for name, (link, definition) in reading.composed.items():
            known = composed.get(name)
            if known is None or link.version > known[0].version:
                composed[name] = (link, known[1] if known else definition)
    by_url: dict[str, list[str]] = {}
    for name, (link, _definition) in composed.items():
        by_url.setdefault(link.url, []).append(name)
    for url, names in by_url.items():
        links.append(_link(url, [f"@{n}" for n in names]))
    definitions += [definition for _link_, definition in composed.values()]
    repeatable = {d.name.value for d in definitions if d.repeatable}
    auth: list[DirectiveDefinitionNode | ScalarTypeDefinitionNode] = []
    for element in _AUTH:
        if any(element in r.uses_auth for r in readings):
            links.append(_link(f"https://specs.apollo.dev/{element}/v0.1", [], "SECURITY"))
            auth_parsed = parse(_AUTH_DEFINITIONS[element], no_location=True).definitions
            auth += [
                d
                for d in auth_parsed
                if isinstance(d, DirectiveDefinitionNode | ScalarTypeDefinitionNode)
            ]
    coordinates = list(dict.fromkeys(c for r in readings for c in r.applied))
    applied = {
        c: _merge_applications([r.applied.get(c, []) for r in readings], repeatable)
        for c in coordinates
    }
    return CarriedDirectives(tuple(links), (*definitions, *auth), applied), []


def _import_mismatches(read: Sequence[tuple[str, _Reading]]) -> list[CompositionError]:
    """A carried directive must go by one name in every subgraph that imports it."""
    errors: list[CompositionError] = []
    carried = {e for _n, r in read for e in r.carried.values()}
    elements = dict.fromkeys(k for _n, r in read for k in r.imported if k[1] in carried)
    for spec, element in elements:
        names = {n: r.imported[(spec, element)] for n, r in read if (spec, element) in r.imported}
        if len(set(names.values())) < 2:
            continue
        by_name: dict[str, list[str]] = {}
        for graph, local in names.items():
            by_name.setdefault(local, []).append(graph)
        listing = " but ".join(
            f'"@{local}" in subgraph{"s" if len(g) > 1 else ""} {", ".join(map(repr, g))}'
            for local, g in by_name.items()
        ).replace("'", '"')
        errors.append(
            CompositionError(
                "LINK_IMPORT_NAME_MISMATCH",
                f'The "@{element}" directive (from {spec}) is imported with mismatched name '
                f"between subgraphs: it is imported as {listing}",
                tuple(names),
            )
        )
    return errors


def _link(url: str, imports: Sequence[str], purpose: str | None = None) -> ConstDirectiveNode:
    arguments = [ConstArgumentNode(name=NameNode(value="url"), value=StringValueNode(value=url))]
    if imports:
        values = tuple(StringValueNode(value=i) for i in imports)
        arguments.append(
            ConstArgumentNode(
                name=NameNode(value="import"), value=ConstListValueNode(values=values)
            )
        )
    if purpose is not None:
        arguments.append(
            ConstArgumentNode(name=NameNode(value="for"), value=EnumValueNode(value=purpose))
        )
    return ConstDirectiveNode(name=NameNode(value="link"), arguments=tuple(arguments))


def _merge_applications(
    per_subgraph: Sequence[Sequence[ConstDirectiveNode]], repeatable: set[str]
) -> tuple[ConstDirectiveNode, ...]:
    by_name: dict[str, list[ConstDirectiveNode]] = {}
    for directives in per_subgraph:
        for directive in directives:
            by_name.setdefault(directive.name.value, []).append(directive)
    out: list[ConstDirectiveNode] = []
    for name, found in by_name.items():
        if name == "cost":
            out.append(_merge_cost(found))
        elif name == "authenticated":
            out.append(found[0])
        elif name in ("requiresScopes", "policy"):
            distinct = list({print_ast(d): d for d in found}.values())
            # One application everywhere stays as written; several are combined (and sorted).
            out.append(distinct[0] if len(distinct) == 1 else _merge_rules(name, found))
        elif name == "listSize":
            out.append(_merge_list_size(found))
        elif name in repeatable:
            out += list({print_ast(d): d for d in found}.values())
        else:
            # One application per element: the most common one (ties go to the first).
            counts = Counter(print_ast(d) for d in found)
            best = max(counts.values())
            out.append(next(d for d in found if counts[print_ast(d)] == best))
    return tuple(out)


def _merge_rules(name: str, found: Sequence[ConstDirectiveNode]) -> ConstDirectiveNode:
    """`@requiresScopes`/`@policy` of several subgraphs on one element: all must hold, so each
    alternative of one is paired with each of the others (as Apollo's composition does)."""
    argument = "scopes" if name == "requiresScopes" else "policies"
    merged: list[list[str]] | None = None
    for directive in found:
        value = _args(directive).get(argument)
        groups = [
            sorted({v.value for v in group.values if isinstance(v, StringValueNode)})
            for group in (value.values if isinstance(value, ListValueNode) else ())
            if isinstance(group, ListValueNode)
        ]
        if merged is None:
            merged = groups
        else:
            merged = [sorted(set(a) | set(b)) for a in merged for b in groups]
    unique = list({tuple(g): g for g in merged or []}.values())
    values = tuple(
        ConstListValueNode(values=tuple(StringValueNode(value=v) for v in group))
        for group in unique
    )
    return _with_args(name, {argument: ConstListValueNode(values=values)})


def _args(directive: ConstDirectiveNode) -> dict[str, ConstValueNode]:
    return {a.name.value: a.value for a in directive.arguments or ()}


def _merge_cost(found: Sequence[ConstDirectiveNode]) -> ConstDirectiveNode:
    weights = [v for d in found if isinstance(v := _args(d).get("weight"), IntValueNode)]
    top = max(weights, key=lambda v: int(v.value), default=None)
    return _with_args("cost", {"weight": top})


def _merge_list_size(found: Sequence[ConstDirectiveNode]) -> ConstDirectiveNode:
    args = [_args(d) for d in found]
    sizes = [v for a in args if isinstance(v := a.get("assumedSize"), IntValueNode)]
    merged: dict[str, ConstValueNode | None] = {
        "assumedSize": max(sizes, key=lambda v: int(v.value), default=None)
    }
    for name in ("slicingArguments", "sizedFields"):
        lists = [v for a in args if isinstance(v := a.get(name), ListValueNode)]
        if lists:
            items = {print_ast(i): i for v in lists for i in v.values}
            merged[name] = ConstListValueNode(values=tuple(items.values()))
    flags = [
        v for a in args if isinstance(v := a.get("requireOneSlicingArgument"), BooleanValueNode)
    ]
    if flags:
        merged["requireOneSlicingArgument"] = BooleanValueNode(value=all(f.value for f in flags))
    # Arguments in the order the subgraphs write them.
    order = list(dict.fromkeys(name for a in args for name in a))
    return _with_args("listSize", {k: merged[k] for k in order if k in merged})


def _with_args(name: str, args: dict[str, ConstValueNode | None]) -> ConstDirectiveNode:
    return ConstDirectiveNode(
        name=NameNode(value=name),
        arguments=tuple(
            ConstArgumentNode(name=NameNode(value=k), value=v) for k, v in args.items() if v
        ),
    )
