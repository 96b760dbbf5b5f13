"""Device clients the gateway knows: a client names itself with `apollographql-client-name` and,
where it can keep a secret, proves it with an API key (`x-api-key`).

The `[clients]` section lists the known clients, each with the SHA-256 digests of its keys
(never the keys: a leaked config file then grants nothing):

    [clients]
    required = false                 # true: every GraphQL request must come from a known client
    [clients.tv]
    api_key_sha256 = ["9f86d0…"]     # printf %s "$KEY" | sha256sum
    [clients.web]
    api_key_sha256 = []              # known, no key: a browser cannot keep one secret

`ClientMiddleware` runs before everything else. A request naming a client that has keys must
send one of them, else it is a 401 `UNAUTHENTICATED`; a name the table does not list is
dropped, so it counts as no client. What the rest of the gateway reads as the client name
(persisted-operation safelisting, metrics and logs, the header subgraphs get, the passport)
is therefore always a verified one. The key itself never goes further than this middleware.
With no `[clients]` tables, names pass through unverified, as before.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from edge.http import JSON, RequestError, request_error_response
from federation.telemetry.tracing import CLIENT_NAME_HEADER

__all__ = [
    "API_KEY_HEADER",
    "ClientMiddleware",
    "ClientsConfig",
    "hash_api_key",
    "parse_clients",
    "verified_client",
]

logger = logging.getLogger("edgegraph.auth")

API_KEY_HEADER = "x-api-key"

#: Where the middleware leaves the verified client name in the ASGI scope.
_SCOPE_KEY = "edgegraph.client"


@dataclass(frozen=True, slots=True)
class ClientsConfig:
    """The `[clients]` section: known clients and their API key digests."""

    #: client name → SHA-256 hex digests of its API keys (empty: known, no key)
    known: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))
    #: true: a GraphQL request from no known client is a 401
    required: bool = False

    @property
    def enabled(self) -> bool:
        """Whether client names are checked at all."""
        return bool(self.known) or self.required


def hash_api_key(key: str) -> str:
    """The digest `[clients.NAME] api_key_sha256` lists for `key`."""
    return hashlib.sha256(key.encode()).hexdigest()


def parse_clients(raw: Any) -> ClientsConfig:
    """`[clients]` from decoded TOML; raises ValueError naming the bad key."""
    if not isinstance(raw, dict):
        raise ValueError("[clients] must be a table")
    known: dict[str, tuple[str, ...]] = {}
    required = False
    for key, value in raw.items():
        if key == "required":
            if not isinstance(value, bool):
                raise ValueError("clients.required must be bool")
            required = value
        elif isinstance(value, dict):
            unknown = sorted(set(value) - {"api_key_sha256"})
            if unknown:
                raise ValueError(f"unknown config key(s): clients.{key}.{unknown[0]}")
            digests = value.get("api_key_sha256", [])
            if not isinstance(digests, list) or not all(_is_digest(d) for d in digests):
                raise ValueError(
                    f"clients.{key}.api_key_sha256 must be a list of SHA-256 hex digests"
                )
            known[key] = tuple(d.lower() for d in digests)
        else:
            raise ValueError(
                f"unknown config key(s): clients.{key} (a client is a [clients.{key}] table)"
            )
    return ClientsConfig(known=MappingProxyType(known), required=required)


def _is_digest(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 64
        and all(c in "0123456789abcdef" for c in value.lower())
    )


def verified_client(scope: Scope) -> str | None:
    """The client `ClientMiddleware` verified for this request, if any."""
    client = scope.get(_SCOPE_KEY)
    return client if isinstance(client, str) else None


class ClientMiddleware:
    """Verifies the client of each request to `path` (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, config: ClientsConfig, path: str = "/graphql") -> None:
        self.app = app
        self.config = config
        self.path = path
        self._names = {CLIENT_NAME_HEADER.encode(), API_KEY_HEADER.encode()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.config.enabled:
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers", []))
        name = _first(headers, CLIENT_NAME_HEADER.encode())
        key = _first(headers, API_KEY_HEADER.encode())
        kept = [(k, v) for k, v in headers if k.lower() not in self._names]
        client, refusal = self._verify(name, key)
        checked = scope.get("path") == self.path
        if checked and refusal is None and client is None and self.config.required:
            refusal = f"send {CLIENT_NAME_HEADER} naming a known client (and its {API_KEY_HEADER})"
        if checked and refusal is not None:
            logger.info("client refused: %s", refusal)  # the reason, never the key
            error = RequestError(401, refusal, "UNAUTHENTICATED")
            await request_error_response(error, JSON)(scope, receive, send)
            return
        if client is not None:
            kept.append((CLIENT_NAME_HEADER.encode(), client.encode()))
        await self.app({**scope, "headers": kept, _SCOPE_KEY: client}, receive, send)

    def _verify(self, name: str | None, key: str | None) -> tuple[str | None, str | None]:
        """(the verified client, or None; the reason to refuse, or None)."""
        if name is None or name not in self.config.known:
            if key is not None:
                return None, "the API key is for no known client"
            return None, None  # an unknown name is dropped: it counts as no client
        digests = self.config.known[name]
        if not digests:
            return name, None
        if key is None:
            return None, f"client {name!r} must send its {API_KEY_HEADER}"
        digest = hash_api_key(key)
        # Every digest is compared, in constant time, so timing tells nothing of which matched.
        matched = [hmac.compare_digest(digest, known) for known in digests]
        if not any(matched):
            return None, f"the API key is not {name!r}'s"
        return name, None


def _first(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip() or None
    return None
