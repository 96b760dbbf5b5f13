"""Hot reload: a new supergraph replaces the served one without a restart or a failed request.

A `SupergraphSource` says when there is a new supergraph SDL: `FileSource` watches a supergraph
file (modification stamp, then a content hash, so touching the file changes nothing);
`ComposedSource` re-composes a `graph.toml` by polling and yields the result when it differs.
`SupergraphReloader` polls a source, builds a complete new engine off the event loop and only
then publishes it, in one assignment. A request takes the engine once when it starts and keeps
it to the end, so it never fails for a reload nor sees two supergraphs. A new supergraph that
does not load (or compose) is logged and rejected; the running one stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from federation.composition.compose import compose
from federation.composition.config import load_sources, read_config
from federation.supergraph.model import Supergraph, load_supergraph

__all__ = [
    "ComposedSource",
    "FileSource",
    "SupergraphReloader",
    "SupergraphSource",
    "compose_graph_config",
]

logger = logging.getLogger("edgegraph.reload")

E = TypeVar("E")

#: A file whose mtime is this recent is re-hashed even when its stamp did not move: on file
#: systems with coarse timestamps a second write within one tick keeps the same stamp.
_SETTLE_SECONDS = 2.0


class SupergraphSource(Protocol):
    """Where new supergraphs come from."""

    async def poll(self) -> str | None:
        """The new supergraph SDL if it changed since the last poll, else None.

        Raises when the source cannot be read or composed; the reloader logs it and keeps
        the running supergraph.
        """
        ...


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class FileSource:
    """A supergraph SDL file, checked by stamp (mtime, size, inode) and then by content hash.

    `current` is the SDL already served, so that the first poll does not reload it.
    """

    def __init__(self, path: str | Path, *, current: str | None = None) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._digest = _digest(current) if current is not None else None

    async def poll(self) -> str | None:
        """The file's text if its content changed."""
        stat = self.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        settled = time.time() - stat.st_mtime > _SETTLE_SECONDS
        if stamp == self._stamp and settled:
            return None
        text = await asyncio.to_thread(self.path.read_text)
        self._stamp = stamp
        digest = _digest(text)
        if digest == self._digest:
            return None
        self._digest = digest
        return text


async def compose_graph_config(path: Path) -> str:
    """Compose the subgraphs a `graph.toml` lists (introspecting those without a schema file).

    Raises `ValueError` with every composition error when the subgraphs do not compose.
    """
    sources = await load_sources(read_config(path))
    result = await asyncio.to_thread(compose, sources)
    if result.supergraph_sdl is None:
        messages = "; ".join(f"[{error.code}] {error.message}" for error in result.errors)
        raise ValueError(f"composition failed: {messages}")
    return result.supergraph_sdl


class ComposedSource:
    """A `graph.toml`, re-composed on every poll; yields the supergraph when it differs.

    `compose` is the hook that turns the config into SDL (default: `compose_graph_config`,
    edgegraph's own composition); it raises when composition fails.
    """

    def __init__(
        self,
        config_path: str | Path,
        *,
        compose: Callable[[Path], Awaitable[str]] = compose_graph_config,
        current: str | None = None,
    ) -> None:
        self.config_path = Path(config_path)
        self._compose = compose
        self._digest = _digest(current) if current is not None else None

    async def poll(self) -> str | None:
        """The newly composed supergraph if it differs from the last one."""
        sdl = await self._compose(self.config_path)
        digest = _digest(sdl)
        if digest == self._digest:
            return None
        self._digest = digest
        return sdl


class SupergraphReloader(Generic[E]):
    """Polls `source` every `interval` seconds; publishes an engine built for each new supergraph.

    `build` turns a loaded supergraph into a ready engine (it may raise: the supergraph is then
    rejected); `publish` makes it the one new requests take.
    """

    def __init__(
        self,
        source: SupergraphSource,
        *,
        build: Callable[[Supergraph], E],
        publish: Callable[[E], None],
        interval: float = 2.0,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.source = source
        self.build = build
        self.publish = publish
        self.interval = interval
        #: supergraphs published and rejected so far
        self.reloads = 0
        self.rejected = 0

    async def check(self) -> bool:
        """Poll once; True when a new supergraph was published."""
        try:
            sdl = await self.source.poll()
        except Exception as error:
            self.rejected += 1
            logger.error("supergraph source failed, keeping the running supergraph: %s", error)
            return False
        if sdl is None:
            return False
        try:
            # Loading and planning set-up are CPU work: a worker thread keeps requests moving.
            engine = await asyncio.to_thread(self._load_and_build, sdl)
        except Exception as error:
            self.rejected += 1
            logger.error("new supergraph rejected, keeping the running one: %s", error)
            return False
        self.publish(engine)
        self.reloads += 1
        logger.info("supergraph reloaded (reload %d)", self.reloads)
        return True

    def _load_and_build(self, sdl: str) -> E:
        return self.build(load_supergraph(sdl))

    async def run(self) -> None:
        """Poll until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.check()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[SupergraphReloader[E]]:
        """Poll in the background for the duration of the block (an app's lifespan)."""
        task = asyncio.create_task(self.run(), name="supergraph-reloader")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
