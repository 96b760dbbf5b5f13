from __future__ import annotations

from typing import Any

import pytest

from federation.execution.merge import (
    collect_objects,
    collect_targets,
    copy_json,
    deep_merge,
    project_flat,
    rename_outputs,
    subtype_predicate,
)
from federation.execution.merge import project as project_with
from federation.planning.plan import (
    InputField,
    InputFragment,
    InputSelection,
    OutputRename,
    flat_inputs,
    fragment_conditions,
)
from federation.types import Representation

POSSIBLE_TYPES = {"Media": frozenset({"Book", "Movie"}), "Node": frozenset({"Book", "User"})}
IS_SUBTYPE = subtype_predicate(POSSIBLE_TYPES)


def project(
    obj: dict[str, Any], requires: tuple[InputSelection, ...], is_subtype: Any
) -> Representation | None:
    """`project` with the entity types a FetchNode derives from these requires."""
    return project_with(obj, requires, is_subtype, fragment_conditions(requires))


def field(name: str, *selections: InputField | InputFragment, key: str | None = None) -> InputField:
    return InputField(name=name, response_key=key or name, selections=selections)


def test_deep_merge_merges_lists_element_wise() -> None:
    target: dict[str, Any] = {"items": [{"id": 1}, {"id": 2}], "tags": [["a"], ["b"]]}
    deep_merge(target, {"items": [{"name": "x"}, {"name": "y"}], "tags": [["A"], ["B"]]})
    assert target == {
        "items": [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}],
        "tags": [["A"], ["B"]],
    }


def test_deep_merge_replaces_lists_of_other_length() -> None:
    target: dict[str, Any] = {"items": [{"id": 1}, {"id": 2}]}
    deep_merge(target, {"items": [{"id": 3}]})
    assert target == {"items": [{"id": 3}]}


def test_deep_merge_nested_objects_and_null_overwrite() -> None:
    target: dict[str, Any] = {"a": {"b": {"c": 1}, "d": 2}, "e": {"f": 1}}
    deep_merge(target, {"a": {"b": {"x": 2}}, "e": None, "g": 3})
    assert target == {"a": {"b": {"c": 1, "x": 2}, "d": 2}, "e": None, "g": 3}


def test_deep_merge_keeps_concrete_typename_over_abstract() -> None:
    target: dict[str, Any] = {"__typename": "Book", "id": "1"}
    deep_merge(target, {"__typename": "Media", "title": "T"}, POSSIBLE_TYPES)
    assert target == {"__typename": "Book", "id": "1", "title": "T"}
    deep_merge(target, {"__typename": "Movie"}, POSSIBLE_TYPES)
    assert target["__typename"] == "Movie"
    fresh: dict[str, Any] = {}
    deep_merge(fresh, {"__typename": "Media"}, POSSIBLE_TYPES)
    assert fresh == {"__typename": "Media"}


def test_copy_json_copies_containers() -> None:
    original = {"a": [{"b": 1}]}
    copied = copy_json(original)
    copied["a"][0]["b"] = 2
    assert original == {"a": [{"b": 1}]}


def test_project_copies_keys_nested_and_lists() -> None:
    obj = {
        "__typename": "Book",
        "isbn": "1",
        "title": "ignored",
        "dims": {"w": 1, "h": None, "unit": "cm"},
        "authors": [{"id": "a", "name": "n"}, {"id": "b", "name": "m"}],
    }
    requires = (field("isbn"), field("dims", field("w"), field("h")), field("authors", field("id")))
    assert project(obj, requires, IS_SUBTYPE) == {
        "__typename": "Book",
        "isbn": "1",
        "dims": {"w": 1, "h": None},
        "authors": [{"id": "a"}, {"id": "b"}],
    }


def test_project_reads_response_key_and_writes_name() -> None:
    obj = {"__typename": "Book", "comments": [1], "_internal_qp_alias_0": [1, 2, 3]}
    requires = (field("comments", key="_internal_qp_alias_0"),)
    assert project(obj, requires, IS_SUBTYPE) == {"__typename": "Book", "comments": [1, 2, 3]}


def test_project_missing_key_gives_no_representation() -> None:
    assert project({"__typename": "Book"}, (field("isbn"),), IS_SUBTYPE) is None
    assert project({"isbn": "1"}, (field("isbn"),), IS_SUBTYPE) is None
    nested = {"__typename": "Book", "dims": {"w": 1}}
    assert project(nested, (field("dims", field("h")),), IS_SUBTYPE) is None


def test_project_sends_null_values_as_null() -> None:
    obj = {"__typename": "Book", "isbn": None, "dims": None}
    requires = (field("isbn"), field("dims", field("w")))
    assert project(obj, requires, IS_SUBTYPE) == {"__typename": "Book", "isbn": None, "dims": None}


def test_project_fragments_follow_runtime_typename() -> None:
    requires = (
        field("id"),
        field(
            "owner",
            field("__typename"),
            InputFragment("User", (field("email"),)),
            InputFragment("Media", (field("isbn"),)),
        ),
        InputFragment("Node", (field("id"),)),
        InputFragment("Movie", (field("director"),)),
    )
    user = {"__typename": "User", "email": "e", "isbn": "no"}
    book = {"__typename": "Book", "id": "1", "owner": user, "director": "ignored"}
    assert project(book, requires, IS_SUBTYPE) == {
        "__typename": "Book",
        "id": "1",
        "owner": {"__typename": "User", "email": "e"},
    }
    movie = {"__typename": "Movie", "id": "2", "owner": {"__typename": "Book", "isbn": "9"}}
    assert project(movie, requires, IS_SUBTYPE) is None  # `director` is required for a Movie


