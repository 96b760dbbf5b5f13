"""Restoring the response keys a fetch left out as repeats of an identical aliased field.

The plan says which (`FetchNode.alias_copies`, planning/optimize/duplicate_aliases.py): the
answer gets, for each dropped key, a copy of the kept key's value and of its errors, so that
merging sees the answer the client's fetch asked for. Nothing is parsed here.

Both functions run on the fetch's own answer (after batching split a shared request into
each fetch's part) and return a new answer: the objects they would change may be shared with
another fetch of the same batch, so they are copied rather than written into.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from federation.execution.merge import IsSubtype, copy_json
from federation.planning.plan import AliasCopy
from federation.types import JSONObject, Representation

__all__ = ["restore_entity_copies", "restore_root_copies"]


def restore_root_copies(response: Mapping[str, Any], copies: tuple[AliasCopy, ...]) -> JSONObject:
    """A root fetch's answer with its dropped keys restored."""
    restored = dict(response)
    data = response.get("data")
    if isinstance(data, dict):
        restored["data"] = _copied(data, copies)
    errors = response.get("errors")
    if isinstance(errors, list):
        restored["errors"] = errors + [
            {**error, "path": [dropped, *path[1:]]}
            for error in errors
            if (path := _path(error))
            for dropped in _dropped(copies, path[0])
        ]
    return restored


def restore_entity_copies(
    response: Mapping[str, Any],
    copies: tuple[AliasCopy, ...],
    representations: Sequence[Representation],
    is_subtype: IsSubtype,
) -> JSONObject:
    """An entity fetch's answer with its dropped keys restored in each `_entities` item whose
    representation (the i-th for the i-th item) is of the copy's type condition."""

    def applies(index: Any) -> tuple[AliasCopy, ...]:
        if not isinstance(index, int) or not 0 <= index < len(representations):
            return ()
        typename = representations[index].get("__typename")
        return tuple(
            copy
            for copy in copies
            if copy.type_condition is None
            or (isinstance(typename, str) and is_subtype(typename, copy.type_condition))
        )

    restored = dict(response)
    data = response.get("data")
    items = data.get("_entities") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(items, list):
        restored["data"] = {
            **data,
            "_entities": [
                _copied(item, applies(index)) if isinstance(item, dict) else item
                for index, item in enumerate(items)
            ],
        }
    errors = response.get("errors")
    if isinstance(errors, list):
        restored["errors"] = errors + [
            {**error, "path": [*path[:2], dropped, *path[3:]]}
            for error in errors
            if (path := _path(error)) and len(path) > 2 and path[0] == "_entities"
            for dropped in _dropped(applies(path[1]), path[2])
        ]
    return restored


def _copied(target: JSONObject, copies: tuple[AliasCopy, ...]) -> JSONObject:
    if not any(copy.kept in target for copy in copies):
        return target
    out = dict(target)
    for copy in copies:
        if copy.kept in target:
            value = target[copy.kept]
            # A copy: merging writes into what it is given.
            out[copy.dropped] = copy_json(value) if isinstance(value, (dict, list)) else value
    return out


def _path(error: Any) -> list[Any] | None:
    path = error.get("path") if isinstance(error, dict) else None
    return path if isinstance(path, list) and path else None


def _dropped(copies: tuple[AliasCopy, ...], key: Any) -> list[str]:
    return [copy.dropped for copy in copies if copy.kept == key]
