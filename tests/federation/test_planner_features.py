"""Planner tests per federation feature: fixture supergraph + operation -> expected plan text.

Each expected plan was checked against Apollo's (``tests/peers_support.py: apollo_query_plan``) and
PLANNER.md's rules. Field order inside a selection and the order of Parallel branches follow
edgegraph. Where edgegraph's plan is worse than the correct one, the test states the correct plan
and is marked ``xfail(strict=True)`` with what is wrong.

This file covers simple, entity_join, shareable and provides, and holds the helpers that
``test_planner_features_*.py`` share.
"""

from __future__ import annotations

from functools import cache

from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from federation.planning.planner import QueryPlanner
from federation.supergraph.model import Supergraph, load_supergraph
from tests.federation.fetch_validation import assert_fetches_valid
from tests.fixtures.federation.cases import load_cases, supergraph_sdl


@cache
def _supergraph(feature: str) -> Supergraph:
    return load_supergraph(supergraph_sdl(feature))


@cache
def _case_documents(feature: str) -> dict[str, str]:
    return {case.operation_name: case.document for case in load_cases(feature)}


def plan_query(feature: str, document: str) -> str:
    """The text of edgegraph's plan for the first operation of `document` on `feature`."""
    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    fragments = {
        d.name.value: d for d in parsed.definitions if isinstance(d, FragmentDefinitionNode)
    }
    supergraph = _supergraph(feature)
    plan = QueryPlanner(supergraph).plan(operation, fragments)
    assert_fetches_valid(supergraph, plan)
    return str(plan)


def plan_case(feature: str, operation_name: str) -> str:
    """The text of edgegraph's plan for a named operation of the fixture `feature`."""
    return plan_query(feature, _case_documents(feature)[operation_name])


def test_planner_simple_aliases_and_arguments_are_one_fetch() -> None:
    expected = """QueryPlan {
  Fetch(service: "library") {
    {
      first: book(id: "b1") {
        id
        name: title
      }
      second: book(id: "b2") {
        id
        name: title
        published: year
      }
      missing: book(id: "nope") {
        id
      }
    }
  },
}"""
    assert plan_case("simple", "Aliases") == expected


def test_planner_simple_interface_fragments_stay_in_one_fetch() -> None:
    # The root `__typename` is answered by the gateway, never sent.
    expected = """QueryPlan {
  Fetch(service: "library") {
    {
      node(id: $id) {
        __typename
        id
        ... on Author {
          name
          books {
            title
          }
        }
        ... on Book {
          title
        }
      }
    }
  },
}"""
    assert plan_case("simple", "InlineFragmentsAndTypename") == expected


def test_planner_entity_join_chains_through_three_subgraphs() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "products") {
      {
        topProducts {
          upc
          name
          __typename
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
              author {
                __typename
                id
              }
            }
          }
        }
      },
    },
    Flatten(path: "topProducts.@.reviews.@.author") {
      Fetch(service: "accounts") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            name
            username
          }
        }
      },
    },
  },
}"""
    assert plan_case("entity_join", "TopProductsWithReviews") == expected


def test_planner_entity_join_hops_through_a_second_key() -> None:
    # reviews only knows `upc`; inventory only accepts `sku`, which products supplies.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "reviews") {
      {
        topReviews(first: 4) {
          id
          product {
            upc
            __typename
          }
        }
      }
    },
    Flatten(path: "topReviews.@.product") {
      Fetch(service: "products") {
        {
          ... on Product {
            __typename
            upc
          }
        } =>
        {
          ... on Product {
            name
            sku
          }
        }
      },
    },
    Flatten(path: "topReviews.@.product") {
      Fetch(service: "inventory") {
        {
          ... on Product {
            __typename
            sku
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
    assert plan_case("entity_join", "ReviewProductStock") == expected


def test_planner_entity_join_composite_nested_key() -> None:
    # reviews' only key is `id organization { id }`.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "accounts") {
      {
        me {
          name
          organization {
            name
            id
          }
          __typename
          id
        }
      }
    },
    Flatten(path: "me") {
      Fetch(service: "reviews") {
        {
          ... on User {
            __typename
            id
            organization {
              id
            }
          }
        } =>
        {
          ... on User {
            reviews {
              body
              product {
                __typename
                upc
              }
            }
          }
        }
      },
    },
    Flatten(path: "me.reviews.@.product") {
      Fetch(service: "products") {
        {
          ... on Product {
            __typename
            upc
          }
        } =>
        {
          ... on Product {
            name
            price
          }
        }
      },
    },
  },
}"""
    assert plan_case("entity_join", "MyReviews") == expected


