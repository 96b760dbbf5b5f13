"""Hot reload: a new supergraph replaces the served one without a restart or a failed request.

A `SupergraphSource` says when there is a new supergraph SDL: `FileSource` watches a supergraph
file (modification stamp, then a content hash, so touching the file changes nothing);
`ComposedSource` re-composes a `graph.toml` by polling and yields the result when it differs.
`SupergraphReloader` polls a source, builds a complete new engine off the event loop and only
then publishes it, in one assignment. A request takes the engine once when it starts and keeps
it to the end, so it never fails for a reload nor sees two supergraphs. A new supergraph that
does not load (or compose), or that breaks a registered persisted operation, is rejected; the
running one stays. The client manifests (`clients/<name>/*.graphql`) are watched the same way
(`ClientsSource`), so a new operation file needs no restart.

Every outcome is one JSON log line (`edge.logs`) and is kept in a `ReloadHistory`, which the
status page and `/metrics` show: the served supergraph's hash and source, the reload count, the
time of the last reload, and the recent rejections with their reasons.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from graphql import GraphQLSyntaxError
from opentelemetry.metrics import CallbackOptions, Observation

from edge.logs import fields, truncated
from edge.persisted import Manifest, load_manifests
from federation.composition.compose import compose
from federation.composition.config import load_sources, read_config
from federation.supergraph.model import Supergraph, load_supergraph
from federation.telemetry.tracing import Telemetry

__all__ = [
    "ClientsSource",
    "ComposedSource",
    "FileSource",
    "RejectedReload",
    "ReloadHistory",
    "SupergraphReloader",
    "SupergraphSource",
    "compose_graph_config",
    "describe_source",
    "supergraph_hash",
    "watch_reloads",
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


def describe_source(source: object | None) -> str:
    """Where supergraphs come from, in words for the status page: the source's own `str` when
    its class gives one (a file path, a composed graph.toml), else its kind and URL."""
    if source is None:
        return "given at start"
    if type(source).__str__ is not object.__str__:
        return str(source)
    url = getattr(source, "url", None)
    return f"{type(source).__name__} {url}" if url else type(source).__name__


def supergraph_hash(sdl: str) -> str:
    """The version of a supergraph as on-call and metrics name it: the sha256 of its SDL."""
    return _digest(sdl)


@dataclass(frozen=True, slots=True)
class RejectedReload:
    """A new supergraph (or client manifest set) that was refused, and why."""

    at: float
    kind: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"at": _iso(self.at), "kind": self.kind, "reason": self.reason}


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


class ReloadHistory:
    """The served supergraph's version and source, and what became of each reload since start.

    `clock` gives wall-clock seconds (the status page and metrics show dates, not ages).
    """

    def __init__(
        self,
        sdl: str | None,
        source: str,
        *,
        keep_rejections: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.hash = supergraph_hash(sdl) if sdl is not None else None
        self.source = source
        self.loaded_at: float | None = clock() if sdl is not None else None
        #: supergraphs published since start, and client manifest sets applied
        self.reloads = 0
        self.client_reloads = 0
        self.last_reload_at: float | None = None
        #: every rejection since start; only the latest few keep their reason
        self.rejected = 0
        self.rejections: deque[RejectedReload] = deque(maxlen=keep_rejections)

    def published(self, sdl: str) -> None:
        """A new supergraph is being served."""
        now = self.clock()
        self.hash = supergraph_hash(sdl)
        self.loaded_at = self.last_reload_at = now
        self.reloads += 1

    def clients_applied(self) -> None:
        """New client manifests are being served."""
        self.last_reload_at = self.clock()
        self.client_reloads += 1

    def reject(self, kind: str, reason: str) -> RejectedReload:
        """Record a refused reload of `kind` ("supergraph" or "clients")."""
        rejection = RejectedReload(self.clock(), kind, truncated(reason))
        self.rejected += 1
        self.rejections.append(rejection)
        return rejection

    def to_json(self) -> dict[str, Any]:
        """The history as the status page's `supergraph` object."""
        return {
            "hash": self.hash,
            "source": self.source,
            "loadedAt": _iso(self.loaded_at),
            "reloads": self.reloads,
            "clientReloads": self.client_reloads,
            "lastReloadAt": _iso(self.last_reload_at),
            "rejected": self.rejected,
            "rejections": [r.to_json() for r in reversed(self.rejections)],
        }


