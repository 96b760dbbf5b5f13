"""One TOML file configures the gateway; every option has a default, so an empty file is valid.

```toml
dev = false                          # true: introspection, GraphiQL, plans and unmasked errors

[server]
host = "127.0.0.1"
port = 4000
supergraph = "schema/supergraph.graphql"   # relative paths are read from the config's folder
max_body_bytes = 1048576

[subgraphs]
timeout = 10.0
urls = { catalog = "http://catalog.internal/graphql" }   # override the supergraph's URLs

[graphql]
introspection = false                # off also hides "Did you mean …?" suggestions
graphiql = false
include_plan = false                 # honour x-edgegraph-include-plan / includeQueryPlan
mask_errors = true                   # subgraph and internal error details stay in the logs
operation_cache_size = 1000
plan_cache_size = 1000

[persisted]
clients_dir = "clients"              # clients/<name>/*.graphql: one manifest per client
safelist = false                     # true: only registered operations from known clients
apq = true                           # automatic persisted queries (sha256Hash extension)
apq_cache_size = 1000
apq_max_query_bytes = 65536
fail_on_invalid = true               # refuse to start when a registered operation is invalid

[headers]
propagate = ["authorization", "x-member-id"]
[headers.subgraphs.members]
propagate = ["authorization", "x-member-id"]   # replaces the list above for this subgraph
set = { "x-gateway" = "edgegraph" }
```

Unknown keys are errors, so a typo cannot silently leave an option at its default.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

__all__ = [
    "DEFAULT_PROPAGATED_HEADERS",
    "ConfigError",
    "GatewayConfig",
    "GraphQLConfig",
    "HeadersConfig",
    "PersistedConfig",
    "ServerConfig",
    "SubgraphHeaders",
    "SubgraphsConfig",
    "load_config",
    "parse_config",
    "with_overrides",
]

#: Client headers a subgraph sees unless configured otherwise: credentials, the demo domain's
#: member id, and what tracing and per-client metrics in subgraphs need.
DEFAULT_PROPAGATED_HEADERS: tuple[str, ...] = (
    "authorization",
    "x-member-id",
    "x-request-id",
    "traceparent",
    "tracestate",
    "accept-language",
    "apollographql-client-name",
    "apollographql-client-version",
)


class ConfigError(ValueError):
    """The configuration file is unreadable or holds an unknown key or a wrongly typed value."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Where the gateway listens and what it serves."""

    host: str = "127.0.0.1"
    port: int = 4000
    supergraph: str | None = None
    max_body_bytes: int = 1_048_576


@dataclass(frozen=True, slots=True)
class SubgraphsConfig:
    """How subgraphs are reached."""

    timeout: float = 10.0
    urls: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class GraphQLConfig:
    """What the GraphQL endpoint allows and shows."""

    introspection: bool = False
    graphiql: bool = False
    include_plan: bool = False
    mask_errors: bool = True
    operation_cache_size: int = 1000
    plan_cache_size: int = 1000


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
class GatewayConfig:
    """The whole gateway configuration. `dev` has already been applied to the sections."""

    dev: bool = False
    server: ServerConfig = field(default_factory=ServerConfig)
    subgraphs: SubgraphsConfig = field(default_factory=SubgraphsConfig)
    graphql: GraphQLConfig = field(default_factory=GraphQLConfig)
    persisted: PersistedConfig = field(default_factory=PersistedConfig)
    headers: HeadersConfig = field(default_factory=HeadersConfig)

    def with_dev(self) -> GatewayConfig:
        """This configuration in dev mode: introspection, GraphiQL, plans, unmasked errors."""
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
    _only(raw, {"dev", "server", "subgraphs", "graphql", "persisted", "headers"}, "")
    server = _section(ServerConfig, raw.get("server", {}), "server")
    persisted = _section(PersistedConfig, raw.get("persisted", {}), "persisted")
    if base_dir is not None:
        if server.supergraph is not None:
            server = dataclasses.replace(server, supergraph=_resolve(base_dir, server.supergraph))
        if persisted.clients_dir is not None:
            persisted = dataclasses.replace(
                persisted, clients_dir=_resolve(base_dir, persisted.clients_dir)
            )
    config = GatewayConfig(
        dev=_typed(raw.get("dev", False), bool, "dev"),
        server=server,
        subgraphs=_subgraphs(raw.get("subgraphs", {})),
        graphql=_section(GraphQLConfig, raw.get("graphql", {}), "graphql"),
        persisted=persisted,
        headers=_headers(raw.get("headers", {})),
    )
    _check_ranges(config)
    return config.with_dev() if config.dev else config


