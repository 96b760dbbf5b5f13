"""The checks a candidate subgraph goes through: composition, then the device teams' operations.

An operation is affected when it no longer validates against the candidate API schema, or when
one of graphql-core's breaking changes (`find_breaking_changes`) touches a field or type it
reads: an output made nullable or an enum value removed validates, and still breaks a screen.
Breaking changes no registered operation touches are reported, and do not fail the check.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    BreakingChange,
    BreakingChangeType,
    GraphQLError,
    GraphQLSchema,
    build_schema,
    find_breaking_changes,
    find_dangerous_changes,
    get_named_type,
    lexicographic_sort_schema,
    parse,
    print_schema,
    validate,
)

from federation.composition import SubgraphSource, compose
from federation.errors import FederationError
from federation.supergraph.model import Supergraph, load_supergraph

from .fields import usage_of
from .store import Operation

__all__ = [
    "AffectedOperation",
    "AffectedUsage",
    "Candidate",
    "CheckReport",
    "check_operations",
    "compose_candidate",
    "diff_api_schemas",
    "validate_operations",
]

_COORDINATE = re.compile(r"\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")
_TYPE_MEMBER_CHANGES = frozenset(
    {BreakingChangeType.VALUE_REMOVED_FROM_ENUM, BreakingChangeType.REQUIRED_INPUT_FIELD_ADDED}
)
_TYPE = re.compile(r"\btype ([A-Za-z_]\w*)|^([A-Za-z_]\w*) (?:was removed|changed from)")


@dataclass(frozen=True, slots=True)
class AffectedOperation:
    client: str
    name: str
    client_version: str
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "operation": self.name,
            "clientVersion": self.client_version,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class AffectedUsage:
    """A field that requests read lately (gateways report it) and that a change breaks."""

    client: str
    field: str
    requests: int
    change: str

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "field": self.field,
            "requests": self.requests,
            "change": self.change,
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What a check found. `ok` when it composes and no registered operation is affected."""

    composition_errors: tuple[str, ...] = ()
    affected: tuple[AffectedOperation, ...] = ()
    breaking_changes: tuple[str, ...] = ()
    usage: tuple[AffectedUsage, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.composition_errors and not self.affected and not self.usage

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "compositionErrors": list(self.composition_errors),
            "affectedOperations": [op.to_json() for op in self.affected],
            "breakingChanges": list(self.breaking_changes),
            "affectedUsage": [use.to_json() for use in self.usage],
        }


@dataclass(frozen=True, slots=True)
class Candidate:
    """A subgraph change composed with the latest version of every other subgraph."""

    supergraph: Supergraph | None
    report: CheckReport


def compose_candidate(
    name: str, url: str, sdl: str, others: Mapping[str, tuple[str, str]]
) -> Candidate:
    """Compose subgraph `name` (at `url`, with `sdl`) with `others` (name → (url, sdl)) using
    edgegraph's own composition. CPU work: call it off the event loop."""
    sources = [SubgraphSource(name=n, url=u, sdl=s) for n, (u, s) in sorted(others.items())]
    sources.append(SubgraphSource(name=name, url=url, sdl=sdl))
    result = compose(sources)
    if result.supergraph_sdl is None:
        errors = tuple(_composition_error(e.code, e.message, e.coordinate) for e in result.errors)
        return Candidate(None, CheckReport(composition_errors=errors))
    try:
        supergraph = load_supergraph(result.supergraph_sdl)
    except FederationError as error:  # composed, yet the gateway would refuse it
        return Candidate(None, CheckReport(composition_errors=(f"[SUPERGRAPH] {error}",)))
    return Candidate(supergraph, CheckReport())


def _composition_error(code: str, message: str, coordinate: str | None) -> str:
    where = f" ({coordinate})" if coordinate else ""
    return f"[{code}]{where} {message}"


def _touches(change: BreakingChange, fields: set[str], types: set[str]) -> bool:
    found = _COORDINATE.findall(change.description)
    if change.type in _TYPE_MEMBER_CHANGES:
        # `Kind.SHOW`, `Filter.genre`: a member of a type the operation reads or sends.
        return any(type_name in types for type_name, _member in found)
    if found:
        return bool({f"{t}.{f}" for t, f in found} & fields)
    named = {a or b for a, b in _TYPE.findall(change.description)}
    return bool(named & types)


def check_operations(
    old_api: GraphQLSchema | None,
    new_api: GraphQLSchema,
    operations: Iterable[Operation],
    usage: Mapping[str, Mapping[str, int]] | None = None,
) -> CheckReport:
    """Check registered operations, and the fields requests read lately (`usage`: coordinate
    → client → requests), against a candidate API schema (see the module's doc)."""
    breaking = find_breaking_changes(old_api, new_api) if old_api is not None else []
    affected: list[AffectedOperation] = []
    for op in operations:
        document = parse(op.body)
        reasons = [f"does not validate: {error.message}" for error in validate(new_api, document)]
        if old_api is not None:
            fields, types = usage_of(document, old_api)
            reasons += [
                change.description for change in breaking if _touches(change, fields, types)
            ]
        if reasons:
            affected.append(
                AffectedOperation(op.client, op.name, op.client_version, tuple(reasons))
            )
    used: list[AffectedUsage] = []
    if old_api is not None and usage:
        for change in breaking:
            for coordinate in sorted(usage):
                fields = {coordinate}
                types = _types_of(old_api, coordinate)
                if _touches(change, fields, types):
                    used += [
                        AffectedUsage(client, coordinate, requests, change.description)
                        for client, requests in sorted(usage[coordinate].items())
                    ]
    return CheckReport(
        affected=tuple(affected),
        breaking_changes=tuple(change.description for change in breaking),
        usage=tuple(used),
    )


def _types_of(schema: GraphQLSchema, coordinate: str) -> set[str]:
    """The parent and the named return type of field `coordinate`, when the schema has it."""
    parent_name, _, field_name = coordinate.partition(".")
    parent = schema.type_map.get(parent_name)
    fields = getattr(parent, "fields", None)
    if not isinstance(fields, dict) or field_name not in fields:
        return set()
    return {parent_name, get_named_type(fields[field_name].type).name}


def validate_operations(api: GraphQLSchema, found: Sequence[tuple[str, str]]) -> list[str]:
    """Every problem with `(name, body)` operations a device team registers: each must parse,
    be one named operation or several, and validate against the API schema."""
    problems: list[str] = []
    for name, body in found:
        try:
            document = parse(body)
        except GraphQLError as error:
            problems.append(f"{name}: does not parse: {error.message}")
            continue
        problems += [f"{name}: {error.message}" for error in validate(api, document)]
    return problems


def diff_api_schemas(old_sdl: str, new_sdl: str) -> dict[str, Any]:
    """The changes between two API schemas: graphql-core's breaking and dangerous changes, and
    a unified diff of both schemas printed in one order (additions show there)."""
    old = lexicographic_sort_schema(build_schema(old_sdl))
    new = lexicographic_sort_schema(build_schema(new_sdl))
    lines = difflib.unified_diff(
        print_schema(old).splitlines(), print_schema(new).splitlines(), "old", "new", lineterm=""
    )
    return {
        "breaking": [change.description for change in find_breaking_changes(old, new)],
        "dangerous": [change.description for change in find_dangerous_changes(old, new)],
        "diff": "\n".join(lines),
    }
