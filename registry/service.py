"""The registry's flows: check, publish, rollback and register, each authorized and audited.

A publish composes against a snapshot (the latest version of every other subgraph) off the
event loop, then commits only if no other write landed meanwhile (`Store.commit_supergraph`);
when one did, it composes again on the new snapshot. So concurrent publishes serialize, each
is checked against what it really lands on, and none is lost.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from graphql import GraphQLError, build_schema, parse, print_schema

from .checks import Candidate, CheckReport, check_operations, compose_candidate
from .checks import validate_operations as validate_registered
from .store import Conflict, Principal, Snapshot, Store

__all__ = ["Published", "Registry", "RegistryError", "check_name"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_COORDINATE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}\.[A-Za-z_][A-Za-z0-9_]{0,127}")
_MAX_USAGE_ENTRIES = 50_000
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}")


class RegistryError(Exception):
    """A refused request: an HTTP status, a reason, and the check report when there is one."""

    def __init__(self, status: int, message: str, report: CheckReport | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.report = report


@dataclass(frozen=True, slots=True)
class Published:
    subgraph: str
    version: int
    supergraph_version: int
    report: CheckReport
    unchanged: bool = False
    forced: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "subgraph": self.subgraph,
            "version": self.version,
            "supergraphVersion": self.supergraph_version,
            "unchanged": self.unchanged,
            "forced": self.forced,
            "check": self.report.to_json(),
        }


def _today() -> date:
    return datetime.now(UTC).date()


def check_name(kind: str, name: str) -> str:
    """`name` when it is a plain name (a letter, then letters, digits, `_` or `-`, at most 64)."""
    if not _NAME.fullmatch(name):
        raise RegistryError(
            400,
            f"invalid {kind} name {name!r}: a letter, then letters, digits, '_' or '-' "
            "(at most 64)",
        )
    return name


def _parse_sdl(sdl: str) -> None:
    try:
        parse(sdl)
    except GraphQLError as error:
        raise RegistryError(400, f"the schema does not parse: {error.message}") from error


def _check_url(url: str) -> None:
    if not re.fullmatch(r"https?://[^\s]+", url):
        raise RegistryError(400, f"invalid subgraph url {url!r}: an http:// or https:// URL")


class Registry:
    """The flows over a `Store`. `attempts`: how often a publish composes again when another
    publish landed during its composition."""

    def __init__(self, store: Store, *, attempts: int = 20, usage_days: int = 7) -> None:
        self.store = store
        self.attempts = attempts
        #: a check fails on a field requests read in these last days (0: usage is not checked)
        self.usage_days = usage_days

    async def check(
        self, principal: Principal, name: str, sdl: str, url: str | None
    ) -> CheckReport:
        """The checks a publish would run, storing nothing but the check's record."""
        self._may_publish(principal, check_name("subgraph", name))
        _parse_sdl(sdl)
        snapshot = await self.store.snapshot()
        current = snapshot.latest.get(name)
        url = url or (current.url if current is not None else "http://unpublished.invalid")
        candidate = await self._candidate(snapshot, name, url, sdl)
        await self.store.record_check(
            name, candidate.report.ok, "check", candidate.report.to_json(), principal.name
        )
        return candidate.report

    async def publish(
        self,
        principal: Principal,
        name: str,
        url: str,
        sdl: str,
        *,
        force: bool = False,
        reason: str | None = None,
        base_version: int | None = None,
        action: str = "publish",
    ) -> Published:
        """Compose, check and store a new version of subgraph `name`; raises `RegistryError`
        with the report when a check fails (unless `force`, which needs a `reason`).

        `base_version` is the version the publisher built on: when another publish has made a
        newer one, this one is refused (409) instead of silently replacing it.
        """
        self._may_publish(principal, check_name("subgraph", name))
        _check_url(url)
        _parse_sdl(sdl)
        if force and not (reason or "").strip():
            raise RegistryError(400, "--force needs a --reason: it is recorded in the audit log")
        for _ in range(self.attempts):
            snapshot = await self.store.snapshot()
            current = snapshot.latest.get(name)
            latest = current.version if current is not None else 0
            if base_version is not None and base_version != latest:
                raise RegistryError(
                    409,
                    f"subgraph {name!r} is at version {latest}, not {base_version}: another "
                    "publish landed first; check again against it",
                )
            if (
                action == "publish"
                and current is not None
                and current.sdl == sdl
                and current.url == url
                and snapshot.supergraph is not None
            ):
                return Published(
                    name, latest, snapshot.graph_version, CheckReport(), unchanged=True
                )
            candidate = await self._candidate(snapshot, name, url, sdl)
            report = candidate.report
            if candidate.supergraph is None or (not report.ok and not force):
                await self.store.record_check(name, False, action, report.to_json(), principal.name)
                raise RegistryError(422, f"{action} of {name!r} refused: checks failed", report)
            others = {n: v.version for n, v in snapshot.latest.items() if n != name}
            try:
                version, supergraph_version = await self.store.commit_supergraph(
                    expected=snapshot.graph_version,
                    subgraph=name,
                    url=url,
                    sdl=sdl,
                    supergraph_sdl=candidate.supergraph.sdl,
                    api_sdl=print_schema(candidate.supergraph.api_schema),
                    versions=others,
                    actor=principal.name,
                    action=action + ("-forced" if not report.ok else ""),
                    reason=reason,
                    report=report.to_json(),
                )
            except Conflict:
                continue  # another write landed while this one composed: compose on it
            return Published(name, version, supergraph_version, report, forced=not report.ok)
        raise RegistryError(409, f"{action} of {name!r}: the graph kept changing; try again")

    async def rollback(
        self, principal: Principal, name: str, to: int, *, reason: str | None, force: bool
    ) -> Published:
        """Publish version `to` of subgraph `name` again, as a new version (history is kept)."""
        self._may_publish(principal, check_name("subgraph", name))
        target = next((v for v in await self.store.versions(name) if v.version == to), None)
        if target is None:
            raise RegistryError(404, f"subgraph {name!r} has no version {to}")
        return await self.publish(
            principal,
            name,
            target.url,
            target.sdl,
            force=force,
            reason=reason or f"rollback to version {to}",
            action="rollback",
        )

    async def report_usage(
        self, principal: Principal, counts: Any, *, day: date | None = None
    ) -> int:
        """Add a gateway's sampled field usage (client → `Type.field` → requests) to the day's
        counts; returns how many counts it held."""
        if not isinstance(counts, dict) or not all(isinstance(f, dict) for f in counts.values()):
            raise RegistryError(400, "`clients` must map client → {Type.field: requests}")
        total = sum(len(fields) for fields in counts.values())
        if total > _MAX_USAGE_ENTRIES:
            raise RegistryError(413, f"over {_MAX_USAGE_ENTRIES} usage counts in one report")
        for client, fields in counts.items():
            check_name("client", client)
            for coordinate, requests in fields.items():
                if not _COORDINATE.fullmatch(coordinate):
                    raise RegistryError(400, f"invalid field coordinate {coordinate!r}")
                if not isinstance(requests, int) or isinstance(requests, bool) or requests < 0:
                    raise RegistryError(400, f"the count of {coordinate} must be an integer ≥ 0")
        await self.store.add_usage(counts, day=day or _today())
        return total

    async def register(
        self,
        principal: Principal,
        client: str,
        client_version: str,
        found: Sequence[tuple[str, str]],
    ) -> list[str]:
        """Validate a device team's operations against the served supergraph and store them."""
        check_name("client", client)
        if not _VERSION.fullmatch(client_version):
            raise RegistryError(400, f"invalid client version {client_version!r}")
        if not principal.may_register(client):
            raise RegistryError(
                403, f"token {principal.name!r} may not register operations of client {client!r}"
            )
        if not found:
            raise RegistryError(400, "no operations to register")
        for name, _body in found:
            if not name or len(name) > 128:
                raise RegistryError(400, f"invalid operation name {name!r}")
        supergraph = await self.store.supergraph()
        if supergraph is None:
            raise RegistryError(409, "no supergraph yet: publish a subgraph first")
        api = await asyncio.to_thread(build_schema, supergraph.api_sdl)
        problems = validate_registered(api, found)
        if problems:
            raise RegistryError(422, "operations do not validate: " + "; ".join(problems))
        return await self.store.add_operations(client, client_version, found, actor=principal.name)

    def _may_publish(self, principal: Principal, name: str) -> None:
        if not principal.may_publish(name):
            raise RegistryError(403, f"token {principal.name!r} may not publish subgraph {name!r}")

    async def _candidate(self, snapshot: Snapshot, name: str, url: str, sdl: str) -> Candidate:
        operations = await self.store.operations()
        usage = (
            await self.store.usage_since(_today() - timedelta(days=self.usage_days))
            if self.usage_days > 0
            else {}
        )
        others = {n: (v.url, v.sdl) for n, v in snapshot.latest.items() if n != name}
        old_api = snapshot.supergraph.api_sdl if snapshot.supergraph is not None else None

        def evaluate() -> Candidate:
            # Composition and validation are CPU work: a worker thread keeps the service up.
            candidate = compose_candidate(name, url, sdl, others)
            if candidate.supergraph is None:
                return candidate
            old = build_schema(old_api) if old_api is not None else None
            report = check_operations(old, candidate.supergraph.api_schema, operations, usage)
            return Candidate(candidate.supergraph, report)

        return await asyncio.to_thread(evaluate)
