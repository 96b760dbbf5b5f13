"""`edgegraph new subgraph NAME`: a strawberry Federation v2 subgraph, ready to publish.

It writes a package `NAME_subgraph/` in the house style of the demo's `schema/` and
`resolvers/`: the types in `schema.py` (an entity with key `id`, resolved through a loader
held in the request's context), the backend access in `resolvers.py` (a record, a source with
one batch call, and a per-request aiodataloader `<Entity>ByIdLoader`), a test in
`test_schema.py` (the SDL carries the key; three entity lookups are one batch), and the
subgraph's `[subgraphs.NAME]` table in graph.toml. The source is in memory: the team replaces
it with its backend's batch endpoint. Then one command publishes it.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

__all__ = ["ScaffoldError", "scaffold_subgraph"]

_NAME = re.compile(r"[a-z][a-z0-9_]{0,15}")


class ScaffoldError(ValueError):
    """A name that is no Python identifier, or files that exist already."""


_SCHEMA = '''"""The {name} subgraph: the `{Entity}` entity and `Query.{field}`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeAlias

import strawberry
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.types import Info
from strawberry.types.field import StrawberryField

from .resolvers import (
{imports})

__all__ = ["create_app", "main", "schema"]

#: the federation version the SDL links (`@link(url: ".../federation/v2.7")`)
FEDERATION_VERSION: Final = "2.7"

{Entity}Info: TypeAlias = Info[{Entity}Loaders, None]


def field(description: str) -> Callable[[Callable[..., Any]], StrawberryField]:
    """`@strawberry.field(description=...)` in a form mypy can check (strawberry types the
    keyword-only form as returning Any, which makes the resolver untyped)."""

    def decorate(resolver: Callable[..., Any]) -> StrawberryField:
        return strawberry.field(resolver, description=description)

    return decorate


@strawberry.federation.type(keys=["id"], description="One {field}, by its id.")
class {Entity}:
    id: strawberry.ID
    name: str

    @classmethod
    def from_record(cls, record: {Entity}Record) -> {Entity}:
        """The GraphQL object for a backend record."""
        return cls(id=strawberry.ID(record.id), name=record.name)

    @classmethod
    async def resolve_reference(
        cls, info: {Entity}Info, id: strawberry.ID
    ) -> {Entity} | None:
        """A {field} by id: the `_entities` call of one request is one batch."""
        record = await info.context.{field}_by_id.load(str(id))
        return None if record is None else cls.from_record(record)


@strawberry.type
class Query:
    @field("A {field} by id; null if there is none.")
    async def {field}(
        self, info: {Entity}Info, id: strawberry.ID
    ) -> {Entity} | None:
        record = await info.context.{field}_by_id.load(str(id))
        return None if record is None else {Entity}.from_record(record)


schema = strawberry.federation.Schema(
    query=Query, types=[{Entity}], federation_version=FEDERATION_VERSION
)


class {Entity}GraphQL(GraphQL[{Entity}Loaders, None]):
    """The subgraph's endpoint: fresh loaders for every request, so batches never mix."""

    def __init__(self, source: {Entity}Source) -> None:
        super().__init__(schema, graphql_ide=None)
        self.source = source

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> {Entity}Loaders:
        return {Entity}Loaders.create(self.source)


def create_app(source: {Entity}Source | None = None) -> {Entity}GraphQL:
    """The {name} subgraph over `source` (default: the in-memory sample)."""
    return {Entity}GraphQL(source or InMemory{Entity}Source())


def main() -> None:
    """`python -m {package}.schema`: serve at http://127.0.0.1:{port}/graphql."""
    uvicorn.run(create_app(), host="127.0.0.1", port={port})


if __name__ == "__main__":
    main()
