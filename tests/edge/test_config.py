"""The TOML config: defaults for everything, strict keys, dev mode, command-line overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

import gateway
from edge.config import (
    DEFAULT_PROPAGATED_HEADERS,
    ConfigError,
    GatewayConfig,
    load_config,
    parse_config,
    with_overrides,
)
from tests.edge.live import DEMO_SUPERGRAPH


def test_config_defaults_are_production_safe() -> None:
    config = load_config(None)
    assert config == GatewayConfig() == parse_config({})
    assert not config.dev
    assert not config.graphql.introspection and not config.graphql.graphiql
    assert not config.graphql.include_plan and config.graphql.mask_errors
    assert not config.persisted.safelist and config.persisted.apq
    assert config.headers.propagate == DEFAULT_PROPAGATED_HEADERS


def test_config_reads_every_section(tmp_path: Path) -> None:
    path = tmp_path / "edgegraph.toml"
    path.write_text(
        """
[server]
port = 8080
supergraph = "supergraph.graphql"
[subgraphs]
timeout = 2
[subgraphs.catalog]
url = "http://catalog:4001/graphql"
[graphql]
introspection = true
plan_cache_size = 50
[persisted]
clients_dir = "clients"
safelist = true
apq_cache_size = 10
[headers]
propagate = ["Authorization"]
[headers.subgraphs.members]
propagate = ["authorization", "x-member-id"]
set = { "X-Gateway" = "edgegraph" }
"""
    )
    config = load_config(path)
    assert config.server.port == 8080
    assert config.server.supergraph == str(tmp_path / "supergraph.graphql")
    assert config.subgraphs.timeout == 2.0
    assert config.subgraphs.urls["catalog"] == "http://catalog:4001/graphql"
    assert config.graphql.introspection and config.graphql.plan_cache_size == 50
    assert config.persisted.clients_dir == str(tmp_path / "clients")
    assert config.persisted.safelist and config.persisted.apq_cache_size == 10
    assert config.headers.propagate == ("authorization",)
    members = config.headers.subgraphs["members"]
    assert members.propagate == ("authorization", "x-member-id")
    assert dict(members.set) == {"x-gateway": "edgegraph"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[graphql]\nintrospektion = true", "graphql.introspektion"),
        ("[server]\nport = true", "server.port must be int"),
        ("[server]\nport = 0", "server.port must be positive"),
        ("[headers]\npropagate = 'authorization'", "list of header names"),
        ("colour = 'blue'", "colour"),
        ("[server", "cannot read config"),
    ],
)
def test_config_rejects_unknown_keys_and_wrong_types(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "edgegraph.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_config_dev_mode_turns_on_what_developers_need() -> None:
    config = parse_config({"dev": True})
    assert config.dev
    assert config.graphql.introspection and config.graphql.graphiql
    assert config.graphql.include_plan and not config.graphql.mask_errors


def test_config_command_line_overrides_after_dev() -> None:
    config = with_overrides(GatewayConfig(), dev=True, introspection=False, port=5000)
    assert config.graphql.graphiql and not config.graphql.introspection
    assert config.server.port == 5000
    untouched = with_overrides(GatewayConfig())
    assert untouched == GatewayConfig()


def test_config_serve_without_supergraph_exits_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "edgegraph.toml"
    path.write_text("[graphql]\nintrospection = true\n")
    with pytest.raises(SystemExit, match="no supergraph"):
        gateway.main(["serve", "--config", str(path)])
    path.write_text("[graphql]\nnope = 1\n")
    with pytest.raises(SystemExit, match=r"graphql\.nope"):
        gateway.main(["serve", "--config", str(path), "--supergraph", "x.graphql"])


def test_config_serve_refuses_to_start_with_invalid_registered_operations(tmp_path: Path) -> None:
    (tmp_path / "tv").mkdir()
    (tmp_path / "tv" / "old.graphql").write_text("query TvOld { genres { legacyPoster } }")
    with pytest.raises(SystemExit, match=r"client 'tv' operation [0-9a-f]{64} \(TvOld"):
        gateway.main(
            ["serve", "--supergraph", str(DEMO_SUPERGRAPH), "--clients-dir", str(tmp_path)]
        )


def test_config_manifest_command_prints_a_client_manifest(
    capsys: pytest.CaptureFixture[str],
) -> None:
    gateway.main(["manifest", "tv"])
    out = capsys.readouterr().out
    assert '"format": "apollo-persisted-query-manifest"' in out
    assert '"name": "TvHome"' in out
