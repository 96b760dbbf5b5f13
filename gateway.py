"""The edgegraph gateway: the Starlette app that serves the engine, and the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import importlib
import logging
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLSyntaxError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from edge.access import AccessControl, load_policy_hook
from edge.auth import Authenticator, AuthSetupError
from edge.clients import ClientMiddleware
from edge.config import (
    ConfigError,
    GatewayConfig,
    load_config,
    telemetry_config,
    with_overrides,
)
from edge.endpoint import GraphQLEndpoint
from edge.graphiql import assets_installed, graphiql_static
from edge.headers import HeaderRules, PropagatingFetcher
from edge.home import home_route
from edge.listen import port_number, serve_all
from edge.logs import configure_logging, fields
from edge.observability import ObservabilityMiddleware, configure_access_log, metrics_route
from edge.persisted import (
    Manifest,
    ManifestError,
    PersistedOperationsError,
    PersistedQueries,
    check_manifests,
    load_manifests,
)
from edge.protection import LoadShedder, ProtectionMiddleware
from edge.reload import (
    ClientsSource,
    ComposedSource,
    FileSource,
    ReloadHistory,
    SupergraphReloader,
    SupergraphSource,
    describe_source,
    watch_reloads,
)
from edge.status import health_routes, status_routes
from federation.composition.cli import (
    add_compose_command,
    compose_or_exit,
    is_graph_config,
)
from federation.engine import Engine
from federation.errors import SupergraphError
from federation.limits import Limits
from federation.subgraphs.fetcher import Fetcher, HttpFetcher
from federation.subgraphs.resilience import Resilience, ResilientFetcher, SubgraphGuards
from federation.supergraph.model import Supergraph, load_supergraph
from federation.telemetry.instrument import HealthProbe, ObservedFetcher
from federation.telemetry.tracing import Telemetry
from registry.cli import add_registry_commands
from registry.source import registry_source_or_exit
from registry.usage import report_usage

# serve_all lives in edge.listen; the demo takes it from here.
__all__ = ["create_app", "main", "serve_all"]

logger = logging.getLogger("edgegraph")


#: the device teams' operations, the default persisted-operation manifests
DEMO_CLIENTS = Path(__file__).parent / "clients"


def create_app(
    supergraph: Supergraph,
    *,
    fetcher: Fetcher | None = None,
    dev: bool = False,
    subgraph_timeout: float | None = None,
    subgraph_urls: Mapping[str, str] | None = None,
    config: GatewayConfig | None = None,
    telemetry: Telemetry | None = None,
    limits: Limits | None = None,
    resilience: Resilience | None = None,
    subgraph_timeouts: Mapping[str, float] | None = None,
    csrf_prevention: bool | None = None,
    max_body_bytes: int | None = None,
    reload_source: SupergraphSource | None = None,
    reload_interval: float | None = None,
    authenticator: Authenticator | None = None,
) -> Starlette:
    """The gateway app. Without a fetcher it reaches subgraphs over HTTP at the supergraph URLs
    (or at `subgraph_urls`, which override them by subgraph name); a fetcher passed in takes
    the place of HTTP only, below the same observe, header and resilience stages.

    `config` holds every option (see `edge.config` and edgegraph.example.toml); `dev=True`
    applies dev mode to it. Each other keyword, when given, overrides its config option for
    callers that build the parts themselves (tests, benchmarks): `subgraph_timeout`,
    `subgraph_timeouts` and `subgraph_urls` ([subgraphs]), `limits` ([limits]), `resilience`
    ([resilience]), `csrf_prevention` ([csrf] enabled), `max_body_bytes` ([server]),
    `reload_interval` ([reload] interval) and `telemetry` ([telemetry]). Registered operations
    are validated here, so an invalid one stops the gateway before it serves
    (`PersistedOperationsError`) unless `persisted.fail_on_invalid` is off.

    Bearer tokens are checked as `[auth]` says, or by `authenticator` when given (the demo's,
    and tests', whose keys come from an issuer in the same process).

    Protection and resilience are on by default. With `reload_source`, a new supergraph from
    it replaces the served one every `reload_interval` seconds at most (0: never); each
    request keeps the engine it started with. A new supergraph must pass the start-up rule
    for registered operations, and the clients folder is reloaded on the same interval.
    """
    config = config or GatewayConfig()
    if dev and not config.dev:
        config = config.with_dev()
    timeout = subgraph_timeout if subgraph_timeout is not None else config.subgraphs.timeout
    timeouts = {**config.subgraphs.timeouts, **(subgraph_timeouts or {})}
    limits = limits if limits is not None else config.limits
    resilience = resilience if resilience is not None else config.resilience
    if reload_interval is None:
        reload_interval = config.reload.interval
    state: dict[str, Engine] = {}
    clients_dir = config.persisted.clients_dir
    # The manifests as loaded from the clients folder; those served are checked against the
    # served supergraph (the same rule at start-up and at every reload).
    loaded: dict[str, Mapping[str, Manifest]] = {
        "manifests": load_manifests(clients_dir) if clients_dir is not None else {}
    }
    fail_on_invalid = config.persisted.fail_on_invalid
    persisted = PersistedQueries(
        check_manifests(
            loaded["manifests"], supergraph.api_schema, fail_on_invalid=fail_on_invalid
        ),
        safelist=config.persisted.safelist,
        apq=config.persisted.apq,
        apq_cache_size=config.persisted.apq_cache_size,
        apq_max_query_bytes=config.persisted.apq_max_query_bytes,
    )
    header_rules = HeaderRules(config.headers)
    auth = authenticator or Authenticator.from_config(config.auth)
    hook = config.auth.policy_hook
    access = AccessControl(policy_hook=load_policy_hook(hook) if hook is not None else None)
    # Without one passed in, telemetry follows [telemetry], then the OTEL_* environment.
    observed = telemetry or Telemetry(config=telemetry_config(config))
    # Each subgraph's breaker, retry budget and in-flight fetches, by name: built once, so they
    # outlive supergraph reloads; on-call reads the breakers here.
    guards = SubgraphGuards(resilience)
    observed.breaker_states = lambda: guards.breaker_states(sorted(_served().graphs))
    probes: dict[str, HealthProbe] = {}
    history = ReloadHistory(supergraph.sdl, describe_source(reload_source))
    watch_reloads(observed, history)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        own = (
            HttpFetcher(
                _urls(supergraph),
                timeout=timeout,
                timeouts=timeouts,
                max_response_bytes=config.subgraphs.max_response_bytes,
                max_response_depth=config.subgraphs.max_response_depth,
            )
            if fetcher is None
            else None
        )

        def build(served: Supergraph) -> _Serving:
            # A reload obeys the start-up rule: raising here rejects it, the old one serves on.
            manifests = check_manifests(
                loaded["manifests"], served.api_schema, fail_on_invalid=fail_on_invalid
            )
            # The fetch pipeline, assembled here and nowhere else, in order: observe (spans,
            # metrics, timings) → propagate the client's headers by the rules → resilience
            # (breakers, retries, in-flight sharing) → HTTP, or the fetcher passed in (tests).
            # A reloaded supergraph may move subgraphs: new URLs, the same client and guards.
            transport = own.with_urls(_urls(served)) if own is not None else fetcher
            if transport is None:  # unreachable: `own` exists exactly when no fetcher was given
                raise RuntimeError("no fetcher")
            resilient = ResilientFetcher(transport, guards, timeout=timeout, timeouts=timeouts)
            propagating = PropagatingFetcher(resilient, header_rules)
            engine = Engine(
                served,
                ObservedFetcher(propagating, observed),
                operation_cache_size=config.graphql.operation_cache_size,
                plan_cache_size=config.graphql.plan_cache_size,
                override_labels=frozenset(config.graphql.override_labels),
                limits=limits,
                dedupe_inbound=resilience.dedupe_inbound,
                batch_entities=frozenset(
                    name for name in served.graphs if config.subgraphs.batches(name)
                ),
            )
            # Probes are no client fetches: they skip the observing head.
            return _Serving(engine, HealthProbe(propagating, observed), manifests)

        def publish(serving: _Serving) -> None:
            observed.watch_plan_cache(serving.engine.plans)
            persisted.manifests = serving.manifests
            probes["health"] = serving.probe
            state["engine"] = serving.engine  # one assignment: a request sees the old or the new

        def apply_clients(manifests: Mapping[str, Manifest]) -> None:
            api_schema = state["engine"].supergraph.api_schema
            served = check_manifests(manifests, api_schema, fail_on_invalid=fail_on_invalid)
            loaded["manifests"] = manifests
            persisted.manifests = served

        publish(build(supergraph))
        reloading = contextlib.AsyncExitStack()
        watch_clients = clients_dir is not None
        if (reload_source is not None or watch_clients) and reload_interval > 0:
            reloader = SupergraphReloader(
                reload_source,
                build=build,
                publish=publish,
                interval=reload_interval,
                history=history,
                clients=ClientsSource(clients_dir) if clients_dir is not None else None,
                apply_clients=apply_clients if watch_clients else None,
            )
            await reloading.enter_async_context(reloader.running())
        try:
            yield
        finally:
            await reloading.aclose()
            await auth.aclose()
            if own is not None:
                await own.aclose()
            if telemetry is None:
                observed.shutdown()

    graphql = GraphQLEndpoint(lambda: state["engine"], config, persisted, auth=auth, access=access)

    def _urls(served: Supergraph) -> dict[str, str]:
        urls = {name: graph.url for name, graph in served.graphs.items()}
        urls.update(config.subgraphs.urls)
        urls.update(subgraph_urls or {})
        return urls

    def _served() -> Supergraph:
        return state["engine"].supergraph if "engine" in state else supergraph

    def _subgraphs() -> list[str]:
        return sorted(_served().graphs)

    def _probe() -> HealthProbe | None:
        return probes.get("health")

    routes: list[BaseRoute] = [
        Route("/graphql", graphql.handle, methods=["GET", "POST"]),
        *health_routes(_subgraphs, _probe),
        home_route(
            endpoint="/graphql",
            graphiql=config.graphql.graphiql,
            introspection=config.graphql.introspection,
        ),
    ]
    if config.graphql.graphiql:
        routes.append(graphiql_static())
    routes.append(metrics_route(observed))
    routes += status_routes(observed, _subgraphs, _probe, history)
    middleware = [
        # First: everything after it (metrics, logs, safelisting) sees verified client names only.
        Middleware(ClientMiddleware, config=config.clients),
        Middleware(ObservabilityMiddleware, telemetry=observed),
        Middleware(
            ProtectionMiddleware,
            # The one body limit: read bounded here, inflated sizes included.
            max_body_bytes=max_body_bytes or config.server.max_body_bytes,
            csrf=config.csrf.enabled if csrf_prevention is None else csrf_prevention,
            csrf_headers=config.csrf.headers,
            shedder=LoadShedder(
                max_inflight=config.server.max_inflight_requests,
                max_loop_lag=config.server.max_loop_lag or None,
            ),
        ),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


@dataclass(frozen=True, slots=True)
class _Serving:
    """What one supergraph serves with: its engine, its health probe, its checked manifests."""

    engine: Engine
    probe: HealthProbe
    manifests: dict[str, Manifest]


# -- command line -------------------------------------------------------------------------------


def load_supergraph_file(path: str) -> Supergraph:
    try:
        return load_supergraph(Path(path).read_text())
    except (OSError, SupergraphError) as error:
        syntax = error.__cause__
        if isinstance(syntax, GraphQLSyntaxError) and syntax.locations:
            # file:line:column, as compilers say it, so an editor can jump there
            line, column = syntax.locations[0].line, syntax.locations[0].column
            raise SystemExit(f"edgegraph: {path}:{line}:{column}: {syntax.message}") from None
        raise SystemExit(f"edgegraph: cannot load supergraph {path}: {error}") from None


def _serve(args: argparse.Namespace) -> None:
    try:
        config = with_overrides(
            load_config(args.config),
            dev=args.dev,
            host=args.host,
            port=args.port,
            supergraph=args.supergraph,
            max_body_bytes=args.max_body_bytes,
            subgraph_timeout=args.subgraph_timeout,
            introspection=args.introspection,
            graphiql=args.graphiql,
            mask_errors=args.mask_errors,
            max_depth=args.max_depth,
            csrf=args.csrf,
            safelist=args.safelist,
            clients_dir=args.clients_dir,
            reload_interval=args.reload_interval,
            otlp_endpoint=args.otlp_endpoint,
        )
    except ConfigError as error:
        raise SystemExit(f"edgegraph: {error}") from error
    source: SupergraphSource
    interval = config.reload.interval
    if args.registry:
        fed = registry_source_or_exit(args.registry, args.registry_cache)
        supergraph, source = fed.supergraph, fed.source
        if config.persisted.safelist and config.persisted.clients_dir is None and fed.clients_dir:
            # The registry's operations are the safelist; one that a forced publish broke is
            # logged and not served, rather than stopping the gateway.
            persisted = dataclasses.replace(
                config.persisted, clients_dir=str(fed.clients_dir), fail_on_invalid=False
            )
            config = dataclasses.replace(config, persisted=persisted)
    elif config.server.supergraph is not None:
        supergraph = load_supergraph_file(config.server.supergraph)
        source = FileSource(config.server.supergraph, current=supergraph.sdl)
    elif args.config and is_graph_config(args.config):
        # No supergraph file: the config's `[subgraphs.NAME]` tables (a graph.toml) are composed.
        sdl = compose_or_exit(config=args.config)
        supergraph = load_supergraph(sdl)
        source = ComposedSource(args.config, current=sdl)
        # Re-composing introspects subgraphs: poll them far less often than a file's mtime.
        if interval > 0:
            interval = max(interval, config.reload.compose_interval)
    else:
        raise SystemExit(
            "edgegraph: no supergraph: pass --supergraph, set server.supergraph, or list "
            "[subgraphs.NAME] tables with a url to compose"
        )
    app = create_app_or_exit(
        supergraph, config=config, reload_source=source, reload_interval=interval
    )
    if args.registry and args.registry_token:
        report_usage(
            app,
            fed.source,
            registry=args.registry,
            token=args.registry_token,
            sample_rate=args.usage_sample_rate,
        )
    if config.graphql.graphiql and not assets_installed():
        print("edgegraph: GraphiQL assets are missing; run `make` to install them", flush=True)
    if config.graphql.graphiql and not config.graphql.introspection:
        logger.warning(
            "GraphiQL is on but introspection is off: GraphiQL cannot load the schema "
            "(turn on --introspection, or use --dev)",
            extra=fields(event="graphiql_without_introspection"),
        )
    host, port = config.server.host, config.server.port
    mode = " (dev mode)" if config.dev else ""

    def announce() -> None:
        print(f"edgegraph gateway on http://{host}:{port}/graphql{mode}", flush=True)

    asyncio.run(serve_all([("gateway", app, host, port)], announce=announce))


def create_app_or_exit(supergraph: Supergraph, **options: Any) -> Starlette:
    """create_app, turning a start-up failure (invalid registered operations, an unusable
    auth key file or policy hook) into an exit."""
    try:
        return create_app(supergraph, **options)
    except (ManifestError, PersistedOperationsError, AuthSetupError) as error:
        raise SystemExit(f"edgegraph: {error}") from error


def _manifest(args: argparse.Namespace) -> None:
    try:
        manifests = load_manifests(args.clients_dir)
    except ManifestError as error:
        raise SystemExit(f"edgegraph: {error}") from error
    if args.client not in manifests:
        raise SystemExit(f"edgegraph: no client {args.client!r} in {args.clients_dir}")
    print(orjson.dumps(manifests[args.client].to_json(), option=orjson.OPT_INDENT_2).decode())


def _demo(args: argparse.Namespace) -> None:
    # Imported here, by name, so that only `edgegraph demo` loads the demo's wiring (strawberry,
    # the SQLite backends, the resolvers): `edgegraph serve` never does.
    importlib.import_module("demo").run(args)


def _dev(args: argparse.Namespace) -> None:
    # By name, as for the demo: `edgegraph dev` runs the demo's graph around your subgraph.
    importlib.import_module("devloop").run(args)


def _subgraph_to_replace(text: str) -> tuple[str, str]:
    # argparse `type`: checked against the demo's subgraphs, which only devloop may import.
    parsed: tuple[str, str] = importlib.import_module("devloop").parse_subgraph(text)
    return parsed


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """`--help` shows each option's default, except where there is none to show: `serve`'s
    flags default to "as the config file says", which their help states."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _version() -> str:
    try:
        return metadata.version("edgegraph")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> None:
    """The `edgegraph` command."""
    parser = argparse.ArgumentParser(
        prog="edgegraph", description=__doc__, formatter_class=DefaultsHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="serve a supergraph", formatter_class=DefaultsHelpFormatter
    )
    serve.add_argument(
        "--config",
        help="TOML config file (every option: edgegraph.example.toml); flags override it. "
        "Without a supergraph, its [subgraphs.NAME] tables (a graph.toml) are composed at start",
    )
    serve.add_argument("--supergraph", help="supergraph SDL file (or server.supergraph)")
    serve.add_argument(
        "--registry", help="the schema registry's URL: serve and hot-reload its supergraph"
    )
    serve.add_argument(
        "--registry-cache",
        help="where the last good supergraph from the registry is kept, served when the "
        "registry is down (default supergraph.registry.graphql)",
    )
    serve.add_argument(
        "--registry-token",
        help="with --registry: a token to report sampled field usage to the registry with",
    )
    serve.add_argument(
        "--usage-sample-rate",
        type=float,
        default=0.1,
        help="share of requests whose fields are reported to the registry (default 0.1)",
    )
    serve.add_argument("--host", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=port_number, help="listen port (default 4000)")
    serve.add_argument(
        "--dev",
        action="store_true",
        help="introspection, GraphiQL, query plans in extensions, unmasked errors",
    )
    serve.add_argument(
        "--max-body-bytes", type=int, help="largest request body, also once inflated (2 MiB)"
    )
    serve.add_argument("--subgraph-timeout", type=float, help="seconds per subgraph fetch")
    serve.add_argument("--introspection", action=argparse.BooleanOptionalAction, default=None)
    serve.add_argument("--graphiql", action=argparse.BooleanOptionalAction, default=None)
    serve.add_argument(
        "--mask-errors",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="hide subgraph and internal error details from clients (on outside dev mode)",
    )
    serve.add_argument("--max-depth", type=int, help="deepest selection accepted (15)")
    serve.add_argument(
        "--csrf",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse requests a browser could send cross-site without a preflight (on)",
    )
    serve.add_argument(
        "--safelist",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="serve only the registered operations of known clients",
    )
    serve.add_argument("--clients-dir", help="folder of clients/<name>/*.graphql manifests")
    serve.add_argument(
        "--reload-interval",
        type=float,
        help="seconds between checks for a new supergraph file (default 2; graph.toml is "
        "re-composed at most every reload.compose_interval, 10 s); 0 turns hot reload off",
    )
    serve.add_argument(
        "--otlp-endpoint", help="export traces over OTLP/HTTP to this URL (.../v1/traces)"
    )
    serve.set_defaults(run=_serve)
    demo = commands.add_parser(
        "demo",
        help="run backends, subgraphs and the gateway",
        formatter_class=DefaultsHelpFormatter,
    )
    demo.add_argument("--host", default="127.0.0.1", help="listen address of every part")
    demo.add_argument("--port", type=port_number, default=4000, help="gateway port")
    demo.add_argument(
        "--subgraph-port", type=port_number, default=4001, help="first subgraph port"
    )
    demo.add_argument("--backend-port", type=port_number, default=4101, help="first backend port")
    demo.add_argument(
        "--issuer-port", type=port_number, default=4005, help="demo token issuer port"
    )
    demo.add_argument("--latency-ms", type=float, default=0.0, help="added backend latency")
    demo.add_argument("--supergraph", help="supergraph file (default: compose at start)")
    demo.set_defaults(run=_demo)
    dev = commands.add_parser(
        "dev",
        help="the demo's graph with one subgraph replaced by your own, recomposed as it "
        "changes (as `rover dev` does)",
        formatter_class=DefaultsHelpFormatter,
    )
    dev.add_argument(
        "--subgraph",
        required=True,
        type=_subgraph_to_replace,
        metavar="NAME=(URL|MODULE:APP)",
        help="the demo subgraph to replace, and your subgraph's URL or its ASGI app, "
        "e.g. catalog=http://127.0.0.1:5001/graphql or catalog=my_catalog.app:app",
    )
    dev.add_argument("--interval", type=float, default=1.0, help="seconds between SDL checks")
    dev.add_argument("--host", default="127.0.0.1", help="listen address of every part")
    dev.add_argument("--port", type=port_number, default=4000, help="gateway port")
    dev.add_argument("--subgraph-port", type=port_number, default=4001, help="first subgraph port")
    dev.add_argument("--backend-port", type=port_number, default=4101, help="first backend port")
    dev.add_argument("--issuer-port", type=port_number, default=4005, help="token issuer port")
    dev.add_argument(
        "--team-port", type=port_number, default=4006, help="port of a MODULE:APP subgraph"
    )
    dev.set_defaults(run=_dev)
    add_compose_command(commands)
    add_registry_commands(commands)
    manifest = commands.add_parser(
        "manifest",
        help="print a client's persisted query manifest",
        formatter_class=DefaultsHelpFormatter,
    )
    manifest.add_argument("client", help="client name: a folder under --clients-dir")
    manifest.add_argument(
        "--clients-dir", default=str(DEMO_CLIENTS), help="folder of clients/<name>/*.graphql"
    )
    manifest.set_defaults(run=_manifest)
    args = parser.parse_args(argv)
    configure_access_log()  # one JSON line per request on stdout
    configure_logging()  # and the gateway's own log (reloads, masked errors) beside it
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