'''

_RESOLVERS = '''"""{Entity} behaviour: the record, its source, and the per-request loader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from aiodataloader import DataLoader

__all__ = {exports}


@dataclass(frozen=True, slots=True)
class {Entity}Record:
    """One {field} as the backend has it."""

    id: str
    name: str


class {Entity}Source(Protocol):
    """Where {field}s come from: one call for many ids (a backend's batch endpoint)."""

    async def {field}_batch(
        self, ids: Sequence[str]
    ) -> Mapping[str, {Entity}Record]: ...


class InMemory{Entity}Source:
    """Sample {field}s in memory: replace it with a client of your backend's batch
    endpoint. `calls` counts batch calls, so a test can see the batching."""

    def __init__(self, records: Sequence[{Entity}Record] | None = None) -> None:
        sample = records or [
            {Entity}Record(id=str(n), name=f"{Entity} {{n}}") for n in range(1, 4)
        ]
        self.records = {{record.id: record for record in sample}}
        self.calls = 0

    async def {field}_batch(
        self, ids: Sequence[str]
    ) -> Mapping[str, {Entity}Record]:
        self.calls += 1
        return {{id_: self.records[id_] for id_ in ids if id_ in self.records}}


class {Entity}ByIdLoader(DataLoader[str, {Entity}Record | None]):
    """{Entity}s by id: one source call per batch."""

    def __init__(self, source: {Entity}Source) -> None:
        super().__init__()
        self.source = source

    async def batch_load_fn(self, keys: list[str]) -> list[{Entity}Record | None]:
        found = await self.source.{field}_batch(keys)
        return [found.get(key) for key in keys]


@dataclass(frozen=True, slots=True)
class {Entity}Loaders:
    """The loaders of one request (strawberry's context)."""

    {field}_by_id: {Entity}ByIdLoader

    @classmethod
    def create(cls, source: {Entity}Source) -> {Entity}Loaders:
        return cls({field}_by_id={Entity}ByIdLoader(source))
'''

_TEST = '''"""The {name} subgraph: its SDL, and entity lookups batched into one source call."""

from __future__ import annotations

import asyncio

import httpx

from {package}.resolvers import InMemory{Entity}Source
from {package}.schema import create_app, schema

ENTITIES = (
    "query($r: [_Any!]!) {{ _entities(representations: $r) {{ ... on {Entity} {{ id name }} }} }}"
)


def test_sdl_declares_the_entity_key() -> None:
    sdl = schema.as_str()
    assert 'type {Entity} @key(fields: "id")' in sdl
    assert "federation/v2.7" in sdl


def test_entities_load_in_one_batch() -> None:
    source = InMemory{Entity}Source()
    representations = [{{"__typename": "{Entity}", "id": id_}} for id_ in ("1", "2", "nope")]

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(source))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            body = {{"query": ENTITIES, "variables": {{"r": representations}}}}
            return await client.post("/graphql", json=body)

    response = asyncio.run(ask())
    found = response.json()["data"]["_entities"]
    assert found == [
        {{"id": "1", "name": "{Entity} 1"}},
        {{"id": "2", "name": "{Entity} 2"}},
        None,
    ]
    assert source.calls == 1
'''

_GRAPH_TOML = """
[subgraphs.{name}]
url = "http://127.0.0.1:{port}/graphql"
"""


def scaffold_subgraph(
    name: str,
    *,
    root: Path,
    entity: str | None = None,
    port: int = 4010,
    graph_toml: Path | None = None,
) -> list[Path]:
    """Write the `NAME_subgraph` package under `root` (and its graph.toml table); returns the
    files written. Raises `ScaffoldError` for a bad name or files that exist."""
    if not _NAME.fullmatch(name):
        raise ScaffoldError(
            f"invalid subgraph name {name!r}: a lower case letter, then letters, digits "
            "and '_' (at most 16)"
        )
    entity = entity or "".join(part.capitalize() for part in name.split("_"))
    if not re.fullmatch(r"[A-Z][A-Za-z0-9]{0,15}", entity):
        raise ScaffoldError(
            f"invalid entity name {entity!r}: a capitalized GraphQL type name (at most 16)"
        )
    field = entity[0].lower() + entity[1:]
    field = re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()
    package = f"{name}_subgraph"
    folder = root / package
    if folder.exists():
        raise ScaffoldError(f"{folder} exists already")
    exports = sorted(
        f"{entity}{suffix}" for suffix in ("ByIdLoader", "Loaders", "Record", "Source")
    )
    exports = sorted([*exports, f"InMemory{entity}Source"])
    listed = "".join(f'    "{export}",\n' for export in exports)
    imported = sorted(f"{entity}{suffix}" for suffix in ("Loaders", "Record", "Source"))
    imports = "".join(f"    {name},\n" for name in sorted([*imported, f"InMemory{entity}Source"]))
    values = {
        "name": name,
        "Entity": entity,
        "field": field,
        "package": package,
        "port": port,
        "exports": f"[\n{listed}]",
        "imports": imports,
    }
    files = {
        folder / "__init__.py": f'"""The {name} subgraph."""\n',
        folder / "schema.py": _SCHEMA.format(**values),
        folder / "resolvers.py": _RESOLVERS.format(**values),
        folder / "test_schema.py": _TEST.format(**values),
    }
    if graph_toml is not None and f"[subgraphs.{name}]" in (
        graph_toml.read_text() if graph_toml.exists() else ""
    ):
        raise ScaffoldError(f"{graph_toml} lists [subgraphs.{name}] already")
    folder.mkdir(parents=True)
    for path, text in files.items():
        path.write_text(text)
    written = list(files)
    _format([path for path in files if path.suffix == ".py"])
    if graph_toml is not None:
        with graph_toml.open("a") as toml:
            toml.write(_GRAPH_TOML.format(**values))
        written.append(graph_toml)
    return written


def _format(paths: list[Path]) -> None:
    # Line breaks that suit every name length are ruff's job: formatted when ruff is installed
    # (it is in the dev dependencies), left as written (valid, only less tidy) when it is not.
    if importlib.util.find_spec("ruff") is None:
        return
    subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--quiet", *map(str, paths)],
        check=False,
        capture_output=True,
    )
