"""Planner tests for the multiple_keys and @override fixtures.

Expected plans were checked against Apollo's and PLANNER.md; see ``test_planner_features.py``.
"""

from __future__ import annotations

from tests.federation.test_planner_features import plan_case, plan_query


def test_planner_multiple_keys_enters_only_through_resolvable_keys() -> None:
    # legacy's `id` key is not resolvable, billing only accepts `email`.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "legacy") {
      {
        orders {
          id
          total
          buyer {
            id
            __typename
          }
        }
      }
    },
    Flatten(path: "orders.@.buyer") {
      Fetch(service: "identity") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            email
          }
        }
      },
    },
    Flatten(path: "orders.@.buyer") {
      Fetch(service: "billing") {
        {
          ... on User {
            __typename
            email
          }
        } =>
        {
          ... on User {
            plan
          }
        }
      },
    },
  },
}"""
    assert plan_case("multiple_keys", "OrderBuyerPlan") == expected


def test_planner_multiple_keys_fan_out_in_parallel() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "identity") {
      {
        users {
          id
          name
          __typename
          email
        }
      }
    },
    Parallel {
      Flatten(path: "users.@") {
        Fetch(service: "billing") {
          {
            ... on User {
              __typename
              email
            }
          } =>
          {
            ... on User {
              plan
            }
          }
        },
      },
      Flatten(path: "users.@") {
        Fetch(service: "sessions") {
          {
            ... on User {
              __typename
              id
              email
            }
          } =>
          {
            ... on User {
              lastSeen
            }
          }
        },
      },
    },
  },
}"""
    assert plan_case("multiple_keys", "UsersEverywhere") == expected


def test_planner_multiple_keys_no_useless_hop_before_requires() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "legacy") {
      {
        orders {
          id
          buyer {
            __typename
            id
          }
        }
      }
    },
    Flatten(path: "orders.@.buyer") {
      Fetch(service: "identity") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            email
          }
        }
      },
    },
    Flatten(path: "orders.@.buyer") {
      Fetch(service: "sessions") {
        {
          ... on User {
            __typename
            id
            email
          }
        } =>
        {
          ... on User {
            lastSeen
          }
        }
      },
    },
  },
}"""
    assert plan_case("multiple_keys", "OrderBuyerLastSeen") == expected


def test_planner_multiple_keys_independent_hops_run_in_parallel() -> None:
    plan = plan_query(
        "multiple_keys",
        """
        query PlanAndLastSeen {
          orders {
            buyer {
              plan
              lastSeen
            }
          }
        }
        """,
    )
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "legacy") {
      {
        orders {
          buyer {
            __typename
            id
          }
        }
      }
    },
    Flatten(path: "orders.@.buyer") {
      Fetch(service: "identity") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            email
          }
        }
      },
    },
    Parallel {
      Flatten(path: "orders.@.buyer") {
        Fetch(service: "billing") {
          {
            ... on User {
              __typename
              email
            }
          } =>
          {
            ... on User {
              plan
            }
          }
        },
      },
      Flatten(path: "orders.@.buyer") {
        Fetch(service: "sessions") {
          {
            ... on User {
              __typename
              id
              email
            }
          } =>
          {
            ... on User {
              lastSeen
            }
          }
        },
      },
    },
  },
}"""
    assert plan == expected


def test_planner_override_routes_to_new_owner() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "legacy") {
      {
        products {
          id
          name
          __typename
        }
      }
    },
    Flatten(path: "products.@") {
      Fetch(service: "modern") {
        {
          ... on Product {
            __typename
            id
          }
        } =>
        {
          ... on Product {
            price
          }
        }
      },
    },
  },
}"""
    assert plan_case("override", "OverriddenPrice") == expected


def test_planner_override_requires_reads_new_owner() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "legacy") {
      {
        products {
          name
          __typename
          id
        }
      }
    },
    Flatten(path: "products.@") {
      Fetch(service: "modern") {
        {
          ... on Product {
            __typename
            id
          }
        } =>
        {
          ... on Product {
            price
          }
        }
      },
    },
    Flatten(path: "products.@") {
      Fetch(service: "shipping") {
        {
          ... on Product {
            __typename
            id
            price
          }
        } =>
        {
          ... on Product {
            quote
          }
        }
      },
    },
  },
}"""
    assert plan_case("override", "RequiresOverriddenField") == expected


def test_planner_override_from_unknown_subgraph_is_ignored() -> None:
    expected = """QueryPlan {
  Fetch(service: "modern") {
    {
      bargains {
        id
        stock
        price
      }
    }
  },
}"""
    assert plan_case("override", "OverrideFromUnknownSubgraph") == expected


def test_planner_override_parallel_after_new_owner() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "modern") {
      {
        bargains {
          price
          stock
          __typename
          id
        }
      }
    },
    Parallel {
      Flatten(path: "bargains.@") {
        Fetch(service: "legacy") {
          {
            ... on Product {
              __typename
              id
            }
          } =>
          {
            ... on Product {
              name
            }
          }
        },
      },
      Flatten(path: "bargains.@") {
        Fetch(service: "shipping") {
          {
            ... on Product {
              __typename
              id
              price
            }
          } =>
          {
            ... on Product {
              quote
            }
          }
        },
      },
    },
  },
}"""
    assert plan_case("override", "BargainNames") == expected
