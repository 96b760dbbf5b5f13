"""Planner tests for abstract types, @interfaceObject, @inaccessible, fed1 and mutations.

Expected plans were checked against Apollo's and PLANNER.md; see ``test_planner_features.py``.
"""

from __future__ import annotations

from tests.federation.test_planner_features import plan_case


def test_planner_abstract_union_members_filtered_per_subgraph() -> None:
    # Trap 7: catalog's SearchResult only has Book, so Movie and Song are not sent.
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
    assert plan_case("abstract", "SearchAllMembers") == expected


def test_planner_abstract_interface_field_owned_elsewhere() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "catalog") {
      {
        media {
          __typename
          id
          title
          ... on Book {
            pages
            __typename
            id
          }
          ... on Movie {
            minutes
            __typename
            id
          }
        }
      }
    },
    Flatten(path: "media.@") {
      Fetch(service: "reviews") {
        {
          ... on Book {
            __typename
            id
          }
          ... on Movie {
            __typename
            id
          }
        } =>
        {
          ... on Book {
            rating
          }
          ... on Movie {
            rating
          }
        }
      },
    },
  },
}"""
    assert plan_case("abstract", "MediaFromCatalog") == expected


def test_planner_abstract_member_fields_fetched_in_parallel() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "music") {
      {
        playlist {
          __typename
          title
          ... on Book {
            __typename
            id
          }
          ... on Song {
            artist
          }
        }
      }
    },
    Parallel {
      Flatten(path: "playlist.@") {
        Fetch(service: "catalog") {
          {
            ... on Book {
              __typename
              id
            }
          } =>
          {
            ... on Book {
              pages
            }
          }
        },
      },
      Flatten(path: "playlist.@") {
        Fetch(service: "reviews") {
          {
            ... on Book {
              __typename
              id
            }
          } =>
          {
            ... on Book {
              rating
            }
          }
        },
      },
    },
  },
}"""
    assert plan_case("abstract", "PlaylistFromMusic") == expected


def test_planner_interface_object_entered_from_interface_owner() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "accounts") {
      {
        accounts {
          __typename
          id
          name
        }
      }
    },
    Flatten(path: "accounts.@") {
      Fetch(service: "billing") {
        {
          ... on Account {
            __typename
            id
          }
        } =>
        {
          ... on Account {
            balance
          }
        }
      },
    },
  },
}"""
    assert plan_case("interface_object", "AccountBalances") == expected


def test_planner_interface_object_typename_needs_type_lookup() -> None:
    # Trap 10: billing only knows `Account`; accounts says which implementation it is.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "billing") {
      {
        richest {
          id
          __typename
        }
      }
    },
    Flatten(path: "richest") {
      Fetch(service: "accounts") {
        {
          ... on Account {
            __typename
            id
          }
        } =>
        {
          ... on Account {
            __typename
            ... on Admin {
              level
            }
            ... on User {
              email
            }
          }
        }
      },
    },
  },
}"""
    assert plan_case("interface_object", "RichestTypename") == expected


def test_planner_interface_object_requires_on_stand_in() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "accounts") {
      {
        accounts {
          __typename
          id
        }
      }
    },
    Flatten(path: "accounts.@") {
      Fetch(service: "billing") {
        {
          ... on Account {
            __typename
            id
          }
        } =>
        {
          ... on Account {
            balance
          }
        }
      },
    },
    Flatten(path: "accounts.@") {
      Fetch(service: "risk") {
        {
          ... on Account {
            __typename
            id
            balance
          }
        } =>
        {
          ... on Account {
            score
          }
        }
      },
    },
  },
}"""
    assert plan_case("interface_object", "RiskScores") == expected


def test_planner_interface_object_representations_only_for_asked_type() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "accounts") {
      {
        accounts {
          __typename
          ... on Admin {
            id
            level
            __typename
          }
          ... on User {
            email
          }
        }
      }
    },
    Flatten(path: "accounts.@") {
      Fetch(service: "billing") {
        {
          ... on Admin {
            __typename
            id
          }
        } =>
        {
          ... on Account {
            balance
          }
        }
      },
    },
  },
}"""
    assert plan_case("interface_object", "AdminBalances") == expected


def test_planner_inaccessible_key_still_joins_entities() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "accounts") {
      {
        users {
          id
          name
          status
          __typename
          internalId
        }
      }
    },
    Flatten(path: "users.@") {
      Fetch(service: "billing") {
        {
          ... on User {
            __typename
            internalId
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
    assert plan_case("inaccessible", "PlansThroughHiddenKey") == expected


def test_planner_fed1_and_fed2_subgraphs_join_both_ways() -> None:
    expected = """QueryPlan {
  Parallel {
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
                author {
                  username
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
            }
          }
        },
      },
    },
    Sequence {
      Fetch(service: "accounts") {
        {
          me {
            name
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
            }
          } =>
          {
            ... on User {
              reviews {
                body
              }
            }
          }
        },
      },
    },
  },
}"""
    assert plan_case("fed1", "Fed2ToFed1") == expected


def test_planner_mutations_aaba_runs_three_sequential_fetches() -> None:
    # Trap 15: only adjacent same-subgraph fields share a fetch.
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "cart") {
      mutation {
        first: addItem(name: "apple") {
          seq
          name
        }
        second: addItem(name: "pear") {
          seq
          name
        }
      }
    },
    Fetch(service: "notes") {
      mutation {
        note: addNote(text: "ripe", itemId: "i1") {
          seq
          text
        }
      }
    },
    Fetch(service: "cart") {
      mutation {
        third: addItem(name: "fig") {
          seq
          name
          __typename
          id
        }
      }
    },
    Flatten(path: "third") {
      Fetch(service: "notes") {
        {
          ... on CartItem {
            __typename
            id
          }
        } =>
        {
          ... on CartItem {
            notes
          }
        }
      },
    },
  },
}"""
    assert plan_case("mutations", "OrderAABA") == expected


def test_planner_mutations_shareable_field_stays_in_current_subgraph() -> None:
    expected = """QueryPlan {
  Fetch(service: "cart") {
    mutation {
      a: addItem(name: "kiwi") {
        seq
      }
      t: touch(tag: "x")
      b: clearCart
    }
  },
}"""
    assert plan_case("mutations", "ShareableMutation") == expected


def test_planner_mutations_entity_fetch_waits_for_its_mutation() -> None:
    expected = """QueryPlan {
  Sequence {
    Fetch(service: "notes") {
      mutation {
        note: addNote(text: "first!", itemId: "i1") {
          seq
        }
      }
    },
    Fetch(service: "cart") {
      mutation {
        item: addItem(name: "plum") {
          id
          seq
          __typename
        }
      }
    },
    Flatten(path: "item") {
      Fetch(service: "notes") {
        {
          ... on CartItem {
            __typename
            id
          }
        } =>
        {
          ... on CartItem {
            notes
          }
        }
      },
    },
  },
}"""
    assert plan_case("mutations", "NoteThenItem") == expected
