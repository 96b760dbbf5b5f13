"""Federation 1 subgraphs, read the way Federation 2 reads them, and the "fake" externals.

In every subgraph, Federation 1 or 2, a key field marked `@external` on a type extension
(`extend type` or `@extends`) is not external: the subgraph does resolve its own key fields
(Apollo keeps this for backward compatibility and calls such fields "fake external").

Federation 1 had no `@shareable`, marked its own key fields `@external` in type extensions, and
let `@external` fields lie unused. Before merging, each Federation 1 subgraph is rewritten the
way Federation 2 would have been written, in the context of the other subgraphs:

- `@external` fields that no `@key`, `@requires` or `@provides` uses are dropped;
- `@key` on an interface is dropped (Federation 1 gave it no meaning);
- an entity field that another subgraph also resolves becomes `@shareable`, and so does a value
  type that another subgraph also has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .context import context_selection_fields
from .fieldset import field_set_paths
from .model import Subgraph, TypeDef

__all__ = [
    "drop_fake_externals",
    "key_fields",
    "provided_fields",
    "upgrade_fed1",
    "used_fields",
]


def used_fields(subgraph: Subgraph) -> set[tuple[str, str]]:
    """(type, field) pairs that some `@key`, `@requires`, `@provides` or `@fromContext` of the
    subgraph selects, or that implement a field of an interface (an external field may be there
    to satisfy it)."""
    used: set[tuple[str, str]] = set()
    for tdef in subgraph.types.values():
        for key in tdef.keys:
            used |= field_set_paths(subgraph, tdef.name, key.fields, implementations_too=True)
        for fdef in tdef.fields.values():
            if fdef.requires:
                used |= field_set_paths(
                    subgraph, tdef.name, fdef.requires, implementations_too=True
                )
        for iface in tdef.interfaces:
            iface_def = subgraph.types.get(iface)
            if iface_def is not None:
                used |= {(tdef.name, f) for f in tdef.fields if f in iface_def.fields}
    return used | provided_fields(subgraph) | context_selection_fields(subgraph)


def drop_fake_externals(subgraphs: Sequence[Subgraph]) -> list[Subgraph]:
    """Each subgraph without `@external` on the key fields of its type extensions."""
    out: list[Subgraph] = []
    for subgraph in subgraphs:
        types = dict(subgraph.types)
        for name, tdef in subgraph.types.items():
            if not tdef.extension or not tdef.keys:
                continue
            key_fields = _key_fields(tdef, subgraph)
            fields = {
                fname: replace(fdef, external=False) if fname in key_fields else fdef
                for fname, fdef in tdef.fields.items()
            }
            if fields != tdef.fields:
                types[name] = replace(tdef, fields=fields)
        out.append(replace(subgraph, types=types) if types != subgraph.types else subgraph)
    return out


def _key_fields(tdef: TypeDef, subgraph: Subgraph) -> set[str]:
    names: set[str] = set()
    for key in tdef.keys:
        names |= {f for t, f in field_set_paths(subgraph, tdef.name, key.fields) if t == tdef.name}
    return names


def upgrade_fed1(subgraphs: Sequence[Subgraph]) -> list[Subgraph]:
    """Every Federation 1 subgraph rewritten as Federation 2 (after `drop_fake_externals`)."""
    subgraphs = drop_fake_externals(subgraphs)
    out: list[Subgraph] = []
    for subgraph in subgraphs:
        if not subgraph.fed1:
            out.append(subgraph)
            continue
        used = used_fields(subgraph)
        others = [s for s in subgraphs if s is not subgraph]
        types: dict[str, TypeDef] = {}
        for name, tdef in subgraph.types.items():
            keys = tdef.keys if tdef.kind == "OBJECT" else ()
            fields = {}
            for fname, fdef in tdef.fields.items():
                if fdef.external and (name, fname) not in used:
                    continue
                fields[fname] = fdef
            shareable = tdef.shareable
            if tdef.kind == "OBJECT" and keys:
                for fname, fdef in fields.items():
                    if not fdef.external and _resolved_elsewhere(others, name, fname):
                        fields[fname] = replace(fdef, shareable=True)
            elif tdef.kind == "OBJECT" and name not in ("Query", "Mutation", "Subscription"):
                shareable = shareable or any(
                    name in s.types and s.types[name].kind == "OBJECT" for s in others
                )
            # Federation 2 reads `extend type` in a Federation 1 subgraph as a definition; only the
            # `@extends` directive survives the upgrade as an extension.
            types[name] = replace(
                tdef, fields=fields, keys=keys, shareable=shareable, extension=tdef.extends
            )
        out.append(replace(subgraph, types=types))
    return out


def _resolved_elsewhere(others: Sequence[Subgraph], type_name: str, field_name: str) -> bool:
    # A field some other subgraph @provides is resolved there too, along the provides path.
    for other in others:
        tdef = other.types.get(type_name)
        fdef = tdef.fields.get(field_name) if tdef is not None else None
        if fdef is None:
            continue
        if not fdef.external or (type_name, field_name) in provided_fields(other):
            return True
    return False


def key_fields(subgraph: Subgraph) -> set[tuple[str, str]]:
    """(type, field) pairs that some `@key` of the subgraph selects."""
    out: set[tuple[str, str]] = set()
    for tdef in subgraph.types.values():
        for key in tdef.keys:
            out |= field_set_paths(subgraph, tdef.name, key.fields)
    return out


def provided_fields(subgraph: Subgraph) -> set[tuple[str, str]]:
    """(type, field) pairs that some `@provides` of the subgraph selects."""
    out: set[tuple[str, str]] = set()
    for tdef in subgraph.types.values():
        for fdef in tdef.fields.values():
            if fdef.provides:
                out |= field_set_paths(
                    subgraph, fdef.type_str.strip("[]!"), fdef.provides, implementations_too=True
                )
    return out
