"""Entity fetch batching: the `_entities` fetches that one execution sends to one subgraph at
the same moment go out as one request.

A plan's parallel branches often fetch from one subgraph at once: the demo's TV home query asks
the artwork subgraph for the art of "continue watching" and of "my list" side by side. Every
request costs a subgraph a fixed price (HTTP, its request pipeline, a call to its own backend);
the demo's strawberry subgraphs spend as long on a one-entity request as on twenty entities of
a batch. So the first fetch to a subgraph lets the event loop run the branches started with it,
then sends one request for every fetch that joined:

- fetches with the same operation text share one `_entities` field, their representations
  merged and deduplicated across fetches (as they already are within one);
- different operation texts become aliased `_entities` fields of one operation, each with its
  own representations variable.

Each fetch gets back its own `{"data": {"_entities": [...]}, "errors": [...]}` with its own
indices, so the executor treats a batched answer exactly like an unbatched one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    NameNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableDefinitionNode,
    VariableNode,
    print_ast,
)

from federation.planning.plan import FetchNode, FlattenNode
from federation.subgraphs.fetcher import Fetcher, SubgraphFetchError, SubgraphRequest
from federation.types import JSONObject, Representation

__all__ = [
    "REPRESENTATIONS",
    "EntityBatcher",
    "combine_entity_operations",
    "entities_body",
    "entities_operation",
]

#: Event-loop turns the first fetch waits for siblings to join. Each nesting level of parallel
#: branches starts one turn later; a turn in which nobody joined ends the wait early.
MAX_JOIN_TURNS = 4

REPRESENTATIONS = "representations"


@dataclass(slots=True)
class _Part:
    """One entity fetch waiting in a batch; followers get their answer through `future`."""

    node: FetchNode
    representations: list[Representation]
    keys: list[Hashable]
    variables: dict[str, Any]
    #: the plan node this fetch runs for, so a batched request is timed for each of them
    plan_node: FlattenNode
    future: asyncio.Future[JSONObject] | None = None


@dataclass(slots=True)
class _Group:
    """The parts of a batch that share one operation text, and so one `_entities` field."""

    operation: str
    node: FetchNode
    parts: list[_Part] = field(default_factory=list)
    representations: list[Representation] = field(default_factory=list)
    #: per part: its i-th representation is the group's `positions[part][i]`-th
    positions: list[list[int]] = field(default_factory=list)
    index_of: dict[Hashable, int] = field(default_factory=dict)

    def add(self, part: _Part) -> None:
        positions: list[int] = []
        for representation, key in zip(part.representations, part.keys, strict=True):
            position = self.index_of.get(key)
            if position is None:
                position = self.index_of[key] = len(self.representations)
                self.representations.append(representation)
            positions.append(position)
        self.parts.append(part)
        self.positions.append(positions)


class EntityBatcher:
    """Batches the entity fetches of one execution, per subgraph (see the module docstring)."""

    def __init__(
        self,
        fetcher: Fetcher,
        headers: Mapping[str, str] | None,
        subgraphs: bool | AbstractSet[str] = True,
    ) -> None:
        """`subgraphs`: true for every subgraph, or the names of the ones to batch."""
        self._fetcher = fetcher
        self._headers = headers or {}
        self._subgraphs = subgraphs
        self._joining: dict[str, list[_Part]] = {}

    def batches(self, service_name: str) -> bool:
        """Whether fetches to this subgraph go through the batcher."""
        if isinstance(self._subgraphs, bool):
            return self._subgraphs
        return service_name in self._subgraphs

    async def fetch(
        self,
        flatten: FlattenNode,
        representations: list[Representation],
        keys: list[Hashable],
        variables: dict[str, Any],
    ) -> JSONObject:
        """This fetch's answer, as if it had been sent alone; raises `SubgraphFetchError`."""
        node = flatten.node
        part = _Part(node, representations, keys, variables, flatten)
        service = node.service_name
        joining = self._joining.get(service)
        if joining is not None:
            part.future = asyncio.get_running_loop().create_future()
            joining.append(part)
            return await part.future
        parts = self._joining[service] = [part]
        try:
            try:
                await _let_siblings_join(parts)
            finally:
                del self._joining[service]
            if len(parts) == 1:
                body = entities_body(part.node.operation, part.representations, part.variables)
                return await self._fetcher.fetch(
                    SubgraphRequest(
                        service, body, self._headers, plan_nodes=(flatten,), idempotent=True
                    )
                )
            return await self._send(service, parts)
        except BaseException as exc:
            # A failed or cancelled leader must not leave its followers waiting forever.
            for follower in parts[1:]:
                if follower.future is None or follower.future.done():
                    continue
                if isinstance(exc, SubgraphFetchError):
                    follower.future.set_exception(exc)
                else:
                    follower.future.cancel()
            raise

    async def _send(self, service: str, parts: list[_Part]) -> JSONObject:
        groups: dict[str, _Group] = {}
        for part in parts:
            groups.setdefault(part.node.operation, _Group(part.node.operation, part.node)).add(part)
        variables: dict[str, Any] = {}
        for part in parts:
            variables.update(part.variables)
        if len(groups) == 1:
            answer = await self._send_groups(service, list(groups.values()), None, variables)
            assert answer is not None  # the leader is in the only group
            return answer
        combined = combine_entity_operations(
            tuple(group.node for group in groups.values()), frozenset(variables)
        )
        if combined is None:  # not expressible as one operation: one request per text
            # Each request answers (or fails) its own group's followers; only the leader's
            # group's outcome is the leader's.
            outcomes = await asyncio.gather(
                *(
                    self._send_groups(service, [group], None, variables)
                    for group in groups.values()
                ),
                return_exceptions=True,
            )
            leader = parts[0]
            leading = next(
                i for i, g in enumerate(groups.values()) if any(p is leader for p in g.parts)
            )
            outcome = outcomes[leading]
            if isinstance(outcome, BaseException):
                raise outcome
            assert outcome is not None  # the leader is in this group
            return outcome
        answer = await self._send_groups(service, list(groups.values()), combined, variables)
        assert answer is not None  # the leader is in the first group
        return answer

    async def _send_groups(
        self,
        service: str,
        groups: list[_Group],
        combined: tuple[str, tuple[str, ...]] | None,
        variables: dict[str, Any],
    ) -> JSONObject | None:
        """Send `groups` as one request, answer their followers, return the leader's answer."""
        aliases: tuple[str, ...]
        if combined is None:
            (group,) = groups
            operation, aliases = group.operation, ("_entities",)
            own = group.parts[0].variables  # one text, so one set of variables
            body_variables = {REPRESENTATIONS: group.representations, **own}
        else:
            operation, aliases = combined
            body_variables = dict(variables)
            for index, group in enumerate(groups):
                body_variables[f"{REPRESENTATIONS}{index}"] = group.representations
        body = {"query": operation, "variables": body_variables}
        # One request serves every batched plan fetch: each gets its timing from it.
        served = tuple(part.plan_node for group in groups for part in group.parts)
        try:
            request = SubgraphRequest(
                service, body, self._headers, plan_nodes=served, idempotent=True
            )
            response = await self._fetcher.fetch(request)
        except SubgraphFetchError as exc:
            for group in groups:
                for part in group.parts:
                    if part.future is not None and not part.future.done():
                        part.future.set_exception(exc)
            raise
        leader: JSONObject | None = None
        for part, answer in _split(service, response, groups, aliases):
            if part.future is None:
                leader = answer
            elif not part.future.done():
                part.future.set_result(answer)
        return leader


