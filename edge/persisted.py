"""Persisted operations: per-client manifests, safelisting, and automatic persisted queries (APQ).

Each device team keeps its operations in `clients/<client>/*.graphql`. At start-up each named
operation becomes one manifest entry, its id the sha256 of its body (the operation followed by the
fragments it uses, printed canonically), as in Apollo's persisted query manifests; a team may also
ship such a manifest as `clients/<client>/*.json`. Every entry is validated against the API schema
then, and one that no longer validates is reported with its client and id.

Requests name an operation by id in `extensions.persistedQuery.sha256Hash` (Apollo's APQ protocol)
or in `documentId` (the GraphQL-over-HTTP persisted documents proposal, `sha256:<hex>` or bare).

- Safelist mode: only the operations in the manifest of the client named by the
  `apollographql-client-name` header run; a request must name its client and version, and a
  free-form query is refused.
- Otherwise: free-form queries run, manifest ids resolve for their client, and APQ works: a miss
  answers `PERSISTED_QUERY_NOT_FOUND`, the client retries with the query and its hash, which is
  checked and then kept in a bounded LRU cache.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    parse,
    print_ast,
    validate,
    visit,
)
from graphql.language import Visitor

from edge.http import GraphQLRequest, RequestError
from edge.logs import fields

__all__ = [
    "CLIENT_NAME_HEADER",
    "CLIENT_VERSION_HEADER",
    "APQCache",
    "InvalidOperation",
    "Manifest",
    "ManifestError",
    "PersistedOperation",
    "PersistedOperationsError",
    "PersistedQueries",
    "build_manifest",
    "canonical_body",
    "check_manifests",
    "load_manifests",
    "operation_id",
    "validate_manifests",
]

CLIENT_NAME_HEADER = "apollographql-client-name"
CLIENT_VERSION_HEADER = "apollographql-client-version"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

logger = logging.getLogger("edgegraph.persisted")


class ManifestError(ValueError):
    """A client's operation files cannot become a manifest (syntax, unnamed or duplicate names)."""


@dataclass(frozen=True, slots=True)
class PersistedOperation:
    """One registered operation of one client."""

    client: str
    id: str
    name: str
    type: str
    body: str
    source: str


@dataclass(frozen=True, slots=True)
class Manifest:
    """A client's registered operations by id."""

    client: str
    operations: Mapping[str, PersistedOperation]

    def to_json(self) -> dict[str, Any]:
        """The manifest in Apollo's persisted query manifest format (for the device build)."""
        return {
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [
                {"id": op.id, "name": op.name, "type": op.type, "body": op.body}
                for op in sorted(self.operations.values(), key=lambda op: (op.name, op.id))
            ],
        }


@dataclass(frozen=True, slots=True)
class InvalidOperation:
    """A registered operation that does not validate against the current API schema."""

    client: str
    id: str
    name: str
    source: str
    messages: tuple[str, ...]

    def __str__(self) -> str:
        return f"client {self.client!r} operation {self.id} ({self.name}, {self.source}): " + (
            "; ".join(self.messages)
        )


class PersistedOperationsError(Exception):
    """Registered operations no longer validate; raised at start when configured to fail."""

    def __init__(self, invalid: Iterable[InvalidOperation]) -> None:
        self.invalid = list(invalid)
        lines = "\n".join(f"  {op}" for op in self.invalid)
        super().__init__(
            f"{len(self.invalid)} registered operation(s) no longer validate:\n{lines}"
        )


