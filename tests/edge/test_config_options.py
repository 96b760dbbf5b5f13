"""Every config section takes effect end to end, and the example file equals the defaults."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import io
import logging
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

import gateway
from edge.config import (
    ConfigError,
    GatewayConfig,
    load_config,
    parse_config,
    telemetry_config,
)
from edge.observability import ACCESS_LOG
from edge.reload import FileSource
from federation.composition.config import read_config
from gateway import create_app
from tests.gateway.demo_support import demo_gateway
from tests.resilience.support import SUPERGRAPH_SDL, SickSubgraph, fast_app, serve, supergraph

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "edgegraph.example.toml"
PREFLIGHT = {"graphql-preflight": "1"}
OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "EDGEGRAPH_LOG_QUERY",
    "EDGEGRAPH_LOG_VARIABLES",
)


@pytest.fixture(autouse=True)
def _no_otel_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# -- the example file ---------------------------------------------------------------------------


def test_config_example_file_is_exactly_the_defaults() -> None:
    assert load_config(EXAMPLE) == GatewayConfig()


def test_config_example_file_lists_every_option() -> None:
    text = EXAMPLE.read_text()
    # Per-name tables are shown as commented examples; their keys are checked below.
    tables = {"subgraphs.graphs", "headers.subgraphs", "clients.known"}
    defaults = GatewayConfig()
    listed = [
        (section.name, option.name)
        for section in dataclasses.fields(GatewayConfig)
        if section.name != "dev"
        for option in dataclasses.fields(getattr(defaults, section.name))
        if f"{section.name}.{option.name}" not in tables
    ]
    assert len(listed) > 50
    missing = [
        f"{section}.{option}"
        for section, option in listed
        if f"\n{option} = " not in text and f"\n# {option} = " not in text
    ]
    missing += [f"[{section}]" for section, _option in listed if f"\n[{section}]\n" not in text]
    assert missing == []
    for key in ("url", "schema", "timeout", "propagate", "set"):
        assert f"\n# {key} = " in text  # the keys of the per-name tables
    assert "dev = false" in text


# -- parsing ------------------------------------------------------------------------------------


def test_config_reads_the_new_sections() -> None:
    config = parse_config(
        tomllib.loads(
            """
[server]
max_body_bytes = 4096
[subgraphs]
timeout = 3
max_response_depth = 40
batch_entities = false
[subgraphs.catalog]
url = "http://catalog:4001/graphql"
timeout = 0.5
batch_entities = true
[limits]
max_depth = 3
max_cost = false
[resilience]
failure_threshold = false
dedupe = false
[csrf]
enabled = false
headers = ["X-Requested-With"]
[reload]
interval = 0
[telemetry]
exporter = "otlp"
log_query = true
"""
        )
    )
    assert config.server.max_body_bytes == 4096
    assert config.subgraphs.timeout == 3.0 and config.subgraphs.max_response_depth == 40
    assert config.subgraphs.urls == {"catalog": "http://catalog:4001/graphql"}
    assert config.subgraphs.timeouts == {"catalog": 0.5}
    assert config.subgraphs.batches("catalog") and not config.subgraphs.batches("ratings")
    assert config.limits.max_depth == 3 and config.limits.max_cost is None
    assert config.resilience.failure_threshold is None and not config.resilience.dedupe
    assert not config.csrf.enabled and config.csrf.headers == ("x-requested-with",)
    assert config.reload.interval == 0.0
    assert config.telemetry.exporter == "otlp" and config.telemetry.log_query


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"limits": {"max_dept": 3}}, r"unknown config key\(s\): limits\.max_dept"),
        ({"limits": {"max_depth": True}}, "limits.max_depth must be int or false"),
        ({"limits": {"max_depth": 0}}, r"\[limits\] max_depth must be a positive integer"),
        ({"resilience": {"retry_ratio": -1}}, r"\[resilience\] retry settings"),
        ({"subgraphs": {"timout": 3}}, r"subgraphs\.timout"),
        ({"subgraphs": {"catalog": {"uri": "x"}}}, r"subgraphs\.catalog\.uri"),
        ({"subgraphs": {"catalog": {"timeout": 0}}}, "subgraphs.catalog.timeout must be positive"),
        ({"csrf": {"headers": "x"}}, "csrf.headers must be a list of strings"),
        ({"reload": {"interval": -1}}, "reload.interval must be 0"),
        ({"telemetry": {"exporter": "jaeger"}}, "telemetry.exporter must be one of"),
        ({"telemetry": {"log_querry": True}}, r"telemetry\.log_querry"),
    ],
)
def test_config_new_sections_reject_unknown_keys_and_bad_values(
    raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(raw)


def test_config_one_file_serves_composition_and_the_gateway(tmp_path: Path) -> None:
    path = tmp_path / "edgegraph.toml"
    path.write_text(
        """
