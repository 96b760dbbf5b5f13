from __future__ import annotations

import pytest

from backends import catalog
from backends.members import create_app
from tests.backends.support import get, post, results


async def test_members_batch_keeps_order_nulls_unknown_and_answers_duplicates() -> None:
    answers = await results(create_app(), "/members/batch", {"ids": ["m3", "m501", "m3", "t1"]})
    assert [answer and answer["id"] for answer in answers] == ["m3", None, "m3", None]
    assert set(answers[0]) == {"id", "name", "maturityLevel"}
    assert answers[0]["maturityLevel"] in {"KIDS", "TEEN", "ADULT"}


async def test_members_batch_same_seed_same_data() -> None:
    ids = {"ids": [f"m{n}" for n in range(1, 51)]}
    same = await results(create_app(seed=3), "/members/batch", ids)
    assert same == await results(create_app(seed=3), "/members/batch", ids)
    assert same != await results(create_app(seed=4), "/members/batch", ids)


async def test_mylist_batch_holds_catalog_titles() -> None:
    members_app, catalog_app = (
        create_app(titles=400, members=40),
        catalog.create_app(titles=400, members=40),
    )
    lists = await results(
        members_app, "/mylist/batch", {"ids": [f"m{n}" for n in range(1, 41)] + ["m41"]}
    )
    assert lists[-1] is None
    title_ids = sorted({key for entry in lists[:-1] for key in entry["titleIds"]})
    assert title_ids
    titles = await results(catalog_app, "/titles/batch", {"ids": title_ids})
    assert all(title is not None for title in titles)
    assert all(len(set(entry["titleIds"])) == len(entry["titleIds"]) for entry in lists[:-1])


async def test_continue_watching_names_match_catalog() -> None:
    members_app, catalog_app = create_app(), catalog.create_app()
    entries = await results(
        members_app, "/continue-watching/batch", {"ids": [f"m{n}" for n in range(1, 60)]}
    )
    flat = [item for entry in entries for item in entry]
    assert flat
    assert all(len(entry) <= 10 for entry in entries)
    titles = await results(
        catalog_app, "/titles/batch", {"ids": [item["titleId"] for item in flat]}
    )
    for item, title in zip(flat, titles, strict=True):
        assert set(item) == {"titleId", "titleName", "positionSeconds"}
        assert item["titleName"] == title["name"]
        assert 0 < item["positionSeconds"] < title["runtimeMinutes"] * 60


async def test_continue_watching_nulls_unknown_member() -> None:
    answers = await results(create_app(), "/continue-watching/batch", {"ids": ["m0", "m1"]})
    assert answers[0] is None
    assert isinstance(answers[1], list)


async def test_mylist_add_appends_once_and_remove_drops() -> None:
    app = create_app()
    (before,) = await results(app, "/mylist/batch", {"ids": ["m2"]})
    new = next(f"t{n}" for n in range(1, 100) if f"t{n}" not in before["titleIds"])
    added = await post(app, "/mylist/add", {"memberId": "m2", "titleId": new})
    assert added.json() == {"titleIds": [*before["titleIds"], new]}
    again = await post(app, "/mylist/add", {"memberId": "m2", "titleId": new})
    assert again.json() == added.json()
    assert await results(app, "/mylist/batch", {"ids": ["m2"]}) == [added.json()]
    removed = await post(app, "/mylist/remove", {"memberId": "m2", "titleId": new})
    assert removed.json() == before
    removed_again = await post(app, "/mylist/remove", {"memberId": "m2", "titleId": new})
    assert (removed_again.status_code, removed_again.json()) == (200, before)


async def test_mylist_changes_stay_in_their_app() -> None:
    changed, fresh = create_app(), create_app()
    (before,) = await results(fresh, "/mylist/batch", {"ids": ["m1"]})
    for title in before["titleIds"]:
        await post(changed, "/mylist/remove", {"memberId": "m1", "titleId": title})
    assert await results(changed, "/mylist/batch", {"ids": ["m1"]}) == [{"titleIds": []}]
    assert await results(fresh, "/mylist/batch", {"ids": ["m1"]}) == [before]
    assert await results(create_app(), "/mylist/batch", {"ids": ["m1"]}) == [before]


async def test_mylist_changes_count_as_requests_without_ids() -> None:
    app = create_app()
    await post(app, "/mylist/add", {"memberId": "m1", "titleId": "t1"})
    await post(app, "/mylist/remove", {"memberId": "m1", "titleId": "t1"})
    assert (await get(app, "/stats")).json() == {"requests": 2, "ids": 0}


@pytest.mark.parametrize("path", ["/mylist/add", "/mylist/remove"])
@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"memberId": "m9999", "titleId": "t1"}, 404, "unknown member 'm9999'"),
        ({"memberId": "m1", "titleId": "t999999"}, 404, "unknown title 't999999'"),
        ({"memberId": "M1", "titleId": "t1"}, 400, 'invalid id "M1"'),
        ({"memberId": "m1", "titleId": 7}, 400, "invalid id 7"),
        ({"titleId": "t1"}, 400, "'memberId' is required"),
        ({"memberId": "m1"}, 400, "'titleId' is required"),
        (["m1", "t1"], 400, "JSON object"),
    ],
)
async def test_mylist_change_rejects_bad_requests(
    path: str, body: object, status: int, message: str
) -> None:
    response = await post(create_app(), path, body)
    assert response.status_code == status
    assert message in response.json()["error"]
