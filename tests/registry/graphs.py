"""Small subgraph SDLs for the registry's tests: a catalog and a ratings subgraph."""

from __future__ import annotations

LINK = (
    'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", '
    'import: ["@key", "@shareable"])\n'
)

CATALOG = (
    LINK
    + """
type Query {
  title(id: ID!): Title
  titles(first: Int = 10): [Title!]!
}

type Title @key(fields: "id") {
  id: ID!
  name: String!
  kind: Kind!
}

enum Kind {
  MOVIE
  SHOW
}
"""
)

#: catalog plus a field: a safe change
CATALOG_WITH_YEAR = CATALOG.replace("  kind: Kind!\n", "  kind: Kind!\n  year: Int\n")

#: catalog without Title.name, which the TV home operation reads
CATALOG_WITHOUT_NAME = CATALOG.replace("  name: String!\n", "")

#: catalog whose Title.name may be null: validates, and still breaks a client that reads it
CATALOG_NULLABLE_NAME = CATALOG.replace("  name: String!\n", "  name: String\n")

#: catalog without the SHOW kind, which every client reading `kind` may receive
CATALOG_WITHOUT_SHOW = CATALOG.replace("  SHOW\n", "")

RATINGS = (
    LINK
    + """
type Title @key(fields: "id") {
  id: ID!
  rating: Float
}
"""
)

#: ratings that clash with catalog: Title.id as Int, a composition error
RATINGS_CLASHING = RATINGS.replace("  id: ID!\n", "  id: Int!\n")

TV_HOME = "query TvHome { titles(first: 10) { id name } }"
MOBILE_HOME = "query MobileHome { titles(first: 3) { id kind rating } }"
