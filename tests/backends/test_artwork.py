from __future__ import annotations

import pytest

from backends.artwork import create_app
from tests.backends.support import post, results


@pytest.mark.parametrize(
    ("image_format", "width", "height"),
    [("BOXART", 342, 513), ("BILLBOARD", 1920, 1080), ("LOGO", 400, 100), ("BOXART", 32, 48)],
)
async def test_artwork_batch_sizes_by_aspect_ratio(
    image_format: str, width: int, height: int
) -> None:
    body = {"ids": ["t10"], "format": image_format, "width": width}
    (art,) = await results(create_app(), "/artwork/batch", body)
    assert art == {
        "titleId": "t10",
        "format": image_format,
        "width": width,
        "height": height,
        "url": f"https://art.example/{image_format}/t10/{width}.jpg",
    }


async def test_artwork_batch_keeps_order_nulls_unknown_and_answers_duplicates() -> None:
    body = {"ids": ["t2", "t0", "t1", "t2", "t5001"], "format": "LOGO", "width": 3840}
    answers = await results(create_app(), "/artwork/batch", body)
    assert [answer and answer["titleId"] for answer in answers] == ["t2", None, "t1", "t2", None]


async def test_artwork_batch_knows_only_generated_titles() -> None:
    body = {"ids": ["t10", "t11"], "format": "BOXART", "width": 100}
    assert [
        answer and answer["titleId"]
        for answer in await results(create_app(titles=10), "/artwork/batch", body)
    ] == ["t10", None]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"width": 342}, "'format' must be one of BOXART, BILLBOARD, LOGO"),
        ({"format": "boxart", "width": 342}, '"boxart"'),
        ({"format": ["BOXART"], "width": 342}, "'format'"),
        ({"format": "BOXART"}, "'width' is required"),
        ({"format": "BOXART", "width": 31}, "'width' must be an integer from 32 to 3840"),
        ({"format": "BOXART", "width": 3841}, "'width'"),
        ({"format": "BOXART", "width": 342.5}, "'width'"),
        ({"format": "BOXART", "width": "342"}, "'width'"),
    ],
)
async def test_artwork_batch_rejects_bad_params(extra: dict[str, object], message: str) -> None:
    response = await post(create_app(), "/artwork/batch", {"ids": ["t1"], **extra})
    assert response.status_code == 400
    assert message in response.json()["error"]
