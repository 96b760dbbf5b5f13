"""Executes a query plan: one dispatch on node kind, one mutable result, one error list.

Fetching goes through a `Fetcher`; merging is synchronous (`federation.execution.merge`). The
merged data is keyed by the client's response keys and may hold extra fields (keys,
`__typename`, requires); the shaping pass (`federation.execution.shaping`) turns it into
exactly what the client asked for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import orjson

from federation.execution.alias_copies import restore_entity_copies, restore_root_copies
from federation.execution.batching import EntityBatcher, entities_body
from federation.execution.contexts import (
    context_operation,
    context_partitions,
    context_variables,
    split_context_answer,
)
from federation.execution.merge import (
    NULL_ENTITY,
    IsSubtype,
    collect_objects,
    collect_targets,
    copy_json,
    deep_merge,
    project,
    project_flat,
    rename_outputs,
    subtype_predicate,
)
from federation.planning.plan import (
    ConditionNode,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    SequenceNode,
)
from federation.subgraphs.fetcher import Fetcher, SubgraphFetchError, SubgraphRequest
from federation.telemetry.tracing import plan_node_span
from federation.types import JSONObject, Representation, ResponsePath

__all__ = ["MAX_FAILURE_ERRORS", "execute_plan"]

#: A failed fetch reports one error per owed field; beyond this many, one summary error instead.
MAX_FAILURE_ERRORS = 100

#: An entity target: the object to extend and the index of its representation.
_Mapped = tuple[JSONObject, int]
#: targets of a context fetch with equal `@fromContext` values: the values, representations, map
_ContextGroup = tuple[JSONObject, list[Representation], list[_Mapped]]


@dataclass(slots=True)
class _Execution:
    fetcher: Fetcher
    variables: Mapping[str, Any]
    possible_types: Mapping[str, frozenset[str]]
    is_subtype: IsSubtype
    headers: Mapping[str, str] | None
    data: JSONObject
    errors: list[JSONObject]
    batcher: EntityBatcher | None


async def execute_plan(
    plan: QueryPlan,
    *,
    fetcher: Fetcher,
    variables: Mapping[str, Any],
    possible_types: Mapping[str, frozenset[str]],
    headers: Mapping[str, str] | None = None,
    batch_entities: bool | AbstractSet[str] = True,
) -> tuple[JSONObject | None, list[JSONObject]]:
    """Run `plan` and return the merged (unshaped) data and the errors, in arrival order.

    `variables` are the coerced client variables (defaults applied). `possible_types` maps each
    abstract type name to its object type names, for fragments in requires and flatten paths.
    Subgraph errors are rewritten to client paths and carry `extensions.serviceName`. With
    `batch_entities` (true, or the names of the subgraphs it applies to), entity fetches to one
    subgraph that start together share one request (`federation.execution.batching`).
    """
    state = _Execution(
        fetcher=fetcher,
        variables=variables,
        possible_types=possible_types,
        is_subtype=subtype_predicate(possible_types),
        headers=headers,
        data={},
        errors=[],
        batcher=EntityBatcher(fetcher, headers, batch_entities) if batch_entities else None,
    )
    if plan.node is not None:
        await _run(plan.node, state)
    return state.data, state.errors


async def _run(node: PlanNode, state: _Execution) -> None:
    with plan_node_span(node):
        await _dispatch(node, state)


async def _dispatch(node: PlanNode, state: _Execution) -> None:
    if isinstance(node, FetchNode):
        await _fetch_root(node, state)
    elif isinstance(node, FlattenNode):
        await _fetch_entities(node, state)
    elif isinstance(node, SequenceNode):
        for child in node.nodes:
            await _run(child, state)
    elif isinstance(node, ParallelNode):
        await asyncio.gather(*(_run(child, state) for child in node.nodes))
    elif isinstance(node, ConditionNode):
        branch = node.if_clause if state.variables.get(node.condition) is True else node.else_clause
        if branch is not None:
            await _run(branch, state)


def _used_variables(node: FetchNode, variables: Mapping[str, Any]) -> dict[str, Any]:
    return {name: variables[name] for name in node.variable_usages if name in variables}


async def _fetch_root(node: FetchNode, state: _Execution) -> None:
    body = {"query": node.operation, "variables": _used_variables(node, state.variables)}
    try:
        request = SubgraphRequest(
            node.service_name,
            body,
            state.headers or {},
            plan_nodes=(node,),
            idempotent=node.operation_kind != "mutation",
        )
        response = await state.fetcher.fetch(request)
    except SubgraphFetchError as exc:
        owed: list[ResponsePath] = [[key] for key, _ in node.owed]
        state.errors.extend(_failure_errors(exc, owed))
        return
    if node.alias_copies:
        response = restore_root_copies(response, node.alias_copies)
    data = response.get("data")
    if isinstance(data, dict):
        if node.output_renames:
            rename_outputs(data, node.output_renames, state.is_subtype)
        deep_merge(state.data, data, state.possible_types)
    for error in _errors_of(response):
        path = error.get("path") if isinstance(error, dict) else None
        state.errors.append(_subgraph_error(error, node.service_name, path))


async def _fetch_entities(flatten: FlattenNode, state: _Execution) -> None:
    if flatten.node.context_rewrites:
        await _fetch_context_groups(flatten, state)
        return
    targets = collect_objects(state.data, flatten.path, state.is_subtype)
    representations, keys, mapped = _representations(flatten, state, targets)
    if not representations:
        return
    node = flatten.node
    variables = _entity_variables(node, state)
    try:
        if state.batcher is not None and state.batcher.batches(node.service_name):
            response = await state.batcher.fetch(flatten, representations, keys, variables)
        else:
            body = entities_body(node.operation, representations, variables)
            response = await state.fetcher.fetch(_entities_request(flatten, body, state))
    except SubgraphFetchError as exc:
        owed = _owed_entity_paths(flatten, mapped, state)
        state.errors.extend(_failure_errors(exc, owed))
        return
    _take_entities(flatten, state, response, representations, mapped)


async def _fetch_context_groups(flatten: FlattenNode, state: _Execution) -> None:
    """A fetch with `@fromContext` arguments: its targets grouped by their values, every group
    an aliased `_entities` of one request with its own variables (as Apollo Router sends
    them), so distinct values never cost a request each."""
    node = flatten.node
    groups: list[_ContextGroup] = []
    for values, targets in context_partitions(
        state.data, flatten.path, node.context_rewrites, state.is_subtype
    ):
        representations, _keys, mapped = _representations(flatten, state, targets)
        if representations:
            groups.append((values, representations, mapped))
    if not groups:
        return
    client = _entity_variables(node, state)
    if len(groups) == 1:
        ((values, representations, _mapped),) = groups
        body = entities_body(node.operation, representations, {**client, **values})
        await _send_context_groups(flatten, state, body, groups, ())
        return
    combined = context_operation(node, len(groups))
    if combined is None:  # not expressible as one operation: a request per group
        await asyncio.gather(
            *(
                _send_context_groups(
                    flatten, state, entities_body(node.operation, g[1], {**client, **g[0]}), [g], ()
                )
                for g in groups
            )
        )
        return
    operation, aliases = combined
    variables = context_variables(client, [(v, r) for v, r, _m in groups])
    body = {"query": operation, "variables": variables}
    await _send_context_groups(flatten, state, body, groups, aliases)


async def _send_context_groups(
    flatten: FlattenNode,
    state: _Execution,
    body: JSONObject,
    groups: list[_ContextGroup],
    aliases: tuple[str, ...],
) -> None:
    try:
        response = await state.fetcher.fetch(_entities_request(flatten, body, state))
    except SubgraphFetchError as exc:
        owed = [path for g in groups for path in _owed_entity_paths(flatten, g[2], state)]
        state.errors.extend(_failure_errors(exc, owed))
        return
    answers = split_context_answer(response, aliases) if aliases else [response]
    for (_values, representations, mapped), answer in zip(groups, answers, strict=True):
        _take_entities(flatten, state, answer, representations, mapped)


def _entity_variables(node: FetchNode, state: _Execution) -> dict[str, Any]:
    return {
        name: value
        for name, value in _used_variables(node, state.variables).items()
        if name != "representations"
    }


def _entities_request(flatten: FlattenNode, body: JSONObject, state: _Execution) -> SubgraphRequest:
    return SubgraphRequest(
        flatten.node.service_name,
        body,
        state.headers or {},
        plan_nodes=(flatten,),
        idempotent=True,
    )


def _take_entities(
    flatten: FlattenNode,
    state: _Execution,
    response: JSONObject,
    representations: list[Representation],
    mapped: list[_Mapped],
) -> None:
    """Merge one `_entities` answer into the targets, and its errors at their paths."""
    node = flatten.node
    if node.alias_copies:
        response = restore_entity_copies(
            response, node.alias_copies, representations, state.is_subtype
        )
    errors = _errors_of(response)
    if errors:
        where = _target_paths(flatten, state)
        paths_of: dict[int, list[ResponsePath]] = {}
        for obj, index in mapped:
            paths_of.setdefault(index, []).extend(where.get(id(obj), ()))
        for error in errors:
            state.errors.extend(_entity_errors(error, node.service_name, paths_of))

    data = response.get("data")
    entities = data.get("_entities") if isinstance(data, dict) else None
    if isinstance(entities, list) and len(entities) == len(representations):
        if node.output_renames:
            rename_outputs(entities, node.output_renames, state.is_subtype)
        _merge_entities(entities, mapped, state.possible_types)
    elif entities is not None or not errors:  # else the subgraph's errors explain it already
        count = len(entities) if isinstance(entities, list) else "no"
        state.errors.append(
            {
                "message": f'Subgraph "{node.service_name}" returned {count} entities for '
                f"{len(representations)} representations.",
                "extensions": {"code": "SUBGRAPH_BAD_RESPONSE", "serviceName": node.service_name},
            }
        )


def _representations(
    flatten: FlattenNode, state: _Execution, targets: list[JSONObject]
) -> tuple[list[Representation], list[Hashable], list[_Mapped]]:
    """Project every target, deduplicated: the same entity is sent once and fanned back out.

    Also returns each representation's identity (`_identity`), for batching across fetches.
    """
    node = flatten.node
    requires = node.requires or ()
    flat = node.flat_requires
    representations: list[Representation] = []
    keys: list[Hashable] = []
    index_of: dict[Hashable, int] = {}
    mapped: list[_Mapped] = []
    for obj in targets:
        if flat is not None:
            representation = project_flat(obj, flat, state.is_subtype)
        else:
            representation = project(obj, requires, state.is_subtype, node.entity_types)
        if representation is None:
            continue
        _rewrite_input(representation, node.input_rewrites, state.is_subtype)
        key = _identity(representation)
        index = index_of.get(key)
        if index is None:
            index = index_of[key] = len(representations)
            representations.append(representation)
            keys.append(key)
        mapped.append((obj, index))
    return representations, keys, mapped


def _identity(representation: Representation) -> Hashable:
    """What makes two representations the same entity: their items when every value is a
    string, an int or null (the usual keys), else their canonical JSON. Types are kept apart:
    1, 1.0 and true are equal in Python but different JSON, so only str and int go as is."""
    for value in representation.values():
        kind = type(value)
        if kind is not str and kind is not int and value is not None:
            return orjson.dumps(representation, option=orjson.OPT_SORT_KEYS)
    return tuple(representation.items())


def _merge_entities(
    entities: list[Any], mapped: list[_Mapped], abstract_types: Mapping[str, frozenset[str]]
) -> None:
    merged: set[int] = set()
    for obj, index in mapped:
        entity = entities[index]
        if not isinstance(entity, dict):
            # The subgraph answered null for the entity: the fields it owed stay missing (a
            # later fetch must not send them as keys), and shaping nulls them as the
            # subgraph's nulls, not as fields nobody answered.
            obj[NULL_ENTITY] = True
            continue
        if index in merged:
            entity = copy_json(entity)  # deep_merge shares subtrees; targets must not
        merged.add(index)
        deep_merge(obj, entity, abstract_types)


def _rewrite_input(
    representation: Representation, rewrites: tuple[tuple[str, str], ...], is_subtype: IsSubtype
) -> None:
    typename = representation["__typename"]
    for condition, new_typename in rewrites:
        if is_subtype(typename, condition):
            representation["__typename"] = new_typename
            return


def _errors_of(response: Mapping[str, Any]) -> list[Any]:
    errors = response.get("errors")
    return errors if isinstance(errors, list) else []


def _subgraph_error(error: Any, service_name: str, path: Any) -> JSONObject:
    if not isinstance(error, dict):
        error = {}
    message = error.get("message")
    result: JSONObject = {"message": message if isinstance(message, str) else "Subgraph error"}
    if isinstance(path, list) and path:
        result["path"] = path
    extensions = error.get("extensions")
    result["extensions"] = {
        **(extensions if isinstance(extensions, dict) else {}),
        "serviceName": service_name,
    }
    return result


def _entity_errors(
    error: Any,
    service_name: str,
    paths_of: Mapping[int, list[ResponsePath]],
) -> list[JSONObject]:
    path = error.get("path") if isinstance(error, dict) else None
    if isinstance(path, list) and len(path) >= 2 and path[0] == "_entities":
        index = path[1]
        targets = paths_of.get(index, []) if isinstance(index, int) else []
        rest = path[2:]
        if targets:
            return [_subgraph_error(error, service_name, [*target, *rest]) for target in targets]
        return [_subgraph_error(error, service_name, None)]
    # A subgraph error without an `_entities` path concerns the whole fetch: no client path is
    # honest for it (as Apollo does), and the fields it owed stay null.
    return [_subgraph_error(error, service_name, None)]


def _target_paths(flatten: FlattenNode, state: _Execution) -> dict[int, list[ResponsePath]]:
    """The response paths of each object at the flatten path, by object identity.

    Walked again only when errors need paths. A target replaced meanwhile by a parallel merge
    is not found, and its errors go without a path rather than with a wrong one.
    """
    where: dict[int, list[ResponsePath]] = {}
    for obj, path in collect_targets(state.data, flatten.path, state.is_subtype):
        where.setdefault(id(obj), []).append(path)
    return where


def _owed_entity_paths(
    flatten: FlattenNode, mapped: list[_Mapped], state: _Execution
) -> list[ResponsePath]:
    owed = flatten.node.owed
    where = _target_paths(flatten, state)
    paths: list[ResponsePath] = []
    for obj, _ in mapped:
        typename = obj.get("__typename")
        for path in where.get(id(obj), ()):
            for key, condition in owed:
                if condition is None or (
                    isinstance(typename, str) and state.is_subtype(typename, condition)
                ):
                    paths.append([*path, key])
        if len(paths) > MAX_FAILURE_ERRORS:
            break  # enough to know the errors will be capped
    return paths


def _failure_errors(exc: SubgraphFetchError, paths: list[ResponsePath]) -> list[JSONObject]:
    """One error per owed field path, capped; the fields themselves stay missing."""
    if not paths:
        return [{"message": exc.message, "extensions": _failure_extensions(exc)}]
    capped = len(paths) > MAX_FAILURE_ERRORS
    errors: list[JSONObject] = [
        {"message": exc.message, "path": path, "extensions": _failure_extensions(exc)}
        for path in (paths[: MAX_FAILURE_ERRORS - 1] if capped else paths)
    ]
    if capped:
        errors.append(
            {
                "message": f"{exc.message} Further errors for this fetch were omitted.",
                "extensions": _failure_extensions(exc),
            }
        )
    return errors


def _failure_extensions(exc: SubgraphFetchError) -> JSONObject:
    return {"code": exc.code, "serviceName": exc.service}