async def _let_siblings_join(parts: list[_Part]) -> None:
    seen = 0
    for _ in range(MAX_JOIN_TURNS):
        if len(parts) == seen:
            return
        seen = len(parts)
        await asyncio.sleep(0)


def entities_body(
    operation: str, representations: list[Representation], variables: Mapping[str, Any]
) -> JSONObject:
    """The request body of one entity fetch sent alone."""
    return {
        "query": operation,
        "variables": {REPRESENTATIONS: representations, **variables},
    }


def _split(
    service: str, response: JSONObject, groups: list[_Group], aliases: tuple[str, ...]
) -> list[tuple[_Part, JSONObject]]:
    """Each part's own answer: its entities in its order, errors re-indexed to its positions.

    An error that names no entity concerns the whole request. Every part left without
    entities gets it (as each would have, sent alone); if none was, the first part does.
    """
    data = response.get("data")
    errors = response.get("errors")
    errors = errors if isinstance(errors, list) else []
    unplaced = [error for error in errors if not _is_placed(error, aliases)]
    answers: list[tuple[_Part, JSONObject]] = []
    failed = False
    for group, alias in zip(groups, aliases, strict=True):
        entities = data.get(alias) if isinstance(data, dict) else None
        valid = isinstance(entities, list) and len(entities) == len(group.representations)
        for part, positions in zip(group.parts, group.positions, strict=True):
            local = {position: index for index, position in enumerate(positions)}
            part_errors = [
                error
                for raw in errors
                if (error := _reindexed(raw, alias, local, aliases)) is not None
            ]
            part_data: JSONObject = {"_entities": None}
            if valid:
                assert isinstance(entities, list)
                part_data["_entities"] = [entities[position] for position in positions]
            elif entities is not None:
                part_errors.append(_count_error(service, entities, len(group.representations)))
            else:
                failed = True
                part_errors.extend(unplaced)
            answers.append((part, {"data": part_data, "errors": part_errors}))
    if unplaced and not failed:
        answers[0][1]["errors"].extend(unplaced)
    return answers


