"""Checks of the federation directives in each subgraph, and of the merged schema.

Per subgraph (before merging, as a subgraph that fails them has no meaning to merge):
- `@key`: every selected field exists, takes no arguments, and is not of an interface or union
  type (`KEY_INVALID_FIELDS`, `KEY_FIELDS_HAS_ARGS`, `KEY_FIELDS_SELECT_INVALID_TYPE`);
- `@requires` and `@provides`: the fields exist (`*_INVALID_FIELDS`), each selected leaf is
  `@external` in Federation 2 or sits below an external field (`*_FIELDS_MISSING_EXTERNAL`),
  `@provides` sits on a field of a composite type (`PROVIDES_ON_NON_OBJECT_FIELD`);
- `@context` and `@fromContext` as `context.py` says;
- `@external` fields are used by some key, requires, provides or `@fromContext` selection, or
  implement an interface field (`EXTERNAL_UNUSED`).

On the merged schema: `@inaccessible` leaves nothing visible that points at a hidden type
(`REFERENCED_INACCESSIBLE`), no type with only hidden fields (`ONLY_INACCESSIBLE_CHILDREN`),
no hidden required argument (`REQUIRED_INACCESSIBLE`), and every interface field is on every
implementation (`INTERFACE_FIELD_NO_IMPLEM`) with a subtype of its type (`INVALID_GRAPHQL`).
"""

from __future__ import annotations

from collections.abc import Sequence

from graphql import NonNullTypeNode, print_ast

from .context import check_contexts
from .errors import CompositionError
from .fieldset import parse_field_set, walk_field_set
from .interfaces import check_entity_interfaces, check_implementations
from .merge_rules import subtype
from .merged import MergedSchema
from .model import BUILTIN_SCALARS, Subgraph, named_type
from .upgrade import used_fields

__all__ = ["validate_merged", "validate_subgraphs"]

_COMPOSITE = frozenset({"OBJECT", "INTERFACE", "UNION"})


def validate_subgraphs(subgraphs: Sequence[Subgraph]) -> list[CompositionError]:
    """Every problem with the federation directives of each subgraph."""
    errors: list[CompositionError] = []
    for subgraph in subgraphs:
        # In Apollo's order: GraphQL validity, the field sets, then the entity interfaces.
        errors += check_implementations(subgraph)
        errors += _check_subgraph(subgraph)
        errors += check_entity_interfaces(subgraph)
    return errors


def _err(subgraph: Subgraph, code: str, coordinate: str, message: str) -> CompositionError:
    return CompositionError(code, f"[{subgraph.name}] {message}", (subgraph.name,), coordinate)


def _check_field_set(
    subgraph: Subgraph, directive: str, parent: str, fields: str, coordinate: str
) -> list[CompositionError]:
    code = directive.upper()
    if parse_field_set(fields) is None:
        return [
            _err(subgraph, f"{code}_INVALID_FIELDS", coordinate,
                 f'On {coordinate}, for @{directive}(fields: "{fields}"): the fields do not parse.')
        ]  # fmt: skip
    errors: list[CompositionError] = []
    steps = list(walk_field_set(subgraph, parent, fields))
    for step in steps:
        where = f"{step.parent}.{step.name}"
        prefix = f'On {coordinate}, for @{directive}(fields: "{fields}"): '
        if step.definition is None:
            errors.append(
                _err(subgraph, f"{code}_INVALID_FIELDS", coordinate,
                     prefix + f'Cannot query field "{step.name}" on type "{step.parent}".')
            )  # fmt: skip
            continue
        target = named_type(step.definition.type)
        kind = "SCALAR" if target in BUILTIN_SCALARS else subgraph.types[target].kind
        if kind in _COMPOSITE and not step.has_selection:
            errors.append(
                _err(subgraph, f"{code}_INVALID_FIELDS", coordinate,
                     prefix + f'field "{where}" of type "{target}" needs a selection.')
            )  # fmt: skip
        if directive == "key":
            if step.has_arguments or step.definition.args:
                errors.append(
                    _err(subgraph, "KEY_FIELDS_HAS_ARGS", coordinate,
                         prefix + f'field "{where}" has arguments; key fields cannot.')
                )  # fmt: skip
            if kind in ("INTERFACE", "UNION"):
                errors.append(
                    _err(subgraph, "KEY_FIELDS_SELECT_INVALID_TYPE", coordinate,
                         prefix + f'field "{where}" is a {kind.lower()} type, which is not '
                         "allowed in @key")
                )  # fmt: skip
        elif (
            not subgraph.fed1
            and not step.has_selection
            and not step.external_above
            and not step.definition.external
        ):
            # As Apollo checks it: a leaf must be external unless some field above it is; a field
            # with a selection (`host { yearsOnAir }`) is checked through its leaves.
            errors.append(
                _err(subgraph, f"{code}_FIELDS_MISSING_EXTERNAL", coordinate,
                     prefix + f'field "{where}" should not be part of a @{directive} since it '
                     f"is already provided by this subgraph (it is not marked @external)")
            )  # fmt: skip
    return errors