def watch_reloads(telemetry: Telemetry, history: ReloadHistory) -> None:
    """Report `history` in `telemetry`'s metrics: `edgegraph_supergraph_info{hash}` (1 for the
    served version), the reload and rejected-reload counters, and the last reload's time."""
    meter = telemetry.meter_provider.get_meter("edgegraph.reload")

    def info(_options: CallbackOptions) -> list[Observation]:
        if history.hash is None:
            return []
        return [Observation(1, {"hash": history.hash, "source": history.source})]

    def reloads(_options: CallbackOptions) -> list[Observation]:
        return [Observation(history.reloads, {"kind": "supergraph"}),
                Observation(history.client_reloads, {"kind": "clients"})]  # fmt: skip

    def rejected(_options: CallbackOptions) -> list[Observation]:
        return [Observation(history.rejected)]

    def last_reload(_options: CallbackOptions) -> list[Observation]:
        at = history.last_reload_at if history.last_reload_at is not None else history.loaded_at
        return [] if at is None else [Observation(at)]

    meter.create_observable_gauge(
        "edgegraph.supergraph.info", [info],
        description="1 for the supergraph being served, labelled with its sha256 and source.",
    )  # fmt: skip
    meter.create_observable_counter(
        "edgegraph.supergraph.reloads", [reloads],
        description="Reloads applied since start: new supergraphs and new client manifests.",
    )  # fmt: skip
    meter.create_observable_counter(
        "edgegraph.supergraph.reloads.rejected", [rejected],
        description="Reloads refused since start; the running supergraph kept serving.",
    )  # fmt: skip
    meter.create_observable_gauge(
        "edgegraph.supergraph.last_reload.timestamp", [last_reload], unit="s",
        description="Unix time of the last reload (of the start-up load before any).",
    )  # fmt: skip


class FileSource:
    """A supergraph SDL file, checked by stamp (mtime, size, inode) and then by content hash.

    `current` is the SDL already served, so that the first poll does not reload it.
    """

    def __init__(self, path: str | Path, *, current: str | None = None) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int, int] | None = None
        self._digest = _digest(current) if current is not None else None

    def __str__(self) -> str:
        return str(self.path)

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

    def __str__(self) -> str:
        return f"{self.config_path} (composed)"

    async def poll(self) -> str | None:
        """The newly composed supergraph if it differs from the last one."""
        sdl = await self._compose(self.config_path)
        digest = _digest(sdl)
        if digest == self._digest:
            return None
        self._digest = digest
        return sdl


class ClientsSource:
    """A clients folder (`clients/<name>/*.graphql` and `*.json`), checked by the names, sizes
    and stamps of its files; yields the manifests loaded afresh when any of them changed.

    The manifests served at start are already loaded, so the stamp is taken then. A change is
    loaded once two polls in a row see the same stamp: an editor or `cp` still writing a file
    must not have its half-written state loaded (and possibly applied).
    """

    def __init__(self, clients_dir: str | Path) -> None:
        self.clients_dir = Path(clients_dir)
        self._stamp: frozenset[tuple[str, int, int]] | None = self._read_stamp()
        self._settling: frozenset[tuple[str, int, int]] | None = None

    def __str__(self) -> str:
        return str(self.clients_dir)

    def _read_stamp(self) -> frozenset[tuple[str, int, int]]:
        stamp = set()
        for path in self.clients_dir.glob("*/*"):
            if path.suffix in (".graphql", ".json") and path.is_file():
                stat = path.stat()
                stamp.add((str(path), stat.st_mtime_ns, stat.st_size))
        return frozenset(stamp)

    async def poll(self) -> dict[str, Manifest] | None:
        """The clients' manifests if a file was added, removed or changed; raises
        `ManifestError` when they do not load."""
        stamp = await asyncio.to_thread(self._read_stamp)
        if stamp == self._stamp:
            self._settling = None
            return None
        if stamp != self._settling:
            self._settling = stamp  # changed since the last poll: maybe still being written
            return None
        self._stamp, self._settling = stamp, None
        return await asyncio.to_thread(load_manifests, self.clients_dir)


