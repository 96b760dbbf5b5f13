"""Checks of interface implementations inside one subgraph, as Apollo runs them before merging.

- Each type that implements an interface provides its fields (`INVALID_GRAPHQL`), with a type
  that is a subtype of the interface field's, and its arguments with the same types.
- A `@key` on an interface (Federation 2) is on every implementation the subgraph has
  (`INTERFACE_KEY_NOT_ON_IMPLEMENTATION`): an entity reached through the interface is then
  resolvable whatever its concrete type.
- An `@interfaceObject` has a `@key` (`INTERFACE_OBJECT_USAGE_ERROR`): it stands for entities.
"""

from __future__ import annotations

from graphql import ListTypeNode, NamedTypeNode, NonNullTypeNode, TypeNode, print_ast

from .errors import CompositionError
from .fieldset import parse_field_set
from .model import Subgraph, TypeDef

__all__ = ["check_entity_interfaces", "check_implementations"]


def check_implementations(subgraph: Subgraph) -> list[CompositionError]:
    """Every type of the subgraph implements its interfaces as GraphQL requires."""
    errors: list[CompositionError] = []
    for tdef in subgraph.types.values():
        for iface_name in tdef.interfaces:
            iface = subgraph.types.get(iface_name)
            if iface is not None and iface.kind == "INTERFACE":
                errors += _check_implementation(subgraph, tdef, iface)
    return errors


def check_entity_interfaces(subgraph: Subgraph) -> list[CompositionError]:
    """Interface keys are on every implementation; an @interfaceObject has a key."""
    errors: list[CompositionError] = []
    if not subgraph.fed1:
        errors += _check_interface_keys(subgraph)
    for tdef in subgraph.types.values():
        if tdef.interface_object and not tdef.keys:
            errors.append(_error(subgraph, "INTERFACE_OBJECT_USAGE_ERROR", tdef.name,
                "The @interfaceObject directive can only be applied to entity types but type "
                f'"{tdef.name}" has no @key in this subgraph.'))  # fmt: skip
    return errors


def _error(subgraph: Subgraph, code: str, coordinate: str, message: str) -> CompositionError:
    return CompositionError(code, f"[{subgraph.name}] {message}", (subgraph.name,), coordinate)


def _check_implementation(
    subgraph: Subgraph, tdef: TypeDef, iface: TypeDef
) -> list[CompositionError]:
    errors: list[CompositionError] = []
    for ifield in iface.fields.values():
        where = f"{iface.name}.{ifield.name}"
        fdef = tdef.fields.get(ifield.name)
        if fdef is None:
            message = f"Interface field {where} expected but {tdef.name} does not provide it."
            errors.append(_error(subgraph, "INVALID_GRAPHQL", where, message))
            continue
        coordinate = f"{tdef.name}.{fdef.name}"
        if not _subtype(subgraph, fdef.type, ifield.type):
            errors.append(_error(subgraph, "INVALID_GRAPHQL", coordinate,
                f"Interface field {where} expects type {ifield.type_str} but {coordinate} of "
                f"type {fdef.type_str} is not a proper subtype."))  # fmt: skip
        args = {a.name: a for a in fdef.args}
        for iarg in ifield.args:
            arg = args.get(iarg.name)
            if arg is None:
                errors.append(_error(subgraph, "INVALID_GRAPHQL", coordinate,
                    f"Interface field argument {where}({iarg.name}:) expected but {coordinate} "
                    "does not provide it."))  # fmt: skip
            elif print_ast(arg.type) != print_ast(iarg.type):
                errors.append(_error(subgraph, "INVALID_GRAPHQL", coordinate,
                    f"Interface field argument {where}({iarg.name}:) expects type "
                    f"{print_ast(iarg.type)} but {coordinate}({arg.name}:) is type "
                    f"{print_ast(arg.type)}."))  # fmt: skip
    return errors


def _subtype(subgraph: Subgraph, sub: TypeNode, sup: TypeNode) -> bool:
    """Whether a field of type `sub` may implement one of type `sup` (GraphQL's covariance)."""
    if isinstance(sup, NonNullTypeNode):
        return isinstance(sub, NonNullTypeNode) and _subtype(subgraph, sub.type, sup.type)
    if isinstance(sub, NonNullTypeNode):
        return _subtype(subgraph, sub.type, sup)
    if isinstance(sup, ListTypeNode):
        return isinstance(sub, ListTypeNode) and _subtype(subgraph, sub.type, sup.type)
    if not isinstance(sub, NamedTypeNode) or not isinstance(sup, NamedTypeNode):
        return False
    if sub.name.value == sup.name.value:
        return True
    sub_def, sup_def = subgraph.types.get(sub.name.value), subgraph.types.get(sup.name.value)
    if sub_def is None or sup_def is None:
        return False
    return sup_def.name in sub_def.interfaces or sub_def.name in sup_def.members


def _check_interface_keys(subgraph: Subgraph) -> list[CompositionError]:
    errors: list[CompositionError] = []
    for iface in subgraph.types.values():
        if iface.kind != "INTERFACE" or not iface.keys:
            continue
        impls = [t for t in subgraph.types.values() if iface.name in t.interfaces]
        for key in iface.keys:
            wanted = _normal(key.fields)
            missing = [
                t.name for t in impls if not any(_normal(k.fields) == wanted for k in t.keys)
            ]
            if not missing:
                continue
            listed = ", ".join(f'"{m}"' for m in missing)
            if len(missing) > 1:
                listed = listed.rsplit(", ", 1)[0] + " and " + f'"{missing[-1]}"'
            noun = "types" if len(missing) > 1 else "type"
            printed = f'@key(fields: "{key.fields}"' + (
                ", resolvable: false)" if not key.resolvable else ")"
            )
            errors.append(_error(subgraph, "INTERFACE_KEY_NOT_ON_IMPLEMENTATION", iface.name,
                f'Key {printed} on interface type "{iface.name}" is missing on implementation '
                f"{noun} {listed}."))  # fmt: skip
    return errors


def _normal(fields: str) -> str:
    selection = parse_field_set(fields)
    return print_ast(selection) if selection is not None else fields
