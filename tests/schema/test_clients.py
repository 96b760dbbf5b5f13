"""The device operations in `clients/` are real, named operations that validate against the
graph the four subgraphs make together, and each field they use has an owning subgraph."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse, validate

from tests.schema.api_schema import build_api_schema, field_owners, fields_used
from tests.schema.harness import SUBGRAPHS

CLIENTS = Path(__file__).resolve().parents[2] / "clients"
DOCUMENTS = sorted(CLIENTS.rglob("*.graphql"))
SDLS = {name: module.schema.as_str() for name, module in SUBGRAPHS.items()}
API_SCHEMA = build_api_schema(SDLS.values())


def test_clients_ship_the_three_device_screens() -> None:
    names = {path.relative_to(CLIENTS).as_posix() for path in DOCUMENTS}
    assert {"tv/home.graphql", "mobile/home.graphql", "web/title.graphql"} <= names


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.relative_to(CLIENTS).as_posix())
def test_clients_document_validates_against_the_subgraphs(path: Path) -> None:
    document = parse(path.read_text())
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    assert operations and all(op.name is not None for op in operations)
    assert validate(API_SCHEMA, document) == []
    owners = field_owners(SDLS)
    unowned = sorted(field for field in fields_used(API_SCHEMA, document) if field not in owners)
    assert unowned == []


@pytest.mark.parametrize(
    ("document", "subgraphs"),
    [
        ("tv/home.graphql", {"catalog", "artwork", "ratings", "members"}),
        ("mobile/home.graphql", {"catalog", "artwork", "ratings", "members"}),
        ("web/title.graphql", {"catalog", "artwork", "ratings", "members"}),
    ],
)
def test_clients_document_crosses_subgraphs(document: str, subgraphs: set[str]) -> None:
    owners = field_owners(SDLS)
    used = fields_used(API_SCHEMA, parse((CLIENTS / document).read_text()))
    assert set().union(*(owners[field] for field in used)) == subgraphs


def test_clients_tv_home_uses_billboards_and_mobile_box_art() -> None:
    tv = (CLIENTS / "tv/home.graphql").read_text()
    mobile = (CLIENTS / "mobile/home.graphql").read_text()
    assert "artwork(format: BILLBOARD, width: 1920)" in tv
    assert "artwork(format: BOXART, width: 342)" in mobile


def test_clients_validation_rejects_fields_no_subgraph_defines() -> None:
    document = parse('query Broken { title(id: "t1") { name genreIds posterUrl } }')
    messages = [error.message for error in validate(API_SCHEMA, document)]
    # genreIds is @inaccessible in catalog; posterUrl exists nowhere.
    assert len(messages) == 2
    assert all("Cannot query field" in message for message in messages)