class SupergraphReloader(Generic[E]):
    """Polls `source` every `interval` seconds; publishes an engine built for each new supergraph.

    `build` turns a loaded supergraph into a ready engine (it may raise: the supergraph is then
    rejected); `publish` makes it the one new requests take. With `clients`, new client
    manifests go to `apply_clients`, which raises to reject them. `history` records each
    outcome for the status page and metrics.
    """

    def __init__(
        self,
        source: SupergraphSource | None,
        *,
        build: Callable[[Supergraph], E],
        publish: Callable[[E], None],
        interval: float = 2.0,
        history: ReloadHistory | None = None,
        clients: ClientsSource | None = None,
        apply_clients: Callable[[Mapping[str, Manifest]], None] | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if (clients is None) != (apply_clients is None):
            raise ValueError("clients and apply_clients go together")
        self.source = source
        self.build = build
        self.publish = publish
        self.interval = interval
        self.history = history or ReloadHistory(None, describe_source(source))
        self.clients = clients
        self.apply_clients = apply_clients

    @property
    def reloads(self) -> int:
        """Supergraphs published so far."""
        return self.history.reloads

    @property
    def rejected(self) -> int:
        """Supergraphs and client manifest sets refused so far."""
        return self.history.rejected

    async def check(self) -> bool:
        """Poll once; True when a new supergraph or new client manifests were applied."""
        changed = await self._check_supergraph() if self.source is not None else False
        if self.clients is not None:
            changed = await self._check_clients() or changed
        return changed

    async def _check_supergraph(self) -> bool:
        if self.source is None:
            return False
        try:
            sdl = await self.source.poll()
        except Exception as error:
            self._reject("supergraph", f"the supergraph source failed: {error}")
            return False
        if sdl is None:
            return False
        try:
            # Loading and planning set-up are CPU work: a worker thread keeps requests moving.
            engine = await asyncio.to_thread(self._load_and_build, sdl)
        except Exception as error:
            self._reject("supergraph", self._reason(error), new_hash=_digest(sdl))
            return False
        self.publish(engine)
        self.history.published(sdl)
        logger.info(
            "supergraph reloaded",
            extra=fields(
                event="supergraph_reloaded",
                hash=self.history.hash,
                source=self.history.source,
                reloads=self.history.reloads,
            ),
        )
        return True

    async def _check_clients(self) -> bool:
        if self.clients is None or self.apply_clients is None:
            return False
        try:
            manifests = await self.clients.poll()
            if manifests is None:
                return False
            self.apply_clients(manifests)
        except Exception as error:
            self._reject("clients", str(error) or type(error).__name__)
            return False
        self.history.clients_applied()
        operations = sum(len(m.operations) for m in manifests.values())
        logger.info(
            "client manifests reloaded",
            extra=fields(
                event="clients_reloaded",
                clients=sorted(manifests),
                operations=operations,
                source=str(self.clients),
            ),
        )
        return True

    def _reason(self, error: Exception) -> str:
        """Why a supergraph was refused; a syntax error as source:line:column, as at start."""
        syntax = error.__cause__
        if isinstance(syntax, GraphQLSyntaxError) and syntax.locations:
            where = syntax.locations[0]
            return f"{self.history.source}:{where.line}:{where.column}: {syntax.message}"
        return str(error) or type(error).__name__

    def _reject(self, kind: str, reason: str, *, new_hash: str | None = None) -> None:
        rejection = self.history.reject(kind, reason)
        what = "supergraph" if kind == "supergraph" else "client manifests"
        logger.error(
            f"new {what} rejected, keeping the running ones: {rejection.reason}",
            extra=fields(
                event="reload_rejected",
                kind=kind,
                reason=rejection.reason,
                rejected_hash=new_hash,
                serving_hash=self.history.hash,
                rejected=self.history.rejected,
            ),
        )

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
