"""Planner tests for variable conditions, `__typename`-only selections and alias clashes.

Expected plans were checked against Apollo's and PLANNER.md; see ``test_planner_features.py``.
"""

from __future__ import annotations

from tests.federation.test_planner_features import plan_case, plan_query


def test_planner_include_variable_wraps_entity_fetch_in_condition() -> None:
    plan = plan_query(
        "entity_join",
        """
        query Stock($r: Boolean!) {
          topProducts {
            name
            inStock @include(if: $r)
          }
        }
        """,
    )
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          name
          __typename
          sku @include(if: $r)
        }
      }
    },
    Condition(if: $r) {
      Then {
        Flatten(path: "topProducts.@") {
          Fetch(service: "inventory") {
            {
              ... on Product {
                __typename
                sku
              }
            } =>
            {
              ... on Product {
                inStock @include(if: $r)
              }
            }
          },
        },
      }
    },
  },
}"""
    assert plan == expected


def test_planner_skip_variable_puts_entity_fetch_in_else() -> None:
    plan = plan_query(
        "entity_join",
        """
        query Reviews($s: Boolean!) {
          topProducts {
            name
            reviews @skip(if: $s) {
              body
            }
          }
        }
        """,
    )
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          name
          __typename
          upc @skip(if: $s)
        }
      }
    },
    Condition(if: $s) {
      Else {
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
                reviews @skip(if: $s) {
                  body
                }
              }
            }
          },
        },
      }
    },
  },
}"""
    assert plan == expected


def test_planner_include_off_fetches_no_requires_inputs() -> None:
    # Trap 16: price and weight only feed shippingEstimate.
    plan = plan_query(
        "requires",
        """
        query Estimate($x: Boolean = false) {
          products {
            name
            shippingEstimate @include(if: $x)
          }
        }
        """,
    )
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        products {
          name
          __typename
          upc @include(if: $x)
          price @include(if: $x)
          weight @include(if: $x)
        }
      }
    },
    Condition(if: $x) {
      Then {
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
                shippingEstimate @include(if: $x)
              }
            }
          },
        },
      }
    },
  },
}"""
    assert plan == expected


def test_planner_only_typename_is_an_empty_plan() -> None:
    plan = plan_query(
        "simple",
        """
        query OnlyTypename {
          __typename
        }
        """,
    )
    expected = """QueryPlan {
}"""
    assert plan == expected


def test_planner_only_aliased_typename_is_an_empty_plan() -> None:
    plan = plan_query(
        "entity_join",
        """
        query Kind {
          kind: __typename
        }
        """,
    )
    expected = """QueryPlan {
}"""
    assert plan == expected


def test_planner_aliased_typename_on_union_needs_no_extra_fetch() -> None:
    expected = """QueryPlan {
  Fetch(service: "library") {
    {
      search(term: "le") {
        __typename
        ... on Author {
          name
        }
        ... on Book {
          title
        }
      }
    }
  },
}"""
    assert plan_case("simple", "UnionSearch") == expected


def test_planner_aliased_typenames_on_union_reuse_one_typename() -> None:
    plan = plan_query(
        "abstract",
        """
        query Kinds($term: String!) {
          search(term: $term) {
            kind: __typename
            t: __typename
            ... on Book {
              title
            }
          }
        }
        """,
    )
    expected = """QueryPlan {
  Fetch(service: "catalog") {
    {
      search(term: $term) {
        __typename
        ... on Book {
          title
        }
      }
    }
  },
}"""
    assert plan == expected


def test_planner_aliased_typename_on_interface_needs_no_extra_fetch() -> None:
    plan = plan_query(
        "abstract",
        """
        query Playlist {
          playlist {
            kind: __typename
            ... on Song {
              artist
            }
          }
        }
        """,
    )
    expected = """QueryPlan {
  Fetch(service: "music") {
    {
      playlist {
        __typename
        ... on Song {
          artist
        }
      }
    }
  },
}"""
    assert plan == expected


def test_planner_client_alias_on_key_name_gets_internal_alias() -> None:
    plan = plan_query(
        "entity_join",
        """
        query Upc {
          topProducts {
            upc: name
            reviews {
              body
            }
          }
        }
        """,
    )
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          upc: name
          __typename
          _eg_upc: upc
        }
      }
    },
    Flatten(path: "topProducts.@") {
      Fetch(service: "reviews") {
        {
          ... on Product {
            __typename
            _eg_upc: upc
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
    assert plan == expected


def test_planner_client_alias_on_second_key_gets_internal_alias() -> None:
    plan = plan_query(
        "entity_join",
        """
        query Sku {
          topProducts {
            sku: name
            inStock
          }
        }
        """,
    )
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          sku: name
          __typename
          _eg_sku: sku
        }
      }
    },
    Flatten(path: "topProducts.@") {
      Fetch(service: "inventory") {
        {
          ... on Product {
            __typename
            _eg_sku: sku
          }
        } =>
        {
          ... on Product {
            inStock
          }
        }
      },
    },
  },
}"""
    assert plan == expected


def test_planner_field_whose_subfields_are_all_skipped_asks_for_typename() -> None:
    # `topProducts` with no selection set would fail the subgraph's validation.
    plan = plan_query("entity_join", "{ topProducts { name @skip(if: true) } }")
    expected = """QueryPlan {
  Fetch(service: "products") {
    {
      topProducts {
        __typename
      }
    }
  },
}"""
    assert plan == expected


def test_planner_repeated_condition_from_nested_fragments_goes_on_a_bare_fragment() -> None:
    # Both conditions reach `name`; one field may carry `@skip` only once.
    plan = plan_query(
        "entity_join",
        """
        query ($a: Boolean!, $b: Boolean!) {
          topProducts { ... @skip(if: $a) { ... @skip(if: $b) { name } } }
        }
        """,
    )
    expected = """QueryPlan {
  Fetch(service: "products") {
    {
      topProducts {
        ... @skip(if: $b) {
          name @skip(if: $a)
        }
      }
    }
  },
}"""
    assert plan == expected
