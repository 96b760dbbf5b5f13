from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLInterfaceType, GraphQLObjectType, print_ast, print_schema

from federation.errors import SupergraphError
from federation.supergraph.model import Graph, Supergraph, load_supergraph

FIXTURES = Path(__file__).parent.parent / "fixtures" / "supergraphs"


#: The benchmark's supergraph (The Guild's shape), read where the benchmark keeps it.
GUILD_BENCH = Path(__file__).parents[2] / "bench" / "guild" / "supergraph.graphql"


def _sdl(name: str) -> str:
    if name == "guild_bench":
        return GUILD_BENCH.read_text()
    return (FIXTURES / f"{name}.graphql").read_text()


def _load(name: str) -> Supergraph:
    return load_supergraph(_sdl(name))


def _resolvable(supergraph: Supergraph, coordinate: str) -> set[str]:
    type_name, field_name = coordinate.split(".")
    meta = supergraph.field(type_name, field_name)
    assert meta is not None, coordinate
    return set(meta.resolvable_in)


def _api(supergraph: Supergraph) -> str:
    return print_schema(supergraph.api_schema)


def _assert_no_federation_leftovers(printed: str) -> None:
    for word in ("join__", "link__", "@link", "inaccessible", "_entities", "_Entity", "_Any"):
        assert word not in printed


def _rejects(sdl: str, *fragments: str) -> None:
    with pytest.raises(SupergraphError) as info:
        load_supergraph(sdl)
    for fragment in fragments:
        assert fragment in str(info.value)


# -- guild bench (join v0.3) ----------------------------------------------------------------------


def test_load_supergraph_guild_bench_graphs() -> None:
    supergraph = _load("guild_bench")
    assert list(supergraph.graphs) == ["accounts", "inventory", "products", "reviews"]
    assert supergraph.graphs["reviews"] == Graph(
        name="reviews", enum_value="REVIEWS", url="http://127.0.0.1:4200/reviews"
    )
    assert supergraph.root_types == {"query": "Query"}
    assert [link.name for link in supergraph.links] == ["link", "join"]


def test_load_supergraph_guild_bench_records() -> None:
    supergraph = _load("guild_bench")
    product = supergraph.types["Product"]
    assert product.kind == "OBJECT"
    assert list(product.in_graphs) == ["inventory", "products", "reviews"]
    assert product.is_entity
    (key,) = supergraph.keys("Product", "inventory")
    assert (key.graph, key.fields, key.resolvable) == ("inventory", "upc", True)
    assert print_ast(key.selections) == "{\n  upc\n}"
    estimate = product.fields["shippingEstimate"]
    requires = estimate.in_graphs["inventory"].requires
    assert requires is not None and print_ast(requires) == "{\n  price\n  weight\n}"
    assert product.fields["reviews"].type == "[Review]"
    assert product.fields["reviews"].named_type == "Review"
    author = supergraph.types["Review"].fields["author"].in_graphs["reviews"]
    assert author.provides is not None and print_ast(author.provides) == "{\n  username\n}"
    assert supergraph.keys("Product", "accounts") == ()


def test_load_supergraph_guild_bench_resolvable_in() -> None:
    supergraph = _load("guild_bench")
    assert _resolvable(supergraph, "Product.upc") == {"inventory", "products", "reviews"}
    assert _resolvable(supergraph, "Product.price") == {"products"}
    assert _resolvable(supergraph, "User.username") == {"accounts"}
    assert _resolvable(supergraph, "Query.me") == {"accounts"}
    assert supergraph.types["User"].fields["username"].in_graphs["reviews"].external


def test_load_supergraph_guild_bench_api_schema() -> None:
    printed = _api(_load("guild_bench"))
    _assert_no_federation_leftovers(printed)
    assert "topProducts(first: Int = 5): [Product]" in printed
    # The supergraph's order is kept: Product is defined before Query.
    assert printed.index("type Product") < printed.index("type Query")


# -- join v0.2 ------------------------------------------------------------------------------------


def test_load_supergraph_v02_union_members_without_union_member_directive() -> None:
    supergraph = _load("join_v02")
    assert supergraph.types["SearchResult"].members == {
        "search": frozenset({"Book", "Magazine"}),
        "books": frozenset({"Book", "Author"}),
    }


def test_possible_types_per_graph() -> None:
    supergraph = _load("join_v02")
    assert supergraph.possible_types("Node") == {"Book", "Author"}
    assert supergraph.possible_types("Node", "books") == {"Book", "Author"}
    assert supergraph.possible_types("Node", "search") == {"Book"}
    assert supergraph.possible_types("SearchResult") == {"Book", "Magazine", "Author"}
    assert supergraph.possible_types("SearchResult", "search") == {"Book", "Magazine"}
    assert supergraph.possible_types("Book") == {"Book"}
    assert supergraph.possible_types("Author", "search") == frozenset()
    assert supergraph.possible_types("Nope", "books") == frozenset()
    assert supergraph.possible_types("String") == frozenset()


