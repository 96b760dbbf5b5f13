"""The edgegraph gateway: the Starlette app that serves the engine, and the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from demo import SUBGRAPHS, demo_apps
from federation.engine import Engine, EngineResult
from federation.errors import SupergraphError
from federation.fetcher import Fetcher, HttpFetcher
from federation.supergraph import Supergraph, load_supergraph

__all__ = ["create_app", "main"]

GRAPHQL_RESPONSE = "application/graphql-response+json"
PLAN_HEADER = "x-edgegraph-include-plan"
DEMO_SUPERGRAPH = Path(__file__).parent / "schema" / "supergraph.graphql"


def create_app(
    supergraph: Supergraph,
    *,
    fetcher: Fetcher | None = None,
    dev: bool = False,
    subgraph_timeout: float = 10.0,
    subgraph_urls: Mapping[str, str] | None = None,
) -> Starlette:
    """The gateway app. Without a fetcher it reaches subgraphs over HTTP at the supergraph URLs
    (or at `subgraph_urls`, which override them by subgraph name)."""
    state: dict[str, Engine] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        own: HttpFetcher | None = None
        active = fetcher
        if active is None:
            urls = {name: graph.url for name, graph in supergraph.graphs.items()}
            urls.update(subgraph_urls or {})
            own = HttpFetcher(urls, timeout=subgraph_timeout)
            active = own
        state["engine"] = Engine(supergraph, active)
        try:
            yield
        finally:
            if own is not None:
                await own.aclose()

    async def graphql(request: Request) -> Response:
        engine = state["engine"]
        media_type = _response_media_type(request.headers.get("accept", ""))
        if media_type is None:
            return _error_response(406, "Accept must allow application/json", "application/json")
        if request.method == "POST":
            params = await _post_params(request)
        else:
            params = _get_params(request)
        if isinstance(params, str):
            return _error_response(400, params, media_type)
        query, operation_name, variables, extensions = params
        if request.method == "GET" and _is_mutation(engine, query, operation_name):
            response = _error_response(405, "Mutations are not allowed over GET", media_type)
            response.headers["allow"] = "POST"
            return response
        result = await engine.execute(
            query, operation_name, variables, headers=dict(request.headers)
        )
        wants_plan = request.headers.get(PLAN_HEADER) == "true" or bool(
            extensions and extensions.get("includeQueryPlan")
        )
        return _graphql_response(result, media_type, include_plan=dev and wants_plan)

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "subgraphs": sorted(supergraph.graphs)})

    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


Params = tuple[str, str | None, dict[str, Any] | None, dict[str, Any] | None]


async def _post_params(request: Request) -> Params | str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return "POST requests must use Content-Type: application/json"
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return "The request body is not valid JSON"
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    return _check_params(
        body.get("query"), body.get("operationName"), body.get("variables"), body.get("extensions")
    )


def _get_params(request: Request) -> Params | str:
    args = request.query_params
    decoded: dict[str, Any] = {}
    for name in ("variables", "extensions"):
        raw = args.get(name)
        if raw:
            try:
                decoded[name] = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return f"The `{name}` parameter is not valid JSON"
    return _check_params(
        args.get("query"), args.get("operationName"), decoded.get("variables"),
        decoded.get("extensions"),
    )  # fmt: skip


def _check_params(query: Any, name: Any, variables: Any, extensions: Any) -> Params | str:
    if not isinstance(query, str) or not query:
        return "A `query` string is required"
    if name is not None and not isinstance(name, str):
        return "`operationName` must be a string"
    if variables is not None and not isinstance(variables, dict):
        return "`variables` must be an object"
    if extensions is not None and not isinstance(extensions, dict):
        return "`extensions` must be an object"
    return query, name, variables, extensions


def _is_mutation(engine: Engine, query: str, operation_name: str | None) -> bool:
    try:
        prepared = engine.operations.prepare(query, operation_name)
    except Exception:  # the engine reports the failure itself
        return False
    return prepared.operation_type == "mutation"


def _response_media_type(accept: str) -> str | None:
    if not accept:
        return "application/json"
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
        if media in ("application/json", "*/*", "application/*"):
            return "application/json"
    return None


def _graphql_response(result: EngineResult, media_type: str, *, include_plan: bool) -> Response:
    body = result.body
    if include_plan and result.plan is not None:
        body = {**body, "extensions": {**body.get("extensions", {}), "queryPlan": str(result.plan)}}
    status = result.status
    # With application/json, a well-formed request whose document fails is still a 200.
    if media_type == "application/json" and status == 400 and "data" not in body:
        status = 200 if body.get("errors") and _is_document_error(body) else status
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


def _is_document_error(body: Mapping[str, Any]) -> bool:
    return all(
        (e.get("extensions") or {}).get("code") != "BAD_REQUEST" for e in body.get("errors", [])
    )


def _error_response(status: int, message: str, media_type: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}]}
    return Response(orjson.dumps(body), status_code=status, media_type=media_type)


# -- command line -------------------------------------------------------------------------------


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the demo, which runs several at once."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve_all(apps: Sequence[tuple[str, Starlette, str, int]]) -> None:
    servers = [
        _QuietServer(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        for _name, app, host, port in apps
    ]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    await asyncio.gather(*(server.serve() for server in servers))


def _load(path: str) -> Supergraph:
    try:
        return load_supergraph(Path(path).read_text())
    except (OSError, SupergraphError) as error:
        raise SystemExit(f"edgegraph: cannot load supergraph {path}: {error}") from error


def _serve(args: argparse.Namespace) -> None:
    supergraph = _load(args.supergraph)
    app = create_app(supergraph, dev=args.dev, subgraph_timeout=args.subgraph_timeout)
    print(f"edgegraph gateway on http://{args.host}:{args.port}/graphql", flush=True)
    asyncio.run(_serve_all([("gateway", app, args.host, args.port)]))


def _demo(args: argparse.Namespace) -> None:
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
    gateway = create_app(_load(args.supergraph), dev=True, subgraph_urls=urls)
    apps.append(("gateway", gateway, args.host, args.port))
    for name, _app, host, port in apps:
        path = "/graphql" if name in (*SUBGRAPHS, "gateway") else "/stats"
        print(f"{name:>18}  http://{host}:{port}{path}", flush=True)
    print("Ctrl-C stops everything.", flush=True)
    asyncio.run(_serve_all(apps))


def main(argv: Sequence[str] | None = None) -> None:
    """The `edgegraph` command."""
    parser = argparse.ArgumentParser(prog="edgegraph", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a supergraph")
    serve.add_argument("--supergraph", required=True, help="supergraph SDL file")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4000)
    serve.add_argument("--dev", action="store_true", help="query plans in extensions on request")
    serve.add_argument("--subgraph-timeout", type=float, default=10.0)
    serve.set_defaults(run=_serve)
    demo = commands.add_parser("demo", help="run backends, subgraphs and the gateway")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=4000, help="gateway port")
    demo.add_argument("--subgraph-port", type=int, default=4001, help="first subgraph port")
    demo.add_argument("--backend-port", type=int, default=4101, help="first backend port")
    demo.add_argument("--latency-ms", type=float, default=0.0, help="added backend latency")
    demo.add_argument("--supergraph", default=str(DEMO_SUPERGRAPH))
    demo.set_defaults(run=_demo)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
