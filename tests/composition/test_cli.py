"""graph.toml, `edgegraph compose`, `serve --config graph.toml` and the demo composing at start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import demo
import gateway
from federation.composition.cli import format_errors, is_graph_config
from federation.composition.config import ConfigError, SubgraphConfig, load_sources, read_config
from federation.composition.errors import CompositionError
from federation.supergraph.model import load_supergraph
from tests.composition.support import SETS_DIR


def _graph_toml(tmp_path: Path, fixture: str) -> Path:
    lines = []
    for sdl in sorted((SETS_DIR / fixture).glob("*.graphql")):
        lines += [f"[subgraphs.{sdl.stem}]", f'url = "http://{sdl.stem}/graphql"']
        lines += [f'schema = "{sdl.stem}.graphql"', ""]
        (tmp_path / sdl.name).write_text(sdl.read_text())
    path = tmp_path / "graph.toml"
    path.write_text("\n".join(lines))
    return path


def test_read_config_reads_tables_in_order_with_relative_schema(tmp_path: Path) -> None:
    path = tmp_path / "graph.toml"
    path.write_text(
        '[subgraphs.b]\nurl = "http://b"\nschema = "b.graphql"\n[subgraphs.a]\nurl = "http://a"\n'
    )
    assert read_config(path) == [
        SubgraphConfig("b", "http://b", tmp_path / "b.graphql"),
        SubgraphConfig("a", "http://a", None),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no \\[subgraphs.NAME\\] tables"),
        ("[subgraphs.a]\nschema = 'a.graphql'\n", "`url` is required"),
        ("[subgraphs.a]\nurl = 'http://a'\nport = 1\n", "unknown key\\(s\\) port"),
        ("[subgraphs.a\n", "not valid TOML"),
    ],
)
def test_read_config_rejects_malformed_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "graph.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_config(path)


async def test_load_sources_introspects_service_sdl_without_schema() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content)["query"] == "{ _service { sdl } }"
        return httpx.Response(200, json={"data": {"_service": {"sdl": f"# {request.url.host}"}}})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        sources = await load_sources(
            [SubgraphConfig("a", "http://a/graphql"), SubgraphConfig("b", "http://b/graphql")],
            client=client,
        )
    assert [(s.name, s.url, s.sdl) for s in sources] == [
        ("a", "http://a/graphql", "# a"),
        ("b", "http://b/graphql", "# b"),
    ]


async def test_load_sources_reports_every_failing_subgraph(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "down":
            raise httpx.ConnectError("refused")
        return httpx.Response(200, json={"errors": [{"message": "no _service"}]})

    configs = [
        SubgraphConfig("down", "http://down/graphql"),
        SubgraphConfig("plain", "http://plain/graphql"),
        SubgraphConfig("file", "http://file", tmp_path / "missing.graphql"),
    ]
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ConfigError) as caught:
            await load_sources(configs, client=client)
    text = str(caught.value)
    assert "'down': cannot reach" in text
    assert "'plain'" in text and "is it a federation subgraph?" in text
    assert "'file': cannot read schema" in text


def test_compose_command_writes_the_supergraph(tmp_path: Path) -> None:
    out = tmp_path / "supergraph.graphql"
    gateway.main(
        ["compose", "--config", str(_graph_toml(tmp_path, "requires_provides")), "-o", str(out)]
    )
    assert sorted(load_supergraph(out.read_text()).graphs) == ["catalog", "deals", "shipping"]


def test_compose_command_fails_with_readable_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _graph_toml(tmp_path, "fail_several_errors")
    with pytest.raises(SystemExit) as caught:
        gateway.main(["compose", "--config", str(config), "-o", str(tmp_path / "out.graphql")])
    assert caught.value.code == 1
    err = capsys.readouterr().err
    assert "error[FIELD_TYPE_MISMATCH] Book.pages (subgraphs: a, b)" in err
    assert "error[INVALID_FIELD_SHARING] Book.title (subgraphs: a, b)" in err
    assert "what to do: mark the field @shareable" in err
    assert err.rstrip().endswith("composition failed with 2 errors")
    assert not (tmp_path / "out.graphql").exists()


def test_compose_command_exits_2_on_config_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        gateway.main(["compose", "--config", str(tmp_path / "nope.toml")])
    assert caught.value.code == 2
    assert "cannot read" in capsys.readouterr().err


def test_format_errors_says_what_to_do() -> None:
    text = format_errors([CompositionError("SATISFIABILITY_ERROR", "line1\nline2", ("a",), "T.f")])
    assert text.splitlines()[:4] == [
        "error[SATISFIABILITY_ERROR] T.f (subgraphs: a)",
        "  line1",
        "  line2",
        "  what to do: add a resolvable @key where the field is resolved, or resolve the field "
        "where the query reaches it",
    ]


def test_is_graph_config_tells_graph_toml_from_gateway_config(tmp_path: Path) -> None:
    graph = _graph_toml(tmp_path, "value_types")
    settings = tmp_path / "edgegraph.toml"
    settings.write_text("[subgraphs]\ntimeout = 5\n[server]\nport = 4000\n")
    assert is_graph_config(graph) and not is_graph_config(settings)
    assert is_graph_config(Path(__file__).resolve().parents[2] / "graph.toml")


def test_serve_with_graph_toml_composes_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[Any] = []

    async def fake_serve_all(apps: list[Any], **_options: Any) -> None:
        served.extend(apps)

    monkeypatch.setattr(gateway, "serve_all", fake_serve_all)
    gateway.main(["serve", "--config", str(_graph_toml(tmp_path, "value_types"))])
    assert [name for name, *_rest in served] == ["gateway"]


def test_serve_with_failing_graph_toml_exits(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        gateway.main(["serve", "--config", str(_graph_toml(tmp_path, "fail_field_type_mismatch"))])
    assert "error[FIELD_TYPE_MISMATCH]" in capsys.readouterr().err


def test_demo_supergraph_is_composed_from_the_demo_subgraphs() -> None:
    supergraph = load_supergraph(demo.demo_supergraph_sdl())
    assert {name: g.url for name, g in supergraph.graphs.items()} == {
        "catalog": "http://127.0.0.1:4001/graphql",
        "artwork": "http://127.0.0.1:4002/graphql",
        "ratings": "http://127.0.0.1:4003/graphql",
        "members": "http://127.0.0.1:4004/graphql",
    }