def test_load_supergraph_v02_drops_tag() -> None:
    printed = _api(_load("join_v02"))
    _assert_no_federation_leftovers(printed)
    assert "@tag" not in printed
    assert "union SearchResult = Book | Magazine | Author" in printed


# -- join v0.3 ------------------------------------------------------------------------------------


def test_load_supergraph_v03_records() -> None:
    supergraph = _load("join_v03")
    assert supergraph.root_types == {"query": "Query", "mutation": "Mutation"}
    assert supergraph.types["Status"].enum_values == {
        "OPEN": frozenset({"orders", "shipping"}),
        "SHIPPED": frozenset({"shipping"}),
    }
    assert supergraph.types["Shipment"].members == {
        "orders": frozenset({"Letter"}),
        "shipping": frozenset({"Parcel", "Letter"}),
    }
    assert supergraph.possible_types("Shipment", "orders") == {"Letter"}
    assert _resolvable(supergraph, "Order.weight") == {"orders"}
    assert _resolvable(supergraph, "Order.status") == {"orders", "shipping"}
    assert _resolvable(supergraph, "Letter.code") == {"shipping"}
    assert _resolvable(supergraph, "Mutation.placeOrder") == {"orders"}
    eta = supergraph.types["Order"].fields["eta"].in_graphs["shipping"]
    assert eta.requires is not None
    assert "... on Gadget" in print_ast(eta.requires)


def test_load_supergraph_renamed_join_spec() -> None:
    sdl = _sdl("join_v03").replace("join__", "join2__")
    sdl = sdl.replace('join/v0.3", for: EXECUTION', 'join/v0.3", as: "join2", for: EXECUTION')
    supergraph = load_supergraph(sdl)
    assert list(supergraph.graphs) == ["orders", "shipping"]
    assert _resolvable(supergraph, "Order.weight") == {"orders"}
    assert supergraph.keys("Order", "shipping")[0].fields == "id"
    assert "join2__" not in _api(supergraph)
    assert "join2__Graph" not in supergraph.types


# -- join v0.4: @interfaceObject ------------------------------------------------------------------


def test_load_supergraph_v04_interface_object() -> None:
    supergraph = _load("join_v04_interface_object")
    media = supergraph.types["Media"]
    assert media.kind == "INTERFACE"
    assert media.interface_object_in == {"ratings"}
    assert [key.fields for key in supergraph.keys("Media", "ratings")] == ["id"]
    assert _resolvable(supergraph, "Media.stars") == {"ratings"}
    # `@join__field` without a graph: only reachable through the interface object.
    book_stars = supergraph.types["Book"].fields["stars"]
    assert book_stars.in_graphs == {}
    assert book_stars.resolvable_in == frozenset()
    assert _resolvable(supergraph, "Book.pages") == {"catalog"}
    assert supergraph.possible_types("Media", "catalog") == {"Book", "Movie"}
    assert supergraph.possible_types("Media", "ratings") == {"Media"}
    assert supergraph.possible_types("Media") == {"Book", "Movie"}
    _assert_no_federation_leftovers(_api(supergraph))


# -- join v0.5: override, progressive override, context arguments ---------------------------------


def test_load_supergraph_v05_override() -> None:
    supergraph = _load("join_v05_override")
    assert _resolvable(supergraph, "Product.stock") == {"inventory"}
    stock = supergraph.types["Product"].fields["stock"].in_graphs
    assert stock["inventory"].override == "products"
    assert stock["products"].used_overridden


def test_load_supergraph_override_from_unknown_graph_changes_nothing() -> None:
    supergraph = _load("join_v05_override")
    assert _resolvable(supergraph, "Product.price") == {"pricing"}
    assert supergraph.types["Product"].fields["price"].in_graphs["pricing"].override == "legacy"


def test_load_supergraph_progressive_override_is_off_by_default() -> None:
    supergraph = _load("join_v05_override")
    assert _resolvable(supergraph, "Product.discount") == {"products"}
    discount = supergraph.types["Product"].fields["discount"].in_graphs["pricing"]
    assert discount.override_label == "percent(10)"


