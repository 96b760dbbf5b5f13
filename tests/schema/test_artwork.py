"""The artwork subgraph over a real artwork backend."""

from __future__ import annotations

import pytest

from tests.schema.harness import serve_subgraph


async def test_artwork_entities_answer_in_order_with_unknown_keys_null() -> None:
    representations: list[dict[str, object]] = [
        {"__typename": "Artwork", "titleId": "t7", "format": "BOXART", "width": 342},
        {"__typename": "Artwork", "titleId": "t999999", "format": "BOXART", "width": 342},
        {"__typename": "Title", "id": "t7"},
        {"__typename": "Artwork", "titleId": "t8", "format": "LOGO", "width": 400},
        {"__typename": "Title", "id": "t999999"},
    ]
    selection = """... on Artwork { titleId format width height url }
        ... on Title { id artwork(format: BILLBOARD, width: 1920) { url height } }"""
    async with serve_subgraph("artwork") as artwork:
        body = await artwork.entities(representations, selection)
    assert "errors" not in body
    boxart, unknown, title, logo, unknown_title = body["data"]["_entities"]
    assert boxart == {
        "titleId": "t7", "format": "BOXART", "width": 342, "height": 513,
        "url": "https://art.example/BOXART/t7/342.jpg",
    }  # fmt: skip
    assert unknown is None
    assert title == {
        "id": "t7",
        "artwork": {"url": "https://art.example/BILLBOARD/t7/1920.jpg", "height": 1080},
    }
    assert logo["format"] == "LOGO" and logo["height"] == 100
    # Artwork cannot tell an unknown title from a known one without art: the field is null.
    assert unknown_title == {"id": "t999999", "artwork": None}


@pytest.mark.parametrize("count", [1, 10, 100])
async def test_artwork_batches_one_call_per_format_and_width(count: int) -> None:
    representations = [{"__typename": "Title", "id": f"t{i}"} for i in range(1, count + 1)]
    async with serve_subgraph("artwork") as artwork:
        body = await artwork.entities(
            representations, "... on Title { artwork(format: BILLBOARD, width: 1920) { url } }"
        )
        assert await artwork.backend_requests() == 1
        await artwork.reset_stats()
        await artwork.entities(
            representations,
            """... on Title { box: artwork(format: BOXART, width: 342) { url }
                hero: artwork(format: BILLBOARD, width: 1920) { url }
                again: artwork(format: BOXART, width: 342) { width } }""",
        )
        assert await artwork.backend_requests() == 2
    urls = [e["artwork"]["url"] for e in body["data"]["_entities"]]
    assert urls == [f"https://art.example/BILLBOARD/t{i}/1920.jpg" for i in range(1, count + 1)]


async def test_artwork_width_out_of_range_fails_only_that_field() -> None:
    selection = """... on Title { ok: artwork(format: LOGO, width: 200) { url }
        bad: artwork(format: LOGO, width: 5000) { url } }"""
    async with serve_subgraph("artwork") as artwork:
        body = await artwork.entities([{"__typename": "Title", "id": "t1"}], selection)
    assert body["data"]["_entities"] == [
        {"ok": {"url": "https://art.example/LOGO/t1/200.jpg"}, "bad": None}
    ]
    (error,) = body["errors"]
    assert error["path"] == ["_entities", 0, "bad"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
