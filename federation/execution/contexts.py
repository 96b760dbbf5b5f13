"""`@fromContext` values at execution: each entity's arguments, read from its ancestors.

An entity fetch with context rewrites (planning/contexts.py) cannot send one set of variables
for all of its targets: two products under two stores take two currencies. The targets are
walked with the objects above them, each gets its values from the rewrites, and targets with
equal values form one `_entities` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from federation.execution.merge import IsSubtype
from federation.planning.plan import ContextRewrite
from federation.types import JSONObject

__all__ = ["context_partitions"]

#: a value under the objects that hold it, nearest last
_Located = tuple[Any, tuple[JSONObject, ...]]


def context_partitions(
    data: JSONObject,
    path: tuple[str, ...],
    rewrites: Sequence[ContextRewrite],
    is_subtype: IsSubtype,
) -> list[tuple[JSONObject, list[JSONObject]]]:
    """The targets at a flatten `path`, grouped by their context variables, in the order the
    groups are first met. A variable no rewrite finds a value for is left out of its group's
    variables (the subgraph sees the argument as not given)."""
    groups: dict[bytes, tuple[JSONObject, list[JSONObject]]] = {}
    for target, owners in _targets_with_owners(data, path, is_subtype):
        values = _values(owners, rewrites, is_subtype)
        key = orjson.dumps(values, option=orjson.OPT_SORT_KEYS)
        groups.setdefault(key, (values, []))[1].append(target)
    return list(groups.values())


def _targets_with_owners(
    data: JSONObject, path: tuple[str, ...], is_subtype: IsSubtype
) -> list[tuple[JSONObject, tuple[JSONObject, ...]]]:
    # The same walk as merge.collect_objects, keeping the object each field was read from.
    frontier: list[_Located] = [(data, ())]
    for segment in path:
        found: list[_Located] = []
        if segment == "@":
            for value, owners in frontier:
                if isinstance(value, list):
                    found.extend((item, owners) for item in value)
        elif segment.startswith("... on "):
            condition = segment[7:].strip()
            for value, owners in frontier:
                if isinstance(value, dict):
                    typename = value.get("__typename")
                    if isinstance(typename, str) and is_subtype(typename, condition):
                        found.append((value, owners))
        else:
            for value, owners in frontier:
                if isinstance(value, dict) and segment in value:
                    found.append((value[segment], (*owners, value)))
        frontier = found
    return [(value, owners) for value, owners in frontier if isinstance(value, dict)]


def _values(
    owners: tuple[JSONObject, ...], rewrites: Sequence[ContextRewrite], is_subtype: IsSubtype
) -> JSONObject:
    values: JSONObject = {}
    for rewrite in rewrites:
        if rewrite.variable in values or rewrite.levels > len(owners):
            continue
        ancestor = owners[-rewrite.levels]
        if rewrite.type_condition is not None:
            typename = ancestor.get("__typename")
            if not isinstance(typename, str) or not is_subtype(typename, rewrite.type_condition):
                continue
        value: Any = ancestor
        for key in rewrite.path:
            if not isinstance(value, dict) or key not in value:
                break
            value = value[key]
        else:
            values[rewrite.variable] = value
    return values