def test_load_supergraph_reads_contexts_and_context_arguments() -> None:
    # @context/@fromContext change what a field's arguments are: the planner fills them
    # (federation/planning/contexts.py), so the supergraph loads with both facts.
    supergraph = _load("join_v05_context")
    assert supergraph.types["Product"].contexts == ("products__shop",)
    local_price = supergraph.types["Product"].fields["localPrice"]
    (argument,) = local_price.in_graphs["products"].context_arguments
    assert (argument.context, argument.name, argument.type) == (
        "products__shop",
        "currency",
        "String",
    )
    # The argument is the subgraph's: clients never see it.
    api_type = supergraph.api_schema.get_type("Product")
    assert isinstance(api_type, GraphQLObjectType)
    assert not api_type.fields["localPrice"].args


@pytest.mark.parametrize(
    ("spec", "purpose"),
    [
        # v0.1 of authenticated, requiresScopes and policy is enforced (test_authorization.py)
        ("https://specs.apollo.dev/authenticated/v0.2", "SECURITY"),
        ("https://specs.apollo.dev/policy/v0.2", "SECURITY"),
        ("https://specs.apollo.dev/connect/v0.1", "EXECUTION"),
        ("https://specs.apollo.dev/inaccessible/v0.9", "SECURITY"),
    ],
)
def test_load_supergraph_refuses_security_and_execution_specs_it_does_not_implement(
    spec: str, purpose: str
) -> None:
    sdl = _sdl("join_v05_override").replace(
        '@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)',
        '@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)\n'
        f'  @link(url: "{spec}", for: {purpose})',
    )
    with pytest.raises(SupergraphError, match=f"{spec.split('/')[-2]}/v0\\.[0-9] for {purpose}"):
        load_supergraph(sdl)


def test_load_supergraph_accepts_specs_linked_without_a_purpose() -> None:
    # Metadata specs (no `for:`) change nothing the gateway does: serving them is safe.
    sdl = _sdl("join_v05_override").replace(
        '@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)',
        '@link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)\n'
        '  @link(url: "https://example.com/cacheHints/v0.1")',
    )
    assert load_supergraph(sdl).types["Product"].fields["stock"]


# -- Fed1-composed --------------------------------------------------------------------------------


def test_load_supergraph_fed1_extension_and_external_keys() -> None:
    supergraph = _load("fed1")
    product = supergraph.types["Product"]
    assert product.in_graphs["reviews"].extension
    assert not product.in_graphs["products"].extension
    assert product.fields["upc"].in_graphs["reviews"].external
    # The extending graph still returns its own key field; other external fields stay external.
    assert _resolvable(supergraph, "Product.upc") == {"products", "reviews"}
    assert _resolvable(supergraph, "Product.price") == {"products"}
    _assert_no_federation_leftovers(_api(supergraph))


# -- keys -----------------------------------------------------------------------------------------


def test_load_supergraph_multiple_and_compound_keys() -> None:
    supergraph = _load("keys")
    users = supergraph.keys("User", "users")
    assert [key.fields for key in users] == ["id", "id organization { id }"]
    assert all(key.resolvable for key in users)
    billing = supergraph.keys("User", "billing")
    assert [(key.fields, key.resolvable) for key in billing] == [
        ("id organization { id }", True),
        ("email", False),
    ]
    assert print_ast(billing[0].selections) == "{\n  id\n  organization {\n    id\n  }\n}"
    assert _resolvable(supergraph, "User.plan") == {"billing"}
    assert _resolvable(supergraph, "User.email") == {"billing", "users"}


# -- @inaccessible --------------------------------------------------------------------------------


def test_load_supergraph_inaccessible_records() -> None:
    supergraph = _load("inaccessible")
    assert supergraph.types["AuditLog"].inaccessible
    assert supergraph.types["User"].fields["passwordHash"].inaccessible
    assert not supergraph.types["User"].fields["name"].inaccessible
    # The supergraph keeps everything; only the API schema hides it.
    assert supergraph.possible_types("Account") == {"User", "Robot"}


def test_load_supergraph_inaccessible_api_schema() -> None:
    printed = _api(_load("inaccessible"))
    _assert_no_federation_leftovers(printed)
    for hidden in ("AuditLog", "passwordHash", "audit", "SUPERUSER", "includeDeleted", "Robot"):
        assert hidden not in printed
    for hidden in ("internalOnly", "robots"):
        assert hidden not in printed
    assert "union Actor = User" in printed
    assert "users(filter: UserFilter): [User]" in printed
    assert "directive @lowercase on FIELD" in printed


def test_load_supergraph_api_schema_possible_types_hide_inaccessible() -> None:
    api = _load("inaccessible").api_schema
    account = api.get_type("Account")
    assert isinstance(account, GraphQLInterfaceType)
    assert [t.name for t in api.get_possible_types(account)] == ["User"]


# -- malformed supergraphs ------------------------------------------------------------------------


def test_load_supergraph_rejects_syntax_error() -> None:
    _rejects("type Query {", "does not parse")


