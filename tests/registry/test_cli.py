"""The registry's commands, run as `edgegraph …` against a registry on loopback: tokens, a
publish introspected from a real strawberry subgraph, register, check, force, rollback, diff."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import strawberry
from sqlalchemy import select
from strawberry.asgi import GraphQL

from gateway import main
from registry.db import connect, tokens
from tests.edge.live import serve_on_loopback
from tests.registry.conftest import Registry


@strawberry.federation.type(keys=["id"])
class Title:
    id: strawberry.ID
    name: str


@strawberry.type
class Query:
    @strawberry.field
    def titles(self, first: int = 10) -> list[Title]:
        return [Title(id=strawberry.ID("t1"), name="Heat")][:first]


CATALOG = strawberry.federation.Schema(query=Query)


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`edgegraph ARGV` in a worker thread (it makes its own event loop and blocking calls)."""
    try:
        await asyncio.to_thread(main, list(argv))
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
        if isinstance(exit_.code, str):
            print(exit_.code, file=sys.stderr)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_registry_token_prints_a_token_and_stores_only_its_hash(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = await _run(
        capsys, "registry", "token", "--database", database, "--name", "tv-team", "--client", "tv"
    )
    token = out.strip()
    assert code == 0 and token.startswith("egr_") and len(token) > 40
    engine = connect(database)
    try:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(tokens))).all()
    finally:
        await engine.dispose()
    assert [(row.name, row.clients) for row in rows] == [("tv-team", '["tv"]')]
    assert token not in repr(rows)
    code, _out, err = await _run(
        capsys, "registry", "token", "--database", database, "--name", "bad name"
    )
    assert code == 1 and "invalid team name" in err


def test_registry_serve_with_an_unreachable_postgres_says_so_in_one_line() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import gateway; gateway.main(['registry', 'serve', '--database', "
            "'postgresql://postgres:secret@127.0.0.1:1/test', '--port', '0'])",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("edgegraph registry: cannot reach the database postgresql")
    assert "secret" not in lines[0] and "Traceback" not in done.stderr


async def test_domain_and_device_team_commands(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog_team = await registry.token("catalog-team", subgraphs=["catalog"])
    tv_team = await registry.token("tv-team", clients=["tv"])
    home = tmp_path / "home.graphql"
    home.write_text("query TvHome { titles(first: 10) { id name } }\n")
    broken = tmp_path / "catalog.graphql"
    async with (
        serve_on_loopback(GraphQL(CATALOG)) as catalog_url,
        serve_on_loopback(registry.app) as registry_url,
    ):
        team = ("--registry", registry_url, "--token", catalog_team)
        url = f"{catalog_url}/graphql"
        code, out, err = await _run(
            capsys, "subgraph", "publish", "--name", "catalog", "--url", url, *team
        )
        assert code == 0, err
        assert "published catalog version 1, supergraph version 1" in out
        # The introspected SDL, stored as version 1; the broken change drops Title.name.
        stored = (await registry.http.get("/subgraphs/catalog/versions")).json()["versions"]
        assert "name: String!" in stored[0]["sdl"] and stored[0]["url"] == url
        broken.write_text(stored[0]["sdl"].replace("name: String!", ""))
        code, out, err = await _run(
            capsys,
            "operations", "register", "--client", "tv", "--version", "4.2", str(home),
            "--registry", registry_url, "--token", tv_team,
        )  # fmt: skip
        assert code == 0, err
        assert "registered 1 new of 1 operations for client tv version 4.2: TvHome" in out
        code, out, err = await _run(
            capsys, "subgraph", "check", "--name", "catalog", "--schema", str(broken), *team
        )
        assert code == 1
        assert "client tv, operation TvHome (client version 4.2)" in err
        assert "Cannot query field 'name' on type 'Title'" in err
        code, out, err = await _run(
            capsys,
            "subgraph", "publish", "--name", "catalog", "--url", url,
            "--schema", str(broken), *team,
        )  # fmt: skip
        assert code == 1 and "publish refused (422)" in err and "TvHome" in err
        code, out, err = await _run(
            capsys,
            "subgraph", "publish", "--name", "catalog", "--url", url, "--schema", str(broken),
            "--force", "--reason", "names move to the people subgraph", *team,
        )  # fmt: skip
        assert code == 0, err
        assert "version 2, supergraph version 2 (forced past failed checks)" in out
        code, out, err = await _run(
            capsys, "registry", "diff", "--from", "1", "--to", "2", "--registry", registry_url
        )
        assert code == 0 and "-  name: String!" in out and "Title.name was removed" in out
        code, out, err = await _run(
            capsys,
            "subgraph", "publish", "--name", "catalog", "--url", url,
            "--schema", str(broken), "--base-version", "1", *team,
        )  # fmt: skip
        assert code == 1 and "publish refused (409)" in err
        assert "is at version 2, not 1: another publish landed first" in err
        code, out, err = await _run(
            capsys, "registry", "rollback", "--subgraph", "catalog", "--to", "1", *team
        )
        assert code == 0, err
        assert "rolled catalog back to version 1: now version 3, supergraph version 3" in out
        code, out, err = await _run(
            capsys, "subgraph", "publish", "--name", "ratings", "--url", url,
            "--schema", str(broken), *team,
        )  # fmt: skip
        assert code == 1 and "may not publish subgraph 'ratings'" in err
    code, out, err = await _run(
        capsys, "subgraph", "check", "--name", "catalog", "--schema", str(broken), *team
    )
    assert code == 1 and "cannot reach the registry" in err
