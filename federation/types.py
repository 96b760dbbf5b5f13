"""Type aliases shared across the engine (and nothing else)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias

__all__ = ["JSON", "JSONObject", "Representation", "ResponsePath", "Variables"]

#: Any value that orjson can produce or consume.
JSON: TypeAlias = Any
#: A decoded JSON object.
JSONObject: TypeAlias = dict[str, Any]
#: A response path as GraphQL errors carry it: response keys and list indices.
ResponsePath: TypeAlias = list[str | int]
#: One entry of `_entities(representations:)`: `__typename` plus key and required fields.
Representation: TypeAlias = dict[str, Any]
#: Coerced operation variables.
Variables: TypeAlias = Mapping[str, Any]