def _is_placed(error: Any, aliases: tuple[str, ...]) -> bool:
    path = error.get("path") if isinstance(error, dict) else None
    return (
        isinstance(path, list)
        and len(path) >= 2
        and path[0] in aliases
        and isinstance(path[1], int)
    )


def _reindexed(
    error: Any, alias: str, local: Mapping[int, int], aliases: tuple[str, ...]
) -> JSONObject | None:
    """`error` with its path moved to this part's `_entities` index, or None if not its own."""
    if not _is_placed(error, aliases):
        return None
    path = error["path"]
    if path[0] != alias or path[1] not in local:
        return None
    return {**error, "path": ["_entities", local[path[1]], *path[2:]]}


def _count_error(service: str, entities: Any, expected: int) -> JSONObject:
    count = len(entities) if isinstance(entities, list) else "no"
    return {
        "message": f'Subgraph "{service}" returned {count} entities for {expected} '
        "representations.",
        "extensions": {"code": "SUBGRAPH_BAD_RESPONSE"},
    }


@lru_cache(maxsize=1024)
def combine_entity_operations(
    fetches: tuple[FetchNode, ...], variable_names: frozenset[str]
) -> tuple[str, tuple[str, ...]] | None:
    """One operation holding each entity fetch's `_entities` under its own alias.

    Returns the operation text and the aliases (one per input, in order), or None when an input
    is not a plain `_entities` query or the new variable names would collide. Reads each fetch's
    parsed document, never its text. Cached: plans are cached, so a batch of the same fetches
    meets the same fetches again.
    """
    new_names = [f"{REPRESENTATIONS}{index}" for index in range(len(fetches))]
    if variable_names & set(new_names):
        return None
    definitions: dict[str, VariableDefinitionNode] = {}
    selections: list[FieldNode] = []
    aliases: list[str] = []
    for index, fetch in enumerate(fetches):
        parsed = entities_operation(fetch.document)
        if parsed is None:
            return None
        entities, variables = parsed
        alias = f"_{index}"
        for definition in variables:
            name = definition.variable.name.value
            if name == REPRESENTATIONS:
                definitions[new_names[index]] = VariableDefinitionNode(
                    variable=VariableNode(name=NameNode(value=new_names[index])),
                    type=definition.type,
                    default_value=None,
                    directives=(),
                )
            else:
                definitions.setdefault(name, definition)
        selections.append(
            FieldNode(
                alias=NameNode(value=alias),
                name=entities.name,
                arguments=(
                    ArgumentNode(
                        name=NameNode(value=REPRESENTATIONS),
                        value=VariableNode(name=NameNode(value=new_names[index])),
                    ),
                ),
                directives=(),
                selection_set=entities.selection_set,
            )
        )
        aliases.append(alias)
    document = DocumentNode(
        definitions=(
            OperationDefinitionNode(
                operation=OperationType.QUERY,
                variable_definitions=tuple(definitions.values()),
                directives=(),
                selection_set=SelectionSetNode(selections=tuple(selections)),
            ),
        )
    )
    return print_ast(document), tuple(aliases)


def entities_operation(
    document: DocumentNode,
) -> tuple[FieldNode, tuple[VariableDefinitionNode, ...]] | None:
    """The `_entities(representations: $representations)` field of a plain entity query."""
    if len(document.definitions) != 1:
        return None  # fragment definitions could clash between operations
    (definition,) = document.definitions
    if not isinstance(definition, OperationDefinitionNode):
        return None
    if definition.operation != OperationType.QUERY or definition.directives:
        return None
    (selection, *rest) = definition.selection_set.selections
    if rest or not isinstance(selection, FieldNode) or selection.name.value != "_entities":
        return None
    if selection.alias is not None or selection.directives:
        return None
    arguments = selection.arguments or ()
    if len(arguments) != 1 or arguments[0].name.value != REPRESENTATIONS:
        return None
    value = arguments[0].value
    if not isinstance(value, VariableNode) or value.name.value != REPRESENTATIONS:
        return None
    return selection, tuple(definition.variable_definitions or ())
