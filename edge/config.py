"""One TOML file configures the gateway; every option has a default, so an empty file is valid.

`edgegraph.example.toml` at the repository root lists every option with its default (a test
keeps it equal to the defaults here). The sections:

- `dev`, `[server]` (address, supergraph file, the one request body limit),
- `[subgraphs]` (default timeout, limits on answers) and one `[subgraphs.NAME]` table per
  subgraph (`url`, `timeout`; `schema` is read by `graph.toml` composition, so one file can
  both list the subgraphs to compose and configure the gateway),
- `[graphql]` (introspection, GraphiQL, plans, error masking, caches),
- `[limits]` (`federation.limits.Limits`: `false` switches a limit off),
- `[resilience]` (`federation.subgraphs.resilience.Resilience`: breakers, retries, in-flight
  dedupe),
- `[csrf]`, `[persisted]`, `[headers]`, `[reload]` and `[telemetry]`,
- `[auth]` (`edge.auth.AuthConfig`: bearer tokens, their keys, issuers and audiences),
- `[clients]` (`edge.clients.ClientsConfig`: known device clients and their API key digests).

Unknown keys are errors naming the key, so a typo cannot silently leave an option at its
default. Precedence, highest first: command-line flags, this file, then for telemetry the
standard `OTEL_*` variables (and `EDGEGRAPH_LOG_QUERY`/`EDGEGRAPH_LOG_VARIABLES`), then the
defaults. That is the OpenTelemetry SDK's own rule: what the program sets explicitly beats the
environment, which fills in what it leaves unset.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from edge.auth import AuthConfig
from edge.clients import ClientsConfig, parse_clients
from edge.protection import CSRF_HEADERS, DEFAULT_MAX_BODY_BYTES
from federation.limits import Limits
from federation.subgraphs.fetcher import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RESPONSE_DEPTH
from federation.subgraphs.resilience import Resilience
from federation.telemetry.tracing import TelemetryConfig, TraceExport

__all__ = [
    "DEFAULT_PROPAGATED_HEADERS",
    "EXPORTERS",
    "AuthConfig",
    "ClientsConfig",
    "ConfigError",
    "CsrfConfig",
    "GatewayConfig",
    "GraphQLConfig",
    "HeadersConfig",
    "PersistedConfig",
    "ReloadConfig",
    "ServerConfig",
    "SubgraphConfig",
    "SubgraphHeaders",
    "SubgraphsConfig",
    "TelemetryOptions",
    "load_config",
    "parse_config",
    "telemetry_config",
    "with_overrides",
]

#: Client headers a subgraph sees unless configured otherwise: credentials, and what tracing
#: and per-client metrics in subgraphs need. Never a client's claim of identity: the gateway
#: drops `x-member-id` and `x-edgegraph-passport` whatever is listed (edge/auth.py).
DEFAULT_PROPAGATED_HEADERS: tuple[str, ...] = (
    "authorization",
    "x-request-id",
    "traceparent",
    "tracestate",
    "accept-language",
    "apollographql-client-name",
    "apollographql-client-version",
)

#: `[telemetry] exporter` values: where traces go.
EXPORTERS: frozenset[str] = frozenset({"otlp", "console", "none"})


class ConfigError(ValueError):
    """The configuration file is unreadable or holds an unknown key or a wrongly typed value."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the gateway listens, what it serves, and the largest request body it reads.

    `max_body_bytes` (2 MiB = 2,097,152 bytes) is the only body limit: edge/protection.py
    enforces it while reading, and on the inflated size of gzip/deflate bodies.
    """

    host: str = "127.0.0.1"
    port: int = 4000
    supergraph: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    #: requests in flight past which new ones are shed (503, Retry-After); None: no cap
    max_inflight_requests: int | None = 1000
    #: seconds late the event loop may run before new requests are shed; 0: never
    max_loop_lag: float = 2.0


@dataclass(frozen=True, slots=True)
class SubgraphConfig:
    """One `[subgraphs.NAME]` table; each key overrides what the supergraph or defaults say."""

    url: str | None = None
    #: SDL file for `graph.toml` composition; the gateway itself does not read it
    schema: str | None = None
    timeout: float | None = None
    #: overrides `[subgraphs] batch_entities` for this subgraph
    batch_entities: bool | None = None


@dataclass(frozen=True, slots=True)
class SubgraphsConfig:
    """How subgraphs are reached, and what their answers may be."""

    #: seconds a whole fetch may take (retries included), unless the subgraph sets its own
    timeout: float = 10.0
    #: largest answer accepted, after decompression
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    #: deepest JSON nesting accepted in an answer
    max_response_depth: int = DEFAULT_MAX_RESPONSE_DEPTH
    #: entity fetches of one request to one subgraph that start together share one request
    batch_entities: bool = True
    graphs: Mapping[str, SubgraphConfig] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def urls(self) -> dict[str, str]:
        """The subgraphs whose URL is configured, by name."""
        return {name: g.url for name, g in self.graphs.items() if g.url is not None}

    def batches(self, name: str) -> bool:
        """Whether entity fetches to subgraph `name` are batched: its table, else the default."""
        graph = self.graphs.get(name)
        if graph is None or graph.batch_entities is None:
            return self.batch_entities
        return graph.batch_entities

    @property
    def timeouts(self) -> dict[str, float]:
        """The subgraphs with a timeout of their own, by name."""
        return {name: g.timeout for name, g in self.graphs.items() if g.timeout is not None}


@dataclass(frozen=True, slots=True)
class GraphQLConfig:
    """What the GraphQL endpoint allows and shows."""

    introspection: bool = False
    graphiql: bool = False
    include_plan: bool = False
    mask_errors: bool = True
    operation_cache_size: int = 1000
    plan_cache_size: int = 1000
    #: progressive `@override` labels on for every request (`percent(N)` labels are drawn)
    override_labels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CsrfConfig:
    """CSRF prevention: requests a browser could send without a preflight need a header."""

    enabled: bool = True
    headers: tuple[str, ...] = CSRF_HEADERS


@dataclass(frozen=True, slots=True)
class PersistedConfig:
    """Registered operations per device client, safelisting, and automatic persisted queries."""

    clients_dir: str | None = None
    safelist: bool = False
    apq: bool = True
    apq_cache_size: int = 1000
    apq_max_query_bytes: int = 65_536
    fail_on_invalid: bool = True


@dataclass(frozen=True, slots=True)
class SubgraphHeaders:
    """Header rules for one subgraph: `propagate` (if given) replaces the global list."""

    propagate: tuple[str, ...] | None = None
    set: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class HeadersConfig:
    """Which client headers reach subgraphs; hop-by-hop headers never do, whatever is listed."""

    propagate: tuple[str, ...] = DEFAULT_PROPAGATED_HEADERS
    subgraphs: Mapping[str, SubgraphHeaders] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class ReloadConfig:
    """Hot reload of the supergraph by `edgegraph serve`."""

    #: seconds between checks of the supergraph file; 0 turns hot reload off
    interval: float = 2.0
    #: re-composing a graph.toml introspects subgraphs: at most this often
    compose_interval: float = 10.0


@dataclass(frozen=True, slots=True)
class TelemetryOptions:
    """The `[telemetry]` section; `telemetry_config` resolves it against the environment.

    An option left unset (None) falls back to its environment variable, then its default.
    """

    #: else OTEL_SERVICE_NAME, else "edgegraph-gateway"
    service_name: str | None = None
    #: "otlp", "console" or "none"; else OTEL_TRACES_EXPORTER, else otlp when an OTLP endpoint
    #: is set, else console in dev mode, else none
    exporter: str | None = None
    #: the full traces URL (like OTEL_EXPORTER_OTLP_TRACES_ENDPOINT); setting it means otlp
    otlp_endpoint: str | None = None
    #: else EDGEGRAPH_LOG_QUERY, else false
    log_query: bool | None = None
    #: else EDGEGRAPH_LOG_VARIABLES, else false
    log_variables: bool | None = None
    #: distinct operation or client names kept as metric labels
    max_label_values: int = 200


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """The whole gateway configuration. `dev` has already been applied to the sections."""

    dev: bool = False
    server: ServerConfig = field(default_factory=ServerConfig)
    subgraphs: SubgraphsConfig = field(default_factory=SubgraphsConfig)
    graphql: GraphQLConfig = field(default_factory=GraphQLConfig)
    limits: Limits = field(default_factory=Limits)
    resilience: Resilience = field(default_factory=Resilience)
    csrf: CsrfConfig = field(default_factory=CsrfConfig)
    persisted: PersistedConfig = field(default_factory=PersistedConfig)
    headers: HeadersConfig = field(default_factory=HeadersConfig)
    reload: ReloadConfig = field(default_factory=ReloadConfig)
    telemetry: TelemetryOptions = field(default_factory=TelemetryOptions)
    auth: AuthConfig = field(default_factory=AuthConfig)
    clients: ClientsConfig = field(default_factory=ClientsConfig)

    def with_dev(self) -> GatewayConfig:
        """This configuration in dev mode: introspection, GraphiQL, plans, unmasked errors
        (and console traces, unless telemetry is configured otherwise)."""
        graphql = dataclasses.replace(
            self.graphql, introspection=True, graphiql=True, include_plan=True, mask_errors=False
        )
        return dataclasses.replace(self, dev=True, graphql=graphql)


def load_config(path: str | Path | None) -> GatewayConfig:
    """Read a TOML config file; `None` gives the defaults. Raises ConfigError."""
    if path is None:
        return GatewayConfig()
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from error
    return parse_config(raw, base_dir=path.parent)


def parse_config(raw: Mapping[str, Any], *, base_dir: Path | None = None) -> GatewayConfig:
    """Build a GatewayConfig from decoded TOML; relative paths are taken from `base_dir`."""
    _only(raw, {f.name for f in dataclasses.fields(GatewayConfig)}, "")
    server = _section(ServerConfig, raw.get("server", {}), "server")
    persisted = _section(PersistedConfig, raw.get("persisted", {}), "persisted")
    subgraphs = _subgraphs(raw.get("subgraphs", {}))
    if base_dir is not None:
        server = dataclasses.replace(server, supergraph=_resolve(base_dir, server.supergraph))
        persisted = dataclasses.replace(
            persisted, clients_dir=_resolve(base_dir, persisted.clients_dir)
        )
        graphs = {
            name: dataclasses.replace(graph, schema=_resolve(base_dir, graph.schema))
            for name, graph in subgraphs.graphs.items()
        }
        subgraphs = dataclasses.replace(subgraphs, graphs=MappingProxyType(graphs))
    csrf = _section(CsrfConfig, raw.get("csrf", {}), "csrf")
    auth: AuthConfig = _section(AuthConfig, raw.get("auth", {}), "auth")
    if base_dir is not None:
        auth = auth.resolved(base_dir)
    config = GatewayConfig(
        dev=_typed(raw.get("dev", False), bool, "dev"),
        server=server,
        subgraphs=subgraphs,
        graphql=_section(GraphQLConfig, raw.get("graphql", {}), "graphql"),
        limits=_section(Limits, raw.get("limits", {}), "limits"),
        resilience=_section(Resilience, raw.get("resilience", {}), "resilience"),
        csrf=dataclasses.replace(csrf, headers=tuple(h.lower() for h in csrf.headers)),
        persisted=persisted,
        headers=_headers(raw.get("headers", {})),
        reload=_section(ReloadConfig, raw.get("reload", {}), "reload"),
        telemetry=_section(TelemetryOptions, raw.get("telemetry", {}), "telemetry"),
        auth=auth,
        clients=_clients(raw.get("clients", {})),
    )
    _check_ranges(config)
    return config.with_dev() if config.dev else config


def telemetry_config(
    config: GatewayConfig,
    *,
    environ: Mapping[str, str] | None = None,
    default_service_name: str = "edgegraph-gateway",
) -> TelemetryConfig:
    """The telemetry settings: `[telemetry]` where set, else the `OTEL_*` environment.

    An exporter or endpoint in the file decides where traces go, so the environment's
    `OTEL_TRACES_EXPORTER` and `OTEL_SDK_DISABLED` are then not consulted.
    """
    options = config.telemetry
    env = dict(os.environ if environ is None else environ)
    decided = options.exporter is not None or options.otlp_endpoint is not None
    if decided:
        env.pop("OTEL_TRACES_EXPORTER", None)
        env.pop("OTEL_SDK_DISABLED", None)
    base = TelemetryConfig.from_env(service_name=default_service_name, dev=config.dev, environ=env)
    exports = base.trace_exports
    if options.exporter is not None:
        exports = () if options.exporter == "none" else (_export(options.exporter),)
    elif options.otlp_endpoint is not None:
        exports = ("otlp",)
    return dataclasses.replace(
        base,
        service_name=options.service_name or base.service_name,
        trace_exports=exports,
        otlp_endpoint=options.otlp_endpoint,
        log_query=base.log_query if options.log_query is None else options.log_query,
        log_variables=(
            base.log_variables if options.log_variables is None else options.log_variables
        ),
        max_label_values=options.max_label_values,
    )


def _export(name: str) -> TraceExport:
    return "otlp" if name == "otlp" else "console"


def _section(cls: type[Any], raw: Any, name: str) -> Any:
    """A flat section whose keys are exactly the dataclass fields, each of its declared type.

    The dataclasses of `federation` (`Limits`, `Resilience`) are read the same way, so a new
    field there is a new config key at once; their own checks become ConfigErrors.
    """
    table = _table(raw, name)
    kinds = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    _only(table, set(kinds), name)
    values = {key: _value(value, kinds[key], f"{name}.{key}") for key, value in table.items()}
    try:
        return cls(**values)
    except ValueError as error:
        raise ConfigError(f"[{name}] {error}") from error


def _value(value: Any, kind: str, key: str) -> Any:
    """`value` read as the annotated type `kind` (annotations are strings here)."""
    base = kind.removesuffix(" | None")
    if base == "int" and base != kind:
        # TOML has no null: `false` switches an optional limit off.
        if value is False:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key} must be int or false, not {type(value).__name__}")
        return value
    if base == "float":
        return float(_typed(value, (int, float), key))
    if base == "tuple[str, ...]":
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{key} must be a list of strings")
        return tuple(value)
    types: dict[str, type] = {"bool": bool, "int": int, "str": str}
    if base not in types:
        raise TypeError(f"no TOML reading for {key}: {kind}")  # a new field's type: add it
    return _typed(value, types[base], key)


def _subgraphs(raw: Any) -> SubgraphsConfig:
    """`[subgraphs]`: defaults as plain keys, one `[subgraphs.NAME]` table per subgraph."""
    table = _table(raw, "subgraphs")
    kinds = {f.name: str(f.type) for f in dataclasses.fields(SubgraphsConfig) if f.name != "graphs"}
    graphs: dict[str, SubgraphConfig] = {}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            graphs[key] = _section(SubgraphConfig, value, f"subgraphs.{key}")
        elif key in kinds:
            values[key] = _value(value, kinds[key], f"subgraphs.{key}")
        else:
            raise ConfigError(
                f"unknown config key(s): subgraphs.{key} (a subgraph is a [subgraphs.{key}] "
                f"table; known keys: {', '.join(sorted(kinds))})"
            )
    return SubgraphsConfig(**values, graphs=MappingProxyType(graphs))


def _clients(raw: Any) -> ClientsConfig:
    try:
        return parse_clients(raw)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def _headers(raw: Any) -> HeadersConfig:
    table = _table(raw, "headers")
    _only(table, {"propagate", "subgraphs"}, "headers")
    propagate = _names(table.get("propagate", list(DEFAULT_PROPAGATED_HEADERS)), "headers")
    subgraphs: dict[str, SubgraphHeaders] = {}
    for name, rules in _table(table.get("subgraphs", {}), "headers.subgraphs").items():
        where = f"headers.subgraphs.{name}"
        rules = _table(rules, where)
        _only(rules, {"propagate", "set"}, where)
        own = _names(rules["propagate"], where) if "propagate" in rules else None
        fixed = {k.lower(): v for k, v in _string_map(rules.get("set", {}), where).items()}
        subgraphs[name] = SubgraphHeaders(propagate=own, set=MappingProxyType(fixed))
    return HeadersConfig(propagate=propagate, subgraphs=MappingProxyType(subgraphs))


def _check_ranges(config: GatewayConfig) -> None:
    positive: dict[str, float] = {
        "server.port": config.server.port,
        "server.max_body_bytes": config.server.max_body_bytes,
        "subgraphs.timeout": config.subgraphs.timeout,
        "subgraphs.max_response_bytes": config.subgraphs.max_response_bytes,
        "subgraphs.max_response_depth": config.subgraphs.max_response_depth,
        "graphql.operation_cache_size": config.graphql.operation_cache_size,
        "graphql.plan_cache_size": config.graphql.plan_cache_size,
        "persisted.apq_cache_size": config.persisted.apq_cache_size,
        "persisted.apq_max_query_bytes": config.persisted.apq_max_query_bytes,
        "reload.compose_interval": config.reload.compose_interval,
        "telemetry.max_label_values": config.telemetry.max_label_values,
    }
    positive.update(
        {f"subgraphs.{name}.timeout": t for name, t in config.subgraphs.timeouts.items()}
    )
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key} must be positive, not {value}")
    if config.server.port > 65535:
        raise ConfigError(f"server.port must be a port (1 to 65535), not {config.server.port}")
    if config.reload.interval < 0:
        interval = config.reload.interval
        raise ConfigError(f"reload.interval must be 0 (off) or positive, not {interval}")
    exporter = config.telemetry.exporter
    if exporter is not None and exporter not in EXPORTERS:
        raise ConfigError(
            f"telemetry.exporter must be one of {', '.join(sorted(EXPORTERS))}, not {exporter!r}"
        )


def _names(raw: Any, where: str) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{where}.propagate must be a list of header names")
    return tuple(item.lower() for item in raw)


def _string_map(raw: Any, where: str) -> dict[str, str]:
    table = _table(raw, where)
    for key, value in table.items():
        _typed(value, str, f"{where}.{key}")
    return dict(table)


def _table(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ConfigError(f"[{where}] must be a table")
    return raw


def _only(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        named = []
        for key in unknown:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            named.append(f"{prefix}{key}{hint}")
        raise ConfigError(f"unknown config key(s): {', '.join(named)}")


def _typed(value: Any, expected: type | tuple[type, ...], key: str) -> Any:
    # bool is an int in Python; a port of `true` is a mistake, not 1.
    wrong_bool = isinstance(value, bool) and expected is not bool
    if wrong_bool or not isinstance(value, expected):
        names = (
            expected.__name__
            if isinstance(expected, type)
            else " or ".join(t.__name__ for t in expected)
        )
        raise ConfigError(f"{key} must be {names}, not {type(value).__name__}")
    return value


def _resolve(base_dir: Path, path: str | None) -> str | None:
    if path is None or Path(path).is_absolute():
        return path
    return str((base_dir / path).resolve())


def with_overrides(
    config: GatewayConfig,
    *,
    dev: bool = False,
    host: str | None = None,
    port: int | None = None,
    supergraph: str | None = None,
    max_body_bytes: int | None = None,
    subgraph_timeout: float | None = None,
    introspection: bool | None = None,
    graphiql: bool | None = None,
    mask_errors: bool | None = None,
    max_depth: int | None = None,
    csrf: bool | None = None,
    safelist: bool | None = None,
    clients_dir: str | None = None,
    reload_interval: float | None = None,
    otlp_endpoint: str | None = None,
) -> GatewayConfig:
    """`config` with the command line's flags applied; `None` leaves an option as configured.

    Dev mode goes first, so `--dev --no-introspection` means dev mode without introspection.
    """
    if dev and not config.dev:
        config = config.with_dev()
    try:
        limits = dataclasses.replace(config.limits, **_given(max_depth=max_depth))
    except ValueError as error:
        raise ConfigError(f"--max-depth: {error}") from error
    config = dataclasses.replace(
        config,
        server=dataclasses.replace(
            config.server,
            **_given(host=host, port=port, supergraph=supergraph, max_body_bytes=max_body_bytes),
        ),
        subgraphs=dataclasses.replace(config.subgraphs, **_given(timeout=subgraph_timeout)),
        graphql=dataclasses.replace(
            config.graphql,
            **_given(introspection=introspection, graphiql=graphiql, mask_errors=mask_errors),
        ),
        limits=limits,
        csrf=dataclasses.replace(config.csrf, **_given(enabled=csrf)),
        persisted=dataclasses.replace(
            config.persisted, **_given(safelist=safelist, clients_dir=clients_dir)
        ),
        reload=dataclasses.replace(config.reload, **_given(interval=reload_interval)),
        telemetry=dataclasses.replace(config.telemetry, **_given(otlp_endpoint=otlp_endpoint)),
    )
    _check_ranges(config)
    return config


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
