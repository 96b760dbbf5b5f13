"""Calling a backend app in-process, with no real ports."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.applications import Starlette


def client(app: Starlette) -> httpx.AsyncClient:
    """An HTTP client wired straight to `app`."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://backend")


async def post(app: Starlette, path: str, body: Any) -> httpx.Response:
    """POST `body` as JSON to `path` on `app`."""
    async with client(app) as http:
        return await http.post(path, json=body)


async def get(app: Starlette, path: str) -> httpx.Response:
    """GET `path` on `app`."""
    async with client(app) as http:
        return await http.get(path)


async def results(app: Starlette, path: str, body: Any) -> list[Any]:
    """POST a batch request that must succeed and return its `results`."""
    response = await post(app, path, body)
    if response.status_code != 200:
        raise AssertionError(f"{path} answered {response.status_code}: {response.text}")
    answer: list[Any] = response.json()["results"]
    return answer
