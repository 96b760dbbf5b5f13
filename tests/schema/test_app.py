"""The subgraph app: its lifespan owns the pooled backend client when none is passed in."""

from __future__ import annotations

import socket

import httpx
import pytest

import schema.catalog
from schema.common import serve


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_app_lifespan_opens_and_closes_its_backend_client() -> None:
    # Nothing listens on the port: the request fails fast, proving the app reaches out
    # through the client its lifespan opened.
    app = schema.catalog.create_app(backend_url=f"http://127.0.0.1:{unused_port()}")
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://subgraph") as client,
    ):
        health = (await client.get("/health")).json()
        body = (await client.post("/graphql", json={"query": '{ title(id: "t1") { id } }'})).json()
    assert health == {"ok": True, "subgraph": "catalog"}
    assert body["data"] == {"title": None}
    (error,) = body["errors"]
    assert error["path"] == ["title"]
    assert error["extensions"]["code"] == "BACKEND_UNAVAILABLE"
    assert error["extensions"]["service"] == "catalog"


async def test_app_without_lifespan_or_client_says_what_is_missing() -> None:
    app = schema.catalog.create_app(backend_url="http://127.0.0.1:1")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://subgraph") as client:
        with pytest.raises(RuntimeError, match="no backend client"):
            await client.post("/graphql", json={"query": "{ genres { id } }"})


def test_app_cli_rejects_unknown_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        serve(
            schema.catalog.create_app,
            name="catalog",
            port=4001,
            backend_port=4101,
            argv=["--bogus"],
        )
    assert "python -m schema.catalog" in capsys.readouterr().err
