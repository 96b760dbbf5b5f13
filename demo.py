"""The demo domain on one machine: four backends and four subgraphs, wired for `edgegraph demo`."""

from __future__ import annotations

from starlette.applications import Starlette

import backends.artwork
import backends.catalog
import backends.members
import backends.ratings
import schema.artwork
import schema.catalog
import schema.members
import schema.ratings

__all__ = ["SUBGRAPHS", "SUBGRAPH_FACTORIES", "demo_apps"]

#: Subgraph names in port order: catalog 4001/4101, artwork 4002/4102, ...
SUBGRAPHS = ("catalog", "artwork", "ratings", "members")
_BACKENDS = {
    "catalog": backends.catalog.create_app,
    "artwork": backends.artwork.create_app,
    "ratings": backends.ratings.create_app,
    "members": backends.members.create_app,
}
SUBGRAPH_FACTORIES = {
    "catalog": schema.catalog.create_app,
    "artwork": schema.artwork.create_app,
    "ratings": schema.ratings.create_app,
    "members": schema.members.create_app,
}


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