[limits]
max_depth = 5
[subgraphs]
timeout = 4.0
[subgraphs.catalog]
url = "http://127.0.0.1:4001/graphql"
schema = "catalog.graphql"
timeout = 1.5
"""
    )
    config = load_config(path)
    catalog = config.subgraphs.graphs["catalog"]
    assert catalog.schema == str(tmp_path / "catalog.graphql") and catalog.timeout == 1.5
    [listed] = read_config(path)
    assert listed.name == "catalog" and listed.url == "http://127.0.0.1:4001/graphql"


def test_config_telemetry_file_beats_environment_which_fills_the_rest() -> None:
    env = {
        "OTEL_TRACES_EXPORTER": "console",
        "OTEL_SERVICE_NAME": "from-env",
        "EDGEGRAPH_LOG_QUERY": "1",
        "EDGEGRAPH_LOG_VARIABLES": "1",
    }
    unset = telemetry_config(GatewayConfig(), environ=env)
    assert unset.trace_exports == ("console",) and unset.service_name == "from-env"
    assert unset.log_query and unset.log_variables
    config = parse_config(
        {
            "telemetry": {
                "otlp_endpoint": "http://collector:4318/v1/traces",
                "service_name": "edge-eu",
                "log_query": False,
            }
        }
    )
    resolved = telemetry_config(config, environ=env)
    assert resolved.trace_exports == ("otlp",)
    assert resolved.otlp_endpoint == "http://collector:4318/v1/traces"
    assert resolved.service_name == "edge-eu"
    assert not resolved.log_query and resolved.log_variables  # variables: env, unset in file
    assert telemetry_config(GatewayConfig(), environ={}).trace_exports == ()
    dev = parse_config({"dev": True})
    assert telemetry_config(dev, environ={}).trace_exports == ("console",)
    quiet = parse_config({"dev": True, "telemetry": {"exporter": "none"}})
    assert telemetry_config(quiet, environ=env).trace_exports == ()


# -- each section through the app ---------------------------------------------------------------


async def test_config_limits_max_depth_refuses_a_deeper_query() -> None:
    config = parse_config({"limits": {"max_depth": 3}})
    async with demo_gateway(dev=False, config=config) as demo:
        shallow = await demo.client.post("/graphql", json={"query": "{ me { myList { id } } }"})
        deep = await demo.client.post(
            "/graphql", json={"query": "{ me { continueWatching { title { id } } } }"}
        )
    assert "errors" not in shallow.json()
    [error] = deep.json()["errors"]
    assert error["extensions"]["limit"] == "max_depth" and error["extensions"]["max"] == 3


@asynccontextmanager
async def sick_gateway(
    sick: SickSubgraph, options: dict[str, Any]
) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's own HTTP fetcher (built from the config) over two loopback subgraphs."""
    async with serve(fast_app()) as fast_url, serve(sick.app()) as sick_url:
        graphs = {"fast": {"url": f"{fast_url}/graphql"}, "sick": {"url": f"{sick_url}/graphql"}}
        subgraphs = {**options.pop("subgraphs", {}), **graphs}
        for name, extra in options.pop("graphs", {}).items():
            subgraphs[name] = {**subgraphs[name], **extra}
        app = create_app(supergraph(), config=parse_config({**options, "subgraphs": subgraphs}))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://gw", headers=PREFLIGHT
            ) as client:
                yield client


def _codes(response: httpx.Response) -> list[str]:
    return [error["extensions"]["code"] for error in response.json().get("errors", [])]


