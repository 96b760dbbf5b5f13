"""What a field may cost, for the cost estimate in `federation.limits`.

A flat "every list holds 10" let a 3.4 KB request of thirty aliased genre rows ask for 6 MB
(issue #15). Each list field's size is taken, in order, from:

1. its slicing argument in the operation (`first: 100`, or a variable's value);
2. for the `nodes`/`edges` of a connection (or the `sizedFields` of `@listSize`), the slicing
   argument of the field that returned the connection;
3. `@listSize(assumedSize:)` in the supergraph (the cost spec as Apollo implements it, which
   composition carries: `https://specs.apollo.dev/cost/v0.1`);
4. the default value of its slicing argument in the schema (`titles(first: Int! = 20)`);
5. the sizes actually seen: a high percentile of that field's recent list lengths
   (`ListSizes`, fed by result shaping);
6. `Limits.default_list_size`.

`@cost(weight:)` on a field definition replaces its weight of 1.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import (
    ConstDirectiveNode,
    FieldDefinitionNode,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    ListValueNode,
    StringValueNode,
    is_interface_type,
    is_object_type,
)

__all__ = [
    "CONNECTION_FIELDS",
    "SIZE_ARGUMENTS",
    "CostCache",
    "Demand",
    "FieldDemand",
    "ListSizes",
    "read_demand",
    "response_too_large",
]

#: Arguments that say how many items a list field returns, when no @listSize names them.
SIZE_ARGUMENTS = ("first", "last", "limit", "take", "pageSize")
#: The fields of a connection whose size is the slicing argument of the field above.
CONNECTION_FIELDS = ("nodes", "edges")
# The cost spec's directives, under the names a supergraph may give them (imported, prefixed
# with the spec's name, or with federation's).
_COST = frozenset({"cost", "cost__cost", "federation__cost"})
_LIST_SIZE = frozenset({"listSize", "cost__listSize", "federation__listSize"})


@dataclass(frozen=True, slots=True)
class FieldDemand:
    """What the supergraph says about one field's cost."""

    weight: int | None = None
    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()
    sized_fields: tuple[str, ...] = ()
    #: slicing argument -> its default in the schema
    defaults: Mapping[str, int] | None = None


@dataclass(frozen=True, slots=True)
class Demand:
    """Per field coordinate ("Type.field"), what the supergraph says it costs."""

    fields: Mapping[str, FieldDemand]

    def get(self, coordinate: str) -> FieldDemand | None:
        return self.fields.get(coordinate)


def read_demand(schema: GraphQLSchema) -> Demand:
    """The `@cost`/`@listSize` applications and slicing-argument defaults of a supergraph
    schema (built from its SDL, directives kept)."""
    found: dict[str, FieldDemand] = {}
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not (is_object_type(type_) or is_interface_type(type_)):
            continue
        for name, field in type_.fields.items():
            node = field.ast_node
            if not isinstance(node, FieldDefinitionNode):
                continue
            demand = _field_demand(node)
            if demand is not None:
                found[f"{type_.name}.{name}"] = demand
    return Demand(found)


def _field_demand(node: FieldDefinitionNode) -> FieldDemand | None:
    weight = assumed = None
    slicing: tuple[str, ...] = ()
    sized: tuple[str, ...] = ()
    for directive in node.directives or ():
        name = directive.name.value
        if name in _COST:
            weight = _int_argument(directive, "weight")
        elif name in _LIST_SIZE:
            assumed = _int_argument(directive, "assumedSize")
            slicing = _strings_argument(directive, "slicingArguments")
            sized = _strings_argument(directive, "sizedFields")
    names = slicing or SIZE_ARGUMENTS
    defaults = {
        argument.name.value: int(argument.default_value.value)
        for argument in node.arguments or ()
        if argument.name.value in names and isinstance(argument.default_value, IntValueNode)
    }
    if weight is None and assumed is None and not slicing and not sized and not defaults:
        return None
    return FieldDemand(weight, assumed, slicing, sized, defaults or None)


