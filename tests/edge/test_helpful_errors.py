"""Errors that tell a device team what to do: a persisted id sent without its client header."""

from __future__ import annotations

import pytest

from edge.http import GraphQLRequest, RequestError
from edge.persisted import PersistedQueries, load_manifests
from gateway import DEMO_CLIENTS

MANIFESTS = load_manifests(DEMO_CLIENTS)
(TV_HOME,) = MANIFESTS["tv"].operations


def _not_found(headers: dict[str, str], document_id: str = TV_HOME) -> dict[str, object]:
    persisted = PersistedQueries(MANIFESTS)
    with pytest.raises(RequestError) as raised:
        persisted.resolve(GraphQLRequest("POST", None, document_id=document_id), headers)
    (error,) = raised.value.body["errors"]
    # Apollo clients match this message and code exactly: the hint goes beside them.
    assert error["message"] == "PersistedQueryNotFound"
    extensions: dict[str, object] = error["extensions"]
    assert extensions["code"] == "PERSISTED_QUERY_NOT_FOUND"
    return extensions


def test_persisted_id_without_client_header_hints_at_the_header() -> None:
    hint = _not_found({})["hint"]
    assert hint == (
        "This id is registered for client 'tv': send the apollographql-client-name header "
        "naming it"
    )


def test_persisted_id_of_another_client_names_its_owner() -> None:
    hint = _not_found({"apollographql-client-name": "web"})["hint"]
    expected = "This id is registered for client 'tv', not for 'web' (apollographql-client-name)"
    assert hint == expected


def test_unknown_id_without_client_header_still_hints_at_the_header() -> None:
    extensions = _not_found({}, document_id="0" * 64)
    assert "apollographql-client-name" in str(extensions["hint"])
    assert "hint" not in _not_found({"apollographql-client-name": "tv"}, document_id="0" * 64)


def test_persisted_id_with_its_client_header_resolves() -> None:
    persisted = PersistedQueries(MANIFESTS)
    request = GraphQLRequest("POST", None, document_id=f"sha256:{TV_HOME}")
    resolved = persisted.resolve(request, {"apollographql-client-name": "tv"})
    assert resolved.query == MANIFESTS["tv"].operations[TV_HOME].body
