"""One Apollo composition run for every set the composition tests compare against."""

from __future__ import annotations

from typing import Any

import pytest

from tests.composition.support import apollo_compose_many, interop_sets


@pytest.fixture(scope="session")
def apollo_results() -> dict[str, dict[str, Any]]:
    """Apollo's result for every interop set, composed in one node process."""
    return apollo_compose_many(interop_sets())
