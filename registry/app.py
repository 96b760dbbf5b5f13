"""`edgegraph registry serve`: the registry's HTTP service.

Writes take `Authorization: Bearer <token>`; reads (the supergraph gateways poll, history,
the page) are open, like the graph they describe. A refused request is a JSON
`{"error": reason}` with a 4xx status, and the check report when a check failed.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .checks import diff_api_schemas
from .db import migrate
from .manifest import manifests
from .page import CONTENT_SECURITY_POLICY, render_page
from .service import Registry, RegistryError, check_name
from .store import Principal, Store, TokenError

__all__ = ["DEFAULT_MAX_BODY_BYTES", "create_registry_app"]

#: the largest request body: a big subgraph SDL is a few hundred kilobytes
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024

Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, message: str, report: Any = None) -> JSONResponse:
    body: dict[str, Any] = {"error": message}
    if report is not None:
        body["check"] = report
    return JSONResponse(body, status_code=status)


def create_registry_app(
    store: Store,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    migrate_at_start: bool = True,
    usage_days: int = 7,
) -> Starlette:
    """The registry service over `store`; its lifespan migrates the database (unless told not
    to) and disposes of the engine. A check fails on a field that requests read in the last
    `usage_days` days, as gateways report (0: usage is not checked)."""
    registry = Registry(store, usage_days=usage_days)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        if migrate_at_start:
            await migrate(store.engine)
        try:
            yield
        finally:
            await store.engine.dispose()

    async def body(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_body_bytes:
            raise RegistryError(413, f"request body over {max_body_bytes} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_body_bytes:
                raise RegistryError(413, f"request body over {max_body_bytes} bytes")
            chunks.append(chunk)
        try:
            data = json.loads(b"".join(chunks))
        except ValueError as error:
            raise RegistryError(400, f"the body is not JSON: {error}") from error
        if not isinstance(data, dict):
            raise RegistryError(400, "the body must be a JSON object")
        return data

    async def principal(request: Request) -> Principal:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise RegistryError(401, "missing token: send Authorization: Bearer <token>")
        try:
            return await store.authenticate(token.strip())
        except TokenError as error:
            raise RegistryError(401, f"token refused: {error}") from error

    def handled(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except RegistryError as error:
                report = error.report.to_json() if error.report is not None else None
                return _error(error.status, error.message, report)
            except OperationalError as error:
                if "locked" in str(error.orig):  # SQLite's lock wait ran out: a long write
                    return _error(409, f"the database is busy, try again: {error.orig}")
                return _error(503, f"the registry's database is unavailable: {error.orig}")

        return run

    def string(data: dict[str, Any], key: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise RegistryError(400, f"`{key}` must be a string")
        return value

    async def health(_request: Request) -> Response:
        try:
            await store.ping()
        except Exception as error:
            return JSONResponse({"status": "unavailable", "error": str(error)}, status_code=503)
        version, _etag = await store.supergraph_etag()
        return JSONResponse({"status": "ok", "supergraphVersion": version})

    async def supergraph(request: Request) -> Response:
        version, etag = await store.supergraph_etag()
        if etag is None:
            return _error(404, "no supergraph yet: publish a subgraph first")
        quoted = f'"{etag}"'
        headers = {"etag": quoted, "x-supergraph-version": str(version)}
        if request.headers.get("if-none-match") == quoted:
            return Response(status_code=304, headers=headers)
        served = await store.supergraph(version)
        if served is None:  # unreachable: the version row points at a stored supergraph
            return _error(404, "no supergraph yet")
        return PlainTextResponse(served.sdl, headers=headers)

    async def api_schema(request: Request) -> Response:
        version = request.query_params.get("version")
        served = await store.supergraph(int(version) if version and version.isdigit() else None)
        if served is None:
            return _error(404, "no such supergraph")
        return PlainTextResponse(served.api_sdl)

    async def publish(request: Request) -> Response:
        who = await principal(request)
        name = check_name("subgraph", request.path_params["name"])
        data = await body(request)
        base = data.get("baseVersion")
        if base is not None and not isinstance(base, int):
            raise RegistryError(400, "`baseVersion` must be an integer")
        published = await registry.publish(
            who,
            name,
            string(data, "url") or "",
            string(data, "sdl") or "",
            force=data.get("force") is True,
            reason=string(data, "reason", required=False),
            base_version=base,
        )
        return JSONResponse(published.to_json())

    async def check(request: Request) -> Response:
        who = await principal(request)
        name = check_name("subgraph", request.path_params["name"])
        data = await body(request)
        report = await registry.check(
            who, name, string(data, "sdl") or "", string(data, "url", required=False)
        )
        return JSONResponse(report.to_json())

    async def rollback(request: Request) -> Response:
        who = await principal(request)
        name = check_name("subgraph", request.path_params["name"])
        data = await body(request)
        to = data.get("to")
        if not isinstance(to, int):
            raise RegistryError(400, "`to` must be a version number")
        published = await registry.rollback(
            who,
            name,
            to,
            reason=string(data, "reason", required=False),
            force=data.get("force") is True,
        )
        return JSONResponse(published.to_json())

    async def register(request: Request) -> Response:
        who = await principal(request)
        client = check_name("client", request.path_params["client"])
        data = await body(request)
        listed = data.get("operations")
        if not isinstance(listed, list) or not all(
            isinstance(op, dict)
            and isinstance(op.get("name"), str)
            and isinstance(op.get("body"), str)
            for op in listed
        ):
            raise RegistryError(400, "`operations` must be a list of {name, body}")
        found = [(op["name"], op["body"]) for op in listed]
        added = await registry.register(who, client, string(data, "version") or "", found)
        return JSONResponse({"client": client, "added": added, "count": len(found)})

    async def subgraphs(_request: Request) -> Response:
        snapshot = await store.snapshot()
        return JSONResponse(
            {
                "supergraphVersion": snapshot.graph_version,
                "subgraphs": [
                    {"name": v.subgraph, "version": v.version, "url": v.url}
                    for v in sorted(snapshot.latest.values(), key=lambda v: v.subgraph)
                ],
            }
        )

    async def versions(request: Request) -> Response:
        name = check_name("subgraph", request.path_params["name"])
        found = await store.versions(name)
        if not found:
            return _error(404, f"no subgraph {name!r}")
        return JSONResponse(
            {
                "subgraph": name,
                "versions": [
                    {
                        "version": v.version,
                        "url": v.url,
                        "at": v.created_at.isoformat(),
                        "by": v.created_by,
                        "sdl": v.sdl,
                    }
                    for v in found
                ],
            }
        )

    async def supergraph_history(_request: Request) -> Response:
        return JSONResponse(
            {
                "supergraphs": [
                    {"version": v, "subgraphs": dict(s), "at": at.isoformat(), "by": by}
                    for v, s, at, by in await store.supergraph_versions()
                ]
            }
        )

    async def diff(request: Request) -> Response:
        try:
            old_version = int(request.query_params["from"])
            new_version = int(request.query_params["to"])
        except (KeyError, ValueError) as error:
            raise RegistryError(400, "diff needs ?from=VERSION&to=VERSION") from error
        old, new = await store.supergraph(old_version), await store.supergraph(new_version)
        if old is None or new is None:
            missing = old_version if old is None else new_version
            raise RegistryError(404, f"no supergraph version {missing}")
        return JSONResponse(
            {"from": old_version, "to": new_version, **diff_api_schemas(old.api_sdl, new.api_sdl)}
        )

    async def operations(request: Request) -> Response:
        client = request.query_params.get("client")
        return JSONResponse(
            {
                "operations": [
                    {
                        "client": op.client,
                        "clientVersion": op.client_version,
                        "name": op.name,
                        "hash": op.hash,
                        "body": op.body,
                    }
                    for op in await store.operations(client)
                ]
            }
        )

    async def usage(request: Request) -> Response:
        # Any team's token will do: a gateway reports what it served, it changes no schema.
        who = await principal(request)
        data = await body(request)
        counted = await registry.report_usage(who, data.get("clients"))
        return JSONResponse({"counted": counted})

    async def client_manifests(_request: Request) -> Response:
        return JSONResponse({"clients": manifests(await store.operations())})

    async def check_history(_request: Request) -> Response:
        return JSONResponse({"checks": await store.check_history()})

    async def audit_log(request: Request) -> Response:
        who = await principal(request)
        if not who.admin:
            raise RegistryError(403, "the audit log is for admin tokens")
        return JSONResponse(
            {
                "audit": [
                    {
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "target": e.target,
                        "reason": e.reason,
                        "detail": e.detail,
                    }
                    for e in await store.audit_log()
                ]
            }
        )

    async def page(_request: Request) -> Response:
        snapshot = await store.snapshot()
        history = {name: await store.versions(name) for name in snapshot.latest}
        html = render_page(
            snapshot=snapshot,
            history=history,
            supergraphs=await store.supergraph_versions(),
            checks=await store.check_history(),
            operations=await store.operations(),
            usage=await store.usage_since(
                datetime.now(UTC).date() - timedelta(days=max(usage_days, 1))
            ),
            usage_days=max(usage_days, 1),
        )
        return HTMLResponse(html, headers={"content-security-policy": CONTENT_SECURITY_POLICY})

    routes = [
        Route("/", handled(page), methods=["GET"]),
        Route("/health", handled(health), methods=["GET"]),
        Route("/supergraph", handled(supergraph), methods=["GET"]),
        Route("/supergraphs", handled(supergraph_history), methods=["GET"]),
        Route("/supergraphs/diff", handled(diff), methods=["GET"]),
        Route("/api-schema", handled(api_schema), methods=["GET"]),
        Route("/subgraphs", handled(subgraphs), methods=["GET"]),
        Route("/subgraphs/{name}/versions", handled(versions), methods=["GET"]),
        Route("/subgraphs/{name}/publish", handled(publish), methods=["POST"]),
        Route("/subgraphs/{name}/check", handled(check), methods=["POST"]),
        Route("/subgraphs/{name}/rollback", handled(rollback), methods=["POST"]),
        Route("/operations", handled(operations), methods=["GET"]),
        Route("/operations/{client}", handled(register), methods=["POST"]),
        Route("/manifests", handled(client_manifests), methods=["GET"]),
        Route("/usage", handled(usage), methods=["POST"]),
        Route("/checks", handled(check_history), methods=["GET"]),
        Route("/audit", handled(audit_log), methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