def test_load_supergraph_rejects_missing_join_graph() -> None:
    _rejects("type Query { a: Int }", "join__Graph")


def test_load_supergraph_rejects_unknown_graph() -> None:
    sdl = _sdl("guild_bench").replace(
        '@join__type(graph: REVIEWS, key: "id")\n{\n  id: ID!\n  body',
        '@join__type(graph: RATINGS, key: "id")\n{\n  id: ID!\n  body',
    )
    _rejects(sdl, "type Review", "RATINGS", "unknown graph")


def test_load_supergraph_rejects_unknown_key_field() -> None:
    sdl = _sdl("guild_bench").replace(
        'graph: INVENTORY, key: "upc"', 'graph: INVENTORY, key: "sku"'
    )
    _rejects(sdl, "type Product", "Product.sku", "does not exist")


def test_load_supergraph_rejects_unknown_nested_key_field() -> None:
    sdl = _sdl("keys").replace(
        '"id organization { id }")\n  @join__type(graph: BILLING',
        '"id organization { slug }")\n  @join__type(graph: BILLING',
    )
    _rejects(sdl, "type User", "Organization.slug")


def test_load_supergraph_rejects_unknown_requires_field() -> None:
    sdl = _sdl("guild_bench").replace('requires: "price weight"', 'requires: "price height"')
    _rejects(sdl, "Product.shippingEstimate", "Product.height", "requires")


def test_load_supergraph_rejects_unknown_fragment_field_in_requires() -> None:
    sdl = _sdl("join_v03").replace("... on Gadget { voltage }", "... on Gadget { amps }")
    _rejects(sdl, "Order.eta", "Gadget.amps")


def test_load_supergraph_rejects_unknown_provides_field() -> None:
    sdl = _sdl("guild_bench").replace('provides: "username"', 'provides: "nickname"')
    _rejects(sdl, "Review.author", "User.nickname", "provides")


def test_load_supergraph_rejects_unparsable_field_set() -> None:
    sdl = _sdl("guild_bench").replace('requires: "price weight"', 'requires: "price {"')
    _rejects(sdl, "Product.shippingEstimate", "does not parse")


def test_load_supergraph_rejects_graph_without_url() -> None:
    sdl = _sdl("guild_bench").replace(
        '@join__graph(name: "accounts", url: "http://127.0.0.1:4200/accounts")',
        '@join__graph(name: "accounts")',
    )
    _rejects(sdl, "join__Graph value ACCOUNTS", "@join__graph has no url")


def test_load_supergraph_rejects_graph_value_without_join_graph() -> None:
    sdl = _sdl("guild_bench").replace(
        'ACCOUNTS @join__graph(name: "accounts", url: "http://127.0.0.1:4200/accounts")',
        "ACCOUNTS",
    )
    _rejects(sdl, "join__Graph value ACCOUNTS", "@join__graph")


def test_load_supergraph_rejects_bad_directive_argument() -> None:
    sdl = _sdl("keys").replace('key: "email", resolvable: false', 'key: "email", resolvable: "no"')
    _rejects(sdl, "type User", "@join__type", "resolvable")


def test_load_supergraph_rejects_field_set_that_is_not_a_string() -> None:
    sdl = _sdl("guild_bench").replace('provides: "username"', "provides: 3")
    _rejects(sdl, "Review.author")


def test_load_supergraph_rejects_unknown_implements_interface() -> None:
    sdl = _sdl("join_v02").replace(
        '@join__implements(graph: SEARCH, interface: "Node")',
        '@join__implements(graph: SEARCH, interface: "Thing")',
    )
    _rejects(sdl, "type Book", "Thing")


def test_load_supergraph_rejects_unsupported_join_version() -> None:
    _rejects(_sdl("join_v03").replace("join/v0.3", "join/v0.9"), "join spec v0.9")


def test_load_supergraph_rejects_accessible_field_of_inaccessible_type() -> None:
    sdl = _sdl("inaccessible").replace("audit: AuditLog @inaccessible", "audit: AuditLog")
    _rejects(sdl, "User.audit", "AuditLog")


# -- join v0.1 through @core ----------------------------------------------------------------------


def test_load_supergraph_v01_core_form() -> None:
    supergraph = _load("join_v01_core")
    assert [link.name for link in supergraph.links] == ["core", "join"]
    # Value types carry no @join__type: they are in every graph.
    assert _resolvable(supergraph, "Review.body") == {"products", "reviews"}
    # A graph with a key has the key fields even without its own @join__field.
    assert _resolvable(supergraph, "Product.upc") == {"products", "reviews"}
    assert _resolvable(supergraph, "Product.name") == {"products"}
    printed = _api(supergraph)
    _assert_no_federation_leftovers(printed)
    assert "core" not in printed