def _check_subgraph(subgraph: Subgraph) -> list[CompositionError]:
    errors: list[CompositionError] = []
    for tdef in subgraph.types.values():
        for key in tdef.keys:
            errors += _check_field_set(subgraph, "key", tdef.name, key.fields, tdef.name)
        for fdef in tdef.fields.values():
            coordinate = f"{tdef.name}.{fdef.name}"
            if fdef.requires is not None:
                errors += _check_field_set(
                    subgraph, "requires", tdef.name, fdef.requires, coordinate
                )
            if fdef.provides is not None:
                target = named_type(fdef.type)
                target_def = subgraph.types.get(target)
                if target_def is None or target_def.kind not in _COMPOSITE:
                    errors.append(
                        _err(subgraph, "PROVIDES_ON_NON_OBJECT_FIELD", coordinate,
                             f'Invalid @provides directive on field "{coordinate}": field has '
                             f'type "{fdef.type_str}" which is not a Composite Type')
                    )  # fmt: skip
                else:
                    errors += _check_field_set(
                        subgraph, "provides", target, fdef.provides, coordinate
                    )
    # Apollo checks @context/@fromContext right after the field sets, before the externals.
    errors += check_contexts(subgraph)
    if errors or subgraph.fed1:
        return errors
    used = used_fields(subgraph)
    for tdef in subgraph.types.values():
        if tdef.kind != "OBJECT":
            continue
        for fdef in tdef.fields.values():
            if fdef.external and (tdef.name, fdef.name) not in used:
                coordinate = f"{tdef.name}.{fdef.name}"
                errors.append(
                    _err(subgraph, "EXTERNAL_UNUSED", coordinate,
                         f'Field "{coordinate}" is marked @external but is not used in any '
                         "federation directive (@key, @provides, @requires) or to satisfy an "
                         "interface; the field declaration has no use and should be removed "
                         "(or the field should not be @external).")
                )  # fmt: skip
    return errors


def validate_merged(merged: MergedSchema, subgraphs: Sequence[Subgraph]) -> list[CompositionError]:
    """Every problem the merged schema has as a whole."""
    errors: list[CompositionError] = []
    types = merged.types
    hidden = {name for name, t in types.items() if t.inaccessible}

    def graphs_of(name: str) -> tuple[str, ...]:
        return types[name].graphs if name in types else ()

    for mtype in types.values():
        if mtype.inaccessible:
            continue
        children: list[tuple[str, bool, str | None, bool]] = []  # name, hidden, type, required
        for fdef in mtype.fields.values():
            children.append((fdef.name, fdef.inaccessible, named_type(fdef.type), False))
            for arg in fdef.args:
                required = isinstance(arg.type, NonNullTypeNode) and arg.default is None
                if arg.inaccessible and required:
                    coordinate = f"{mtype.name}.{fdef.name}({arg.name}:)"
                    errors.append(
                        CompositionError("REQUIRED_INACCESSIBLE",
                            f'Argument "{coordinate}" is @inaccessible but is a required argument '
                            "of its field.", graphs_of(mtype.name), coordinate)
                    )  # fmt: skip
                arg_type = named_type(arg.type)
                if not fdef.inaccessible and not arg.inaccessible and arg_type in hidden:
                    coordinate = f"{mtype.name}.{fdef.name}({arg.name}:)"
                    errors.append(
                        CompositionError("REFERENCED_INACCESSIBLE",
                            f'Type "{arg_type}" is @inaccessible but is referenced by '
                            f'"{coordinate}", which is in the API schema.', graphs_of(mtype.name),
                            coordinate)
                    )  # fmt: skip
        for ifield in mtype.input_fields.values():
            required = isinstance(ifield.type, NonNullTypeNode) and ifield.default is None
            children.append((ifield.name, ifield.inaccessible, named_type(ifield.type), required))
        for value in mtype.values.values():
            children.append((value.name, value.inaccessible, None, False))
        for name, is_hidden, target, required in children:
            coordinate = f"{mtype.name}.{name}"
            if not is_hidden and target in hidden:
                errors.append(
                    CompositionError("REFERENCED_INACCESSIBLE",
                        f'Type "{target}" is @inaccessible but is referenced by "{coordinate}", '
                        "which is in the API schema.", graphs_of(mtype.name), coordinate)
                )  # fmt: skip
            if is_hidden and required:
                errors.append(
                    CompositionError("REQUIRED_INACCESSIBLE",
                        f'Input field "{coordinate}" is @inaccessible but is a required input '
                        "field of its type.", graphs_of(mtype.name), coordinate)
                )  # fmt: skip
        if children and all(h for _n, h, _t, _r in children):
            errors.append(
                CompositionError("ONLY_INACCESSIBLE_CHILDREN",
                    f'Type "{mtype.name}" is in the API schema but all of its members are '
                    "@inaccessible.", graphs_of(mtype.name), mtype.name)
            )  # fmt: skip
        if mtype.kind in ("OBJECT", "INTERFACE"):
            for iface in mtype.interfaces:
                for iface_field in types[iface].fields.values() if iface in types else ():
                    if iface_field.name not in mtype.fields:
                        coordinate = f"{mtype.name}.{iface_field.name}"
                        errors.append(
                            CompositionError("INTERFACE_FIELD_NO_IMPLEM",
                                f'Interface field "{iface}.{iface_field.name}" is declared but '
                                f'type "{mtype.name}", which implements "{iface}", does not '
                                f'have field "{iface_field.name}".', graphs_of(mtype.name),
                                coordinate)
                        )  # fmt: skip
                        continue
                    impl_field = mtype.fields[iface_field.name]
                    if not subtype(subgraphs, impl_field.type, iface_field.type):
                        coordinate = f"{mtype.name}.{impl_field.name}"
                        errors.append(
                            CompositionError("INVALID_GRAPHQL",
                                f"Interface field {iface}.{iface_field.name} expects type "
                                f"{print_ast(iface_field.type)} but {coordinate} of type "
                                f"{print_ast(impl_field.type)} is not a proper subtype.",
                                graphs_of(mtype.name), coordinate)
                        )  # fmt: skip
    return errors