def _int_argument(directive: ConstDirectiveNode, name: str) -> int | None:
    for argument in directive.arguments or ():
        if argument.name.value == name and isinstance(argument.value, IntValueNode):
            return int(argument.value.value)
    return None


def _strings_argument(directive: ConstDirectiveNode, name: str) -> tuple[str, ...]:
    for argument in directive.arguments or ():
        if argument.name.value != name:
            continue
        value = argument.value
        items = value.values if isinstance(value, ListValueNode) else (value,)
        return tuple(item.value for item in items if isinstance(item, StringValueNode))
    return ()


class ListSizes:
    """The list lengths answers actually had, per field coordinate: the last `samples` of
    each, read as their `percentile` (once `min_samples` were seen). Shaping reports each
    list it completes; the cost estimate reads them."""

    def __init__(
        self,
        *,
        samples: int = 200,
        percentile: float = 0.95,
        min_samples: int = 5,
        max_fields: int = 5000,
    ) -> None:
        self._samples = samples
        self._percentile = percentile
        self._min_samples = min_samples
        self._max_fields = max_fields
        self._seen: dict[str, deque[int]] = {}
        self._cached: dict[str, int] = {}

    def observe(self, coordinate: str, size: int) -> None:
        """One list of `size` items answered for the field at `coordinate`."""
        seen = self._seen.get(coordinate)
        if seen is None:
            if len(self._seen) >= self._max_fields:
                return  # a bounded table: coordinates come from the schema, not from clients
            seen = self._seen[coordinate] = deque(maxlen=self._samples)
        seen.append(size)
        self._cached.pop(coordinate, None)

    def observe_many(self, sizes: Iterable[tuple[str, int]]) -> None:
        for coordinate, size in sizes:
            self.observe(coordinate, size)

    def size(self, coordinate: str) -> int | None:
        """The high percentile of the field's recent list lengths; None if too few seen."""
        cached = self._cached.get(coordinate)
        if cached is not None:
            return cached
        seen = self._seen.get(coordinate)
        if seen is None or len(seen) < self._min_samples:
            return None
        ordered = sorted(seen)
        value = ordered[min(len(ordered) - 1, int(len(ordered) * self._percentile))]
        self._cached[coordinate] = value
        return value


class _Keyed(Protocol):
    @property
    def key(self) -> tuple[str, str | None]: ...


class CostCache:
    """Cost verdicts per operation and the values of its integer variables (the sizes a client
    may ask through them), kept `ttl` seconds: the list sizes seen move slowly, and a TV home
    asked a thousand times a second is estimated once."""

    def __init__(
        self,
        *,
        ttl: float = 10.0,
        max_size: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_size = max_size
        self._clock = clock
        self._verdicts: dict[Hashable, tuple[float, GraphQLError | None]] = {}

    def get(
        self,
        prepared: _Keyed,
        variables: Mapping[str, Any],
        compute: Callable[[], GraphQLError | None],
    ) -> GraphQLError | None:
        sizes = tuple(
            sorted(
                (name, value)
                for name, value in variables.items()
                if isinstance(value, int) and not isinstance(value, bool)
            )
        )
        key = (prepared.key, sizes)
        now = self._clock()
        cached = self._verdicts.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        verdict = compute()
        if len(self._verdicts) >= self._max_size:
            self._verdicts.clear()  # rare; the next requests estimate again
        self._verdicts[key] = (now + self._ttl, verdict)
        return verdict


def response_too_large(size: int, max_bytes: int) -> dict[str, Any]:
    """The error that replaces an answer of `size` bytes of JSON, past `max_bytes`."""
    return {
        "message": f"The answer is {size} bytes, more than the max_response_bytes limit of "
        f"{max_bytes}: ask for fewer items or fields.",
        "extensions": {"code": "RESPONSE_TOO_LARGE", "size": size, "max": max_bytes},
    }