async def test_config_resilience_breaker_threshold_opens_the_breaker() -> None:
    sick = SickSubgraph(mode="500")
    options = {"resilience": {"failure_threshold": 1, "max_retries": 0, "reset_timeout": 60}}
    async with sick_gateway(sick, options) as client:
        first = await client.post("/graphql", json={"query": "{ sick { id } }"})
        second = await client.post("/graphql", json={"query": "{ sick { id } }"})
    assert _codes(first) == ["SUBGRAPH_HTTP_ERROR"]
    assert _codes(second) == ["CIRCUIT_OPEN"]
    assert sick.calls == 1  # the open breaker failed fast, without a call


async def test_config_subgraph_timeout_of_its_own_keeps_the_other_data() -> None:
    sick = SickSubgraph(mode="hang")
    options = {"subgraphs": {"timeout": 30.0}, "graphs": {"sick": {"timeout": 0.2}}}
    async with sick_gateway(sick, options) as client:
        response = await asyncio.wait_for(
            client.post("/graphql", json={"query": "{ fast { name } sick { id } }"}), 10
        )
    assert _codes(response) == ["SUBGRAPH_TIMEOUT"]
    assert response.json()["data"]["fast"] == {"name": "quick"}


async def test_config_subgraph_answer_size_limit() -> None:
    sick = SickSubgraph(mode="ok")
    async with sick_gateway(sick, {"subgraphs": {"max_response_bytes": 10}}) as client:
        response = await client.post("/graphql", json={"query": "{ sick { id } }"})
    assert _codes(response) == ["SUBGRAPH_RESPONSE_TOO_LARGE"]


