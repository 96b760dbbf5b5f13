"""The gateway's side of the registry: `edgegraph serve --registry URL`.

`load_from_registry` fetches the served supergraph at start; when the registry cannot be
reached it falls back to the last good supergraph kept on disk, so a gateway restarts through
a registry outage. `RegistrySource` is the hot-reload source (`edge.reload.SupergraphSource`):
it polls `GET /supergraph` with `If-None-Match`, so an unchanged graph costs a 304, and keeps
each new supergraph on disk once it loads. Only httpx and the supergraph loader are imported
here: a gateway never loads the registry's database code.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from federation.errors import SupergraphError
from federation.supergraph.model import Supergraph, load_supergraph

__all__ = [
    "DEFAULT_CACHE",
    "FromRegistry",
    "RegistrySource",
    "RegistryUnavailable",
    "clients_dir",
    "load_from_registry",
    "registry_source_or_exit",
]

logger = logging.getLogger("edgegraph.registry")

#: where a gateway keeps the last good supergraph from the registry, by default
DEFAULT_CACHE = Path("supergraph.registry.graphql")


class RegistryUnavailable(Exception):
    """The registry did not answer with a supergraph."""


def _write_atomically(path: Path, text: str) -> None:
    # A crash mid-write must not leave half a supergraph where the last good one was.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


async def _fetch(
    client: httpx.AsyncClient, url: str, etag: str | None
) -> tuple[str | None, str | None]:
    """(SDL or None when unchanged, ETag); raises `RegistryUnavailable`."""
    headers = {"if-none-match": etag} if etag else {}
    try:
        response = await client.get(f"{url.rstrip('/')}/supergraph", headers=headers)
    except httpx.HTTPError as error:
        raise RegistryUnavailable(f"cannot reach the registry at {url}: {error!r}") from error
    if response.status_code == 304:
        return None, etag
    if response.status_code != 200:
        raise RegistryUnavailable(
            f"the registry at {url} answered {response.status_code}: {response.text[:200]}"
        )
    return response.text, response.headers.get("etag")


class RegistrySource:
    """Polls the registry for a new supergraph (see the module's doc).

    `current` and `etag` describe the supergraph already served, so the first poll is a 304.
    """

    def __init__(
        self,
        url: str,
        *,
        cache: Path | None = DEFAULT_CACHE,
        current: str | None = None,
        etag: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 10.0,
        clients: Path | None = None,
    ) -> None:
        self.url = url
        self.cache = cache
        #: where each poll also refreshes the registered operations (the gateway's clients
        #: folder, which the reloader watches: an operation registered while it runs is
        #: served without a restart)
        self.clients = clients
        self._current = current
        self._etag = etag
        self._transport = transport
        self._timeout = timeout

    @property
    def current(self) -> str | None:
        """The supergraph SDL this source last gave (the one being served)."""
        return self._current

    async def poll(self) -> str | None:
        """The new supergraph SDL, or None when it did not change; raises when the registry
        cannot be reached (the reloader keeps the running supergraph)."""
        # A client per poll: the reloader has no close hook, and a poll every few seconds
        # gains nothing from a kept-alive connection.
        async with httpx.AsyncClient(transport=self._transport, timeout=self._timeout) as client:
            sdl, self._etag = await _fetch(client, self.url, self._etag)
            if self.clients is not None:
                await _save_manifests(client, self.url, self.clients)
        if sdl is None or sdl == self._current:
            return None
        # Loaded here too, so that only a supergraph that loads replaces the one on disk.
        await asyncio.to_thread(load_supergraph, sdl)
        if self.cache is not None:
            await asyncio.to_thread(_write_atomically, self.cache, sdl)
        self._current = sdl
        return sdl


def clients_dir(cache: Path) -> Path:
    """Where the registered operations are kept beside `cache`: one folder per client, each
    with a `registry.json` persisted-operation manifest (edge/persisted.py reads it)."""
    return cache.parent / f"{cache.stem}.clients"


async def _save_manifests(client: httpx.AsyncClient, url: str, folder: Path) -> None:
    # There even before any client registers: the gateway's safelist reads it at start.
    folder.mkdir(parents=True, exist_ok=True)
    try:
        response = await client.get(f"{url.rstrip('/')}/manifests")
        response.raise_for_status()
        manifests = response.json()["clients"]
    except (httpx.HTTPError, ValueError, KeyError) as error:
        # The supergraph came; the operations did not: keep the ones on disk.
        logger.warning("cannot fetch the registered operations from %s: %r", url, error)
        return
    for name, manifest in manifests.items():
        text = json.dumps(manifest, indent=1)
        path = folder / name / "registry.json"
        # Rewritten only when it changed: the reloader takes a new file stamp for new operations.
        if not path.exists() or await asyncio.to_thread(path.read_text) != text:
            await asyncio.to_thread(_write_atomically, path, text)


@dataclass(frozen=True, slots=True)
class FromRegistry:
    """What a gateway starts with: the supergraph, the source that keeps it current, and the
    folder of the clients' registered operations (for safelisting)."""

    supergraph: Supergraph
    source: RegistrySource
    clients_dir: Path | None


async def load_from_registry(
    url: str,
    *,
    cache: Path | None = DEFAULT_CACHE,
    transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = 10.0,
) -> FromRegistry:
    """The supergraph to serve at start and the source that keeps it current.

    From the registry when it answers (the supergraph and the registered operations are then
    kept beside `cache`), else from `cache`; raises `RegistryUnavailable` when neither has a
    supergraph that loads.
    """
    etag: str | None = None
    try:
        async with httpx.AsyncClient(transport=transport, timeout=timeout) as client:
            sdl, etag = await _fetch(client, url, None)
            if cache is not None:
                await _save_manifests(client, url, clients_dir(cache))
        if sdl is None:  # unreachable: no If-None-Match was sent
            raise RegistryUnavailable("the registry sent no supergraph")
        supergraph = await asyncio.to_thread(load_supergraph, sdl)
        if cache is not None:
            await asyncio.to_thread(_write_atomically, cache, sdl)
    except (RegistryUnavailable, SupergraphError) as error:
        if cache is None or not cache.exists():
            raise RegistryUnavailable(f"{error}; and no last good supergraph on disk") from error
        logger.warning("%s; serving the last good supergraph from %s", error, cache)
        try:
            supergraph = load_supergraph(cache.read_text())
        except (OSError, SupergraphError) as cached_error:
            raise RegistryUnavailable(f"{error}; and {cache}: {cached_error}") from error
        etag = None
    folder = clients_dir(cache) if cache is not None else None
    source = RegistrySource(
        url,
        cache=cache,
        current=supergraph.sdl,
        etag=etag,
        transport=transport,
        timeout=timeout,
        clients=folder,
    )
    return FromRegistry(supergraph, source, folder)


def registry_source_or_exit(url: str, cache: str | None) -> FromRegistry:
    """`load_from_registry` for `edgegraph serve --registry`: a failure is one line and exit."""
    try:
        return asyncio.run(load_from_registry(url, cache=Path(cache) if cache else DEFAULT_CACHE))
    except RegistryUnavailable as error:
        raise SystemExit(f"edgegraph: {error}") from None
