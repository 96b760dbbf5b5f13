"""Synchronous merging of subgraph results: deep merge, representation projection, targets.

Kept apart from fetching so each rule can be unit-tested on plain dicts.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Any, TypeAlias

from federation.planning.plan import (
    FlatRequires,
    InputField,
    InputFragment,
    InputSelection,
    OutputRename,
)
from federation.types import JSONObject, Representation, ResponsePath

__all__ = [
    "NULL_ENTITY",
    "IsSubtype",
    "Target",
    "collect_objects",
    "collect_targets",
    "copy_json",
    "deep_merge",
    "project",
    "project_flat",
    "rename_outputs",
    "subtype_predicate",
]

#: `is_subtype(typename, condition)`: the object type `typename` is `condition` or one of its
#: possible types.
IsSubtype: TypeAlias = Callable[[str, str], bool]

#: Set on a merged object when a subgraph answered null for it as an entity: its missing fields
#: are that subgraph's nulls. Client response keys never start with "__", so it cannot clash.
NULL_ENTITY = "__edgegraph_null_entity"
#: An object found at a flatten path, with the concrete response path that leads to it.
Target: TypeAlias = tuple[JSONObject, ResponsePath]

_EMPTY: frozenset[str] = frozenset()


def subtype_predicate(possible_types: Mapping[str, frozenset[str]]) -> IsSubtype:
    """Build the `is_subtype` predicate from abstract type name → object type names."""

    def is_subtype(typename: str, condition: str) -> bool:
        return typename == condition or typename in possible_types.get(condition, _EMPTY)

    return is_subtype


def deep_merge(
    target: JSONObject, source: Mapping[str, Any], abstract_types: Container[str] = _EMPTY
) -> None:
    """Merge `source` into `target` in place.

    Objects merge recursively; lists merge element-wise when their lengths match, otherwise the
    source list replaces the target's; scalars and null overwrite. A concrete `__typename` is
    never overwritten by a name in `abstract_types`: an `@interfaceObject` subgraph only knows
    the interface name, while an earlier fetch knew the real type.
    Values are inserted by reference, so pass a copy if `source` is merged more than once.
    """
    for key, value in source.items():
        if key not in target:
            target[key] = value
            continue
        existing = target[key]
        if key == "__typename":
            if not (value in abstract_types and existing not in abstract_types):
                target[key] = value
        elif isinstance(existing, dict) and isinstance(value, dict):
            deep_merge(existing, value, abstract_types)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, abstract_types)
        else:
            target[key] = value


def _merge_lists(target: list[Any], source: list[Any], abstract_types: Container[str]) -> None:
    for index, value in enumerate(source):
        existing = target[index]
        if isinstance(existing, dict) and isinstance(value, dict):
            deep_merge(existing, value, abstract_types)
        elif isinstance(existing, list) and isinstance(value, list) and len(existing) == len(value):
            _merge_lists(existing, value, abstract_types)
        else:
            target[index] = value


def copy_json(value: Any) -> Any:
    """Copy the containers of a decoded JSON value (much cheaper than `copy.deepcopy`)."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


class _Missing(Exception):
    """A required field is absent: an earlier fetch failed and already reported it."""


def project(
    obj: Mapping[str, Any],
    requires: tuple[InputSelection, ...],
    is_subtype: IsSubtype,
    entity_types: tuple[str, ...] | None,
) -> Representation | None:
    """Project `obj` into a representation, or None when a required field is missing.

    `__typename` is required and always written first. Fields are read at `response_key` and
    written at `name`, following lists; fragments apply when the object's `__typename` is the
    condition or one of its possible types; null values are sent as null. `entity_types` is the
    fetch's `FetchNode.entity_types`, derived from `requires` at plan time.
    """
    typename = obj.get("__typename")
    if not isinstance(typename, str):
        return None
    # An entity fetch's inputs are one fragment per entity type; an object of any other type
    # (a Song in a list of Books and Songs) is not a target of this fetch.
    if entity_types is not None and not any(is_subtype(typename, c) for c in entity_types):
        return None
    representation: Representation = {"__typename": typename}
    try:
        _project_into(obj, requires, is_subtype, representation)
    except _Missing:
        return None
    return representation


def project_flat(
    obj: Mapping[str, Any], flat: FlatRequires, is_subtype: IsSubtype
) -> Representation | None:
    """`project` for a fetch whose `FetchNode.flat_requires` is set, without the general walk:
    the same result, far cheaper."""
    typename = obj.get("__typename")
    if not isinstance(typename, str) or not is_subtype(typename, flat[0]):
        return None
    representation: Representation = {"__typename": typename}
    for name, response_key in flat[1]:
        if response_key not in obj:
            return None  # an earlier fetch failed and already reported it
        representation[name] = obj[response_key]
    return representation