async def test_config_body_limit_is_one_setting_for_plain_and_compressed_bodies() -> None:
    big = b'{"query": "{ __typename }", "extensions": {"pad": "' + b"x" * 2000 + b'"}}'
    config = parse_config({"server": {"max_body_bytes": 1000}})
    async with demo_gateway(config=config) as demo:
        plain = await demo.client.post(
            "/graphql", content=big, headers={"content-type": "application/json"}
        )
        packed = gzip.compress(big)
        assert len(packed) < 1000
        compressed = await demo.client.post(
            "/graphql",
            content=packed,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
    assert plain.status_code == compressed.status_code == 413
    assert "1000 bytes" in plain.json()["errors"][0]["message"]


async def test_config_default_body_limit_is_2_mib() -> None:
    # 1.5 MiB: past the 1 MiB the reader used to allow on its own, under the 2 MiB default.
    pad = b"x" * (3 * 1024 * 1024 // 2)
    body = b'{"query": "{ __typename }", "extensions": {"pad": "' + pad + b'"}}'
    async with demo_gateway() as demo:
        under = await demo.client.post(
            "/graphql", content=body, headers={"content-type": "application/json"}
        )
        over = await demo.client.post(
            "/graphql",
            content=body + b" " * (2 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
    assert under.status_code == 200 and under.json()["data"] == {"__typename": "Query"}
    assert over.status_code == 413


async def test_config_csrf_can_be_switched_off() -> None:
    query = {"query": "{ __typename }"}
    for enabled, status in ((True, 400), (False, 200)):
        config = parse_config({"csrf": {"enabled": enabled}})
        async with demo_gateway(config=config) as demo:
            # A browser-like client: no preflight header.
            transport = httpx.ASGITransport(app=demo.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                response = await client.get("/graphql", params=query)
        assert response.status_code == status


async def test_config_graphql_mask_errors_off_in_production() -> None:
    sick = SickSubgraph(mode="error")
    async with sick_gateway(sick, {"graphql": {"mask_errors": False}}) as client:
        unmasked = await client.post("/graphql", json={"query": "{ sick { id } }"})
    async with sick_gateway(SickSubgraph(mode="error"), {}) as client:
        masked = await client.post("/graphql", json={"query": "{ sick { id } }"})
    assert "KeyError" in unmasked.json()["errors"][0]["message"]
    assert "KeyError" not in masked.json()["errors"][0]["message"]


async def test_config_telemetry_log_query_puts_the_query_in_the_log_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    ACCESS_LOG.addHandler(handler)
    level = ACCESS_LOG.level
    ACCESS_LOG.setLevel(logging.INFO)
    query = "{ fast { name } }"
    try:
        for log_query in (False, True):
            options = {"telemetry": {"log_query": log_query, "service_name": "gw-test"}}
            async with sick_gateway(SickSubgraph(), options) as client:
                await client.post("/graphql", json={"query": query})
    finally:
        ACCESS_LOG.removeHandler(handler)
        ACCESS_LOG.setLevel(level)
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    hidden, shown = [line for line in lines if line["service"] == "gw-test"]
    assert "query" not in hidden
    assert shown["query"] == query


async def test_config_reload_interval_drives_hot_reload(tmp_path: Path) -> None:
    path = tmp_path / "supergraph.graphql"
    path.write_text(SUPERGRAPH_SDL)
    v2 = SUPERGRAPH_SDL.replace(
        "type Fast @join__type(graph: FAST) { name: String! }",
        "type Fast @join__type(graph: FAST) { name: String! speed: Int }",
    )
    config = parse_config({"reload": {"interval": 0.02}, "dev": True})
    app = create_app(
        supergraph(), config=config, reload_source=FileSource(path, current=SUPERGRAPH_SDL)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            path.write_text(v2)
            for _ in range(200):
                health = await client.get("/health")
                response = await client.post(
                    "/graphql",
                    json={"query": '{ __type(name: "Fast") { fields { name } } }'},
                    headers=PREFLIGHT,
                )
                names = [f["name"] for f in response.json()["data"]["__type"]["fields"]]
                if "speed" in names:
                    break
                await asyncio.sleep(0.02)
    assert health.status_code == 200 and "speed" in names


# -- the serve command --------------------------------------------------------------------------


def test_config_serve_flags_override_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: dict[str, Any] = {}

    def create(_supergraph: Any, **options: Any) -> Any:
        captured.update(options)
        return None

    async def serve_all(_apps: Any, **_options: Any) -> None:
        return None

    monkeypatch.setattr(gateway, "create_app_or_exit", create)
    monkeypatch.setattr(gateway, "serve_all", serve_all)
    supergraph_file = tmp_path / "supergraph.graphql"
    supergraph_file.write_text(SUPERGRAPH_SDL)
    path = tmp_path / "edgegraph.toml"
    path.write_text(
        f"""
[server]
supergraph = "{supergraph_file.name}"
max_body_bytes = 5000
[limits]
max_depth = 4
[reload]
interval = 7.0
[telemetry]
log_query = true
"""
    )
    gateway.main(
        [
            "serve", "--config", str(path), "--max-depth", "9", "--no-csrf",
            "--no-mask-errors", "--reload-interval", "0", "--otlp-endpoint", "http://c/v1/traces",
        ]
    )  # fmt: skip
    config: GatewayConfig = captured["config"]
    assert config.server.max_body_bytes == 5000 and config.telemetry.log_query  # from the file
    assert config.limits.max_depth == 9 and not config.csrf.enabled  # flags win
    assert not config.graphql.mask_errors
    assert config.telemetry.otlp_endpoint == "http://c/v1/traces"
    assert captured["reload_interval"] == 0.0
    assert isinstance(captured["reload_source"], FileSource)


def test_config_serve_composes_the_subgraph_tables_of_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: dict[str, Any] = {}
    composed: list[str] = []

    def create(_supergraph: Any, **options: Any) -> Any:
        captured.update(options)
        return None

    async def serve_all(_apps: Any, **_options: Any) -> None:
        return None

    def compose(*, config: str) -> str:
        composed.append(config)
        return SUPERGRAPH_SDL

    monkeypatch.setattr(gateway, "create_app_or_exit", create)
    monkeypatch.setattr(gateway, "serve_all", serve_all)
    monkeypatch.setattr(gateway, "compose_or_exit", compose)
    path = tmp_path / "edgegraph.toml"
    path.write_text(
        """
[subgraphs.fast]
url = "http://127.0.0.1:4001/graphql"
timeout = 1.0
[limits]
max_depth = 6
[reload]
interval = 1.0
compose_interval = 30.0
"""
    )
    gateway.main(["serve", "--config", str(path)])
    assert composed == [str(path)]
    config: GatewayConfig = captured["config"]
    assert config.limits.max_depth == 6 and config.subgraphs.timeouts == {"fast": 1.0}
    assert captured["reload_interval"] == 30.0  # re-composing: at most every compose_interval
