"""Federation 2's merge rules: subgraph types become supergraph types with their `join__` facts.

- Object and interface types take the union of their fields. A field's type is the most general
  type of the subgraphs' types (`String!` and `String` give `String`); each graph whose type
  differs keeps its own in `@join__field(type:)`.
- Arguments and input object fields take the intersection; a required one that some subgraph
  lacks is an error. Their type is the most specific of the subgraphs' types. An argument that
  is `@fromContext` in some subgraph is not in the supergraph (`context.py`).
- Enums take the union of values when only output positions use them, the intersection when only
  input positions do, and must agree when both do. Unions take the union of members.
- `@override(from:)` takes a field away from a graph, `@interfaceObject` adds a graph's fields
  to the interface and its implementations, `@inaccessible` anywhere applies to the supergraph.
- Descriptions: the most common one wins (ties go to the first subgraph); a deprecation is kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import NonNullTypeNode, TypeNode, print_ast

from .context import context_directive, contextual_argument, join_context_arguments, type_contexts
from .errors import CompositionError, CompositionHint
from .merge_rules import (
    enum_usage,
    external_type_mismatch,
    named_list,
    pick_description,
    quoted_names,
    shared_facts,
    spread_interface_objects,
    subtype,
    type_listing,
    union_tags,
)
from .merged import (
    JoinField,
    JoinType,
    MergedEnumValue,
    MergedField,
    MergedInputField,
    MergedSchema,
    MergedType,
)
from .model import ArgDef, FieldDef, Subgraph, TypeDef
from .upgrade import key_fields, provided_fields, used_fields

__all__ = ["merge"]

_ROOTS = ("Query", "Mutation", "Subscription")


class _Merger:
    def __init__(self, subgraphs: Sequence[Subgraph]) -> None:
        self.subgraphs = list(subgraphs)
        self.errors: list[CompositionError] = []
        self.hints: list[CompositionHint] = []
        self.kinds: dict[str, str] = {}
        self.mismatched: set[str] = set()
        # Per subgraph, once: the sharing checks ask them for every field.
        #: (type, field) used by a key, requires or provides, or implementing an interface field
        self.used = {s.name: used_fields(s) for s in self.subgraphs}
        #: (type, field) some @provides of the subgraph selects
        self.provided = {s.name: provided_fields(s) for s in self.subgraphs}
        #: (type, field) named in a @key: shareable without saying so
        self.key_paths = {s.name: key_fields(s) for s in self.subgraphs}

    def error(self, code: str, message: str, graphs: Sequence[str], coordinate: str) -> None:
        self.errors.append(CompositionError(code, message, tuple(graphs), coordinate))

    def sources(self, name: str) -> list[tuple[str, TypeDef]]:
        return [(s.name, s.types[name]) for s in self.subgraphs if name in s.types]

    def run(self) -> MergedSchema:
        names = list(dict.fromkeys(n for s in self.subgraphs for n in s.types))
        for name in names:
            self.kinds[name] = self.merged_kind(name)
        types: dict[str, MergedType] = {}
        enums: list[str] = []
        for name in names:
            kind = self.kinds[name]
            if kind in ("OBJECT", "INTERFACE"):
                types[name] = self.merge_composite(name, kind)
            elif kind == "UNION":
                types[name] = self.merge_union(name)
            elif kind == "INPUT_OBJECT":
                types[name] = self.merge_input(name)
            elif kind == "ENUM":
                enums.append(name)
            else:
                types[name] = self.merge_scalar(name)
        for name in enums:
            types[name] = self.merge_enum(name, types)
        spread_interface_objects(types)
        roots = tuple(r for r in _ROOTS if r in types)
        graphs = {s.name: s.url for s in self.subgraphs}
        context = context_directive(self.subgraphs)
        return MergedSchema(graphs=graphs, types=types, roots=roots, context_directive=context)

    def merged_kind(self, name: str) -> str:
        sources = self.sources(name)
        kinds = {graph: ("INTERFACE" if t.interface_object else t.kind) for graph, t in sources}
        distinct = list(dict.fromkeys(kinds.values()))
        if len(distinct) > 1:
            self.mismatched.add(name)
            listing = "; ".join(
                kind.lower().replace("_", " ")
                + " in "
                + quoted_names(g for g, k in kinds.items() if k == kind)
                for kind in distinct
            )
            self.error(
                "TYPE_KIND_MISMATCH",
                f'Type "{name}" has mismatched kind: it is defined as {listing}',
                list(kinds),
                name,
            )
        return distinct[0]

    # -- object and interface types ---------------------------------------------------------------

    def merge_composite(self, name: str, kind: str) -> MergedType:
        sources = [(g, t) for g, t in self.sources(name) if t.kind in ("OBJECT", "INTERFACE")]
        joins: list[JoinType] = []
        for graph, tdef in sources:
            keys = tdef.keys or (None,)
            for key in keys:
                # As Apollo marks it: only a key of an extension says `extension: true`.
                extension = tdef.extension and key is not None
                joins.append(JoinType(graph, key, extension, tdef.interface_object))
        implements = tuple((graph, iface) for graph, tdef in sources for iface in tdef.interfaces)
        field_names = list(dict.fromkeys(f for _g, t in sources for f in t.fields))
        fields = {f: self.merge_field(name, f, sources) for f in field_names}
        return MergedType(
            name=name,
            kind=kind,
            joins=tuple(joins),
            fields=fields,
            implements=implements,
            **shared_facts(sources),
            contexts=type_contexts(sources),
        )

    def merge_field(
        self, parent: str, name: str, sources: Sequence[tuple[str, TypeDef]]
    ) -> MergedField:
        coordinate = f"{parent}.{name}"
        defs = [(g, t.fields[name]) for g, t in sources if name in t.fields]
        graphs_of_type = [g for g, _t in sources]
        overridden: dict[str, str | None] = {}  # graph -> label
        for graph, fdef in defs:
            if fdef.override is None:
                continue
            if fdef.override == graph:
                self.error(
                    "OVERRIDE_FROM_SELF_ERROR",
                    f'Source and destination subgraphs "{graph}" are the same for overridden '
                    f'field "{coordinate}"',
                    [graph],
                    coordinate,
                )
                continue
            source = dict(defs).get(fdef.override)
            if source is None:
                self.hints.append(
                    CompositionHint(
                        "FROM_SUBGRAPH_DOES_NOT_EXIST",
                        f'Source subgraph "{fdef.override}" for field "{coordinate}" on subgraph '
                        f'"{graph}" does not exist or does not define the field',
                        coordinate,
                    )
                )
                continue
            if source.external:
                # The source does not resolve it: nothing is taken away, nothing is overridden.
                self.hints.append(
                    CompositionHint(
                        "OVERRIDE_DIRECTIVE_CAN_BE_REMOVED",
                        f'Field "{coordinate}" on subgraph "{graph}" is not resolved anymore by '
                        f'the from subgraph (it is marked "@external" in "{fdef.override}"). The '
                        "@override directive can be removed.",
                        coordinate,
                    )
                )
                continue
            if source.override is not None:
                self.error(
                    "OVERRIDE_SOURCE_HAS_OVERRIDE",
                    f'Field "{coordinate}" on subgraph "{graph}" is also marked with directive '
                    f'@override in subgraph "{fdef.override}". Only one @override directive is '
                    "allowed per field.",
                    [graph, fdef.override],
                    coordinate,
                )
                continue
            overridden[fdef.override] = fdef.override_label
        resolving = [
            (g, f)
            for g, f in defs
            if not f.external and (g not in overridden or overridden[g] is not None)
        ]
        external = [(g, f) for g, f in defs if f.external]
        if defs and not resolving and not any(g in overridden for g, _f in defs):
            self.error(
                "EXTERNAL_MISSING_ON_BASE",
                f'Field "{coordinate}" is marked @external on all the subgraphs in which it is '
                f"listed ({quoted_names(g for g, _f in defs)}).",
                [g for g, _f in defs],
                coordinate,
            )
        # In Apollo's order, so that the first error is the same: arguments, type, sharing.
        # Types and arguments merge over every subgraph that declares the field without
        # @external, overridden ones included (as Apollo merges them).
        typed = [(g, f) for g, f in defs if not f.external] or defs
        args = self.merge_args(coordinate, typed)
        merged_type = self.merge_output_type(coordinate, typed)
        self.check_external_types(coordinate, defs, external, merged_type)
        self.check_sharing(coordinate, parent, defs, resolving, overridden)
        all_equal = len({f.type_str for _g, f in defs}) == 1
        joins = self.field_joins(parent, name, defs, graphs_of_type, overridden, all_equal)
        visible = [f for _g, f in resolving] or [f for _g, f in defs]
        return MergedField(
            name=name,
            type=merged_type,
            args=args,
            description=pick_description([f.description for f in visible]),
            deprecated=next((f.deprecated for f in visible if f.deprecated), None),
            inaccessible=any(f.inaccessible for _g, f in defs),
            tags=union_tags(f.tags for _g, f in defs),
            resolved_in=tuple(g for g, _f in resolving),
            external_in=tuple(g for g, _f in external),
            used_overridden_in=tuple(
                j.graph for j in joins or () if j.used_overridden and j.graph is not None
            ),
            requires={g: f.requires for g, f in resolving if f.requires},
            provides={g: f.provides for g, f in resolving if f.provides},
            joins=joins,
        )

    def check_external_types(
        self,
        coordinate: str,
        defs: Sequence[tuple[str, FieldDef]],
        external: Sequence[tuple[str, FieldDef]],
        merged_type: TypeNode,
    ) -> None:
        listing = external_type_mismatch(self.subgraphs, defs, external, merged_type)
        if listing is not None:
            self.error(
                "EXTERNAL_TYPE_MISMATCH",
                f'Type of field "{coordinate}" is incompatible across subgraphs (where marked '
                f"@external): it has {listing}",
                [g for g, _f in defs],
                coordinate,
            )

    def field_joins(
        self,
        parent: str,
        name: str,
        defs: Sequence[tuple[str, FieldDef]],
        graphs_of_type: Sequence[str],
        overridden: dict[str, str | None],
        all_equal: bool,
    ) -> tuple[JoinField, ...] | None:
        by_graph = dict(defs)
        used_overridden = {g for g in overridden if (parent, name) in self.used[g]}
        needed = not all_equal or bool(overridden)
        for graph in graphs_of_type:
            fdef = by_graph.get(graph)
            missing = fdef is None or (graph in overridden and overridden[graph] is None)
            if missing or (fdef is not None and (fdef.external or fdef.requires or fdef.provides)):
                needed = True
        needed |= any(a.from_context is not None for _g, f in defs for a in f.args)
        if not needed:
            return None
        joins: list[JoinField] = []
        for graph, fdef in defs:
            is_overridden = graph in overridden and overridden[graph] is None
            if is_overridden and graph not in used_overridden:
                continue
            override = fdef.override if fdef.override != graph else None
            joins.append(
                JoinField(
                    graph=graph,
                    requires=fdef.requires,
                    provides=fdef.provides,
                    type=None if all_equal else fdef.type_str,
                    external=fdef.external,
                    override=override,
                    used_overridden=is_overridden,
                    override_label=fdef.override_label if override else overridden.get(graph),
                    context_arguments=join_context_arguments(graph, fdef),
                )
            )
        return tuple(joins)

    def check_sharing(
        self,
        coordinate: str,
        parent: str,
        defs: Sequence[tuple[str, FieldDef]],
        resolving: Sequence[tuple[str, FieldDef]],
        overridden: dict[str, str | None],
    ) -> None:
        if self.kinds.get(parent) != "OBJECT" or parent in self.mismatched:
            return
        by_graph = dict(defs)
        interfaces = {i for _g, t in self.sources(parent) for i in t.interfaces}
        sharers: list[tuple[str, str, bool]] = []  # graph, how it is named, shareable
        for subgraph in self.subgraphs:
            graph = subgraph.name
            fdef = by_graph.get(graph)
            if fdef is None:
                # A subgraph without the type resolves the field of every implementation
                # through an @interfaceObject that has it.
                if parent not in subgraph.types:
                    sharers += self.interface_object_sharers(subgraph, interfaces, coordinate)
                continue
            if graph in overridden:
                continue
            if fdef.external:
                if (parent, fdef.name) in self.provided[graph]:
                    sharers.append((graph, f'"{graph}"', True))
                continue
            tdef = subgraph.types[parent]
            if tdef.interface_object:
                continue
            shareable = (
                fdef.shareable or tdef.shareable or (parent, fdef.name) in self.key_paths[graph]
            )
            sharers.append((graph, f'"{graph}"', shareable))
        if len(sharers) > 1 and not all(s for _g, _n, s in sharers):
            bad = [n for _g, n, s in sharers if not s]
            everywhere = "all of them"
            self.error(
                "INVALID_FIELD_SHARING",
                f'Non-shareable field "{coordinate}" is resolved from multiple subgraphs: it is '
                f"resolved from {named_list([n for _g, n, _s in sharers])} and defined as "
                f"non-shareable in {everywhere if len(bad) == len(sharers) else named_list(bad)}",
                [g for g, _n, _s in sharers],
                coordinate,
            )

    def interface_object_sharers(
        self, subgraph: Subgraph, interfaces: set[str], coordinate: str
    ) -> list[tuple[str, str, bool]]:
        name = coordinate.split(".", 1)[1]
        out: list[tuple[str, str, bool]] = []
        for iface in sorted(interfaces):
            idef = subgraph.types.get(iface)
            ifield = idef.fields.get(name) if idef is not None else None
            if idef is None or not idef.interface_object or ifield is None or ifield.external:
                continue
            shareable = (
                ifield.shareable or idef.shareable or (iface, name) in self.key_paths[subgraph.name]
            )
            label = f'"{subgraph.name}" (through @interfaceObject field "{iface}.{name}")'
            out.append((subgraph.name, label, shareable))
        return out

    # -- types of fields and arguments ------------------------------------------------------------

    def merge_output_type(self, coordinate: str, defs: Sequence[tuple[str, FieldDef]]) -> TypeNode:
        types = [f.type for _g, f in defs]
        for candidate in types:
            if all(subtype(self.subgraphs, t, candidate) for t in types):
                if len({print_ast(t) for t in types}) > 1:
                    self.hints.append(
                        CompositionHint(
                            "INCONSISTENT_BUT_COMPATIBLE_FIELD_TYPE",
                            f'Type of field "{coordinate}" is inconsistent but compatible across '
                            "subgraphs",
                            coordinate,
                        )
                    )
                return candidate
        self.error(
            "FIELD_TYPE_MISMATCH",
            f'Type of field "{coordinate}" is incompatible across subgraphs: it has '
            + type_listing(defs),
            [g for g, _f in defs],
            coordinate,
        )
        return types[0]

    def merge_input_type(
        self, coordinate: str, code: str, typed: Sequence[tuple[str, TypeNode]], what: str = ""
    ) -> TypeNode:
        types = [t for _g, t in typed]
        for candidate in types:
            if all(subtype(self.subgraphs, candidate, t) for t in types):
                return candidate
        listing = " but ".join(f'type "{print_ast(t)}" in subgraph "{g}"' for g, t in typed)
        self.error(
            code,
            f'Type of {what}"{coordinate}" is incompatible across subgraphs: it has {listing}',
            [g for g, _t in typed],
            coordinate,
        )
        return types[0]

    def merge_args(
        self, coordinate: str, defs: Sequence[tuple[str, FieldDef]]
    ) -> tuple[ArgDef, ...]:
        names = list(dict.fromkeys(a.name for _g, f in defs for a in f.args))
        out: list[ArgDef] = []
        for name in names:
            arg_coordinate = f"{coordinate}({name}:)"
            with_graph = [(g, a) for g, f in defs for a in f.args if a.name == name]
            present = [a for _g, a in with_graph]
            if contextual_argument(arg_coordinate, with_graph, self.errors, self.hints):
                continue  # the planner fills it from the query's ancestors, never the client
            if len(present) < len(defs):
                if any(isinstance(a.type, NonNullTypeNode) and a.default is None for a in present):
                    self.error(
                        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                        f'Argument "{arg_coordinate}" is required in some subgraphs but does not '
                        "appear in all subgraphs: it will not be usable in the supergraph",
                        [],
                        arg_coordinate,
                    )
                continue
            arg_type = self.merge_input_type(
                arg_coordinate,
                "FIELD_ARGUMENT_TYPE_MISMATCH",
                [(g, a.type) for g, a in with_graph],
                what="argument ",
            )
            defaults = {print_ast(a.default) if a.default else None for a in present}
            if len(defaults) > 1:
                self.error(
                    "FIELD_ARGUMENT_DEFAULT_MISMATCH",
                    f'Argument "{arg_coordinate}" has incompatible default values across subgraphs',
                    [],
                    arg_coordinate,
                )
            out.append(
                ArgDef(
                    name=name,
                    type=arg_type,
                    default=present[0].default,
                    description=pick_description([a.description for a in present]),
                    deprecated=next((a.deprecated for a in present if a.deprecated), None),
                    inaccessible=any(a.inaccessible for a in present),
                    tags=union_tags(a.tags for a in present),
                )
            )
        return tuple(out)

    # -- other kinds ------------------------------------------------------------------------------

    def merge_union(self, name: str) -> MergedType:
        sources = self.sources(name)
        return MergedType(
            name=name,
            kind="UNION",
            joins=tuple(JoinType(g) for g, _t in sources),
            members=tuple((g, m) for g, t in sources for m in t.members),
            **shared_facts(sources),
            contexts=type_contexts(sources),
        )

    def merge_scalar(self, name: str) -> MergedType:
        sources = self.sources(name)
        return MergedType(
            name=name,
            kind="SCALAR",
            joins=tuple(JoinType(g) for g, _t in sources),
            **shared_facts(sources),
            specified_by=next((t.specified_by for _g, t in sources if t.specified_by), None),
        )

    def merge_input(self, name: str) -> MergedType:
        sources = self.sources(name)
        graphs = [g for g, _t in sources]
        names = list(dict.fromkeys(f for _g, t in sources for f in t.input_fields))
        fields: dict[str, MergedInputField] = {}
        for fname in names:
            coordinate = f"{name}.{fname}"
            present = [(g, t.input_fields[fname]) for g, t in sources if fname in t.input_fields]
            if len(present) < len(sources):
                if any(
                    isinstance(a.type, NonNullTypeNode) and a.default is None for _g, a in present
                ):
                    missing = [g for g in graphs if g not in dict(present)]
                    self.error(
                        "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH",
                        f'Input object field "{coordinate}" is required in some subgraphs but '
                        f"does not appear in all subgraphs: it is required in "
                        f"{quoted_names(g for g, _a in present)} but does not appear in "
                        f"{quoted_names(missing)}",
                        [g for g, _a in present] + missing,
                        coordinate,
                    )
                continue
            field_type = self.merge_input_type(
                coordinate, "FIELD_TYPE_MISMATCH", [(g, a.type) for g, a in present]
            )
            defaults = {print_ast(a.default) if a.default else None for _g, a in present}
            if len(defaults) > 1:
                self.error(
                    "INPUT_FIELD_DEFAULT_MISMATCH",
                    f'Input field "{coordinate}" has incompatible default values across subgraphs',
                    [g for g, _a in present],
                    coordinate,
                )
            equal = len({print_ast(a.type) for _g, a in present}) == 1
            args = [a for _g, a in present]
            fields[fname] = MergedInputField(
                name=fname,
                type=field_type,
                default=args[0].default,
                description=pick_description([a.description for a in args]),
                deprecated=next((a.deprecated for a in args if a.deprecated), None),
                inaccessible=any(a.inaccessible for a in args),
                tags=union_tags(a.tags for a in args),
                joins=None
                if equal
                else tuple(JoinField(g, type=print_ast(a.type)) for g, a in present),
            )
        if not fields:
            self.error(
                "EMPTY_MERGED_INPUT_TYPE",
                f'None of the fields of input object type "{name}" are consistently defined in '
                f"all the subgraphs defining that type. As only fields common to all subgraphs "
                "are merged, this would result in an empty type.",
                graphs,
                name,
            )
        return MergedType(
            name=name,
            kind="INPUT_OBJECT",
            joins=tuple(JoinType(g) for g, _t in sources),
            input_fields=fields,
            **shared_facts(sources),
        )

    def merge_enum(self, name: str, types: dict[str, MergedType]) -> MergedType:
        sources = self.sources(name)
        as_input, as_output = enum_usage(name, types)
        values = list(dict.fromkeys(v for _g, t in sources for v in t.values))
        kept: dict[str, MergedEnumValue] = {}
        for value in values:
            having = [(g, t.values[value]) for g, t in sources if value in t.values]
            # An @inaccessible value is kept whatever the positions: no client can send it.
            hidden = any(v.inaccessible for _g, v in having)
            if len(having) < len(sources) and as_input and not hidden:
                if as_output:
                    missing = [g for g, t in sources if value not in t.values]
                    self.error(
                        "ENUM_VALUE_MISMATCH",
                        f'Enum type "{name}" is used as both input type and output type, but '
                        f'value "{value}" is not defined in all the subgraphs defining "{name}": '
                        f'"{value}" is defined in {quoted_names(g for g, _v in having)} but not in '
                        f"{quoted_names(missing)}",
                        [g for g, _t in sources],
                        f"{name}.{value}",
                    )
                continue
            defs = [v for _g, v in having]
            kept[value] = MergedEnumValue(
                name=value,
                graphs=tuple(g for g, _v in having),
                description=pick_description([v.description for v in defs]),
                deprecated=next((v.deprecated for v in defs if v.deprecated), None),
                inaccessible=any(v.inaccessible for v in defs),
                tags=union_tags(v.tags for v in defs),
            )
        if not kept:
            self.error(
                "EMPTY_MERGED_ENUM_TYPE",
                f'None of the values of enum type "{name}" are defined consistently in all the '
                "subgraphs defining that type. As only values common to all subgraphs are "
                "merged, this would result in an empty type.",
                [g for g, _t in sources],
                name,
            )
        return MergedType(
            name=name,
            kind="ENUM",
            joins=tuple(JoinType(g) for g, _t in sources),
            values=kept,
            **shared_facts(sources),
        )


def merge(
    subgraphs: Sequence[Subgraph],
) -> tuple[MergedSchema, list[CompositionError], list[CompositionHint]]:
    """Merge the (upgraded) subgraphs; return the merged schema, errors and hints."""
    merger = _Merger(subgraphs)
    merged = merger.run()
    return merged, merger.errors, merger.hints
