from __future__ import annotations

from pathlib import Path

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from federation.errors import PlanningError
from federation.planning.planner import QueryPlanner
from federation.supergraph.model import Supergraph, load_supergraph
from tests.federation.fetch_validation import assert_fetches_valid

FIXTURES = Path(__file__).parent.parent / "fixtures"


def _supergraph(name: str) -> Supergraph:
    return load_supergraph((FIXTURES / "supergraphs" / f"{name}.graphql").read_text())


def _plan(supergraph: Supergraph, query: str) -> str:
    document = parse(query)
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    plan = QueryPlanner(supergraph).plan(operations[0], fragments)
    assert_fetches_valid(supergraph, plan)
    return str(plan)


@pytest.fixture(scope="module")
def bench() -> Supergraph:
    # The benchmark's own supergraph (The Guild's shape), where the benchmark keeps it.
    path = FIXTURES.parents[1] / "bench" / "guild" / "supergraph.graphql"
    return load_supergraph(path.read_text())


def test_planner_single_subgraph_is_one_fetch(bench: Supergraph) -> None:
    plan = _plan(bench, "{ me { id handle: name ... on User { birthday } } }")
    assert (
        plan
        == """QueryPlan {
  Fetch(service: "accounts") {
    {
      me {
        id
        handle: name
        birthday
      }
    }
  },
}"""
    )


def test_planner_entity_join_flattens_over_lists(bench: Supergraph) -> None:
    plan = _plan(bench, "{ topProducts { name reviews { body } } }")
    assert (
        plan
        == """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          name
          __typename
          upc
        }
      }
    },
    Flatten(path: "topProducts.@") {
      Fetch(service: "reviews") {
        {
          ... on Product {
            __typename
            upc
          }
        } =>
        {
          ... on Product {
            reviews {
              body
            }
          }
        }
      },
    },
  },
}"""
    )


def test_planner_requires_shares_fetch_with_plain_field(bench: Supergraph) -> None:
    plan = _plan(bench, "{ topProducts { inStock shippingEstimate } }")
    assert (
        plan
        == """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          __typename
          upc
          price
          weight
        }
      }
    },
    Flatten(path: "topProducts.@") {
      Fetch(service: "inventory") {
        {
          ... on Product {
            __typename
            upc
            price
            weight
          }
        } =>
        {
          ... on Product {
            inStock
            shippingEstimate
          }
        }
      },
    },
  },
}"""
    )


def test_planner_provides_avoids_owner_fetch(bench: Supergraph) -> None:
    plan = _plan(bench, "{ me { reviews { author { username } } } }")
    assert '"accounts"' in plan.split("Flatten")[0]
    assert plan.count("Fetch(") == 2  # accounts root, reviews entity; username is provided


def test_planner_internal_key_dodges_client_alias(bench: Supergraph) -> None:
    plan = _plan(bench, "{ topProducts { upc: name reviews { body } } }")
    assert "upc: name" in plan
    assert "_eg_upc: upc" in plan


def test_planner_condition_wraps_dependent_fetch(bench: Supergraph) -> None:
    plan = _plan(
        bench, "query($r: Boolean!) { topProducts { name reviews @include(if: $r) { body } } }"
    )
    assert "Condition(if: $r) {" in plan
    assert "Then {" in plan


def test_planner_unknown_field_path_is_a_planning_error(bench: Supergraph) -> None:
    with pytest.raises(PlanningError):
        _plan(bench, "{ nope }")
