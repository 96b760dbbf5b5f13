"""The demo domain on one machine: four backends, four subgraphs and a token issuer, wired for
`edgegraph demo`.

The issuer (backends/issuer.py, :4005) gives out RS256 tokens; the demo gateway checks them
against its JWKS and passes the member on to the members subgraph in a passport signed with
`PASSPORT_KEY`, the only key that subgraph trusts.

Only the `demo` command imports this module: a production `edgegraph serve` loads none of the
demo (strawberry, the SQLite backends, the resolvers).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

import backends.artwork
import backends.catalog
import backends.issuer
import backends.members
import backends.ratings
import schema.artwork
import schema.catalog
import schema.members
import schema.ratings
from edge.auth import AuthConfig, Authenticator
from edge.config import GatewayConfig, with_overrides
from edge.passport import PassportVerifier
from federation.composition import SubgraphSource
from federation.composition.cli import compose_or_exit, service_sdl
from federation.supergraph.model import load_supergraph
from gateway import DEMO_CLIENTS, create_app_or_exit, load_supergraph_file, serve_all

__all__ = [
    "ISSUER_PORT",
    "PASSPORT_KEY",
    "SUBGRAPHS",
    "SUBGRAPH_FACTORIES",
    "demo_apps",
    "demo_auth",
    "demo_supergraph_path",
    "demo_supergraph_sdl",
    "run",
]

#: Subgraph names in port order: catalog 4001/4101, artwork 4002/4102, ...
SUBGRAPHS = ("catalog", "artwork", "ratings", "members")
_BACKENDS = {
    "catalog": backends.catalog.create_app,
    "artwork": backends.artwork.create_app,
    "ratings": backends.ratings.create_app,
    "members": backends.members.create_app,
}
SUBGRAPH_SCHEMAS = {
    "catalog": schema.catalog.schema,
    "artwork": schema.artwork.schema,
    "ratings": schema.ratings.schema,
    "members": schema.members.schema,
}
#: The demo's token issuer listens here.
ISSUER_PORT = 4005
#: The demo gateway's passport key, made at start: the members subgraph trusts its public half.
PASSPORT_KEY = Ed25519PrivateKey.generate()
SUBGRAPH_FACTORIES: dict[str, Callable[..., Starlette]] = {
    "catalog": schema.catalog.create_app,
    "artwork": schema.artwork.create_app,
    "ratings": schema.ratings.create_app,
    "members": functools.partial(
        schema.members.create_app, passport=PassportVerifier(PASSPORT_KEY.public_key())
    ),
}


def demo_auth(
    issuer: backends.issuer.Issuer, *, http: httpx.AsyncClient | None = None
) -> Authenticator:
    """The demo gateway's token checks: `issuer`'s tokens, optional (anonymous browsing works,
    `me` is then null), passports signed with PASSPORT_KEY. `http` reaches the issuer's JWKS."""
    config = AuthConfig(
        jwks_url=issuer.jwks_url,
        issuers=(issuer.url,),
        audiences=(backends.issuer.AUDIENCE,),
        jwks_min_refetch=1.0,  # the issuer may start after the gateway's first request
    )
    return Authenticator.from_config(config, http=http, passport_key=PASSPORT_KEY)


def demo_apps(
    *,
    host: str = "127.0.0.1",
    subgraph_base_port: int = 4001,
    backend_base_port: int = 4101,
    latency_ms: float = 0.0,
) -> list[tuple[str, Starlette, str, int]]:
    """(name, app, host, port) for every backend and subgraph of the demo."""
    apps: list[tuple[str, Starlette, str, int]] = []
    for index, name in enumerate(SUBGRAPHS):
        backend_port = backend_base_port + index
        backend = _BACKENDS[name](latency_ms=latency_ms)
        apps.append((f"backend-{name}", backend, host, backend_port))
        subgraph = SUBGRAPH_FACTORIES[name](backend_url=f"http://{host}:{backend_port}")
        apps.append((name, subgraph, host, subgraph_base_port + index))
    return apps


@functools.cache
def demo_supergraph_sdl() -> str:
    """The demo supergraph, composed from the demo subgraphs' schemas in-process."""
    sources = [
        SubgraphSource(
            name=name,
            url=f"http://127.0.0.1:{4001 + index}/graphql",
            sdl=service_sdl(SUBGRAPH_SCHEMAS[name]),
        )
        for index, name in enumerate(SUBGRAPHS)
    ]
    return compose_or_exit(sources)


def demo_supergraph_path() -> Path:
    """The demo supergraph written to a file, for tools that take a path (peers, benchmarks).

    Nothing is checked in: the file lives in the temp directory, rewritten atomically.
    """
    path = Path(tempfile.gettempdir()) / "edgegraph" / "demo-supergraph.graphql"
    path.parent.mkdir(parents=True, exist_ok=True)
    sdl = demo_supergraph_sdl()
    if not path.exists() or path.read_text() != sdl:
        staging = path.with_name(f"{path.name}.{os.getpid()}")
        staging.write_text(sdl)
        os.replace(staging, path)
    return path


def run(args: argparse.Namespace) -> None:
    """`edgegraph demo`: backends, subgraphs and a dev-mode gateway on this machine."""
    apps = demo_apps(
        host=args.host,
        subgraph_base_port=args.subgraph_port,
        backend_base_port=args.backend_port,
        latency_ms=args.latency_ms,
    )
    urls = {
        name: f"http://{host}:{port}/graphql"
        for name, _app, host, port in apps
        if name in SUBGRAPHS
    }
    config = with_overrides(GatewayConfig(), dev=True, clients_dir=str(DEMO_CLIENTS))
    supergraph = (
        load_supergraph_file(args.supergraph)
        if args.supergraph
        else load_supergraph(demo_supergraph_sdl())
    )
    issuer_port = getattr(args, "issuer_port", ISSUER_PORT)
    issuer = backends.issuer.Issuer(f"http://{args.host}:{issuer_port}")
    apps.append(("issuer", issuer.create_app(), args.host, issuer_port))
    gateway = create_app_or_exit(
        supergraph, config=config, subgraph_urls=urls, authenticator=demo_auth(issuer)
    )
    apps.append(("gateway", gateway, args.host, args.port))

    def announce() -> None:  # once every port is bound: a busy one stops the demo first
        for name, _app, host, port in apps:
            path = "/graphql" if name in (*SUBGRAPHS, "gateway") else "/stats"
            path = "/token" if name == "issuer" else path
            print(f"{name:>18}  http://{host}:{port}{path}", flush=True)
        print("Ctrl-C stops everything.", flush=True)

    asyncio.run(serve_all(apps, announce=announce))
