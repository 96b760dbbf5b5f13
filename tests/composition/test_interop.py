"""Every fixture set composed by edgegraph and by Apollo's `@apollo/composition` (pinned).

Where Apollo composes, both supergraphs must be equivalent: the same API schema and the same
`join__` metadata once loaded and normalized (`normal_form`). Where Apollo rejects, edgegraph
rejects too, with Apollo's *first* error code as its own first; sets with an `EXPECT` file must
fail with that code.
"""

from __future__ import annotations

from typing import Any

import pytest

from federation.composition import compose
from tests.composition.support import expected_failure, interop_sets, normal_form

SETS = interop_sets()


@pytest.mark.parametrize("name", sorted(SETS))
def test_compose_matches_apollo(name: str, apollo_results: dict[str, dict[str, Any]]) -> None:
    ours = compose(SETS[name])
    apollo = apollo_results[name]
    if "errors" in apollo:
        codes = [e.code for e in ours.errors]
        assert not ours.ok, f"Apollo rejects {name} ({apollo['errors']}), edgegraph composes"
        # The same first error: what a user reads first is the same problem.
        assert codes[:1] == [apollo["errors"][0]["code"]], (apollo["errors"], ours.errors)
        return
    assert ours.ok, f"Apollo composes {name}, edgegraph fails: {ours.errors}"
    assert ours.supergraph_sdl is not None
    assert normal_form(ours.supergraph_sdl) == normal_form(apollo["supergraphSdl"])


@pytest.mark.parametrize("name", sorted(n for n in SETS if expected_failure(n)))
def test_compose_fails_with_expected_code(name: str) -> None:
    result = compose(SETS[name])
    assert expected_failure(name) in [e.code for e in result.errors], result.errors


def test_compose_corpus_covers_every_outcome(apollo_results: dict[str, dict[str, Any]]) -> None:
    failing = {n for n, r in apollo_results.items() if "errors" in r}
    codes = {r["errors"][0]["code"] for r in apollo_results.values() if "errors" in r}
    assert len(SETS) >= 120
    assert len(SETS) - len(failing) >= 25
    assert {
        "FIELD_TYPE_MISMATCH",
        "INVALID_FIELD_SHARING",
        "KEY_FIELDS_SELECT_INVALID_TYPE",
        "EXTERNAL_MISSING_ON_BASE",
        "SATISFIABILITY_ERROR",
    } <= codes