def operation_id(body: str) -> str:
    """The id of an operation body: its sha256, hex, as APQ hashes are."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def canonical_body(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> str:
    """The operation and the fragments it uses (by name), printed: what an id is taken of, so
    that a device build and the registry give one operation the same id."""
    used = _used_fragments(operation, fragments)
    return print_ast(DocumentNode(definitions=(operation, *(fragments[n] for n in sorted(used)))))


def build_manifest(client: str, files: Iterable[Path]) -> Manifest:
    """The manifest of one client from its `.graphql` files (fragments are shared among them)."""
    operations: list[tuple[OperationDefinitionNode, str, str]] = []
    fragments: dict[str, FragmentDefinitionNode] = {}
    for path in sorted(files):
        try:
            document = parse(path.read_text(encoding="utf-8"))
        except GraphQLSyntaxError as error:
            raise ManifestError(f"client {client!r}: {path}: {error.message}") from None
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                if definition.name is None:
                    raise ManifestError(f"client {client!r}: {path}: operations must be named")
                operations.append((definition, definition.name.value, str(path)))
            elif isinstance(definition, FragmentDefinitionNode):
                fragments[definition.name.value] = definition
    entries: dict[str, PersistedOperation] = {}
    names: set[str] = set()
    for operation, name, source in operations:
        if name in names:
            raise ManifestError(f"client {client!r}: operation {name!r} is defined twice")
        names.add(name)
        body = canonical_body(operation, fragments)
        op = PersistedOperation(
            client=client,
            id=operation_id(body),
            name=name,
            type=operation.operation.value,
            body=body,
            source=source,
        )
        entries[op.id] = op
    return Manifest(client=client, operations=entries)


def load_manifests(clients_dir: str | Path) -> dict[str, Manifest]:
    """One manifest per subfolder of `clients_dir`, from its `.graphql` and `.json` manifests."""
    root = Path(clients_dir)
    if not root.is_dir():
        raise ManifestError(f"clients folder {root} does not exist")
    manifests: dict[str, Manifest] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        client = folder.name
        manifest = build_manifest(client, folder.glob("*.graphql"))
        operations = dict(manifest.operations)
        for path in sorted(folder.glob("*.json")):
            for op in _read_json_manifest(client, path):
                operations[op.id] = op
        manifests[client] = Manifest(client=client, operations=operations)
    return manifests


def validate_manifests(
    manifests: Mapping[str, Manifest], api_schema: GraphQLSchema
) -> list[InvalidOperation]:
    """Every registered operation that does not parse or validate against `api_schema`."""
    invalid: list[InvalidOperation] = []
    for client, manifest in sorted(manifests.items()):
        for op in sorted(manifest.operations.values(), key=lambda op: (op.name, op.id)):
            try:
                errors = validate(api_schema, parse(op.body))
                messages = tuple(error.message for error in errors)
            except GraphQLSyntaxError as error:
                messages = (error.message,)
            if messages:
                invalid.append(InvalidOperation(client, op.id, op.name, op.source, messages))
    return invalid


def check_manifests(
    manifests: Mapping[str, Manifest], api_schema: GraphQLSchema, *, fail_on_invalid: bool
) -> dict[str, Manifest]:
    """The manifests to serve against `api_schema`: the same rule at start-up and at each reload.

    An operation that no longer validates raises `PersistedOperationsError` naming each client
    and operation, unless `fail_on_invalid` is off: then it is logged loudly and left out.
    """
    invalid = validate_manifests(manifests, api_schema)
    if invalid and fail_on_invalid:
        raise PersistedOperationsError(invalid)
    for op in invalid:
        logger.error(
            f"registered operation no longer validates and is not served: {op}",
            extra=fields(
                event="persisted_operation_dropped",
                client=op.client,
                operation=op.name,
                id=op.id,
                errors=list(op.messages),
            ),
        )
    dropped = {(op.client, op.id) for op in invalid}
    return {
        client: Manifest(
            client,
            {id_: op for id_, op in manifest.operations.items() if (client, id_) not in dropped},
        )
        for client, manifest in manifests.items()
    }


class APQCache:
    """Queries registered through APQ by hash: least recently used evicted, size-bounded."""

    def __init__(self, max_size: int, max_query_bytes: int) -> None:
        if max_size < 1 or max_query_bytes < 1:
            raise ValueError("APQ cache limits must be positive")
        self.max_size = max_size
        self.max_query_bytes = max_query_bytes
        self._entries: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, sha256: str) -> str | None:
        """The query registered under this hash, if it is still cached."""
        query = self._entries.get(sha256)
        if query is not None:
            self._entries.move_to_end(sha256)
        return query

    def put(self, sha256: str, query: str) -> None:
        """Keep a query whose hash has been checked; oversized queries are not kept."""
        if len(query.encode("utf-8")) > self.max_query_bytes:
            return
        self._entries[sha256] = query
        self._entries.move_to_end(sha256)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The query to run for a request, and the hash to register it under once it is valid."""

    query: str
    register: str | None = None


