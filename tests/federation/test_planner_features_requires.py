"""Planner tests for the @requires fixtures.

Expected plans were checked against Apollo's and PLANNER.md; see ``test_planner_features.py``.
"""

from __future__ import annotations

from tests.federation.test_planner_features import plan_case


def test_planner_requires_basic_sends_required_fields() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        products {
          upc
          __typename
          price
          weight
        }
      }
    },
    Flatten(path: "products.@") {
      Fetch(service: "shipping") {
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
            shippingEstimate
          }
        }
      },
    },
  },
}"""
    assert plan_case("requires", "BasicRequires") == expected


def test_planner_requires_same_subgraph_round_trip() -> None:
    # Trap 3: shipping is entered again through `_entities` with price and weight.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "shipping") {
      {
        shippable {
          upc
          __typename
        }
      }
    },
    Flatten(path: "shippable.@") {
      Fetch(service: "products") {
        {
          ... on Product {
            __typename
            upc
          }
        } =>
        {
          ... on Product {
            price
            weight
          }
        }
      },
    },
    Flatten(path: "shippable.@") {
      Fetch(service: "shipping") {
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
            shippingEstimate
          }
        }
      },
    },
  },
}"""
    assert plan_case("requires", "SameSubgraphRoundTrip") == expected


def test_planner_requires_of_requires_chains_steps() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        products {
          name
          __typename
          upc
          price
          weight
        }
      }
    },
    Flatten(path: "products.@") {
      Fetch(service: "shipping") {
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
            shippingEstimate
          }
        }
      },
    },
    Flatten(path: "products.@") {
      Fetch(service: "delivery") {
        {
          ... on Product {
            __typename
            upc
            shippingEstimate
          }
        } =>
        {
          ... on Product {
            deliveryNote
          }
        }
      },
    },
  },
}"""
    assert plan_case("requires", "RequiresOfRequires") == expected


def test_planner_requires_circular_returns_to_products() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        products {
          name
          __typename
          upc
          price
          weight
        }
      }
    },
    Flatten(path: "products.@") {
      Fetch(service: "shipping") {
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
            shippingEstimate
          }
        }
      },
    },
    Flatten(path: "products.@") {
      Fetch(service: "products") {
        {
          ... on Product {
            __typename
            upc
            shippingEstimate
          }
        } =>
        {
          ... on Product {
            total
          }
        }
      },
    },
  },
}"""
    assert plan_case("requires", "CircularRequires") == expected


def test_planner_requires_argument_collision_uses_internal_alias() -> None:
    # Trap 4 (Apollo sends the user's USD value): the EUR copy gets an internal alias.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        products {
          upc
          cost(currency: "USD")
          __typename
          _eg_cost_1fce7f28: cost(currency: "EUR")
        }
      }
    },
    Flatten(path: "products.@") {
      Fetch(service: "shipping") {
        {
          ... on Product {
            __typename
            upc
            _eg_cost_1fce7f28: cost
          }
        } =>
        {
          ... on Product {
            insurance
          }
        }
      },
    },
  },
}"""
    assert plan_case("requires", "RequiresArgumentCollision") == expected


def test_planner_requires_all_from_shipping_uses_post_requires_steps() -> None:
    # Trap 3 (Apollo asks shipping for its @external fields in the root fetch).
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "shipping") {
      {
        shippable {
          upc
          __typename
        }
      }
    },
    Flatten(path: "shippable.@") {
      Fetch(service: "products") {
        {
          ... on Product {
            __typename
            upc
          }
        } =>
        {
          ... on Product {
            _eg_cost_1fce7f28: cost(currency: "EUR")
            price
            weight
          }
        }
      },
    },
    Flatten(path: "shippable.@") {
      Fetch(service: "shipping") {
        {
          ... on Product {
            __typename
            upc
            price
            weight
            _eg_cost_1fce7f28: cost
          }
        } =>
        {
          ... on Product {
            insurance
            shippingEstimate
          }
        }
      },
    },
    Parallel {
      Flatten(path: "shippable.@") {
        Fetch(service: "delivery") {
          {
            ... on Product {
              __typename
              upc
              shippingEstimate
            }
          } =>
          {
            ... on Product {
              deliveryNote
            }
          }
        },
      },
      Flatten(path: "shippable.@") {
        Fetch(service: "products") {
          {
            ... on Product {
              __typename
              upc
              shippingEstimate
            }
          } =>
          {
            ... on Product {
              total
            }
          }
        },
      },
    },
  },
}"""
    assert plan_case("requires", "AllFromShipping") == expected
