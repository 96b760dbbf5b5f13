"""`edgegraph new subgraph NAME`: the scaffold lints, its own tests pass, and one command
publishes it to the registry, its SDL asked from the running subgraph."""

from __future__ import annotations

import asyncio
import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from gateway import main
from tests.edge.live import serve_on_loopback
from tests.registry.conftest import Registry

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    """`tmp_path` on sys.path for the test, and the scaffolded modules forgotten after it."""
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith("badges_subgraph")]:
            del sys.modules[name]


def _import(name: str) -> ModuleType:
    importlib.invalidate_caches()
    return importlib.import_module(name)


# The gateway's side and the scaffold do not depend on the database: SQLite is enough.
@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_new_subgraph_is_tested_linted_and_published_with_one_command(
    registry: Registry, importable: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph_toml = importable / "graph.toml"
    graph_toml.write_text('[subgraphs.catalog]\nurl = "http://127.0.0.1:4001/graphql"\n')
    main(["new", "subgraph", "badges", "--entity", "Badge", "--dir", str(importable),
          "--graph-toml", str(graph_toml), "--port", "4011"])  # fmt: skip
    out = capsys.readouterr().out
    assert "edgegraph subgraph publish --name badges --url http://127.0.0.1:4011/graphql" in out
    assert graph_toml.read_text().endswith(
        '[subgraphs.badges]\nurl = "http://127.0.0.1:4011/graphql"\n'
    )
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(PYPROJECT), "badges_subgraph"],
        cwd=importable,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout
    # The scaffold's own tests, as its team would run them.
    tests = _import("badges_subgraph.test_schema")
    tests.test_sdl_declares_the_entity_key()
    await asyncio.to_thread(tests.test_entities_load_in_one_batch)
    schema = _import("badges_subgraph.schema")
    token = await registry.token("badges-team", subgraphs=["badges"])
    async with (
        serve_on_loopback(schema.create_app()) as badges_url,
        serve_on_loopback(registry.app) as registry_url,
    ):
        argv = ["subgraph", "publish", "--name", "badges", "--url", f"{badges_url}/graphql",
                "--registry", registry_url, "--token", token]  # fmt: skip
        await asyncio.to_thread(main, argv)
    assert "published badges version 1, supergraph version 1" in capsys.readouterr().out
    api = (await registry.http.get("/api-schema")).text
    assert "badge(id: ID!): Badge" in api and "type Badge" in api


def test_new_subgraph_refuses_bad_names_and_existing_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for argv, message in (
        (["new", "subgraph", "Bad-Name"], "invalid subgraph name 'Bad-Name'"),
        (["new", "subgraph", "ok", "--entity", "lower"], "invalid entity name 'lower'"),
    ):
        with pytest.raises(SystemExit, match=message):
            main([*argv, "--dir", str(tmp_path), "--graph-toml", str(tmp_path / "g.toml")])
    main(["new", "subgraph", "ok", "--dir", str(tmp_path), "--graph-toml", str(tmp_path / "g")])
    with pytest.raises(SystemExit, match="exists already"):
        main(["new", "subgraph", "ok", "--dir", str(tmp_path), "--graph-toml", ""])
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(SystemExit, match=r"lists \[subgraphs.ok\] already"):
        main(["new", "subgraph", "ok", "--dir", str(other), "--graph-toml", str(tmp_path / "g")])
    assert not (other / "ok_subgraph").exists()