class PersistedQueries:
    """Turns a request into the query text to run, enforcing safelist and APQ rules."""

    def __init__(
        self,
        manifests: Mapping[str, Manifest],
        *,
        safelist: bool = False,
        apq: bool = True,
        apq_cache_size: int = 1000,
        apq_max_query_bytes: int = 65_536,
    ) -> None:
        self.manifests = dict(manifests)
        self.safelist = safelist
        self.apq = apq
        self.cache = APQCache(apq_cache_size, apq_max_query_bytes)

    def resolve(self, request: GraphQLRequest, headers: Mapping[str, str]) -> Resolved:
        """The query for `request`; raises RequestError when it may not run or is unknown."""
        requested = _requested_id(request)
        if self.safelist:
            return self._safelisted(request, requested, headers)
        if requested is None:
            if request.query is None:  # edge.http lets no such request through
                raise RequestError(400, "A `query` string is required")
            return Resolved(request.query)
        if request.query is not None:
            if operation_id(request.query) != requested:
                raise RequestError(
                    400, "provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH"
                )
            if not self.apq:
                raise _apq_off()
            return Resolved(request.query, register=requested)
        registered = self._registered(headers.get(CLIENT_NAME_HEADER), requested)
        if registered is not None:
            return Resolved(registered.body)
        cached = self.cache.get(requested) if self.apq else None
        if cached is None:
            if not self.apq and request.document_id is None:
                raise _apq_off()
            # Apollo clients look for exactly this message and code, then resend with the query;
            # the hint goes beside them, in extensions.
            hint = self._hint(headers.get(CLIENT_NAME_HEADER), requested)
            raise RequestError(
                200,
                "PersistedQueryNotFound",
                "PERSISTED_QUERY_NOT_FOUND",
                extensions={"hint": hint} if hint else None,
            )
        return Resolved(cached)

    def register(self, sha256: str, query: str) -> None:
        """Keep an APQ registration once its query has proved valid."""
        self.cache.put(sha256, query)

    def _safelisted(
        self, request: GraphQLRequest, requested: str | None, headers: Mapping[str, str]
    ) -> Resolved:
        client = headers.get(CLIENT_NAME_HEADER)
        version = headers.get(CLIENT_VERSION_HEADER)
        if not client or not version:
            raise RequestError(
                403,
                f"This gateway serves registered operations only: send the {CLIENT_NAME_HEADER} "
                f"and {CLIENT_VERSION_HEADER} headers",
                "PERSISTED_QUERY_CLIENT_REQUIRED",
            )
        if client not in self.manifests:
            raise RequestError(403, f"Unknown client {client!r}", "PERSISTED_QUERY_UNKNOWN_CLIENT")
        if requested is None:
            raise RequestError(
                403,
                "Free-form queries are not allowed: send the id of a registered operation",
                "PERSISTED_QUERY_ID_REQUIRED",
            )
        registered = self.manifests[client].operations.get(requested)
        if registered is None:
            raise RequestError(
                403,
                f"Operation {requested} is not registered for client {client!r}",
                "PERSISTED_QUERY_NOT_IN_LIST",
            )
        if request.query is not None and request.query != registered.body:
            raise RequestError(
                400, "provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH"
            )
        return Resolved(registered.body)

    def _hint(self, client: str | None, requested: str) -> str | None:
        """Why a registered id was not found: the request named no client, or another one."""
        owners = sorted(name for name, m in self.manifests.items() if requested in m.operations)
        if not owners:
            if client or not self.manifests:
                return None
            return (
                f"Registered operations are looked up by client: send the {CLIENT_NAME_HEADER} "
                "header (an APQ client resends the query instead)"
            )
        where = f"registered for client {', '.join(repr(o) for o in owners)}"
        if not client:
            return f"This id is {where}: send the {CLIENT_NAME_HEADER} header naming it"
        return f"This id is {where}, not for {client!r} ({CLIENT_NAME_HEADER})"

    def _registered(self, client: str | None, requested: str) -> PersistedOperation | None:
        if client is not None and client in self.manifests:
            return self.manifests[client].operations.get(requested)
        return None


def _requested_id(request: GraphQLRequest) -> str | None:
    if request.document_id is not None:
        raw = request.document_id.removeprefix("sha256:").lower()
        if not _SHA256.match(raw):
            raise RequestError(400, "`documentId` must be sha256:<64 hex digits>")
        return raw
    extension = (request.extensions or {}).get("persistedQuery")
    if extension is None:
        return None
    if not isinstance(extension, dict):
        raise RequestError(400, "`extensions.persistedQuery` must be an object")
    if extension.get("version") != 1:
        raise RequestError(
            400, "Unsupported persisted query version", "PERSISTED_QUERY_VERSION_UNSUPPORTED"
        )
    sha256 = extension.get("sha256Hash")
    if not isinstance(sha256, str) or not _SHA256.match(sha256.lower()):
        raise RequestError(400, "`persistedQuery.sha256Hash` must be 64 hex digits")
    return sha256.lower()


def _apq_off() -> RequestError:
    return RequestError(400, "PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED")


def _used_fragments(
    operation: OperationDefinitionNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> set[str]:
    used: set[str] = set()
    pending: list[Any] = [operation]
    while pending:
        node = pending.pop()
        for name in _spread_names(node):
            if name not in used and name in fragments:
                used.add(name)
                pending.append(fragments[name])
    return used


def _spread_names(node: Any) -> list[str]:
    names: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, spread: FragmentSpreadNode, *_args: Any) -> None:
            names.append(spread.name.value)

    visit(node, Spreads())
    return names


def _read_json_manifest(client: str, path: Path) -> list[PersistedOperation]:
    try:
        raw = orjson.loads(path.read_bytes())
        operations = [
            PersistedOperation(
                client=client,
                id=str(entry["id"]).lower(),
                name=str(entry.get("name") or entry["id"]),
                type=str(entry.get("type") or "query"),
                body=str(entry["body"]),
                source=str(path),
            )
            for entry in raw["operations"]
        ]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as error:
        raise ManifestError(
            f"client {client!r}: {path} is not a persisted query manifest: {error}"
        ) from None
    for op in operations:
        # Requests can only name sha256 ids, so any other id could never be reached.
        if not _SHA256.match(op.id):
            raise ManifestError(f"client {client!r}: {path}: id {op.id!r} is not a sha256 hex")
    return operations
