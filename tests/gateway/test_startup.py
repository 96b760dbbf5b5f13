"""Start-up errors are one clear line and a non-zero exit, never a traceback; the URL is printed
only once its port is bound. And the everyday CLI: `--version`, defaults in `--help`."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import gateway
from tests.resilience.support import SUPERGRAPH_SDL

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def busy_port() -> Iterator[int]:
    """A loopback port another process is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def edgegraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import sys, gateway; gateway.main(sys.argv[1:])", *args],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )  # fmt: skip


def exit_message(*args: str) -> str:
    """The message `edgegraph args` exits with (in-process), asserting it is one line."""
    with pytest.raises(SystemExit) as raised:
        gateway.main(list(args))
    message = str(raised.value.code)
    assert raised.value.code not in (0, None) and "\n" not in message, message
    return message


def test_serve_on_a_busy_port_is_one_line_and_no_url(tmp_path: Path) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH_SDL)
    with busy_port() as port:
        done = edgegraph("serve", "--supergraph", str(supergraph), "--port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"edgegraph: cannot listen on 127.0.0.1:{port}: Address already in use"
    )
    assert "http://" not in done.stdout and "Traceback" not in done.stderr


def test_demo_on_a_busy_port_prints_no_url() -> None:
    # The first port the demo binds (its first backend's), so no other busy port comes first.
    with busy_port() as port:
        done = edgegraph("demo", "--backend-port", str(port))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"edgegraph: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert "http://" not in done.stdout


def test_serve_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        gateway.main(["serve", "--port", "70000"])
    assert raised.value.code == 2
    assert "argument --port: 70000 is not a port (0 to 65535)" in capsys.readouterr().err


def test_bad_config_is_one_line_with_did_you_mean(tmp_path: Path) -> None:
    config = tmp_path / "edgegraph.toml"
    config.write_text("[limits]\nmax_dept = 3\n")
    message = exit_message("serve", "--config", str(config))
    assert message == (
        "edgegraph: unknown config key(s): limits.max_dept (did you mean limits.max_depth?)"
    )
    config.write_text("[server]\nport = 70000\n")
    assert "server.port must be a port" in exit_message("serve", "--config", str(config))
    config.write_text("[server\n")
    assert exit_message("serve", "--config", str(config)).startswith("edgegraph: cannot read")


def test_supergraph_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text("schema { query: Query }\n\ntype Query {\n  a: Int\n  b:\n}\n")
    message = exit_message("serve", "--supergraph", str(supergraph))
    assert message == f"edgegraph: {supergraph}:6:1: Syntax Error: Expected Name, found '}}'."


def test_version_and_defaults_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        gateway.main(["--version"])
    assert raised.value.code == 0
    assert capsys.readouterr().out.strip() == "edgegraph 0.1.0"
    with pytest.raises(SystemExit):
        gateway.main(["demo", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "gateway port (default: 4000)" in help_text
    assert "first backend port (default: 4101)" in help_text
    with pytest.raises(SystemExit):
        gateway.main(["serve", "--help"])
    assert "(default: None)" not in capsys.readouterr().out


def test_graphiql_without_introspection_warns_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(SUPERGRAPH_SDL)
    announced: list[bool] = []

    async def serve_all(_apps: object, *, announce: Callable[[], None]) -> None:
        announce()
        announced.append(True)

    monkeypatch.setattr(gateway, "serve_all", serve_all)
    with caplog.at_level(logging.WARNING, logger="edgegraph"):
        gateway.main(["serve", "--supergraph", str(supergraph), "--graphiql"])
        assert "introspection is off" in caplog.text
        caplog.clear()
        gateway.main(["serve", "--supergraph", str(supergraph), "--dev"])
    assert "introspection is off" not in caplog.text and announced == [True, True]


def test_compose_names_a_schema_file_syntax_error_by_file_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    schema = tmp_path / "catalog.graphql"
    schema.write_text("type Query {\n  a: Int\n  b:\n}\n")
    config = tmp_path / "graph.toml"
    config.write_text(
        '[subgraphs.catalog]\nurl = "http://catalog/graphql"\nschema = "catalog.graphql"\n'
    )
    with pytest.raises(SystemExit) as raised:
        gateway.main(["compose", "--config", str(config), "-o", str(tmp_path / "out.graphql")])
    said = f"{raised.value.code}\n{capsys.readouterr().err}"
    assert raised.value.code != 0
    assert f"subgraph 'catalog': {schema}:4:1: Syntax Error: Expected Name, found '}}'." in said
