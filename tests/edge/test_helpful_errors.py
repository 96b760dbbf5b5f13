"""Errors that help: a persisted id sent without its client header gets a hint; a subgraph's
BAD_USER_INPUT reaches the client through masking; masked errors stay in the log, capped."""

from __future__ import annotations

import io
import logging

import orjson
import pytest

from edge.http import GraphQLRequest, RequestError
from edge.logs import MAX_LOGGED_CHARS, configure_logging
from edge.persisted import PersistedQueries, load_manifests
from edge.policy import mask_errors
from gateway import DEMO_CLIENTS
from tests.gateway.demo_support import demo_gateway

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


async def test_subgraph_bad_user_input_passes_masking_with_its_message() -> None:
    async with demo_gateway(dev=False) as demo:
        response = await demo.client.post(
            "/graphql", json={"query": "{ allTitles(first: 500) { __typename } }"}
        )
    (error,) = response.json()["errors"]
    assert error["message"] == "'first' must be from 1 to 100, got 500"
    assert error["extensions"]["code"] == "BAD_USER_INPUT"


def test_masked_errors_keep_their_message_in_the_log_under_a_size_cap() -> None:
    stream = io.StringIO()
    root = logging.getLogger("edgegraph")
    saved = (root.handlers[:], root.level)
    configure_logging(stream)
    secret = "KeyError at /srv/catalog/db.py:42 " + "x" * 100_000
    try:
        body = mask_errors({"errors": [{"message": secret, "extensions": {"code": "BOOM"}}]})
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    assert body["errors"][0]["message"] != secret
    (line,) = stream.getvalue().splitlines()
    logged = orjson.loads(line)
    assert logged["logger"] == "edgegraph.errors" and logged["level"] == "warning"
    assert "KeyError at /srv/catalog/db.py:42" in logged["message"]
    assert len(line) < MAX_LOGGED_CHARS + 500
