"""A subgraph app over a real demo backend, both reached through httpx's ASGI transport."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

import backends.artwork
import backends.catalog
import backends.members
import backends.ratings
import schema.artwork
import schema.catalog
import schema.members
import schema.ratings
from edge.passport import PASSPORT_HEADER, Identity, PassportSigner, PassportVerifier

__all__ = [
    "BACKENDS",
    "GOLDEN",
    "SUBGRAPHS",
    "ASGIApp",
    "Subgraph",
    "as_member",
    "backend_app",
    "misbehave_on",
    "serve_subgraph",
]

JSONObject = dict[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Small demo data keeps each test fast; ids t1..t300 and m1..m50 exist.
TITLES, MEMBERS = 300, 50
SUBGRAPHS: dict[str, ModuleType] = {
    "catalog": schema.catalog,
    "artwork": schema.artwork,
    "ratings": schema.ratings,
    "members": schema.members,
}
BACKENDS: dict[str, ModuleType] = {
    "catalog": backends.catalog,
    "artwork": backends.artwork,
    "ratings": backends.ratings,
    "members": backends.members,
}
GOLDEN = Path(__file__).parent / "golden"

#: The stand-in for the gateway's passport key: the members subgraph here trusts only it.
GATEWAY = PassportSigner(Ed25519PrivateKey.generate())


def as_member(member_id: str) -> dict[str, str]:
    """Headers that sign `member_id` in, as the gateway does after checking their token."""
    return {PASSPORT_HEADER: GATEWAY.sign(Identity(subject=member_id))}


class SubgraphFactory(Protocol):
    def __call__(
        self,
        *,
        backend_url: str,
        client: httpx.AsyncClient | None = ...,
        timeout: float = ...,
        **options: Any,
    ) -> Starlette: ...


def backend_app(name: str) -> Starlette:
    """A fresh demo backend (its own data copy and stats) for subgraph `name`."""
    app: Starlette = BACKENDS[name].create_app(titles=TITLES, members=MEMBERS)
    return app


def misbehave_on(path: str, real: ASGIApp, fault: ASGIApp) -> ASGIApp:
    """`real`, except that requests for `path` go to `fault`."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        target = fault if scope["type"] == "http" and scope["path"] == path else real
        await target(scope, receive, send)

    return app


@dataclass(frozen=True, slots=True)
class Subgraph:
    """A running subgraph and a client for its backend's counters."""

    client: httpx.AsyncClient
    backend: httpx.AsyncClient

    async def execute(
        self,
        query: str,
        variables: JSONObject | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> JSONObject:
        """POST one operation to `/graphql` and return the decoded GraphQL response."""
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: JSONObject = response.json()
        return body

    async def entities(
        self,
        representations: Sequence[Mapping[str, object]],
        selection: str,
        *,
        headers: dict[str, str] | None = None,
    ) -> JSONObject:
        """`_entities(representations:)` with `selection` inside the braces."""
        query = (
            "query ($representations: [_Any!]!) {"
            f" _entities(representations: $representations) {{ {selection} }} }}"
        )
        return await self.execute(query, {"representations": representations}, headers=headers)

    async def backend_requests(self) -> int:
        """Data requests the backend has served since the last reset."""
        stats: JSONObject = (await self.backend.get("/stats")).json()
        requests: int = stats["requests"]
        return requests

    async def reset_stats(self) -> None:
        """Zero the backend's counters."""
        await self.backend.post("/stats/reset")


@contextlib.asynccontextmanager
async def serve_subgraph(
    name: str, *, backend: ASGIApp | None = None, timeout: float = 2.0
) -> AsyncIterator[Subgraph]:
    """Subgraph `name` over `backend` (default: a fresh demo backend)."""
    transport = httpx.ASGITransport(app=backend or backend_app(name))
    async with httpx.AsyncClient(transport=transport, base_url="http://backend") as http:
        create_app: SubgraphFactory = SUBGRAPHS[name].create_app
        # Only members reads the caller; it trusts passports signed by GATEWAY's key.
        options = {"passport": PassportVerifier(GATEWAY.public_key)} if name == "members" else {}
        app = create_app(backend_url="http://backend", client=http, timeout=timeout, **options)
        subgraph_transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=subgraph_transport, base_url="http://subgraph"
        ) as client:
            yield Subgraph(client=client, backend=http)