def _project_into(
    obj: Mapping[str, Any],
    selections: tuple[InputSelection, ...],
    is_subtype: IsSubtype,
    out: dict[str, Any],
) -> None:
    for selection in selections:
        if isinstance(selection, InputFragment):
            typename = obj.get("__typename")
            if isinstance(typename, str) and is_subtype(typename, selection.type_condition):
                _project_into(obj, selection.selections, is_subtype, out)
            continue
        if selection.response_key not in obj:
            raise _Missing
        value = obj[selection.response_key]
        if selection.selections:
            value = _project_value(value, selection, is_subtype)
            previous = out.get(selection.name)
            # Two fragments may both select parts of one nested object.
            if isinstance(previous, dict) and isinstance(value, dict):
                deep_merge(previous, value)
                continue
        out[selection.name] = value


def _project_value(value: Any, selection: InputField, is_subtype: IsSubtype) -> Any:
    if isinstance(value, list):
        return [_project_value(item, selection, is_subtype) for item in value]
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        _project_into(value, selection.selections, is_subtype, out)
        return out
    return value


def collect_objects(data: Any, path: tuple[str, ...], is_subtype: IsSubtype) -> list[JSONObject]:
    """The objects `collect_targets` finds, in the same order, without their response paths.

    The hot path of every entity fetch: one pass per path segment over a flat frontier, and no
    path lists built. Paths are only needed for errors; `collect_targets` gives them then.
    """
    frontier: list[Any] = [data]
    for segment in path:
        found: list[Any] = []
        if segment == "@":
            for value in frontier:
                if isinstance(value, list):
                    found.extend(value)
        elif segment.startswith("... on "):
            condition = segment[7:].strip()
            for value in frontier:
                if isinstance(value, dict):
                    typename = value.get("__typename")
                    if isinstance(typename, str) and is_subtype(typename, condition):
                        found.append(value)
        else:
            for value in frontier:
                if isinstance(value, dict) and segment in value:
                    found.append(value[segment])
        frontier = found
    return [value for value in frontier if isinstance(value, dict)]


def collect_targets(data: Any, path: tuple[str, ...], is_subtype: IsSubtype) -> list[Target]:
    """Find the objects at a flatten `path`, each with its concrete response path.

    `@` fans out over a list (its indices go into the concrete path); `... on T` keeps only
    objects whose `__typename` is T or one of its possible types; null, missing and non-object
    values are skipped, since there is nothing to extend there.
    """
    targets: list[Target] = []
    _walk(data, path, 0, [], is_subtype, targets)
    return targets


def _walk(
    value: Any,
    path: tuple[str, ...],
    depth: int,
    concrete: ResponsePath,
    is_subtype: IsSubtype,
    targets: list[Target],
) -> None:
    if depth == len(path):
        if isinstance(value, dict):
            targets.append((value, list(concrete)))
        return
    segment = path[depth]
    if segment == "@":
        if isinstance(value, list):
            for index, item in enumerate(value):
                concrete.append(index)
                _walk(item, path, depth + 1, concrete, is_subtype, targets)
                concrete.pop()
        return
    if not isinstance(value, dict):
        return
    if segment.startswith("... on "):
        typename = value.get("__typename")
        if isinstance(typename, str) and is_subtype(typename, segment[7:].strip()):
            _walk(value, path, depth + 1, concrete, is_subtype, targets)
        return
    if segment in value:
        concrete.append(segment)
        _walk(value[segment], path, depth + 1, concrete, is_subtype, targets)
        concrete.pop()


def rename_outputs(value: Any, renames: tuple[OutputRename, ...], is_subtype: IsSubtype) -> None:
    """Undo a fetch's internal aliases in its answer (a root fetch's data, or one entity)."""
    for rename in renames:
        for obj in _objects_at(value, rename.path):
            typename = obj.get("__typename")
            if rename.alias in obj and (
                not isinstance(typename, str) or is_subtype(typename, rename.type_condition)
            ):
                obj[rename.key] = obj.pop(rename.alias)


def _objects_at(value: Any, path: tuple[str, ...]) -> list[JSONObject]:
    if isinstance(value, list):
        return [obj for item in value for obj in _objects_at(item, path)]
    if not isinstance(value, dict):
        return []
    if not path:
        return [value]
    return _objects_at(value.get(path[0]), path[1:])
