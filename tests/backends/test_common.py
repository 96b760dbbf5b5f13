from __future__ import annotations

import asyncio
import time

import pytest

from backends import catalog, ratings
from backends.common import BadRequest, decode_cursor, encode_cursor, serve, validate_id
from tests.backends.support import client, get, post, results


@pytest.mark.parametrize("good", ["t1", "g24", "m500", "r123456", "t0"])
def test_validate_id_accepts_letter_and_digits(good: str) -> None:
    assert validate_id(good) == good


@pytest.mark.parametrize(
    "bad", ["", "t", "1", "T1", "tt1", "t-1", "t1 ", "t1\n", "t\u0661", 1, None, ["t1"]]
)
def test_validate_id_rejects_malformed(bad: object) -> None:
    with pytest.raises(BadRequest, match="invalid id"):
        validate_id(bad)


def test_cursor_round_trips() -> None:
    for offset in (0, 1, 20, 4999):
        assert decode_cursor(encode_cursor(offset)) == offset
    assert decode_cursor(None) == 0


@pytest.mark.parametrize("bad", ["", "zz", "b2Zmc2V0Oi0x", "bm90aGluZzo1", "é", "b2Zmc2V0OjE=="])
def test_cursor_rejects_garbage(bad: str) -> None:
    with pytest.raises(BadRequest, match="invalid cursor"):
        decode_cursor(bad)


async def test_backend_health_answers_ok() -> None:
    response = await get(catalog.create_app(), "/health")
    assert (response.status_code, response.json()) == (200, {"ok": True})


async def test_backend_stats_count_requests_and_ids() -> None:
    app = catalog.create_app()
    await results(app, "/titles/batch", {"ids": ["t1", "t2", "t1"]})
    await results(app, "/genres/batch", {"ids": ["g1"]})
    await get(app, "/genres")
    await get(app, "/health")
    await post(app, "/titles/batch", {"ids": "t1"})  # rejected, but still served
    stats = await get(app, "/stats")
    assert stats.json() == {"requests": 4, "ids": 4}


async def test_backend_stats_reset_zeroes() -> None:
    app = ratings.create_app()
    await results(app, "/ratings/batch", {"ids": ["t1", "t2"]})
    reset = await post(app, "/stats/reset", None)
    assert reset.json() == {"requests": 0, "ids": 0}
    assert (await get(app, "/stats")).json() == {"requests": 0, "ids": 0}
    await results(app, "/ratings/batch", {"ids": ["t3"]})
    assert (await get(app, "/stats")).json() == {"requests": 1, "ids": 1}


async def test_backend_stats_are_per_app() -> None:
    first, second = catalog.create_app(), catalog.create_app()
    await results(first, "/titles/batch", {"ids": ["t1"]})
    assert (await get(second, "/stats")).json() == {"requests": 0, "ids": 0}


async def test_backend_latency_delays_each_data_request() -> None:
    app = catalog.create_app(latency_ms=60)
    async with client(app) as http:
        started = time.monotonic()
        response = await http.post("/titles/batch", json={"ids": ["t1"]})
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert elapsed >= 0.06


async def test_backend_latency_overlaps_concurrent_requests() -> None:
    app = catalog.create_app(latency_ms=40)
    async with client(app) as http:
        started = time.monotonic()
        answers = await asyncio.gather(
            *(http.post("/titles/batch", json={"ids": [f"t{n}"]}) for n in range(1, 4))
        )
        elapsed = time.monotonic() - started
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert elapsed >= 0.04


async def test_backend_health_skips_latency_and_stats() -> None:
    app = catalog.create_app(latency_ms=5)
    await get(app, "/health")
    assert (await get(app, "/stats")).json() == {"requests": 0, "ids": 0}


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'"t1"', 400, "must be a JSON object"),
        (b"{}", 400, "'ids' is required"),
        (b'{"ids": "t1"}', 400, "'ids' is required and must be a list"),
        (b'{"ids": {"t1": 1}}', 400, "must be a list"),
        (b'{"ids": ["t1", "T2"]}', 400, 'invalid id "T2"'),
        (b'{"ids": ["t1", 2]}', 400, "invalid id 2"),
        (b'{"ids": [null]}', 400, "invalid id null"),
        (b'{"ids": ["t1", "t2", "t3", "t4"]}', 413, "batch limit 3"),
    ],
)
async def test_backend_batch_rejects_bad_requests(
    content: bytes, status: int, message: str
) -> None:
    app = catalog.create_app(batch_limit=3)
    async with client(app) as http:
        response = await http.post("/titles/batch", content=content)
    assert response.status_code == status
    assert message in response.json()["error"]


async def test_backend_batch_accepts_exactly_the_limit() -> None:
    app = catalog.create_app(batch_limit=3)
    assert len(await results(app, "/titles/batch", {"ids": ["t1", "t2", "t3"]})) == 3


async def test_backend_batch_accepts_empty_ids() -> None:
    assert await results(catalog.create_app(), "/titles/batch", {"ids": []}) == []


async def test_backend_unknown_path_and_method_are_json_errors() -> None:
    app = catalog.create_app()
    missing = await post(app, "/nowhere", {"ids": []})
    assert missing.status_code == 404
    assert "Not Found" in missing.json()["error"]
    wrong_method = await get(app, "/titles/batch")
    assert wrong_method.status_code == 405
    assert "error" in wrong_method.json()


def test_backend_rejects_bad_configuration() -> None:
    with pytest.raises(ValueError, match="batch_limit"):
        catalog.create_app(batch_limit=0)
    with pytest.raises(ValueError, match="latency_ms"):
        catalog.create_app(latency_ms=-1)


def test_serve_reports_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        serve(catalog.create_app, name="catalog", port=4101, argv=["--batch-limit", "0"])
    assert exited.value.code == 2
    assert "batch_limit" in capsys.readouterr().err