def test_planner_entity_join_visits_accounts_once() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "reviews") {
      {
        topReviews {
          body
          author {
            id
            reviews {
              id
            }
            __typename
          }
        }
      }
    },
    Flatten(path: "topReviews.@.author") {
      Fetch(service: "accounts") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            name
            organization {
              id
              name
            }
          }
        }
      },
    },
  },
}"""
    assert plan_case("entity_join", "ReviewAuthors") == expected


def test_planner_shareable_root_served_by_one_subgraph() -> None:
    expected = """QueryPlan {
  Fetch(service: "social") {
    {
      feed {
        id
        likes
        summary
      }
    }
  },
}"""
    assert plan_case("shareable", "FeedFromOneSubgraph") == expected


def test_planner_shareable_field_stays_in_current_subgraph() -> None:
    # `id` is shareable: it comes from social, not from a media hop.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "social") {
      {
        highlights {
          id
          likes
          __typename
        }
      }
    },
    Flatten(path: "highlights.@") {
      Fetch(service: "media") {
        {
          ... on Post {
            __typename
            id
          }
        } =>
        {
          ... on Post {
            author {
              name
            }
          }
        }
      },
    },
  },
}"""
    assert plan_case("shareable", "HighlightsWithAuthor") == expected


def test_planner_shareable_root_split_across_subgraphs_in_parallel() -> None:
    expected = """QueryPlan {
  Parallel {
    Fetch(service: "media") {
      {
        feed {
          id
          imageUrl
        }
      }
    },
    Fetch(service: "posts") {
      {
        feed {
          title
        }
      }
    },
    Fetch(service: "social") {
      {
        feed {
          likes
        }
      }
    },
  },
}"""
    assert plan_case("shareable", "FeedAllSubgraphs") == expected


def test_planner_shareable_root_field_split_by_subfield() -> None:
    expected = """QueryPlan {
  Parallel {
    Fetch(service: "media") {
      {
        post(id: $id) {
          imageUrl
          author {
            name
          }
        }
      }
    },
    Fetch(service: "posts") {
      {
        post(id: $id) {
          title
        }
      }
    },
  },
}"""
    assert plan_case("shareable", "PostById") == expected


def test_planner_provides_skips_owner_for_provided_field() -> None:
    expected = """QueryPlan {
  Fetch(service: "reviews") {
    {
      topReviews {
        body
        author {
          username
        }
      }
    }
  },
}"""
    assert plan_case("provides", "ProvidedUsername") == expected


def test_planner_provides_nested_selection() -> None:
    expected = """QueryPlan {
  Fetch(service: "reviews") {
    {
      topReviews {
        product {
          name
          category {
            name
          }
        }
      }
    }
  },
}"""
    assert plan_case("provides", "ProvidedNested") == expected


def test_planner_provides_owner_called_for_unprovided_field() -> None:
    # `username` is provided, `name` is not: only `name` goes to accounts.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "reviews") {
      {
        topReviews {
          body
          author {
            username
            __typename
            id
          }
        }
      }
    },
    Flatten(path: "topReviews.@.author") {
      Fetch(service: "accounts") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            name
          }
        }
      },
    },
  },
}"""
    assert plan_case("provides", "NotProvidedName") == expected


def test_planner_provides_only_along_providing_path() -> None:
    # latestReviewer does not provide `username`; reviews.author does.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "reviews") {
      {
        latestReviewer {
          id
          reviews {
            body
            author {
              username
            }
          }
          __typename
        }
      }
    },
    Flatten(path: "latestReviewer") {
      Fetch(service: "accounts") {
        {
          ... on User {
            __typename
            id
          }
        } =>
        {
          ... on User {
            username
          }
        }
      },
    },
  },
}"""
    assert plan_case("provides", "OutsideProvidesPath") == expected