def test_collect_targets_fans_out_with_concrete_paths() -> None:
    data = {
        "a": [
            {"b": [{"id": 1}, None, {"id": 2}]},
            None,
            {"b": None},
            {"x": 1},
            {"b": [{"id": 3}]},
        ]
    }
    targets = collect_targets(data, ("a", "@", "b", "@"), IS_SUBTYPE)
    assert [(obj["id"], path) for obj, path in targets] == [
        (1, ["a", 0, "b", 0]),
        (2, ["a", 0, "b", 2]),
        (3, ["a", 4, "b", 0]),
    ]


def test_collect_targets_filters_type_conditions() -> None:
    data = {"feed": [{"__typename": "Book"}, {"__typename": "User"}, {"__typename": "Movie"}]}
    targets = collect_targets(data, ("feed", "@", "... on Media"), IS_SUBTYPE)
    assert [path for _, path in targets] == [["feed", 0], ["feed", 2]]


def test_collect_targets_root_and_missing_data() -> None:
    data: dict[str, Any] = {"me": {"id": 1}}
    assert collect_targets(data, (), IS_SUBTYPE) == [(data, [])]
    assert collect_targets(data, ("you",), IS_SUBTYPE) == []
    assert collect_targets(None, ("me",), IS_SUBTYPE) == []


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (
            {"a": [{"b": [{"id": 1}, None, {"id": 2}]}, None, {"b": None}, {"b": [{"id": 3}]}]},
            ("a", "@", "b", "@"),
        ),
        (
            {"feed": [{"__typename": "Book"}, {"__typename": "User"}, {"__typename": "Movie"}]},
            ("feed", "@", "... on Media"),
        ),
        ({"grid": [[{"id": 1}, 7], [{"id": 2}]], "x": 1}, ("grid", "@", "@")),
        ({"me": {"id": 1}}, ()),
        ({"me": {"id": 1}}, ("you",)),
        (None, ("me",)),
        ({"me": [1, 2]}, ("me", "@")),
    ],
)  # fmt: skip
def test_collect_objects_finds_what_collect_targets_finds_in_order(
    data: Any, path: tuple[str, ...]
) -> None:
    expected = [obj for obj, _ in collect_targets(data, path, IS_SUBTYPE)]
    found = collect_objects(data, path, IS_SUBTYPE)
    assert [id(obj) for obj in found] == [id(obj) for obj in expected]


FLAT_REQUIRES = (
    InputFragment(
        "Media",
        (
            InputField("__typename", "__typename"),
            InputField("id", "id"),
            InputField("rating", "_rating_alias"),
        ),
    ),
)


@pytest.mark.parametrize(
    "obj",
    [
        {"__typename": "Book", "id": "1", "_rating_alias": "PG"},
        {"__typename": "Book", "id": 7, "_rating_alias": None, "other": 1},
        {"__typename": "Book", "id": "1"},  # a required field missing: no representation
        {"__typename": "User", "id": "1", "_rating_alias": "PG"},  # not a Media
        {"id": "1", "_rating_alias": "PG"},  # no __typename
    ],
)
def test_project_flat_gives_what_project_gives(obj: dict[str, Any]) -> None:
    flat = flat_inputs(FLAT_REQUIRES)
    assert flat == (
        "Media",
        (("__typename", "__typename"), ("id", "id"), ("rating", "_rating_alias")),
    )
    assert project_flat(obj, flat, IS_SUBTYPE) == project(obj, FLAT_REQUIRES, IS_SUBTYPE)


def test_flat_inputs_is_none_for_nested_or_several_fragments() -> None:
    nested = (InputFragment("Book", (InputField("owner", "owner", (InputField("id", "id"),)),)),)
    two = (InputFragment("Book", (InputField("id", "id"),)), InputFragment("Movie", ()))
    assert flat_inputs(nested) is None
    assert flat_inputs(two) is None


def test_representation_identity_keeps_json_types_apart() -> None:
    from federation.execution.executor import _identity

    same = [{"__typename": "T", "id": "1"}, {"__typename": "T", "id": "1"}]
    assert _identity(same[0]) == _identity(same[1])
    # Equal in Python, different in JSON: never the same entity.
    variants = [1, True, 1.0, "1", None, {"a": 1}, [1]]
    identities = {_identity({"__typename": "T", "id": value}) for value in variants}
    assert len(identities) == len(variants)


def test_rename_outputs_restores_keys_by_type_through_lists() -> None:
    data: dict[str, Any] = {
        "accounts": [
            {"__typename": "User", "id": "u1", "similar": [{"__typename": "Admin", "id_a": "a"}]},
            {"__typename": "Admin", "id_a": "a1", "similar": []},
        ]
    }
    renames = (
        OutputRename(("accounts", "similar"), "Admin", "id_a", "id"),
        OutputRename(("accounts",), "Admin", "id_a", "id"),
    )
    rename_outputs(data, renames, IS_SUBTYPE)
    assert data == {
        "accounts": [
            {"__typename": "User", "id": "u1", "similar": [{"__typename": "Admin", "id": "a"}]},
            {"__typename": "Admin", "similar": [], "id": "a1"},
        ]
    }


def test_rename_outputs_leaves_other_types_alone() -> None:
    entities: list[Any] = [{"__typename": "User", "id_a": "kept"}, None]
    rename_outputs(entities, (OutputRename((), "Admin", "id_a", "id"),), IS_SUBTYPE)
    assert entities == [{"__typename": "User", "id_a": "kept"}, None]