def _section(cls: type[Any], raw: Any, name: str) -> Any:
    """A flat section whose keys are exactly the dataclass fields, each of its declared type."""
    table = _table(raw, name)
    defaults = cls()
    _only(table, {f.name for f in dataclasses.fields(cls)}, name)
    values: dict[str, Any] = {}
    for key, value in table.items():
        default = getattr(defaults, key)
        if default is None:  # optional paths
            values[key] = _typed(value, str, f"{name}.{key}")
        elif isinstance(default, bool):
            values[key] = _typed(value, bool, f"{name}.{key}")
        elif isinstance(default, float):
            values[key] = float(_typed(value, (int, float), f"{name}.{key}"))
        else:
            values[key] = _typed(value, type(default), f"{name}.{key}")
    return cls(**values)


def _subgraphs(raw: Any) -> SubgraphsConfig:
    table = _table(raw, "subgraphs")
    _only(table, {"timeout", "urls"}, "subgraphs")
    urls = _string_map(table.get("urls", {}), "subgraphs.urls")
    timeout = float(_typed(table.get("timeout", 10.0), (int, float), "subgraphs.timeout"))
    return SubgraphsConfig(timeout=timeout, urls=MappingProxyType(urls))


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
    positive = {
        "server.port": config.server.port,
        "server.max_body_bytes": config.server.max_body_bytes,
        "subgraphs.timeout": config.subgraphs.timeout,
        "graphql.operation_cache_size": config.graphql.operation_cache_size,
        "graphql.plan_cache_size": config.graphql.plan_cache_size,
        "persisted.apq_cache_size": config.persisted.apq_cache_size,
        "persisted.apq_max_query_bytes": config.persisted.apq_max_query_bytes,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{key} must be positive, not {value}")


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
        raise ConfigError(f"unknown config key(s): {', '.join(prefix + k for k in unknown)}")


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


def _resolve(base_dir: Path, path: str) -> str:
    return str((base_dir / path).resolve()) if not Path(path).is_absolute() else path


def with_overrides(
    config: GatewayConfig,
    *,
    dev: bool = False,
    host: str | None = None,
    port: int | None = None,
    supergraph: str | None = None,
    subgraph_timeout: float | None = None,
    introspection: bool | None = None,
    graphiql: bool | None = None,
    safelist: bool | None = None,
    clients_dir: str | None = None,
) -> GatewayConfig:
    """`config` with the command line's flags applied; `None` leaves an option as configured.

    Dev mode goes first, so `--dev --no-introspection` means dev mode without introspection.
    """
    if dev and not config.dev:
        config = config.with_dev()
    server = dataclasses.replace(
        config.server,
        **_given(host=host, port=port, supergraph=supergraph),
    )
    subgraphs = dataclasses.replace(config.subgraphs, **_given(timeout=subgraph_timeout))
    graphql = dataclasses.replace(
        config.graphql, **_given(introspection=introspection, graphiql=graphiql)
    )
    persisted = dataclasses.replace(
        config.persisted, **_given(safelist=safelist, clients_dir=clients_dir)
    )
    config = dataclasses.replace(
        config, server=server, subgraphs=subgraphs, graphql=graphql, persisted=persisted
    )
    _check_ranges(config)
    return config


def _given(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
